"""Keep the course's notebooks consistent and executed.

    python scripts/notebooks.py sync        # stamp the shared setup cell and Colab badge into every notebook
    python scripts/notebooks.py execute     # re-run every lesson top to bottom in a fresh kernel, in place
    python scripts/notebooks.py execute 07_cnn
    python scripts/notebooks.py check       # report lessons not executed in order, or holding errors
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_config import LESSONS, SETUP_CELL, colab_badge  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def lesson_paths(names: list[str] | None = None) -> list[Path]:
    return [NOTEBOOKS / f"{name}.ipynb" for name in (names or LESSONS)]


def setup_cell(nb) -> nbformat.NotebookNode:
    """The first code cell: by convention the shared setup cell."""
    return next(c for c in nb.cells if c.cell_type == "code")


def sync(path: Path) -> bool:
    """Make the setup cell and the title's Colab badge match course_config; True if changed."""
    nb = nbformat.read(path, as_version=4)
    changed = False
    cell = setup_cell(nb)
    if cell.source != SETUP_CELL:
        cell.source, changed = SETUP_CELL, True
    title = nb.cells[0]
    badge = colab_badge(str(path.relative_to(ROOT)))
    if title.cell_type == "markdown" and badge not in title.source:
        lines = [ln for ln in title.source.splitlines() if "colab-badge.svg" not in ln]
        title.source = "\n".join(lines[:1] + ["", badge] + lines[1:]).rstrip() + "\n"
        changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


def errors(nb) -> list[str]:
    """The error outputs and the tracebacks printed to stderr in a run notebook, one line each."""
    code, found = [c for c in nb.cells if c.cell_type == "code"], []
    for i, c in enumerate(code):
        for out in c.get("outputs", []):
            if out.output_type == "error":
                found.append(f"code cell {i + 1} holds an error output: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr" and "Traceback" in out.text:
                found.append(f"code cell {i + 1} printed a traceback to stderr")
    return found


def problems(path: Path) -> list[str]:
    """Why a committed notebook does not read as one clean top-to-bottom run (empty if it does)."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    found = []
    counts = [c.execution_count for c in code]
    if counts != list(range(1, len(code) + 1)):
        found.append(f"execution counts are {counts}, not 1..{len(code)}: re-run it top to bottom")
    return found + errors(nb)


def execute(path: Path, timeout: int = 300) -> float:
    """Run a notebook in a fresh kernel with its folder as working directory; return seconds."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    command, names = (argv[0] if argv else "check"), argv[1:] or None
    paths = [p for p in lesson_paths(names) if p.exists()]
    if command == "sync":
        for p in paths:
            print(f"{p.name}: {'updated' if sync(p) else 'ok'}")
    elif command == "execute":
        for p in paths:
            print(f"{p.name}: {execute(p):.1f} s", flush=True)
    elif command == "check":
        bad = {p.name: problems(p) for p in paths}
        for name, found in bad.items():
            print(f"{name}: " + ("; ".join(found) if found else "ok"))
        return 1 if any(bad.values()) else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
