"""Time autograding one reference submission of each assignment, kernel start included.

    python benchmarks/bench_autograde.py [ASSIGNMENT ...] [--repeats N]

Works on a temporary copy of exercises/: generates each assignment, submits the source's
solutions as student `reference`, then times `nbgrader autograde` on it (what nbgrader alone
costs) and `exercises/grade.py` (the instructor's command, which adds its own start-up and the
file checks). Budget: 30 s per submission. Wall time depends on what else the machine runs, so
the table also shows CPU seconds (nbgrader, its kernel and children) and the load average.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = ROOT / "exercises"
BUDGET_S = 30.0
ENV = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and everything it waited for)."""
    cpu, start = children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return wall, children_cpu() - cpu


def submit_reference(course: Path, assignment: str) -> None:
    nb = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    solutions = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        key = cell.metadata.get("nbgrader", {}).get("grade_id")
        if key in solutions:
            cell.source = solutions[key]
    folder = course / "submitted" / "reference" / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{assignment}.ipynb")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignments", nargs="*")
    parser.add_argument("--repeats", type=int, default=1, help="runs per assignment; the fastest counts")
    args = parser.parse_args()
    assignments = args.assignments or sorted(p.name for p in (EXERCISES / "source").iterdir() if p.is_dir())
    nbgrader = [sys.executable, "-m", "nbgrader"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        course = Path(tmp) / "exercises"
        shutil.copytree(EXERCISES, course, ignore=shutil.ignore_patterns(
            "gradebook.db*", "submitted", "autograded", "feedback", "grading_logs", "__pycache__"))
        for assignment in assignments:
            timed([*nbgrader, "generate_assignment", assignment, "--force"], course)
            submit_reference(course, assignment)
            plain = min(timed([*nbgrader, "autograde", assignment, "--student", "reference", "--force"], course)
                        for _ in range(args.repeats))
            wrapped = min(timed([sys.executable, "grade.py", assignment, "--student", "reference"], course)
                          for _ in range(args.repeats))
            rows.append((assignment, *plain, *wrapped, os.getloadavg()[0]))
            print(f"{assignment}: {plain[0]:.1f} s", file=sys.stderr, flush=True)
    print(f"| assignment | nbgrader autograde: wall s | CPU s | grade.py: wall s | CPU s | load avg | "
          f"within {BUDGET_S:g} s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, wall, cpu, wall_w, cpu_w, load in rows:
        ok = "yes" if max(wall, wall_w) <= BUDGET_S else "NO"
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {wall_w:.1f} | {cpu_w:.1f} | {load:.1f} | {ok} |")
    print(f"\n{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
