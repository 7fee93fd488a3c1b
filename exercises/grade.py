"""Autograde every submission of an assignment, so that each student ends with a grade and a reason.

    python grade.py 01_neurons                      # every student in submitted/
    python grade.py 01_neurons --jobs 2             # two at a time; after Ctrl-C, the same command resumes
    python grade.py 01_neurons --student alice --time-limit 120
    python grade.py 01_neurons --db-url postgresql://grader@db.example.org/dl_fundamentals
    python grade.py 01_neurons -- --Execute.timeout=60   # after --: passed on to nbgrader

Runs `nbgrader autograde ASSIGNMENT --student S --force` once per student, each with a hard
wall-clock limit. nbgrader alone leaves a submission ungraded when its code kills the kernel
(os._exit, out of memory) or hangs while ignoring interrupts. Here the grading kernel keeps a note
of the cell and graded function running (course_lib/_grading_state.py); after such a failure that
function (or cell) is marked poisoned and the student is graded again, with the poisoned part
failing at once: it scores zero, the rest counts. A submission nbgrader cannot read at all (not
JSON, missing or misnamed notebook) gets zero with the reason.

Each student whose grading finished is recorded in grading_logs/ASSIGNMENT/finished/S.json with a
hash of the submitted folder: a later run skips them while their submission is unchanged and the
gradebook still holds their grade, so an interrupted run started again goes on where it stopped
(--regrade grades everyone again). Prints one line per student, the score distribution and the
flagged submissions (a limit hit, missing or unreadable files, edited read-only cells, flags the
grading kernel wrote in COURSE_GRADING_DIR/flags.json), and writes grading_logs/ASSIGNMENT/: a
log per student, summary.json and scores.png (a histogram).
"""
import sys

sys.modules.setdefault("rfc3987_syntax", None)  # start-up time: see NBGRADER below

import argparse
import ast
import contextlib
import hashlib
import json
import math
import multiprocessing
import multiprocessing.forkserver
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import nbgrader.apps.nbgraderapp  # noqa: F401 - for the forked nbgrader runs (FORKSERVER)
import psutil
from nbgrader.api import Gradebook, InvalidEntry, MissingEntry
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from traitlets.config.loader import PyFileConfigLoader

from course_lib.sandbox import zygote

COURSE = Path(__file__).resolve().parent

# nbgrader's update_or_create_submission (record_zero below) warns about its own session handling;
# the zero grades are recorded all the same.
warnings.filterwarnings("ignore", r"Object of type <Submitted\w+> not in session", SAWarning)

# `nbgrader`, minus 1.5-3 s of start-up: jsonschema imports rfc3987_syntax, which builds a parser
# grammar at import, only to check IRI strings that nbgrader's notebooks never hold.
NBGRADER = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); sys.argv[0] = 'nbgrader'; "
            "from nbgrader.apps.nbgraderapp import main; sys.exit(main())")

# run_nbgrader forks each run from a server process that has imported this file, and so nbgrader,
# once: starting Python and importing nbgrader for every student cost about 1 s of CPU per student
# (benchmarks/bench_grade_class.py). main() tells it what to import.
FORKSERVER = multiprocessing.get_context("forkserver")
# What a forked run does before its command's code: a session of its own (Ctrl-C in the terminal
# reaches grade.py alone, which ends every run in flight), its folder, environment and output file.
# A string for the builtin exec, so that the forked process needs to import nothing to run it.
# gc.freeze(): the garbage collector leaves alone the objects inherited from the server (torch,
# nbgrader...); scanning them wrote to every page, which the OS then had to copy: 0.15 s of CPU per
# run, 40% of what a forked run spends outside its kernel (measured).
FORKED_RUN = """\
import gc, os, sys
gc.freeze()
os.setsid()
os.chdir(CWD)
os.environ.clear()
os.environ.update(ENV)
os.dup2(os.open(OUTPUT, os.O_WRONLY), 1)
os.dup2(1, 2)
sys.argv = ARGV
"""
STOPPING = threading.Event()  # set on Ctrl-C: every nbgrader run in flight is ended at once

DIED = "it made the Python kernel die (os._exit, a crash or running out of memory)"
IGNORED = "it ran past its time limit and ignored the interrupt (a loop catching BaseException?)"
HUNG = "it kept running past its time limit and could not be interrupted"

# Kinds of flag that grade.py raises; the grading kernel may add kinds of its own (flags.json).
TIME_LIMIT, KILLED, MISSING, UNREADABLE, EDITED, GRADER_ERROR = (
    "time limit", "killed kernel", "missing", "unreadable", "edited tests", "grader error")


def _compile_notebook_schema() -> None:
    """Compiled here, the schema is inherited by every nbgrader run forked from FORKSERVER, which
    would each compile it again: 0.25 s of CPU per student."""
    for relax in (False, True):
        nbformat.validator.get_validator(version=4, relax_add_props=relax)


_compile_notebook_schema()


def flag(kind: str, detail: str) -> dict:
    return {"kind": kind, "detail": detail}


class Interrupted(Exception):
    """The run is stopping (Ctrl-C): this student stays unrecorded, to be graded by the next run."""


@dataclass
class Run:
    """What the gradings of one run share."""
    course: Path
    assignment: str
    db_url: str
    course_id: str
    time_limit: float
    attempts: int
    nbgrader_options: list[str]
    logs: Path

    def gradebook(self) -> Gradebook:
        return Gradebook(self.db_url, course_id=self.course_id)

    def record_path(self, student: str) -> Path:
        return self.logs / "finished" / f"{student}.json"


@dataclass
class Submission:
    """One student's grading, as it goes."""
    student: str
    flags: list[dict] = field(default_factory=list)  # grade.py's findings: the reasons under the student's line
    kernel_flags: list[dict] = field(default_factory=list)  # what the grading kernel wrote in flags.json
    poisoned: dict = field(default_factory=lambda: {"calls": {}, "cells": {}})


def start_forkserver(course: Path) -> None:
    """Start FORKSERVER importing this file (by name, as its folder is sys.path[0]: Python 3.11's
    forkserver ignores "__main__") and what the course's nbgrader_config.py imports (torch, for
    one), which each nbgrader run would otherwise import again. Started before this process reads
    the configuration itself, so that both import on a core each: 1 s less before the first run.
    """
    tree = ast.parse((course / "nbgrader_config.py").read_text())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level]
    sys.path.insert(1, str(course))  # where the configuration finds its own modules
    FORKSERVER.set_forkserver_preload([Path(__file__).stem, *imported])
    multiprocessing.forkserver.ensure_running()


@contextlib.contextmanager
def warm_launcher():
    """The sandbox's zygote (course_lib/sandbox/zygote.py) for this run's grading kernels, which
    then start without importing torch again: 1.7 s of CPU less per student. Started first, with
    the kernels' environment, so that it imports while this process gets ready."""
    folder = tempfile.mkdtemp(prefix="course-zygote-")
    socket = os.path.join(folder, "socket")
    process = subprocess.Popen([sys.executable, "-I", zygote.__file__, socket], stdin=subprocess.DEVNULL)
    # Listening within 0.1 s; launchers that come while it imports wait their turn. One that found
    # no socket at all would start its kernel the slow way.
    deadline = time.monotonic() + 10
    while not os.path.exists(socket) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.environ[zygote.ENV] = socket
    try:
        yield
    finally:
        del os.environ[zygote.ENV]
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def course_directory(course: Path) -> CourseDirectory:
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    return CourseDirectory(config=config)


def hide_passwords(text: str) -> str:
    """scheme://user:***@host for every scheme://user:PASSWORD@host in text (database URLs)."""
    return re.sub(r"(\w+://[^:/@\s]*:)[^@\s]+@", r"\1***@", text)


def kernel_environment(jobs: int) -> dict[str, str]:
    """The environment of nbgrader and its kernels, with each kernel's share of the cores.

    torch and BLAS start one thread per core in every kernel: with --jobs 2 on 2 cores, 4 threads
    would contend for 2 cores. The course's small tensors gain little from threads anyway: 3-5% less
    CPU for 06_mlp with 1 thread per kernel than with 2, measured.
    """
    threads = str(max(1, len(os.sched_getaffinity(0)) // jobs))
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(name, threads)
    return env


def write_json(path: Path, data) -> None:
    """Write atomically: a run killed meanwhile leaves the old file or the new one, never half of one."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(data, indent=1))
    os.replace(partial, path)


def submission_digest(course: Path, assignment: str, student: str) -> str:
    """sha256 of the submitted folder: every file's name and bytes (timestamp.txt included)."""
    folder = course / "submitted" / student / assignment
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        digest.update(f"{path.relative_to(folder)}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _kill_tree(process: multiprocessing.Process) -> None:
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
    process.join()


def run_nbgrader(command: list[str], course: Path, state: Path, time_limit: float, log) -> tuple[int | None, str]:
    """Run `python -c CODE ARGS...` ([sys.executable, "-c", CODE, *ARGS]) in course, forked from
    FORKSERVER, killed after time_limit: (exit code, or None if killed; its output)."""
    _, _, code, *args = command
    env = {**os.environ, "COURSE_GRADING_DIR": str(state)}
    with tempfile.NamedTemporaryFile("w+") as out:
        process = FORKSERVER.Process(target=exec, args=(FORKED_RUN + code, {
            "__name__": "__main__", "CWD": str(course), "ENV": env, "OUTPUT": out.name, "ARGV": ["-c", *args]}))
        process.start()
        deadline = time.monotonic() + time_limit
        while process.exitcode is None and not STOPPING.is_set() and time.monotonic() < deadline:
            # short waits, so that a stopping run does not wait for this one
            process.join(timeout=min(0.5, max(0.0, deadline - time.monotonic())))
        exit_code = process.exitcode
        if exit_code is None:
            _kill_tree(process)
            if STOPPING.is_set():
                raise Interrupted
        text = out.read()
    log.write(hide_passwords(f"$ nbgrader {' '.join(command[3:])}\n{text}\n"))
    return exit_code, text


def outcome_of(code: int | None, text: str, time_limit: float) -> tuple[str, str]:
    """("ok" | "timeout" | "no kernel" | "died" | "hung" | "error", a detail) of one nbgrader run.

    "timeout": graded, but a cell ran out of time; if the kernel ignored the interrupt, every
    later cell ran out of time too, and running.json still names what was running.
    "no kernel": the kernel died while starting, for instance because another program took one of
    the ports jupyter_client had picked for it (seen with four gradings at a time).
    """
    errors = [line for line in text.splitlines() if "| ERROR]" in line or "Error" in line]
    last = errors[-1] if errors else f"exit code {code}"
    if code is None:
        return "hung", f"no result after {time_limit:g} s"
    if code == 0:
        return ("timeout", "a cell ran out of time") if "Timeout waiting for execute reply" in text else ("ok", "")
    if "Kernel died before replying to kernel_info" in text:
        # the kernel's own last words, not nbgrader's "see the above traceback"
        return "no kernel", next((line for line in text.splitlines() if "Error: " in line and line[0] != "["), last)
    if "DeadKernelError" in text or "Kernel died" in text:
        return "died", last
    if "Timeout waiting for" in text or "UnresponsiveKernel" in text:
        return "hung", last
    return "error", last


def check_files(course: Path, assignment: str, student: str) -> tuple[dict | None, list[dict]]:
    """(a flag saying why nbgrader cannot read this submission at all, or None; flags of edited read-only cells)."""
    expected = sorted(p.name for p in (course / "source" / assignment).glob("*.ipynb"))
    folder = course / "submitted" / student / assignment
    found = sorted(p.name for p in folder.glob("*.ipynb"))
    missing = [name for name in expected if name not in found]
    if missing and len(missing) == len(expected):
        others = [name for name in found if name not in expected]
        if others:
            return flag(MISSING, f"{', '.join(missing)} not found; the folder holds {', '.join(others)}: "
                                 f"rename it to {missing[0]} and grade again"), []
        return flag(MISSING, f"{', '.join(missing)} not found in {folder.relative_to(course)}"), []
    notes = []
    for name in (name for name in found if name in expected):
        try:
            submitted = nbformat.read(folder / name, as_version=4)
            nbformat.validate(submitted)
        except Exception as err:  # noqa: BLE001 - any unreadable file is the same problem
            return flag(UNREADABLE, f"{name} is not a readable notebook ({type(err).__name__}: {str(err)[:120]})"), []
        notes += _edited_cells(nbformat.read(course / "release" / assignment / name, as_version=4),
                               submitted)
    return None, notes


def _edited_cells(release, submitted) -> list[dict]:
    """Read-only cells (tests, setup) the student changed or deleted; nbgrader restores them."""
    def locked(nb):
        return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("locked")}
    theirs = locked(submitted)
    return [flag(EDITED, f"read-only cell {key} was {'deleted' if key not in theirs else 'edited'}: graded "
                         f"with the original") for key, source in locked(release).items() if theirs.get(key) != source]


def take_kernel_flags(kernel_dir: Path) -> list[dict]:
    """flags.json, which the grading kernel may write: a list of {"kind": str, "detail": str}.

    Removed once read, so that each nbgrader run of a student reports its own.
    """
    path = kernel_dir / "flags.json"
    if not path.exists():
        return []
    try:
        flags = [flag(str(f["kind"])[:80], str(f["detail"])[:500]) for f in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError, KeyError) as err:
        # Submitted code runs beside the kernel and can write there too: report, do not crash.
        flags = [flag("unreadable flags", f"flags.json is not a list of {{kind, detail}} ({type(err).__name__})")]
    path.unlink(missing_ok=True)
    return flags


def register_students(run: Run, students: list[str]) -> None:
    """Every student in the gradebook before any nbgrader run. nbgrader looks a student up, then
    adds them if missing: two runs adding the same student at once (two assignments graded at the
    same time) fail on the second insert. Here such a clash is simply tried again."""
    for attempt in range(10):
        try:
            with run.gradebook() as gb:
                known = {student.id for student in gb.students}
                for student in students:
                    if student not in known:
                        gb.add_student(student)
            return
        except InvalidEntry:  # another grader added one meanwhile
            time.sleep(0.05 * (attempt + 1))


def record_zero(run: Run, student: str) -> None:
    """What nbgrader records for a missing notebook: every grade 0, nothing left to grade by hand."""
    shutil.rmtree(run.course / "autograded" / student / run.assignment, ignore_errors=True)
    with run.gradebook() as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(run.assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score, grade.manual_score, grade.needs_manual_grade = 0, None, False
        gb.db.commit()


def score(run: Run, student: str) -> tuple[float, float, bool]:
    with run.gradebook() as gb:
        try:
            s = gb.find_submission(run.assignment, student)
        except MissingEntry:
            return 0.0, gb.find_assignment(run.assignment).max_score, False
        return s.score, s.max_score, s.needs_manual_grade


def autograde_until_graded(run: Run, sub: Submission, kernel_dir: Path, log) -> dict | None:
    """Run nbgrader, poisoning what killed or hung the kernel, until it grades: None, or a flag saying why it cannot."""
    failure = flag(GRADER_ERROR, f"not graded after {run.attempts} attempts")
    for _ in range(run.attempts):
        (kernel_dir / "poisoned.json").write_text(json.dumps(sub.poisoned))
        (kernel_dir / "running.json").unlink(missing_ok=True)
        command = [sys.executable, "-c", NBGRADER, "autograde", run.assignment, "--student", sub.student,
                   "--force", *run.nbgrader_options]
        outcome, detail = outcome_of(*run_nbgrader(command, run.course, kernel_dir, run.time_limit, log),
                                     run.time_limit)
        sub.kernel_flags += [f for f in take_kernel_flags(kernel_dir) if f not in sub.kernel_flags]
        try:
            marker = json.loads((kernel_dir / "running.json").read_text())
        except (OSError, ValueError):
            marker = {}
        if outcome == "ok":
            return None
        if outcome == "timeout" and not (marker.get("call") or marker.get("cell")):
            sub.flags.append(flag(TIME_LIMIT, "a cell ran past the cell time limit and was interrupted: "
                                              "what it defines scores 0"))
            return None
        if outcome == "error":
            return flag(GRADER_ERROR, f"nbgrader failed: {detail}")
        if outcome == "no kernel":  # before any of the submission's code ran: grade it again
            failure = flag(GRADER_ERROR, f"the grading kernel did not start: {detail}")
            continue
        reason = IGNORED if marker.get("event") == "ignored-interrupt" else DIED if outcome == "died" else HUNG
        kind = KILLED if reason == DIED else TIME_LIMIT
        part, key = ("calls", marker.get("call")) if marker.get("call") else ("cells", marker.get("cell"))
        if not key:
            return flag(kind, f"{reason.replace('it ', 'the notebook ', 1)}, outside any cell the grader can skip")
        if key in sub.poisoned[part]:
            return flag(kind, f"{key} still fails after being skipped ({detail})")
        sub.poisoned[part][key] = f"in an earlier grading run {reason}"
        what = key if part == "calls" else f"the cell starting `{key.split(' ', 1)[1]}`"
        sub.flags.append(flag(kind, f"{what}: {reason}; skipped, so its tests score 0"))
        failure = flag(kind, f"not graded after {run.attempts} attempts")
    return failure


def grade_student(run: Run, student: str) -> dict:
    """Grade one student, come what may: {"student", "status", "reasons", "score", ..., "flags"}."""
    if STOPPING.is_set():
        raise Interrupted
    start = time.perf_counter()
    sub = Submission(student)
    failure, notes = check_files(run.course, run.assignment, student)
    with open(run.logs / f"{student}.log", "w") as log, tempfile.TemporaryDirectory() as kernel_dir:
        failure = failure or autograde_until_graded(run, sub, Path(kernel_dir), log)
    if failure:
        record_zero(run, student)
    status = "zero" if failure else "graded, parts skipped" if any(sub.poisoned.values()) else "graded"
    flags = ([failure] if failure else []) + sub.flags + notes
    points, max_points, manual = score(run, student)
    return {"student": student, "status": status, "reasons": [f["detail"] for f in flags], "score": points,
            "max_score": max_points, "needs_manual_grade": manual,
            "seconds": round(time.perf_counter() - start, 1), "flags": flags + sub.kernel_flags}


def grade_and_record(run: Run, student: str, digest: str) -> dict:
    # From here on the gradebook no longer holds the recorded grade: an interrupted regrade starts afresh.
    run.record_path(student).unlink(missing_ok=True)
    result = grade_student(run, student)
    # nbgrader failing by itself (a database down, say) may not be the submission's doing: try again next run.
    if not any(f["kind"] == GRADER_ERROR for f in result["flags"]):
        write_json(run.record_path(student), {"submission_sha256": digest, "result": result})
    return result


def already_graded(run: Run, digests: dict[str, str]) -> dict[str, dict]:
    """The results of students graded by an earlier run, whose submission has not changed since and
    whose grade the gradebook still holds (not so after switching --db-url), with the gradebook's
    current score: a manual grade may have come since."""
    records = {}
    for student, digest in digests.items():
        try:
            record = json.loads(run.record_path(student).read_text())
        except (OSError, ValueError):
            continue
        if record.get("submission_sha256") == digest:
            records[student] = record["result"]
    if not records:
        return {}
    earlier = {}
    with run.gradebook() as gb:
        for student, result in records.items():
            try:
                s = gb.find_submission(run.assignment, student)
            except MissingEntry:
                continue
            earlier[student] = {**result, "score": s.score, "max_score": s.max_score,
                                "needs_manual_grade": s.needs_manual_grade}
    return earlier


def grade_all(run: Run, students: list[str], digests: dict[str, str], jobs: int, results: dict) -> None:
    """Grade `jobs` students at a time into results; on Ctrl-C (or an error) stop every grading at once."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(grade_and_record, run, s, digests[s]) for s in students]
        try:
            for done, future in enumerate(as_completed(futures), 1):
                r = future.result()
                results[r["student"]] = r
                print(f"  [{done}/{len(students)}] {r['student']}: {r['score']:g} / {r['max_score']:g}, "
                      f"{r['status']} ({r['seconds']:.1f} s)", flush=True)
        except BaseException:
            STOPPING.set()
            for future in futures:
                future.cancel()
            raise  # leaving `with` waits for the gradings in flight, which end their nbgrader at once


def plot_scores(results: list[dict], assignment: str, path: Path) -> None:
    # Agg without pyplot: no display needed, no global figure state.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    scores = [r["score"] for r in results]
    top = max(r["max_score"] for r in results)
    fig = Figure(figsize=(6.4, 3.6))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.hist(scores, bins=[b - 0.5 for b in range(math.ceil(top) + 2)], color="#4c72b0", edgecolor="white")
    ax.axvline(statistics.median(scores), color="#c44e52", linestyle="--",
               label=f"median {statistics.median(scores):g}")
    ax.set(title=f"{assignment}: {len(scores)} submissions", xlabel=f"score (out of {top:g})",
           ylabel="submissions", xlim=(-0.5, math.ceil(top) + 0.5))
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def print_summary(results: list[dict], earlier: set[str], run: Run) -> None:
    def shown(path: Path) -> Path:
        return path.relative_to(run.course) if path.is_relative_to(run.course) else path

    width = max(len(r["student"]) for r in results)
    for r in results:
        manual = " + manual" if r["needs_manual_grade"] else ""
        again = " (earlier run)" if r["student"] in earlier else ""
        print(f"{r['student']:<{width}}  {r['score']:5g} / {r['max_score']:g}{manual:9}  "
              f"{r['seconds']:5.1f} s  {r['status']}{again}")
        for reason in r["reasons"]:
            print(f"{'':<{width}}    - {reason}")
    scores = [r["score"] for r in results]
    print(f"\nscores of {len(scores)} submission(s), out of {results[0]['max_score']:g}: min {min(scores):g}, "
          f"median {statistics.median(scores):g}, mean {statistics.mean(scores):.2f}, max {max(scores):g}")
    plot_scores(results, run.assignment, run.logs / "scores.png")
    print(f"histogram: {shown(run.logs / 'scores.png')}")
    flagged = [r for r in results if r["flags"]]
    print(f"flagged: {len(flagged)} submission(s)" + ("" if flagged else ", none"))
    for r in flagged:
        for f in r["flags"]:
            print(f"  {r['student']:<{width}}  {f['kind']}: {f['detail']}")
    print(f"logs and summary.json in {shown(run.logs)}")


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
    parser.add_argument("--regrade", action="store_true",
                        help="grade again the students an earlier run graded, even if unchanged")
    parser.add_argument("--db-url", help="the gradebook, e.g. postgresql://USER:PASSWORD@HOST/DB "
                                         "(default: nbgrader_config.py's, which NBGRADER_DB_URL overrides)")
    parser.add_argument("--course", type=Path, default=COURSE, help="the nbgrader course folder")
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
    logs = (args.logs or course / "grading_logs" / args.assignment).resolve()
    (logs / "finished").mkdir(parents=True, exist_ok=True)
    run = Run(course, args.assignment, db_url, coursedir.course_id, args.time_limit, args.attempts,
              [f"--CourseDirectory.db_url={db_url}", *extra], logs)

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
    write_json(logs / "summary.json", ordered)
    print_summary(ordered, earlier, run)
    print(f"{len(ordered)} submission(s) of {args.assignment}: {len(todo)} graded in "
          f"{time.perf_counter() - start:.0f} s, {len(earlier)} skipped as already graded")
    return 0


if __name__ == "__main__":
    # `kill` stops a run as Ctrl-C does: grade.py ends the nbgrader runs in flight before it exits.
    # SIGINT too, explicitly: a shell without job control starts background commands with it ignored.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    raise SystemExit(main())
