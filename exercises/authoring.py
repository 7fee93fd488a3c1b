"""Cells with the nbgrader metadata the course uses, for writing an assignment from Python.

The source notebooks are the truth; edit them in JupyterLab (View > Show Create Assignment) or
build a new one with these helpers, as AUTHORING.md shows. `tests/test_exercises.py` checks the
result follows the course's plan.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from course_config import KERNELSPEC, SETUP_CELL, colab_badge, colab_url


def _nbgrader(cell, grade_id: str, *, grade: bool = False, solution: bool = False,
              locked: bool = False, points: float | None = None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3,
            "solution": solution, "task": False}
    if grade:
        meta["points"] = points
    cell.metadata["nbgrader"] = meta
    return cell


def title(topic: str, heading: str, lesson_title: str, auto: int, manual: int,
          intro: str) -> nbformat.NotebookNode:
    """First cell: heading, Colab badge of the released notebook, points, and the lesson's link."""
    lesson = f"notebooks/{topic}.ipynb"
    text = (f"# {heading}\n\n{colab_badge(f'exercises/release/{topic}/{topic}.ipynb')}\n\n"
            f"**{auto + manual} points**: {auto} checked by tests, {manual} graded by hand.\n\n"
            f"{intro.strip()}\n\nThe lesson [{lesson_title}](../../../{lesson}) "
            f"([open in Colab]({colab_url(lesson)})) explains everything used here.\n\n"
            "**How it works.** Replace `# YOUR CODE HERE` and `raise NotImplementedError()` in each "
            "function with your code, run its cell, then run the test cell below it. The tests you "
            "see are small worked examples; when your work is graded, hidden tests add random shapes "
            "and values, float64 inputs and edge cases. A function that calls its PyTorch twin "
            "(or course_lib's answer) scores no points: the point is to build it yourself. Do not "
            "edit or delete the test cells.")
    return nbformat.v4.new_markdown_cell(text)


def setup() -> nbformat.NotebookNode:
    """The course's shared first code cell, read-only (nbgrader restores it if changed)."""
    return _nbgrader(nbformat.v4.new_code_cell(SETUP_CELL), "setup", locked=True)


def markdown(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip())


def solution(name: str, source: str) -> nbformat.NotebookNode:
    """The cell defining graded `name`; its body sits between ### BEGIN/END SOLUTION."""
    return _nbgrader(nbformat.v4.new_code_cell(source.strip()), name, solution=True)


def tests(name: str, points: int, source: str) -> nbformat.NotebookNode:
    """Autograded, read-only test cell `test_<name>`: visible examples, then ### BEGIN HIDDEN TESTS."""
    return _nbgrader(nbformat.v4.new_code_cell(source.strip()), f"test_{name}", grade=True,
                     locked=True, points=points)


def answer(grade_id: str, points: int, model_answer: str) -> nbformat.NotebookNode:
    """A manually graded written answer; the release shows YOUR ANSWER HERE instead."""
    return _nbgrader(nbformat.v4.new_markdown_cell(model_answer.strip()), grade_id, grade=True,
                     solution=True, points=points)


def write(path: Path, cells: list) -> None:
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
