"""What the gradings of one run of the class command share: the course, the assignment, the
gradebook, the limits and where logs and records go."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook


@dataclass(frozen=True)
class Run:
    course: Path
    assignment: str
    db_url: str
    course_id: str
    time_limit: float  # seconds per nbgrader run
    attempts: int  # nbgrader runs per student at most
    nbgrader_options: list[str]
    logs: Path  # grading_logs/ASSIGNMENT: a log per student, summary.json, scores.png, finished/

    def gradebook(self) -> Gradebook:
        return Gradebook(self.db_url, course_id=self.course_id)

    def record_path(self, student: str) -> Path:
        """Where a finished grading is recorded, so that a later run can skip it."""
        return self.logs / "finished" / f"{student}.json"
