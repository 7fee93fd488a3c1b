"""Autograde every submission of an assignment, so that each student ends with a grade and a reason.

    python -m course_grader grade 01_neurons              # in the course folder: every student in submitted/
    python -m course_grader grade 01_neurons --jobs 2     # two at a time; after Ctrl-C, the same command resumes
    python -m course_grader grade 01_neurons --student alice --time-limit 120
    python -m course_grader grade 01_neurons --db-url postgresql://grader@db.example.org/dl_fundamentals
    python -m course_grader grade 01_neurons -- --Execute.timeout=60   # after --: passed on to nbgrader

Runs `nbgrader autograde ASSIGNMENT --student S --force` once per student, each with a hard
wall-clock limit, graded again with what killed or hung the kernel skipped (attempts.py). A
submission nbgrader cannot read at all (not JSON, missing or misnamed notebook) gets zero with the
reason (submissions.py).

Each student whose grading finished is recorded in grading_logs/ASSIGNMENT/finished/S.json with a
hash of the submitted folder: a later run skips them while their submission is unchanged and the
gradebook still holds their grade, so an interrupted run started again goes on where it stopped
(--regrade grades everyone again; gradebook.py). Prints one line per student, the score
distribution and the flagged submissions (a limit hit, missing or unreadable files, edited
read-only cells, flags the grader's other parts wrote in COURSE_GRADING_DIR/flags.json), and
writes grading_logs/ASSIGNMENT/: a log per student, summary.json and scores.png (report.py).
The processes: runs.py; grading one student and the class: grading.py; here, the command line.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import time
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

from course_grader.grade_class.gradebook import already_graded, missing_assignment, register_students
from course_grader.grade_class.grading import grade_all
from course_grader.grade_class.reference import check_reference
from course_grader.grade_class.report import print_summary, shown
from course_grader.grade_class.run import Run
from course_grader.grade_class.runs import hide_passwords, kernel_environment, start_forkserver, warm_launcher
from course_grader.grade_class.submissions import name_problem, submission_digest
from course_grader.protocol import write_json


def course_directory(course: Path):
    from nbgrader.coursedir import CourseDirectory
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return CourseDirectory(config=config)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python -m course_grader grade", description=__doc__.split("\n")[0])
    parser.add_argument("assignment")
    parser.add_argument("--student", action="append", help="grade only this student (repeatable)")
    parser.add_argument("--jobs", type=int, default=1, help="students graded at the same time")
    parser.add_argument("--time-limit", type=float, default=300, help="seconds per nbgrader run")
    parser.add_argument("--attempts", type=int, default=4, help="nbgrader runs per student at most")
    parser.add_argument("--regrade", action="store_true",
                        help="grade again the students an earlier run graded, even if unchanged")
    parser.add_argument("--db-url", help="the gradebook, e.g. postgresql://USER:PASSWORD@HOST/DB "
                                         "(default: nbgrader_config.py's, which NBGRADER_DB_URL overrides)")
    parser.add_argument("--course", type=Path, default=Path("."),
                        help="the nbgrader course folder (default: this folder)")
    parser.add_argument("--logs", type=Path, help="where logs and summary.json go (grading_logs/ASSIGNMENT)")
    args = parser.parse_args(argv)
    # nbgrader runs `alembic` when it creates a gradebook: this Python's scripts must be on PATH.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    os.environ.update(kernel_environment(args.jobs))  # for the nbgrader runs and their kernels
    with warm_launcher():
        return grade(args, extra)


def grade(args: argparse.Namespace, extra: list[str]) -> int:
    course = args.course.resolve()
    start_forkserver(course)
    coursedir = course_directory(course)
    db_url = args.db_url or coursedir.db_url
    submitted = course / "submitted"
    students = args.student or sorted(p.parent.name for p in submitted.glob(f"*/{args.assignment}"))
    if not students:
        print(f"no submissions of {args.assignment} in {submitted}")
        return 1
    refused = {s: problem for s in students if (problem := name_problem(s))}
    for student, problem in refused.items():
        print(f"not grading {student[:60]!r}: {shown(problem)}")
    students = [s for s in students if s not in refused]
    if not students:
        return 1
    logs = (args.logs or course / "grading_logs" / args.assignment).resolve()
    (logs / "finished").mkdir(parents=True, exist_ok=True)
    run = Run(course, args.assignment, db_url, coursedir.course_id, args.time_limit, args.attempts,
              [f"--CourseDirectory.db_url={db_url}", *extra], logs)

    missing = missing_assignment(run)
    if missing:
        print(missing)
        return 2
    problem = check_reference(run)
    if problem:
        print(f"not grading {args.assignment}: its own solution does not get every point in the sandbox: {problem}")
        return 2
    register_students(run, students)
    digests = {s: submission_digest(course, args.assignment, s) for s in students}
    if args.regrade:  # forget the earlier records: an interrupted regrade then resumes like any run
        for student in students:
            run.record_path(student).unlink(missing_ok=True)
    results = already_graded(run, digests)
    earlier = set(results)
    todo = [s for s in students if s not in earlier]
    if earlier:
        print(f"{len(earlier)} of {len(students)} already graded by an earlier run and unchanged since: "
              f"skipped (--regrade grades them again)")
    print(f"grading {len(todo)} submission(s) of {args.assignment}, {args.jobs} at a time, "
          f"into {hide_passwords(db_url)}", flush=True)
    start = time.perf_counter()
    try:
        grade_all(run, todo, digests, args.jobs, results)
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(results) - len(earlier)} of {len(todo)} graded by this run and recorded; "
              f"run the same command{' without --regrade' if args.regrade else ''} to grade the rest", flush=True)
        return 130
    ordered = [results[s] for s in students]
    write_json(logs / "summary.json", [dataclasses.asdict(r) for r in ordered])
    print_summary(ordered, earlier, run)
    print(f"{len(ordered)} submission(s) of {args.assignment}: {len(todo)} graded in "
          f"{time.perf_counter() - start:.0f} s, {len(earlier)} skipped as already graded")
    return 0


def run_command(argv: list[str]) -> int:
    """main(argv) as a command: `kill` stops it as Ctrl-C does, ending the nbgrader runs in flight
    before it exits. SIGINT too, explicitly: a shell without job control starts background
    commands with it ignored."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    return main(argv)
