"""Keep the course's notebooks consistent and executed.

    python scripts/notebooks.py sync        # stamp setup cell, badge, kernelspec, nbval tags; normalize
    python scripts/notebooks.py execute     # re-run every lesson top to bottom in a fresh kernel, in place
    python scripts/notebooks.py execute 07_cnn
    python scripts/notebooks.py execute zh  # the translated lessons, notebooks/zh/ (zh/07_cnn: one)
    python scripts/notebooks.py check       # report lessons not executed in order, or holding errors

`sync` is safe to run again and again (after a merge, say): on the lessons in notebooks/ and on
the exercise sources in exercises/source/ it
- stamps the shared setup cell (course_config.SETUP_CELL) and, in lessons, the Colab badge;
- stamps the kernelspec JupyterLab runs (course_config.KERNELSPEC), so nothing opens modified;
- turns nbval's comment markers (`# NBVAL_IGNORE_OUTPUT`, `# NBVAL_SKIP`, ...) into the cell tags
  nbval reads (`nbval-ignore-output`, `nbval-skip`, ...) and removes the comment lines, and tags
  `nbval-ignore-output` every cell that trains with a progress bar (its output depends on timing);
- raises any `fontsize=` below 9 (pt) in the code to 9;
- normalizes what a run leaves behind (`normalize`): no saved widget state, no timing metadata,
  widget outputs reduced to their plain-text line.
`execute` normalizes after running, so the committed notebooks are what sync would write.
"""
from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_config import KERNELSPEC, LESSONS, SETUP_CELL, colab_badge  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
EXERCISE_SOURCES = ROOT / "exercises" / "source"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PROGRESS_BAR = re.compile(r"\|\s*\d+/\d+ \[")  # tqdm's "| 0/469 [00:00<?, ?it/s]"

# nbval's comment markers and the cell tags it reads instead (nbval.plugin.metadata_tags)
NBVAL_MARKERS = ["NBVAL_IGNORE_OUTPUT", "NBVAL_CHECK_OUTPUT", "NBVAL_RAISES_EXCEPTION", "NBVAL_SKIP",
                 "PYTEST_VALIDATE_IGNORE_OUTPUT"]
MARKER_LINE = re.compile(r"^[ \t]*#[ \t]*(" + "|".join(NBVAL_MARKERS) + r")[ \t]*$\n?", re.MULTILINE)
# A call that trains with a progress bar (course_lib.recipes, course_lib.training.fit), unless
# the bar is turned off in the call itself.
# Text below 9 pt is unreadable on most screens (course_lib.plotting.COURSE_STYLE uses 10-12).
SMALL_FONT = re.compile(r"\bfontsize=([1-8])\b")
MIN_FONT_SIZE = 9
TRAINING_CALL = re.compile(r"\b(train_small_cnn|train_mnist_mlp|train_with_checkpoints|fit)\(")


def marker_tag(marker: str) -> str:
    """NBVAL_IGNORE_OUTPUT -> nbval-ignore-output (PYTEST_VALIDATE_IGNORE_OUTPUT is its old name)."""
    return "nbval-ignore-output" if marker.startswith("PYTEST_") else marker.lower().replace("_", "-")


def lesson_paths(names: list[str] | None = None) -> list[Path]:
    return [NOTEBOOKS / f"{name}.ipynb" for name in (names or LESSONS)]


def exercise_paths(names: list[str] | None = None) -> list[Path]:
    return [EXERCISE_SOURCES / name / f"{name}.ipynb" for name in (names or LESSONS)]


def setup_cell(nb) -> nbformat.NotebookNode:
    """The first code cell: by convention the shared setup cell."""
    return next(c for c in nb.cells if c.cell_type == "code")


def _add_tag(cell, tag: str) -> bool:
    tags = cell.metadata.setdefault("tags", [])
    if tag in tags:
        return False
    tags.append(tag)
    return True


def tag_cell(cell, training: bool = True) -> bool:
    """Markers as tags, marker comments removed, training cells tagged (if `training`); True if changed."""
    if cell.cell_type != "code":
        return False
    changed = False
    for marker in MARKER_LINE.findall(cell.source):
        changed |= _add_tag(cell, marker_tag(marker))
    source = MARKER_LINE.sub("", cell.source)
    source = SMALL_FONT.sub(f"fontsize={MIN_FONT_SIZE}", source)
    if source != cell.source:
        cell.source, changed = source.strip("\n"), True
    if training and TRAINING_CALL.search(cell.source) and "progress=False" not in cell.source:
        changed |= _add_tag(cell, "nbval-ignore-output")
    return changed


def _is_progress_bar(out) -> bool:
    data = out.get("data", {})
    return WIDGET_VIEW in data and PROGRESS_BAR.search(data.get("text/plain", "")) is not None


def normalize(nb) -> bool:
    """Remove what differs from run to run and what only a live kernel can show; True if changed.

    Saved widget state (metadata.widgets) is dropped: without a kernel it only made JupyterLab
    rewrite the notebook. Widget outputs keep their text/plain line (course_lib.interactive's
    "Run this cell..."): a widget view with no kernel behind it shows nothing useful. Progress
    bars are dropped: their text/plain is the bar as first drawn ("0/469"), which would read as
    a training that never ran; the cell's own printout says how long it took. nbclient's
    per-cell timing metadata is dropped.
    """
    changed = False
    if nb.metadata.get("kernelspec") != KERNELSPEC:
        nb.metadata["kernelspec"], changed = dict(KERNELSPEC), True
    if "widgets" in nb.metadata:
        del nb.metadata["widgets"]
        changed = True
    for cell in nb.cells:
        if "execution" in cell.metadata:
            del cell.metadata["execution"]
            changed = True
        if cell.metadata.get("tags") == []:
            del cell.metadata["tags"]
            changed = True
        outputs = cell.get("outputs", [])
        kept = [out for out in outputs if not _is_progress_bar(out)]
        if len(kept) != len(outputs):
            cell.outputs, changed = kept, True
        for out in kept:
            data = out.get("data", {})
            if WIDGET_VIEW in data:
                del data[WIDGET_VIEW]
                changed = True
                if "text/plain" not in data:
                    data["text/plain"] = ""
    return changed


def sync(path: Path, lesson: bool = True) -> bool:
    """Make a notebook follow course_config and the rules above; True if it changed.

    A lesson also gets the Colab badge in its title and its training cells tagged; an exercise
    source (lesson=False) has its own title, and nbgrader's metadata is left alone.
    """
    nb = nbformat.read(path, as_version=4)
    changed = normalize(nb)
    cell = setup_cell(nb)
    if cell.source != SETUP_CELL:
        cell.source, changed = SETUP_CELL, True
    for c in nb.cells:
        changed |= tag_cell(c, training=lesson)
    title = nb.cells[0]
    link = colab_badge(str(path.resolve().relative_to(ROOT))) if lesson else ""
    if lesson and title.cell_type == "markdown" and link not in title.source:
        lines = [ln for ln in title.source.splitlines() if "colab-badge.svg" not in ln]
        title.source = "\n".join(lines[:1] + ["", link] + lines[1:]).rstrip() + "\n"
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
    """Run a notebook in a fresh kernel with its folder as working directory, normalize; seconds."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    normalize(nb)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    command, names = (argv[0] if argv else "check"), argv[1:] or None
    if names and names[0] in ("zh",):  # a language: its translated lessons (scripts/translations.py)
        names = [f"{names[0]}/{name}" for name in LESSONS]
    paths = [p for p in lesson_paths(names) if p.exists()]
    if command == "sync":
        for p in paths:
            print(f"{p.relative_to(ROOT)}: {'updated' if sync(p) else 'ok'}")
        for p in (p for p in exercise_paths(names) if p.exists()):
            print(f"{p.relative_to(ROOT)}: {'updated' if sync(p, lesson=False) else 'ok'}")
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
