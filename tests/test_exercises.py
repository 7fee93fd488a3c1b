"""The exercise notebooks follow the course's plan (exercises/AUTHORING.md); no kernel needed."""
from __future__ import annotations

import ast
import importlib.util
import io
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest

from course_grader.grade_class.attempts import outcome_of
from course_grader.grade_class.runs import run_nbgrader
from course_lib.exercise_rules import GRADED_TOPIC

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from course_config import LESSONS, SETUP_CELL, colab_badge, colab_url

# exercises/ stays off sys.path: its grade.py would pass for an installed module `grade` elsewhere
_spec = importlib.util.spec_from_file_location("authoring", ROOT / "exercises" / "authoring.py")
authoring = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(authoring)
rules = authoring.rules

# Names whose hidden tests need no random input: the answer does not depend on one.
SEALED = ("from course_grader.sealed import sealed_checks\n\n"
          "sealed_checks({name})  # fresh inputs and edge cases, judged by the grader outside this notebook")


def source(topic: str):
    path = ROOT / "exercises" / "source" / topic / f"{topic}.ipynb"
    if not path.exists():
        pytest.skip(f"{topic} has no exercise yet")
    return nbformat.read(path, as_version=4)


def release(topic: str):
    return nbformat.read(ROOT / "exercises" / "release" / topic / f"{topic}.ipynb", as_version=4)


def meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def grade_cells(nb) -> dict:
    return {meta(c)["grade_id"]: c for c in nb.cells if meta(c).get("grade") and not meta(c).get("solution")}


def split_hidden(text: str) -> tuple[str, str]:
    match = re.search(r"### BEGIN HIDDEN TESTS\n(.*)### END HIDDEN TESTS", text, re.DOTALL)
    return (text[:match.start()], match.group(1)) if match else (text, "")


topics = pytest.mark.parametrize("topic", LESSONS)


@topics
def test_title_states_points_and_links_release_badge_and_lesson(topic):
    nb = source(topic)
    title = nb.cells[0].source
    assert nb.cells[0].cell_type == "markdown" and title.startswith(f"# {topic[:2]} · ")
    assert colab_badge(f"exercises/release/{topic}/{topic}.ipynb") in title
    grades = [meta(c) for c in nb.cells if meta(c).get("grade")]
    auto = sum(m["points"] for m in grades if not m["solution"])
    manual = sum(m["points"] for m in grades if m["solution"])
    assert f"**{auto + manual} points**: {auto} checked by tests, {manual} graded by hand." in title
    lesson = f"../../../notebooks/{topic}.ipynb"
    assert f"]({lesson})" in title and colab_url(f"notebooks/{topic}.ipynb") in title
    release_dir = ROOT / "exercises" / "release" / topic
    assert (release_dir / lesson).resolve() == ROOT / "notebooks" / f"{topic}.ipynb"


@topics
def test_first_code_cell_is_the_shared_setup_cell_and_read_only(topic):
    setup = next(c for c in source(topic).cells if c.cell_type == "code")
    assert setup.source == SETUP_CELL and meta(setup).get("locked")


@topics
def test_rules_box_after_the_setup_cell_is_written_from_the_rules_table(topic):
    """The rules (dtype, inputs, shapes, time, forbidden calls) come from course_lib/exercise_rules.py through
    authoring.rules, in the source and the release alike, so the box cannot drift from the table."""
    expected = rules(topic).source
    fix = (f"run authoring.write_rules({topic!r}) (exercises/authoring.py), then "
           f"`cd exercises && nbgrader generate_assignment {topic} --force`")
    assert source(topic).cells[2].source == expected, f"{topic}: the source's rules box is out of date: {fix}"
    assert release(topic).cells[2].source == expected, f"{topic}: the release's rules box is out of date: {fix}"


@topics
def test_every_graded_name_is_defined_alone_in_its_own_solution_cell(topic):
    nb = source(topic)
    names = [n for n, t in GRADED_TOPIC.items() if t == topic[3:]]
    solutions = {meta(c)["grade_id"]: c for c in nb.cells if meta(c).get("solution") and c.cell_type == "code"}
    assert sorted(solutions) == sorted(names)
    for name, cell in solutions.items():
        defined = [n.name for n in ast.parse(cell.source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert defined == [name], f"the solution cell {name} defines {defined}"
        assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source


@topics
def test_released_stubs_keep_signature_and_docstring_and_raise_not_implemented(topic):
    source(topic)
    for cell in release(topic).cells:
        if meta(cell).get("solution") and cell.cell_type == "code":
            (definition,) = [n for n in ast.parse(cell.source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
            assert ast.get_docstring(definition), f"{definition.name}: the stub needs its docstring"
            functions = [definition] if isinstance(definition, ast.FunctionDef) else \
                [n for n in definition.body if isinstance(n, ast.FunctionDef)]
            for function in functions:  # a class stub: each of its methods
                last = ast.unparse(function.body[-1])
                assert last == "raise NotImplementedError()", f"{definition.name}.{function.name} ends with {last}"
            assert "SOLUTION" not in cell.source


@topics
def test_every_graded_name_has_a_locked_test_cell_with_points_examples_and_hidden_tests(topic):
    tests = grade_cells(source(topic))
    names = [n for n, t in GRADED_TOPIC.items() if t == topic[3:]]
    assert sorted(tests) == sorted(f"test_{n}" for n in names)
    for key, cell in tests.items():
        visible, hidden = split_hidden(cell.source)
        assert meta(cell)["points"] > 0 and meta(cell)["locked"], key
        assert "from course_lib.exercise_checks import" in visible, f"{key}: import the checks in the cell itself"
        assert re.search(r"\b(expect\w*|call)\(", visible), f"{key}: the examples call no learner code through the checks"
        # The hidden tests live in course_grader/hidden_tests/ and are judged outside the kernel
        # (course_grader/sealed.py; tests/test_sealed.py checks their cases are fresh at every grading).
        assert hidden.strip() == SEALED.format(name=key[5:]), f"{key}: the hidden part must be only\n{SEALED}"


@topics
def test_there_is_a_question_answered_in_words_and_graded_by_hand(topic):
    answers = [c for c in source(topic).cells if meta(c).get("solution") and meta(c).get("grade")]
    assert answers and all(c.cell_type == "markdown" and meta(c)["points"] > 0 for c in answers)


@topics
def test_released_test_and_setup_cells_are_locked_for_jupyterlab(topic):
    """JupyterLab refuses to edit a cell marked "editable": false and to delete one marked
    "deletable": false (tests/test_browser.py shows it); nbgrader's generate_assignment writes both
    on every read-only cell (its LockCells step), and a release edited by hand must keep them."""
    path = ROOT / "exercises" / "release" / topic / f"{topic}.ipynb"
    if not path.exists():
        pytest.skip(f"{topic} has no release yet")
    read_only = [c for c in release(topic).cells if meta(c).get("locked")]
    assert {meta(c)["grade_id"] for c in read_only} >= {"setup", *grade_cells(source(topic))}
    unlocked = [meta(c)["grade_id"] for c in read_only
                if c.metadata.get("editable") is not False or c.metadata.get("deletable") is not False]
    assert not unlocked, f"{topic}: read-only cells JupyterLab lets a learner edit or delete: {unlocked}"


@topics
def test_source_notebook_is_stored_without_outputs_on_the_python3_kernel(topic):
    nb = source(topic)
    assert nb.metadata.kernelspec.name == "python3"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")


def test_configuration_guards_feedback_and_time_limits():
    config = (ROOT / "exercises" / "nbgrader_config.py").read_text()
    for needed in ["c.Execute.timeout", "interrupt_on_timeout = True", "--InteractiveShell.xmode=Minimal",
                   "--IPKernelApp.extensions=course_grader.kernel_extension", "add_missing_cells = True",
                   "ClearHiddenTests]"]:
        assert needed in config


def test_grade_script_kills_a_hung_run_and_its_kernel_in_a_session_of_its_own(tmp_path):
    kernel = ("import subprocess, sys, time; "
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True); "
              f"open({str(tmp_path / 'pid')!r}, 'w').write(str(p.pid)); time.sleep(60)")
    start = time.perf_counter()
    code, _ = run_nbgrader([], tmp_path, tmp_path, 3, io.StringIO(), code=kernel)
    assert code is None and time.perf_counter() - start < 10
    pid = int((tmp_path / "pid").read_text())
    time.sleep(0.2)
    status = Path(f"/proc/{pid}/status")
    assert not status.exists() or "zombie" in status.read_text().lower(), "the kernel survived"


@pytest.mark.parametrize("code, text, outcome", [
    (0, "[AutogradeApp | INFO] Writing 23 bytes", "ok"),
    (0, "[AutogradeApp | ERROR] Timeout waiting for execute reply (30s).", "timeout"),
    (1, "[AutogradeApp | ERROR] Kernel died while waiting for execute reply.", "died"),
    (1, "RuntimeError: Timeout waiting for IOPub output", "hung"),
    (None, "", "hung"),
    (1, "[AutogradeApp | ERROR] No notebooks found", "error"),
], ids=["graded", "cell-timeout", "kernel-died", "iopub-timeout", "killed", "other-error"])
def test_grade_script_tells_how_an_nbgrader_run_ended(code, text, outcome):
    assert outcome_of(code, text, 300)[0] == outcome


def test_the_setup_cell_imports_nothing_the_grading_kernel_hides():
    """The grading kernel runs the setup cell with the reference modules hidden (nbgrader_config.py's
    hidden_reference_modules): one of them imported there would fail every submission."""
    import ast

    from course_lib.exercise_rules import REFERENCE_HELPERS, TOPICS
    tree = ast.parse(SETUP_CELL)
    imported = {f"{node.module}.{a.name}" if node.module == "course_lib" else node.module
                for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for a in node.names}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    hidden = {f"course_lib.{name}" for name in (*TOPICS, *REFERENCE_HELPERS)}
    assert imported & {"course_lib.cpus", "course_lib.style"}, imported  # the reader sees the imports
    assert not imported & hidden, imported & hidden
