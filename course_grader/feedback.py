"""The feedback page of `nbgrader generate_feedback`, honest about what is not graded yet.

nbgrader scores a written answer that nobody has graded by hand as 0, so feedback made before
hand grading showed "Written response (Score: 0.0 / 2.0)" and a total that read as lost points.
PendingGrades marks those cells and counts their points; the course's template
(templates/course_feedback/) shows them as "graded by hand later" and says in the total how many
points still wait for a grader. nbgrader_config.py puts both in place of nbgrader's own.
Its words are in the notebook's language (metadata.language: "zh" for the Chinese exercises).
"""
from __future__ import annotations

from pathlib import Path

import nbgrader
from nbgrader.preprocessors import GetGrades

from course_lib import i18n

# Our template's folder extends nbgrader's "feedback" (conf.json), so that the file of ours, which
# is not named index.html.j2, finds nbgrader's index.html.j2 as the page it extends.
TEMPLATE, TEMPLATE_FILE = "course_feedback", "course_feedback.html.j2"
# Ours, and nbgrader's templates folder, which holds its "feedback" template.
TEMPLATE_DIRS = [str(Path(__file__).parent / "templates"),
                 str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates")]


def translator(language: str | None):
    """tr(text, **values) and tr_n(singular, plural, n, **values) in `language`, for the template."""
    def tr(text: str, **values) -> str:  # the template's texts: scripts/message_texts.py reads them there
        with i18n.speaking(language):
            return i18n._(text, **values)

    def tr_n(singular: str, plural: str, n, **values) -> str:
        with i18n.speaking(language):
            return i18n._n(singular, plural, n, **values)
    return tr, tr_n


class PendingGrades(GetGrades):
    """nbgrader's GetGrades, plus `nbgrader.pending` on each cell that waits for hand grading,
    resources["nbgrader"]["pending_points"], the points of those cells, and resources["tr"] and
    ["tr_n"], which put the page's words in the notebook's language."""

    def preprocess(self, nb, resources):
        resources["nbgrader"]["pending_points"] = 0.0
        resources["tr"], resources["tr_n"] = translator(str(nb.metadata.get("language") or ""))
        return super().preprocess(nb, resources)

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        meta = cell.metadata["nbgrader"]
        grade = self.gradebook.find_grade(meta["grade_id"], self.notebook_id, self.assignment_id, self.student_id)
        # Neither autograding (an unchanged answer scores 0 there) nor a grader has scored it.
        meta["pending"] = grade.auto_score is None and grade.manual_score is None
        if meta["pending"]:
            resources["nbgrader"]["pending_points"] += grade.max_score
