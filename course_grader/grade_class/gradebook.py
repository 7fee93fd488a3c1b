"""The class command's reads and writes of nbgrader's gradebook, besides what nbgrader records itself."""
from __future__ import annotations

import json
import shutil
import time
import warnings

from nbgrader.api import InvalidEntry, MissingEntry
from sqlalchemy.exc import SAWarning

from course_grader.grade_class.run import Run
from course_grader.grade_class.submissions import Result


def missing_assignment(run: Run) -> str | None:
    """None if the gradebook holds the assignment; else the one command that puts it there."""
    if not (run.course / "source" / run.assignment).is_dir():
        return f"no assignment {run.assignment}: {run.course / 'source' / run.assignment} does not exist"
    with run.gradebook() as gb:
        try:
            gb.find_assignment(run.assignment)
            return None
        except MissingEntry:
            pass
    return (f"the gradebook does not hold {run.assignment} yet: run `nbgrader generate_assignment "
            f"{run.assignment}` in {run.course} (with the same --db-url, if you gave one), then this command again")


def forget_submission(run: Run, student: str) -> None:
    """What nbgrader recorded of a grading that the grader cannot vouch for: gone, not a zero."""
    shutil.rmtree(run.course / "autograded" / student / run.assignment, ignore_errors=True)
    with run.gradebook() as gb:
        try:
            gb.remove_submission(run.assignment, student)
        except MissingEntry:
            pass


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
    with warnings.catch_warnings(), run.gradebook() as gb:
        # nbgrader's update_or_create_submission warns about its own session handling; the zero
        # grades are recorded all the same.
        warnings.filterwarnings("ignore", r"Object of type <Submitted\w+> not in session", SAWarning)
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(run.assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score, grade.manual_score, grade.needs_manual_grade = 0, None, False
        gb.db.commit()


def score(run: Run, student: str) -> tuple[float, float, bool]:
    """(score, max score, whether an answer waits to be graded by hand) as the gradebook holds them."""
    with run.gradebook() as gb:
        try:
            s = gb.find_submission(run.assignment, student)
        except MissingEntry:
            return 0.0, gb.find_assignment(run.assignment).max_score, False
        return s.score, s.max_score, s.needs_manual_grade


def already_graded(run: Run, digests: dict[str, str]) -> dict[str, Result]:
    """The results of students graded by an earlier run, whose submission has not changed since and
    whose grade the gradebook still holds (not so after switching --db-url), with the gradebook's
    current score: a manual grade may have come since."""
    records = {}
    for student, digest in digests.items():
        try:
            record = json.loads(run.record_path(student).read_text())
            if record.get("submission_sha256") == digest:
                records[student] = Result(**record["result"])
        except (OSError, ValueError, TypeError, KeyError):
            continue
    if not records:
        return {}
    earlier = {}
    with run.gradebook() as gb:
        for student, result in records.items():
            try:
                s = gb.find_submission(run.assignment, student)
            except MissingEntry:
                continue
            earlier[student] = result.graded_elsewhere(s.score, s.max_score, s.needs_manual_grade)
    return earlier
