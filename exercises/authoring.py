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
from course_lib.exercise_rules import BUILT_ON_TWINS, GRADED_TOPIC, IN_WORDS, KEEPS_DTYPE, OWN_TWINS, STAR_SHAPED, TIME_LIMITS

USUAL_TIME_LIMIT = 5  # seconds per call when grading: course_lib/_guard.py's TIME_LIMIT


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


def _code_list(names: list[str]) -> str:
    quoted = [f"`{name}`" for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _forbidden_in_words(name: str) -> str:
    """OWN_TWINS[name] readable: its groups in words, `NAME` for "torch:NAME", course_lib's own answer left out."""
    entries, own = OWN_TWINS[name], f"course_lib.{GRADED_TOPIC[name]}.{name}"
    words: list[str] = []
    for entry in entries:
        group = next((g for g in IN_WORDS if entry in g and set(g) <= set(entries)), None)
        if group is not None:
            text = IN_WORDS[group]
        elif entry == own:
            continue
        elif entry.startswith("torch:"):
            text = f"`{entry[6:]}`"
        elif entry.count(".") == 1:  # a package or module: everything in it
            text = f"anything in `{entry}`"
        else:
            text = f"course_lib's `{entry[11:]}`" if entry.startswith("course_lib.") else f"`{entry}`"
        if text not in words:
            words.append(text)
    return ", ".join(words) or "nothing else"


def rules(topic: str) -> nbformat.NotebookNode:
    """The rules box after the setup cell, written from course_lib/exercise_rules.py: dtype, inputs, shapes,
    time and what each function may not call. tests/test_exercises.py checks each notebook holds it."""
    names = [name for name, t in GRADED_TOPIC.items() if t == topic[3:]]
    keeps_dtype = [name for name in names if name in KEEPS_DTYPE]
    lines = ["## The rules", "", "The hidden tests check these for every function you write here.", ""]
    if keeps_dtype:
        which = "every function" if keeps_dtype == names else _code_list(keeps_dtype)
        lines.append(f"- **Keep the dtype** ({which}): float32 in gives float32 out, float64 in gives float64 "
                     "out. Make new tensors with `dtype=x.dtype` or `torch.zeros_like(x)`, never plain `torch.zeros(n)`.")
    lines.append("- **Never change an input tensor**: compute new tensors. No in-place change of an argument "
                 "(`x += 1`, `x[0] = 0`, `x.clamp_(0)`).")
    if any(name in STAR_SHAPED for name in names):
        lines.append("- **`*` in a shape** means any number of leading dimensions, none included: `(*, in)` "
                     "allows `(in,)`, `(N, in)` and `(N, T, in)`; `(*)` allows any shape: a 0-dim tensor "
                     "(shape `()`, one number) and an empty one (shape `(0,)`) too.")
    slow = [f"`{name}` {TIME_LIMITS[name]:g} s" for name in names if name in TIME_LIMITS]
    lines.append(f"- **Time**: one call may take at most {USUAL_TIME_LIMIT} seconds"
                 + (f" ({', '.join(slow)})." if slow else "."))
    named = any(e.startswith("torch:") and not any(e in g for g in IN_WORDS) for name in names for e in OWN_TWINS[name])
    forms = (" A name such as `tanh` means PyTorch's function of that name in whatever form it has: "
             "`torch.tanh`, `F.tanh`, `x.tanh()`, `x.tanh_()`." if named else "")
    lines.append("- **Build it yourself**: a function scores no points if it calls course_lib's function of the "
                 f"same name or what the table lists.{forms}")
    if sum(1 for name in names if name not in BUILT_ON_TWINS and any(e.startswith("torch:") for e in OWN_TWINS[name])) > 1:
        lines.append("- **The table's PyTorch calls are off limits in every function here**, not only in their own "
                     "row: the grader disables them for the whole notebook.")
    if len(names) > 1:
        lines.append("- **Each function is graded on its own**: where one function uses another of this notebook, "
                     "its hidden tests run with a correct version of that other one, so one mistake costs "
                     "one function's points.")
    lines += ["", "| function | must not call |", "| --- | --- |"]
    lines += [f"| `{name}` | {_forbidden_in_words(name)} |" for name in names]
    return nbformat.v4.new_markdown_cell("\n".join(lines))


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


def write_rules(topic: str) -> None:
    """Put rules(topic) into the source notebook, after the title and setup cells (then regenerate the release)."""
    path = ROOT / "exercises" / "source" / topic / f"{topic}.ipynb"
    nb = nbformat.read(path, as_version=4)
    box = rules(topic)
    if nb.cells[2].source.startswith("## The rules"):
        nb.cells[2].source = box.source
    else:
        nb.cells.insert(2, box)
    nbformat.write(nb, path)


def write(path: Path, cells: list) -> None:
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.metadata["language_info"] = {"name": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
