"""Autograde every submission of an assignment, so that each student ends with a grade and a reason.

    python grade.py 01_neurons                      # every student in submitted/
    python grade.py 01_neurons --student alice --jobs 2 --time-limit 120
    python grade.py 01_neurons -- --Execute.timeout=60   # after --: passed on to nbgrader

Runs `nbgrader autograde ASSIGNMENT --student S --force` once per student, each with a hard
wall-clock limit. nbgrader alone leaves a submission ungraded when its code kills the kernel
(os._exit, out of memory) or hangs while ignoring interrupts. Here the grading kernel keeps a note
of the cell and graded function running (course_lib/_guard.py); after such a failure that
function (or cell) is marked poisoned and the student is graded again, with the poisoned part
failing at once: it scores zero, the rest counts. A submission nbgrader cannot read at all (not
JSON, missing or misnamed notebook) gets zero with the reason. Prints one line per student and
writes grading_logs/ASSIGNMENT/ (a log per student and summary.json).
"""
from __future__ import annotations

import sys

sys.modules.setdefault("rfc3987_syntax", None)  # start-up time: see NBGRADER below

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import psutil
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

COURSE = Path(__file__).resolve().parent

# `nbgrader`, minus 1.5-3 s of start-up: jsonschema imports rfc3987_syntax, which builds a parser
# grammar at import, only to check IRI strings that nbgrader's notebooks never hold.
NBGRADER = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); sys.argv[0] = 'nbgrader'; "
            "from nbgrader.apps.nbgraderapp import main; sys.exit(main())")

DIED = "it made the Python kernel die (os._exit, a crash or running out of memory)"
IGNORED = "it ran past its time limit and ignored the interrupt (a loop catching BaseException?)"
HUNG = "it kept running past its time limit and could not be interrupted"


def course_directory(course: Path) -> CourseDirectory:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return CourseDirectory(config=config)


def _kill_tree(process: subprocess.Popen) -> None:
    """nbgrader and its kernel (started in a session of its own, so not in nbgrader's group)."""
    try:
        family = psutil.Process(process.pid).children(recursive=True) + [psutil.Process(process.pid)]
    except psutil.NoSuchProcess:
        return
    for p in family:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    process.wait()


def run_nbgrader(command: list[str], course: Path, state: Path, time_limit: float, log) -> tuple[int | None, str]:
    """Run one nbgrader command, killed after time_limit: (exit code, or None if killed; its output)."""
    env = {**os.environ, "COURSE_GRADING_DIR": str(state)}
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, cwd=course, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
        try:
            code = process.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            _kill_tree(process)
            code = None
        out.seek(0)
        text = out.read()
    log.write(f"$ nbgrader {' '.join(command[3:])}\n{text}\n")
    return code, text


def outcome_of(code: int | None, text: str, time_limit: float) -> tuple[str, str]:
    """("ok" | "timeout" | "died" | "hung" | "error", a detail) of one nbgrader run.

    "timeout": graded, but a cell ran out of time; if the kernel ignored the interrupt, every
    later cell ran out of time too, and running.json still names what was running.
    """
    errors = [line for line in text.splitlines() if "| ERROR]" in line or "Error" in line]
    last = errors[-1] if errors else f"exit code {code}"
    if code is None:
        return "hung", f"no result after {time_limit:g} s"
    if code == 0:
        return ("timeout", "a cell ran out of time") if "Timeout waiting for execute reply" in text else ("ok", "")
    if "DeadKernelError" in text or "Kernel died" in text:
        return "died", last
    if "Timeout waiting for" in text or "UnresponsiveKernel" in text:
        return "hung", last
    return "error", last


def check_files(course: Path, assignment: str, student: str) -> tuple[str | None, list[str]]:
    """(why nbgrader cannot read this submission at all, or None; notes on edited read-only cells)."""
    expected = sorted(p.name for p in (course / "source" / assignment).glob("*.ipynb"))
    folder = course / "submitted" / student / assignment
    found = sorted(p.name for p in folder.glob("*.ipynb"))
    missing = [name for name in expected if name not in found]
    if missing and len(missing) == len(expected):
        others = [name for name in found if name not in expected]
        if others:
            return (f"{', '.join(missing)} not found; the folder holds {', '.join(others)}: rename it "
                    f"to {missing[0]} and grade again"), []
        return f"{', '.join(missing)} not found in {folder.relative_to(course)}", []
    notes = []
    for name in (name for name in found if name in expected):
        try:
            submitted = nbformat.read(folder / name, as_version=4)
            nbformat.validate(submitted)
        except Exception as err:  # noqa: BLE001 - any unreadable file is the same problem
            return f"{name} is not a readable notebook ({type(err).__name__}: {str(err)[:120]})", []
        notes += _edited_cells(nbformat.read(course / "release" / assignment / name, as_version=4),
                               submitted)
    return None, notes


def _edited_cells(release, submitted) -> list[str]:
    """Read-only cells (tests, setup) the student changed or deleted; nbgrader restores them."""
    def locked(nb):
        return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("locked")}
    theirs = locked(submitted)
    return [f"read-only cell {key} was {'deleted' if key not in theirs else 'edited'}: graded "
            f"with the original" for key, source in locked(release).items() if theirs.get(key) != source]


def record_zero(course: Path, db_url: str, assignment: str, student: str) -> None:
    """What nbgrader records for a missing notebook: every grade 0, nothing left to grade by hand."""
    shutil.rmtree(course / "autograded" / student / assignment, ignore_errors=True)
    with Gradebook(db_url) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score, grade.manual_score, grade.needs_manual_grade = 0, None, False
        gb.db.commit()


def score(db_url: str, assignment: str, student: str) -> tuple[float, float, bool]:
    with Gradebook(db_url) as gb:
        try:
            s = gb.find_submission(assignment, student)
        except MissingEntry:
            return 0.0, gb.find_assignment(assignment).max_score, False
        return s.score, s.max_score, s.needs_manual_grade


def autograde_until_graded(course: Path, assignment: str, student: str, state: Path, time_limit: float,
                           attempts: int, extra: list[str], skipped: list[str], log) -> str | None:
    """Run nbgrader, poisoning what killed or hung the kernel, until it grades: None, or why it cannot."""
    poisoned = {"calls": {}, "cells": {}}
    for _ in range(attempts):
        (state / "poisoned.json").write_text(json.dumps(poisoned))
        (state / "running.json").unlink(missing_ok=True)
        command = [sys.executable, "-c", NBGRADER, "autograde", assignment, "--student", student, "--force", *extra]
        outcome, detail = outcome_of(*run_nbgrader(command, course, state, time_limit, log), time_limit)
        try:
            marker = json.loads((state / "running.json").read_text())
        except (OSError, ValueError):
            marker = {}
        if outcome == "ok" or (outcome == "timeout" and not (marker.get("call") or marker.get("cell"))):
            return None
        if outcome == "error":
            return f"nbgrader failed: {detail}"
        reason = IGNORED if marker.get("event") == "ignored-interrupt" else DIED if outcome == "died" else HUNG
        kind, key = ("calls", marker.get("call")) if marker.get("call") else ("cells", marker.get("cell"))
        if not key:
            return f"{reason.replace('it ', 'the notebook ', 1)}, outside any cell the grader can skip"
        if key in poisoned[kind]:
            return f"{key} still fails after being skipped ({detail})"
        poisoned[kind][key] = f"in an earlier grading run {reason}"
        what = key if kind == "calls" else f"the cell starting `{key.split(' ', 1)[1]}`"
        skipped.append(f"{what}: {reason}; skipped, so its tests score 0")
    return f"not graded after {attempts} attempts"


def grade_student(course: Path, db_url: str, assignment: str, student: str, time_limit: float,
                  attempts: int, extra: list[str], logs: Path) -> dict:
    """Grade one student, come what may: {"student", "status", "reasons", "score", ...}."""
    reasons: list[str] = []
    start = time.perf_counter()
    log_path = logs / f"{student}.log"
    failure, notes = check_files(course, assignment, student)
    with open(log_path, "w") as log, tempfile.TemporaryDirectory() as state:
        failure = failure or autograde_until_graded(course, assignment, student, Path(state),
                                                    time_limit, attempts, extra, reasons, log)
    reasons += notes
    status = "graded, parts skipped" if reasons and "skipped" in reasons[0] else "graded"
    if failure:
        record_zero(course, db_url, assignment, student)
        status, reasons = "zero", [failure, *reasons]
    points, max_points, manual = score(db_url, assignment, student)
    return {"student": student, "status": status, "reasons": reasons, "score": points,
            "max_score": max_points, "needs_manual_grade": manual,
            "seconds": round(time.perf_counter() - start, 1)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="students graded at the same time")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds per nbgrader run")
    parser.add_argument("--attempts", type=int, default=4, help="nbgrader runs per student at most")
    parser.add_argument("--course", type=Path, default=COURSE, help="the nbgrader course folder")
    parser.add_argument("--logs", type=Path, help="where logs and summary.json go (grading_logs/ASSIGNMENT)")
    args = parser.parse_args(argv)
    # nbgrader runs `alembic` when it creates a gradebook: this Python's scripts must be on PATH.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    course = args.course.resolve()
    db_url = course_directory(course).db_url
    submitted = course / "submitted"
    students = args.student or sorted(p.parent.name for p in submitted.glob(f"*/{args.assignment}"))
    if not students:
        print(f"no submissions of {args.assignment} in {submitted}")
        return 1
    logs = args.logs or course / "grading_logs" / args.assignment
    logs.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(lambda s: grade_student(course, db_url, args.assignment, s, args.time_limit,
                                                        args.attempts, extra, logs), students))
    (logs / "summary.json").write_text(json.dumps(results, indent=1))
    width = max(len(s) for s in students)
    for r in results:
        manual = " + manual" if r["needs_manual_grade"] else ""
        print(f"{r['student']:<{width}}  {r['score']:5g} / {r['max_score']:g}{manual:9}  "
              f"{r['seconds']:5.1f} s  {r['status']}")
        for reason in r["reasons"]:
            print(f"{'':<{width}}    - {reason}")
    print(f"{len(results)} submission(s) of {args.assignment} in {time.perf_counter() - start:.0f} s; "
          f"logs in {logs.relative_to(course)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
