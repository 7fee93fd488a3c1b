"""exercises/grade.py grading a class: resume after an interruption, the summary and its flags.

The slow tests share one run of the fixture below, on a temporary copy of exercises/ built as in
test_nbgrader_pipeline.py (whose helpers this module reuses): four submissions of 01_neurons,
graded five times in a row the way an instructor would:

1. a first run, 2 at a time;
2. the same command again: nothing changed, so nothing is graded again;
3. after `blank` hands in a new notebook: only `blank` is graded again;
4. `--regrade --jobs 1`, stopped with SIGINT (Ctrl-C) once it has recorded the first student and
   runs the next one's kernel;
5. the same command without --regrade: grades what the interrupted run left.

Student `flagged` edits a test cell and gets a flag in flags.json from a hook that the fixture adds
to the copy's nbgrader_config.py, standing for the grading machinery's own flags.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import psutil
import pytest

from course_grader.grade_class.attempts import outcome_of
from course_grader.grade_class.gradebook import register_students
from course_grader.grade_class.run import Run
from course_grader.grade_class.runs import hide_passwords, kernel_environment, warm_launcher
from course_grader.grade_class.submissions import submission_digest
from course_grader.protocol import GradingDir
from course_grader.sandbox import zygote
from nbgrader_course import ENV, PYTHON, cells_by_id, new_course, read, run, submit, submit_kind

ASSIGNMENT = "01_neurons"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# A flag of the kind the grading machinery leaves in COURSE_GRADING_DIR/flags.json, raised here by
# a hook added to the copy's nbgrader_config.py for each notebook that holds MARKER.
KERNEL_FLAG = {"kind": "test flag", "detail": "written in COURSE_GRADING_DIR/flags.json"}
MARKER = "# grade.py's test: flag this notebook"
FLAG_HOOK = f"""
# tests/test_grade_class.py: flag the notebooks marked so, as the grading machinery would
def _flag_marked(cell, **_):
    import json
    if {MARKER!r} in cell.source:
        with open(os.path.join(os.environ["COURSE_GRADING_DIR"], "flags.json"), "w") as f:
            json.dump([{KERNEL_FLAG!r}], f)
c.Execute.on_cell_complete = _flag_marked
"""


@pytest.fixture(scope="module")
def grade():
    """The class command's modules (course_grader/grade_class/), by the names the tests use."""
    return SimpleNamespace(Run=Run, register_students=register_students, kernel_environment=kernel_environment,
                           outcome_of=outcome_of, hide_passwords=hide_passwords, warm_launcher=warm_launcher,
                           submission_digest=submission_digest)


def test_kernel_flags_are_taken_once_and_bad_ones_reported(tmp_path):
    folder = GradingDir(tmp_path)
    (tmp_path / "flags.json").write_text(json.dumps([KERNEL_FLAG]))
    assert folder.take_flags() == [KERNEL_FLAG]
    assert folder.take_flags() == [], "flags.json must be removed once read"
    for bad in ["not json", '{"kind": "x"}', '[{"kind": "x"}]', "[1]"]:
        (tmp_path / "flags.json").write_text(bad)
        assert [f["kind"] for f in folder.take_flags()] == ["unreadable flags"], bad


def test_submission_digest_follows_every_file_of_the_folder(grade, tmp_path):
    folder = tmp_path / "submitted" / "alice" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text("{}")
    first = grade.submission_digest(tmp_path, ASSIGNMENT, "alice")
    assert grade.submission_digest(tmp_path, ASSIGNMENT, "alice") == first
    (folder / "timestamp.txt").write_text("2030-01-01 00:00:00")  # a late penalty depends on it
    second = grade.submission_digest(tmp_path, ASSIGNMENT, "alice")
    (folder / f"{ASSIGNMENT}.ipynb").write_text("{ }")
    assert len({first, second, grade.submission_digest(tmp_path, ASSIGNMENT, "alice")}) == 3


def test_what_reaches_the_instructors_terminal_is_written_out_not_acted_on():
    """A folder name or a kernel's cell holding escapes cleared the instructor's screen."""
    from course_grader.grade_class.report import shown
    assert shown("alice\x1b[2J\rbob\u202e") == "alice\\x1b[2J\\rbob\\u202e"
    assert shown("Zoë 张 ok") == "Zoë 张 ok"


def test_submission_digest_reads_no_link_nor_special_nor_huge_file(grade, tmp_path):
    """A link to /proc/kmsg stalled the read; one to a huge file took minutes: counted unread, and
    check_files refuses them before grading."""
    folder = tmp_path / "submitted" / "mallory" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text("{}")
    (folder / "kmsg").symlink_to("/proc/kmsg")
    os.mkfifo(folder / "pipe")  # reading it would block for ever
    with open(folder / "huge.bin", "wb") as f:
        f.truncate(2**40)  # a terabyte, sparse
    first = grade.submission_digest(tmp_path, ASSIGNMENT, "mallory")
    (folder / "huge.bin").unlink()  # what check_files would refuse next: the link
    second = grade.submission_digest(tmp_path, ASSIGNMENT, "mallory")
    (folder / "kmsg").unlink()  # then the FIFO
    assert len({first, second, grade.submission_digest(tmp_path, ASSIGNMENT, "mallory")}) == 3


def test_submission_digest_reads_nothing_of_a_folder_past_the_caps(grade, tmp_path, monkeypatch):
    """Hard links to one sparse 64 MiB file cost no disk, yet each was read whole: hours for the
    class command before anyone was graded."""
    folder = tmp_path / "submitted" / "mallory" / ASSIGNMENT
    folder.mkdir(parents=True)
    with open(folder / "sparse.bin", "wb") as f:
        f.truncate(64 * 2**20)
    for i in range(3):
        os.link(folder / "sparse.bin", folder / f"link{i}.bin")

    def read_bytes(path):
        raise AssertionError(f"{path} read")
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    first = grade.submission_digest(tmp_path, ASSIGNMENT, "mallory")
    os.truncate(folder / "sparse.bin", 60 * 2**20)
    assert grade.submission_digest(tmp_path, ASSIGNMENT, "mallory") != first


def test_database_passwords_stay_out_of_what_grade_py_prints(grade):
    line = ("$ nbgrader autograde 01_neurons --CourseDirectory.db_url=postgresql://grader:s3cret@db.example.org:5432/c"
            " sqlite:////srv/course/gradebook.db?timeout=60")
    assert grade.hide_passwords(line) == line.replace("s3cret", "***")


def test_a_flooded_run_reaches_the_log_bounded_and_searched_in_linear_time(tmp_path):
    """A kernel's stderr ends in nbgrader's output: 10 MB of it, a text that made the old regex
    quadratic, reaches the log as its last 64 kB, and the search over it ends at once (it held off
    the class command's signals for minutes)."""
    from course_grader.grade_class import runs
    flood = "import sys; sys.stdout.write('x://y:' * 2_000_000); sys.stdout.write('postgresql://a:s3cret@db')"
    with open(tmp_path / "log.txt", "w") as log:
        code, text = runs.run_nbgrader([], tmp_path, tmp_path, 60, log, code=flood)
    assert code == 0
    assert len(text) < runs.LOG_TAIL + 100 and text.startswith("[11934") and text.endswith("postgresql://a:s3cret@db")
    assert "s3cret" not in (tmp_path / "log.txt").read_text()


def test_a_kernel_that_did_not_start_is_not_the_submissions_fault(grade):
    text = ("[AutogradeApp | INFO] Converting notebook autograded/bob/01_neurons/01_neurons.ipynb\n"
            "zmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:43489')\n"
            "[AutogradeApp | ERROR] Error occurred while starting new kernel client for kernel c537f457: "
            "Kernel died before replying to kernel_info\n"
            "[AutogradeApp | ERROR] Please see the the above traceback for details on the specific errors\n")
    assert grade.outcome_of(1, text, 300) == (
        "no kernel", "zmq.error.ZMQError: Address already in use (addr='tcp://127.0.0.1:43489')")
    assert grade.outcome_of(1, "[AutogradeApp | ERROR] Kernel died while waiting for execute reply.", 300)[0] == "died"


def test_kernels_start_warm_from_the_zygote_and_without_the_graders_secrets(grade, tmp_path, monkeypatch):
    """What the launcher runs while grade.py's zygote is up starts with torch already imported,
    and sees neither the zygote's socket nor the gradebook's URL; afterwards the zygote is gone."""
    monkeypatch.setenv("NBGRADER_DB_URL", "postgresql://grader:secret@db/course")
    code = "import json, os, sys; print(json.dumps(['torch' in sys.modules, sorted(os.environ)]))"
    with grade.warm_launcher():
        socket = os.environ[zygote.ENV]
        done = subprocess.run([sys.executable, "-I", "-m", "course_grader.sandbox", "--scratch", str(tmp_path), "--",
                               sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    warm, names = json.loads(done.stdout.splitlines()[-1])
    assert warm, done.stderr
    assert zygote.ENV not in names and "NBGRADER_DB_URL" not in names
    assert zygote.ENV not in os.environ and not os.path.exists(socket)


def test_a_student_another_grader_adds_meanwhile_is_no_error(grade, tmp_path, monkeypatch):
    """Two assignments graded at the same time both add their new students to the gradebook."""
    from nbgrader.api import Gradebook
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # alembic
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url, course_id="c") as gb:
        gb.add_student("alice")
    real, looks = Gradebook.students, []

    def students(gb):  # the first look misses alice, as if the other grader added her just after it
        looks.append(1)
        return [] if len(looks) == 1 else real.fget(gb)
    monkeypatch.setattr(Gradebook, "students", property(students))
    run = grade.Run(tmp_path, ASSIGNMENT, url, "c", 300, 1, [], tmp_path)
    grade.register_students(run, ["alice", "bob"])
    assert len(looks) == 2
    with Gradebook(url, course_id="c") as gb:
        assert sorted(s.id for s in real.fget(gb)) == ["alice", "bob"]


def test_each_kernel_gets_its_share_of_the_cores(grade, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert grade.kernel_environment(2)["OMP_NUM_THREADS"] == str(max(1, cores // 2))
    assert grade.kernel_environment(cores * 4)["OMP_NUM_THREADS"] == "1"
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the instructor's own setting wins
    assert grade.kernel_environment(2)["OMP_NUM_THREADS"] == "3"


def mtimes(folder: Path, pattern: str) -> dict[str, int]:
    return {p.stem: p.stat().st_mtime_ns for p in folder.glob(pattern)}


def grade_class(course: Path, *options: str) -> dict:
    """Run grade.py on the class; what the tests read of it."""
    output = run([PYTHON, "grade.py", ASSIGNMENT, *options], course)
    logs = course / "grading_logs" / ASSIGNMENT
    return {"output": output, "summary": {r["student"]: r for r in json.loads((logs / "summary.json").read_text())},
            "logs": mtimes(logs, "*.log")}


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def runs_a_kernel(process: psutil.Process) -> bool:
    try:
        return "ipykernel" in " ".join(process.cmdline())
    except psutil.Error:
        return False


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def interrupted_regrade(course: Path) -> dict:
    """`grade.py --regrade --jobs 1`, stopped by SIGINT once it has recorded one student and is
    running the next one's kernel."""
    finished = course / "grading_logs" / ASSIGNMENT / "finished"
    before = mtimes(finished, "*.json")
    process = subprocess.Popen([PYTHON, "grade.py", ASSIGNMENT, "--regrade", "--jobs", "1"], cwd=course,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=ENV)
    deadline = time.monotonic() + 240
    while not (any(mtimes(finished, "*.json").get(s, 0) > t for s, t in before.items())
               and any(runs_a_kernel(p) for p in descendants(process.pid))):
        assert process.poll() is None and time.monotonic() < deadline, "no student recorded"
        time.sleep(0.05)
    running = descendants(process.pid)  # its forkserver, an nbgrader run and that run's kernel
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    output = process.communicate(timeout=60)[0]
    seconds = time.monotonic() - sent
    deadline = time.monotonic() + 5  # the forkserver ends a moment after grade.py
    while any(alive(p) for p in running) and time.monotonic() < deadline:
        time.sleep(0.1)
    return {"output": output, "code": process.returncode, "seconds": seconds,
            "recorded": sorted(mtimes(finished, "*.json")), "left_running": [p for p in running if alive(p)]}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    course = new_course(tmp_path_factory.mktemp("class"), ASSIGNMENT)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write(FLAG_HOOK)
    full = submit_kind(course, ASSIGNMENT, "reference", "reference")
    submit_kind(course, ASSIGNMENT, "blank", "blank")
    # Full marks, but it edited a test (restored before grading) and it gets a flag.
    submit(course, ASSIGNMENT, "flagged", {"linear": cells_by_id(read(
        course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"))["linear"].source + f"\n{MARKER}\n"})
    path = course / "submitted" / "flagged" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    nb = read(path)
    cells_by_id(nb)["test_linear"].source = "assert True"
    nbformat.write(nb, path)
    submit(course, ASSIGNMENT, "missing", {}, damage="delete")
    expected = {"reference": full, "blank": 0, "flagged": full, "missing": 0}

    first = grade_class(course, "--jobs", "2")
    unchanged = grade_class(course, "--jobs", "2")
    shutil.rmtree(course / "submitted" / "blank")
    submit_kind(course, ASSIGNMENT, "blank", "reference")  # hands in a finished notebook
    resubmitted = grade_class(course, "--jobs", "2")
    interrupted = interrupted_regrade(course)
    resumed = grade_class(course, "--jobs", "2")
    return {"course": course, "expected": expected, "first": first, "unchanged": unchanged,
            "resubmitted": resubmitted, "interrupted": interrupted, "resumed": resumed}


@pytest.mark.slow
def test_first_run_grades_every_student_and_keeps_the_summary_keys(runs):
    for student, score in runs["expected"].items():
        result = runs["first"]["summary"][student]
        assert result["score"] == score, result
        assert set(result) == {"student", "status", "reasons", "score", "max_score", "needs_manual_grade",
                               "seconds", "flags"}
        assert re.search(rf"^{student}\s+\d", runs["first"]["output"], re.MULTILINE)


@pytest.mark.slow
def test_flags_of_the_kernel_and_of_grade_py_reach_summary_and_output(runs):
    summary, output = runs["first"]["summary"], runs["first"]["output"]
    # The course's grading machinery may raise flags of other kinds as well: only these are checked.
    checked = {"time limit", "killed kernel", "missing", "unreadable", "edited tests", KERNEL_FLAG["kind"]}
    flags = {s: [f["kind"] for f in r["flags"] if f["kind"] in checked] for s, r in summary.items()}
    assert flags == {"reference": [], "blank": [], "flagged": ["edited tests", "test flag"], "missing": ["missing"]}
    assert KERNEL_FLAG in summary["flagged"]["flags"]
    section = output[output.index("\nflagged: "):]
    for student, kind, detail in [("flagged", "test flag", KERNEL_FLAG["detail"]),
                                  ("flagged", "edited tests", "read-only cell test_linear was edited"),
                                  ("missing", "missing", "01_neurons.ipynb not found")]:
        assert re.search(rf"^\s+{student}\s+{kind}: {re.escape(detail)}", section, re.MULTILINE), section
    assert not re.search(rf"^\s+(reference|blank)\s+({'|'.join(checked)}):", section, re.MULTILINE), section


@pytest.mark.slow
def test_summary_states_the_distribution_and_draws_it(runs):
    scores = list(runs["expected"].values())
    assert (f"min {min(scores):g}, median {statistics.median(scores):g}, mean {statistics.mean(scores):.2f}, "
            f"max {max(scores):g}") in runs["first"]["output"]
    assert f"histogram: grading_logs/{ASSIGNMENT}/scores.png" in runs["first"]["output"]
    png = (runs["course"] / "grading_logs" / ASSIGNMENT / "scores.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 5000


@pytest.mark.slow
def test_a_second_run_grades_nothing_again(runs):
    unchanged = runs["unchanged"]
    assert "4 of 4 already graded by an earlier run and unchanged since: skipped" in unchanged["output"]
    assert "grading 0 submission(s)" in unchanged["output"]
    assert unchanged["logs"] == runs["first"]["logs"], "a log was written again: a student was graded again"
    assert {s: r["score"] for s, r in unchanged["summary"].items()} == runs["expected"]
    assert unchanged["summary"]["flagged"]["flags"] == runs["first"]["summary"]["flagged"]["flags"]
    assert unchanged["output"].count("(earlier run)") == 4


@pytest.mark.slow
def test_a_changed_submission_alone_is_graded_again(runs):
    resubmitted, first = runs["resubmitted"], runs["first"]
    assert "3 of 4 already graded" in resubmitted["output"] and "grading 1 submission(s)" in resubmitted["output"]
    changed = {s for s in first["logs"] if resubmitted["logs"][s] != first["logs"][s]}
    assert changed == {"blank"}
    assert resubmitted["summary"]["blank"]["score"] == runs["expected"]["reference"]


@pytest.mark.slow
def test_ctrl_c_stops_at_once_and_the_next_run_grades_only_the_rest(runs):
    interrupted, resumed = runs["interrupted"], runs["resumed"]
    assert interrupted["code"] == 130 and "interrupted: 1 of 4 graded" in interrupted["output"], interrupted["output"]
    assert "without --regrade" in interrupted["output"]
    assert interrupted["seconds"] < 15, "Ctrl-C must not wait for the gradings in flight"
    assert not interrupted["left_running"], f"left running: {interrupted['left_running']}"
    # --regrade forgot every record; the one student graded before Ctrl-C got a new one
    assert len(interrupted["recorded"]) == 1
    assert "1 of 4 already graded" in resumed["output"] and "grading 3 submission(s)" in resumed["output"]
    scores = {s: r["score"] for s, r in resumed["summary"].items()}
    assert scores == {**runs["expected"], "blank": runs["expected"]["reference"]}
