"""Grading students: one, come what may; the class, `jobs` at a time, recording each as it finishes."""
from __future__ import annotations

import dataclasses
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed

from course_grader.grade_class.attempts import Attempts, autograde_until_graded
from course_grader.grade_class.gradebook import forget_submission, record_zero, score
from course_grader.grade_class.report import print_progress
from course_grader.grade_class.run import Run
from course_grader.grade_class.runs import STOPPING, Interrupted
from course_grader.grade_class.submissions import GRADER_ERROR, Result, check_files
from course_grader.protocol import GradingDir, flag, write_json


def grade_student(run: Run, student: str) -> Result:
    """Grade one student, come what may: a Result with a status and the reasons. A failure of the
    class command's own code on this submission is a grader error for this student alone (an
    attack review's crafted metadata stopped the whole class), with the traceback in its log."""
    start = time.perf_counter()
    try:
        return _grade_student(run, student, start)
    except Interrupted:
        raise
    except Exception as err:  # noqa: BLE001 - whatever it is, the other students' grading goes on
        with open(run.logs / f"{student}.log", "a") as log:
            log.write(traceback.format_exc())
        try:
            forget_submission(run, student)  # nothing recorded: the next run grades it again
        except Exception:  # noqa: BLE001 - the error above is the one to report
            pass
        detail = f"the class command failed on this submission ({type(err).__name__}: {str(err)[:200]}): see its log"
        return Result(student, GRADER_ERROR, [detail], 0.0, 0.0, False, round(time.perf_counter() - start, 1),
                      [flag(GRADER_ERROR, detail)])


def _grade_student(run: Run, student: str, start: float) -> Result:
    if STOPPING.is_set():
        raise Interrupted
    sub = Attempts(student)
    failure, notes = check_files(run.course, run.assignment, student)
    with open(run.logs / f"{student}.log", "w") as log, tempfile.TemporaryDirectory() as folder:
        failure = failure or autograde_until_graded(run, sub, GradingDir(folder), log)
    # The grader's own fault is no zero: nothing stays recorded, the next run grades again.
    grader_error = failure is not None and failure["kind"] == GRADER_ERROR
    if grader_error:
        forget_submission(run, student)
    elif failure:
        record_zero(run, student)
    status = (GRADER_ERROR if grader_error else "zero" if failure
              else "graded, parts skipped" if sub.skipped_parts else "graded")
    flags = ([failure] if failure else []) + sub.flags + notes
    points, max_points, manual = score(run, student)
    return Result(student, status, [f["detail"] for f in flags], points, max_points, manual,
                  round(time.perf_counter() - start, 1), flags + sub.kernel_flags)


def grade_and_record(run: Run, student: str, digest: str) -> Result:
    # From here on the gradebook no longer holds the recorded grade: an interrupted regrade starts afresh.
    run.record_path(student).unlink(missing_ok=True)
    result = grade_student(run, student)
    # nbgrader failing by itself (a database down, say) may not be the submission's doing: try again next run.
    if not any(f["kind"] == GRADER_ERROR for f in result.flags):
        write_json(run.record_path(student), {"submission_sha256": digest, "result": dataclasses.asdict(result)})
    return result


def grade_all(run: Run, students: list[str], digests: dict[str, str], jobs: int, results: dict) -> None:
    """Grade `jobs` students at a time into results; on Ctrl-C (or an error) stop every grading at once."""
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(grade_and_record, run, s, digests[s]) for s in students]
        try:
            for done, future in enumerate(as_completed(futures), 1):
                r = future.result()
                results[r.student] = r
                print_progress(done, len(students), r)
        except BaseException:
            STOPPING.set()
            for future in futures:
                future.cancel()
            raise  # leaving `with` waits for the gradings in flight, which end their nbgrader at once
