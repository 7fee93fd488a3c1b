"""The feedback page of `nbgrader generate_feedback`, honest about what is not graded yet.

nbgrader scores a written answer that nobody has graded by hand as 0, so feedback made before
hand grading showed "Written response (Score: 0.0 / 2.0)" and a total that read as lost points.
PendingGrades marks those cells and counts their points; the course's template
(templates/course_feedback/) shows them as "graded by hand later" and says in the total how many
points still wait for a grader. nbgrader_config.py puts both in place of nbgrader's own.
"""
from __future__ import annotations

from pathlib import Path

import nbgrader
from nbgrader.preprocessors import GetGrades

# Our template's folder extends nbgrader's "feedback" (conf.json), so that the file of ours, which
# is not named index.html.j2, finds nbgrader's index.html.j2 as the page it extends.
TEMPLATE, TEMPLATE_FILE = "course_feedback", "course_feedback.html.j2"
# Ours, and nbgrader's templates folder, which holds its "feedback" template.
TEMPLATE_DIRS = [str(Path(__file__).parent / "templates"),
                 str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates")]


class PendingGrades(GetGrades):
    """nbgrader's GetGrades, plus `nbgrader.pending` on each cell that waits for hand grading and
    resources["nbgrader"]["pending_points"], the points of those cells."""

    def preprocess(self, nb, resources):
        resources["nbgrader"]["pending_points"] = 0.0
        return super().preprocess(nb, resources)

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        meta = cell.metadata["nbgrader"]
        grade = self.gradebook.find_grade(meta["grade_id"], self.notebook_id, self.assignment_id, self.student_id)
        # Neither autograding (an unchanged answer scores 0 there) nor a grader has scored it.
        meta["pending"] = grade.auto_score is None and grade.manual_score is None
        if meta["pending"]:
            resources["nbgrader"]["pending_points"] += grade.max_score
