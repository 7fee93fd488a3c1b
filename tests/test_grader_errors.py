"""No zeros for the grader's own faults: before grading anyone the class command grades the
assignment's own solution and stops, in one line, unless it gets every point; a grading that the
grader cannot vouch for is "grader error" with the reason, and nothing is recorded; a course whose
gradebook lacks the assignment gets the one command to run, no traceback; files beside a notebook
never shadow an installed module in the grading kernel."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from course_grader.grade_class import attempts, grading
from course_grader.grade_class.run import Run
from course_grader.grade_class.submissions import broken_metadata, check_files
from course_grader.protocol import GradingDir
from course_grader.sandbox.kernel import shadowing
from nbgrader_course import ENV, EXERCISES, NOT_COPIED, PYTHON, new_course, points_of, read, submit

ASSIGNMENT = "01_neurons"


def grade_py(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "grade.py", ASSIGNMENT, *args], cwd=course, env=ENV, capture_output=True,
                          text=True, timeout=600)


def test_a_course_without_the_assignment_in_its_gradebook_gets_the_command_to_run(tmp_path):
    course = tmp_path / "exercises"
    shutil.copytree(EXERCISES, course, ignore=NOT_COPIED)
    submit(course, ASSIGNMENT, "alice", {})
    done = grade_py(course)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"run `nbgrader generate_assignment {ASSIGNMENT}` in {course}" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_a_broken_solution_stops_the_class_command_before_the_first_student(tmp_path):
    course = new_course(tmp_path, ASSIGNMENT)
    # The grading kernel can no longer import the learner's checks: every student would score 0.
    with open(course / "nbgrader_config.py", "a") as f:
        f.write('\nc.SandboxKernelManager.hidden_reference_modules += ["course_lib.exercise_checks"]\n')
    submit(course, ASSIGNMENT, "alice", {})
    done = grade_py(course)
    assert done.returncode == 2, done.stdout + done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("not grading"))
    assert "ModuleNotFoundError" in line and "course_lib.exercise_checks" in line, line
    assert "alice" not in done.stdout
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="dl-fundamentals") as gb:
        with pytest.raises(MissingEntry):
            gb.find_submission(ASSIGNMENT, "alice")


def test_a_passed_check_is_remembered_until_what_it_depends_on_changes(tmp_path):
    course = new_course(tmp_path, ASSIGNMENT)
    submit(course, ASSIGNMENT, "alice", {})
    first = grade_py(course)
    assert "own solution gets every point" in first.stdout, first.stdout + first.stderr
    again = grade_py(course, "--regrade")
    assert "own solution" not in again.stdout, again.stdout
    record = json.loads((course / "grading_logs" / ASSIGNMENT / "reference.json").read_text())
    assert set(record) == {"digest", "seconds"}
    with open(course / "source" / ASSIGNMENT / "notes.txt", "w") as f:
        f.write("a data file of the assignment")
    third = grade_py(course, "--regrade")
    assert "own solution gets every point" in third.stdout, third.stdout
    summary = {r["student"]: r for r in json.loads((course / "grading_logs" / ASSIGNMENT / "summary.json").read_text())}
    assert summary["alice"]["score"] == sum(points_of(ASSIGNMENT).values())


def alice_run(tmp_path: Path) -> tuple[Path, Path, Run]:
    """A course where alice handed in the reference, and a class run on it logging to tmp_path/logs."""
    course = new_course(tmp_path, ASSIGNMENT)
    submit(course, ASSIGNMENT, "alice", {})
    logs = tmp_path / "logs"
    logs.mkdir()
    return course, logs, Run(course, ASSIGNMENT, f"sqlite:///{course / 'gradebook.db'}", "dl-fundamentals", 60, 2, [], logs)


def test_a_kernel_that_never_ran_the_grader_is_a_grader_error_and_records_nothing(tmp_path, monkeypatch):
    course, logs, run = alice_run(tmp_path)
    real = attempts.run_nbgrader

    def without_the_extension(args, course_dir, grading_dir, time_limit, log, **kw):
        # nbgrader grades (zeros), but the kernel never wrote running.json: as when it could not
        # import course_grader
        code, text = real(args, course_dir, grading_dir, time_limit, log, **kw)
        (Path(grading_dir) / "running.json").unlink(missing_ok=True)
        return code, text + "\nModuleNotFoundError: No module named 'course_grader'\n"

    monkeypatch.setattr(attempts, "run_nbgrader", without_the_extension)
    result = grading.grade_student(run, "alice")
    assert result.status == "grader error", result
    assert "never ran the grader's extension" in result.reasons[0]
    assert "No module named 'course_grader'" in result.reasons[0]
    with Gradebook(run.db_url, course_id=run.course_id) as gb:
        with pytest.raises(MissingEntry):
            gb.find_submission(ASSIGNMENT, "alice")
    assert not (course / "autograded" / "alice" / ASSIGNMENT).exists()


def test_a_sandbox_that_could_not_be_built_is_a_grader_error_at_once(tmp_path, monkeypatch):
    """The launcher ran nothing (course_grader/sandbox/launcher.py): no zero, no second attempt."""
    course = new_course(tmp_path, ASSIGNMENT)
    submit(course, ASSIGNMENT, "alice", {})
    logs = tmp_path / "logs"
    logs.mkdir()
    run = Run(course, ASSIGNMENT, f"sqlite:///{course / 'gradebook.db'}", "dl-fundamentals", 60, 3, [], logs)
    runs = []

    def sandbox_fails(args, course_dir, grading_dir, time_limit, log, **kw):
        runs.append(args)
        GradingDir(grading_dir).add_flags([{"kind": "sandbox failed", "detail": "the sandbox could not be built "
                                                                                "(mount /x: No space left on device): not run"}])
        return 1, "[AutogradeApp | ERROR] Kernel died before replying to kernel_info\n"

    monkeypatch.setattr(attempts, "run_nbgrader", sandbox_fails)
    result = grading.grade_student(run, "alice")
    assert result.status == "grader error" and len(runs) == 1, result
    assert "No space left on device" in result.reasons[0]
    with Gradebook(run.db_url, course_id=run.course_id) as gb:
        with pytest.raises(MissingEntry):
            gb.find_submission(ASSIGNMENT, "alice")


def test_a_student_folder_named_like_a_pattern_or_too_long_is_never_handed_to_nbgrader(tmp_path):
    """nbgrader reads --student as a pattern: "100?" was graded as 1001 too, lowering 1001's grade;
    a 253-character name crashed the class command (its log file's name too long). Neither
    reaches nbgrader nor the gradebook: here no gradebook exists, and none is made."""
    course = tmp_path / "exercises"
    shutil.copytree(EXERCISES, course, ignore=NOT_COPIED)
    for student in ("100?", "x" * 253):
        (course / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
    done = grade_py(course)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not grading '100?': the folder submitted/100? holds *, ?, [ or ]" in done.stdout, done.stdout
    assert f"not grading '{'x' * 60}': the folder name" in done.stdout, done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert not (course / "gradebook.db").exists() and not (course / "grading_logs").exists()


def test_a_linked_submission_folder_is_unreadable(tmp_path):
    """submitted/mallory -> submitted/alice: alice's work graded as mallory's."""
    course = tmp_path / "exercises"
    shutil.copytree(EXERCISES, course, ignore=NOT_COPIED)
    submit(course, ASSIGNMENT, "alice", {})
    (course / "submitted" / "mallory").symlink_to(course / "submitted" / "alice")
    (course / "submitted" / "eve").mkdir()
    (course / "submitted" / "eve" / ASSIGNMENT).symlink_to(course / "submitted" / "alice" / ASSIGNMENT)
    assert check_files(course, ASSIGNMENT, "alice")[0] is None
    for student, link in [("mallory", "submitted/mallory"), ("eve", f"submitted/eve/{ASSIGNMENT}")]:
        failure, _ = check_files(course, ASSIGNMENT, student)
        assert failure == {"kind": "unreadable", "detail": f"{link} is a link: hand in a folder of your own"}


@pytest.mark.parametrize("written", ["[" * 100000 + "]" * 100000, '{"call": {"nested": 1}, "cell": ["a"]}',
                                     '{"call": "' + "x" * 70000 + '"}', "\xff\xfe not json"])
def test_whatever_a_kernel_writes_in_running_json_reads_as_a_marker_or_nothing(tmp_path, written):
    """A kernel keeps running.json current: a deeply nested one crashed the class command."""
    (tmp_path / "running.json").write_text(written, errors="surrogateescape")
    assert GradingDir(tmp_path).running() == {}
    (tmp_path / "running.json").write_text('{"cell": "abc", "call": "sigmoid", "other": 1}')
    assert GradingDir(tmp_path).running() == {"cell": "abc", "call": "sigmoid"}


def test_files_beside_a_notebook_never_shadow_an_installed_module():
    names = ["course_grader", "course_lib", "torch.py", "os.py", "IPython", "notes.txt", "my_helpers.py",
             "data.csv", "grade.py"]
    assert shadowing(names) == ["course_grader", "course_lib", "torch.py", "os.py", "IPython"]


@pytest.mark.parametrize("make,says", [
    (lambda f: (f / "leak.txt").symlink_to("../../../source/01_neurons/01_neurons.ipynb"), "leak.txt is a link"),
    (lambda f: (f / "data.bin").symlink_to("/dev/zero"), "data.bin is a link"),
    (lambda f: os.mkfifo(f / "pipe"), "pipe is not a regular file"),
    (lambda f: (f / "timestamp.txt").write_text("not a date"), "timestamp.txt does not hold a date"),
    # 131072 one-byte files did not fit the 512 MiB scratch tmpfs (a page each): the sandbox failed
    (lambda f: [(f / f"n{i}").write_bytes(b"x") for i in range(1001)], "more than 1000 files"),
    (lambda f: os.truncate(f / "big.bin", 65 * 2**20) if (f / "big.bin").touch() is None else None,
     "big.bin holds 65 MiB, more than the 64 MiB"),
    (lambda f: [os.truncate(f / f"part{i}", 50 * 2**20) for i in range(3) if (f / f"part{i}").touch() is None],
     "more than the 128 MiB a submission may hold"),
    # 990 nested folders passed the count, then overflowed the recursive copy into the sandbox
    (lambda f: (f / os.path.join(*["d"] * 17)).mkdir(parents=True), "folders nested more than 16 deep"),
])
def test_links_special_files_and_bad_timestamps_are_unreadable_before_nbgrader_copies_them(tmp_path, make, says):
    course = tmp_path / "exercises"
    shutil.copytree(EXERCISES, course, ignore=NOT_COPIED)
    submit(course, ASSIGNMENT, "mallory", {})
    make(course / "submitted" / "mallory" / ASSIGNMENT)
    failure, _ = check_files(course, ASSIGNMENT, "mallory")
    assert failure and failure["kind"] == "unreadable" and says in failure["detail"], failure


def _release():
    return read(EXERCISES / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


def _damaged(how: str):
    nb = _release()
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    test = next(c for c in graded if not c.metadata["nbgrader"].get("solution"))
    if how == "copied":
        nb.cells.append(copy.deepcopy(test))
    elif how == "unknown":
        test.metadata["nbgrader"]["grade_id"] = "test_mine"
    elif how == "markdown":
        nb.cells[nb.cells.index(test)] = nbformat.v4.new_markdown_cell(test.source, metadata=test.metadata)
    elif how == "points":
        test.metadata["nbgrader"]["points"] = 100
    elif how == "role":
        test.metadata["nbgrader"]["solution"] = True
    elif how == "no id":  # an attack review's: the class command's KeyError stopped the whole class
        nb.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"locked": True, "grade": True}}))
    elif how == "language":  # an attack review's: nbconvert's .lower() failed, a grader error
        nb.metadata["language"] = ["zh"]
    return nb, test.metadata["nbgrader"]["grade_id"]


@pytest.mark.parametrize("how,says", [("copied", "appears twice"), ("unknown", "not a cell of this assignment"),
                                      ("markdown", "turned from code into markdown"), ("points", "points of cell"),
                                      ("role", "role of cell"), ("no id", "no grade_id"),
                                      ("language", "language as a list")])
def test_notebooks_whose_grading_metadata_nbgrader_cannot_read_are_named(how, says):
    nb, key = _damaged(how)
    broken = broken_metadata(_release(), nb)
    assert broken and says in broken and (key in broken or how in ("unknown", "no id", "language")), broken
    assert broken_metadata(_release(), _release()) is None


def test_a_copied_test_cell_makes_the_submission_unreadable_once_not_a_grader_error_forever(tmp_path):
    course = new_course(tmp_path, ASSIGNMENT)
    submit(course, ASSIGNMENT, "alice", {})
    path = course / "submitted" / "alice" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = read(path)
    nb.cells.append(copy.deepcopy(next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("locked")
                                       and c.metadata["nbgrader"].get("grade"))))
    nbformat.write(nb, path)
    first = grade_py(course)
    summary = json.loads((course / "grading_logs" / ASSIGNMENT / "summary.json").read_text())
    assert summary[0]["status"] == "zero" and "appears twice" in summary[0]["reasons"][0], summary
    again = grade_py(course)
    assert "1 of 1 already graded" in again.stdout, first.stdout + again.stdout


def test_a_failure_of_the_class_command_on_one_submission_is_that_student_s_grader_error(tmp_path, monkeypatch):
    course, logs, run = alice_run(tmp_path)

    def broken(*args, **kwargs):
        raise KeyError("grade_id")
    monkeypatch.setattr(grading, "check_files", broken)
    result = grading.grade_student(run, "alice")
    assert result.status == "grader error" and "KeyError" in result.reasons[0], result
    assert "Traceback" in (logs / "alice.log").read_text()
