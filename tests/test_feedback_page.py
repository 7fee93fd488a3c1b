"""The feedback page (course_grader/templates/course_feedback/) renders, in English and in Chinese,
without nbgrader's whole pipeline: a graded test cell, a written answer waiting for hand grading
and the total, each in the notebook's language. tests/test_nbgrader_pipeline.py renders it for
real submissions; this catches a broken template in seconds."""
from __future__ import annotations

import html
import os
import re

import nbformat
import nbgrader
import pytest
from nbconvert import HTMLExporter

from course_grader import feedback
from course_lib.i18n import _, speaking

BOOTSTRAP = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "static",
                         "node_modules", "bootstrap", "dist", "css")  # as nbgrader's GenerateFeedback adds it


def page(language: str) -> str:
    graded = {"grade": True, "solution": False, "grade_id": "test_relu", "points": 3, "score": 1.0}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Why?", metadata={"nbgrader": {
            "grade": True, "solution": True, "grade_id": "why", "points": 2, "score": None, "pending": True}}),
        nbformat.v4.new_code_cell("def relu(z): ...", metadata={"nbgrader": {
            "grade": False, "solution": True, "grade_id": "relu", "points": 0}}),
        nbformat.v4.new_code_cell("expect(relu, z, like=reference)", metadata={"nbgrader": graded}),
    ], metadata={"language": language})
    exporter = HTMLExporter(template_name=feedback.TEMPLATE, template_file=feedback.TEMPLATE_FILE,
                            extra_template_basedirs=feedback.TEMPLATE_DIRS, extra_template_paths=[BOOTSTRAP])
    tr, tr_n = feedback.translator(language)
    resources = {"nbgrader": {"notebook": "02_activations", "score": 1.0, "max_score": 5.0, "pending_points": 2.0,
                              "late_penalty": 0}, "tr": tr, "tr_n": tr_n}
    body, _resources = exporter.from_notebook_node(nb, resources=resources)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_feedback_page_renders_its_scores_and_what_waits_for_hand_grading():
    text = page("en")
    assert "02_activations (Score: 1.0 / 5.0, with 2.0 points still to be graded by hand)" in text
    assert "Test cell (Score: 1.0 / 3.0)" in text and "Written response (graded by hand later: 2.0 points)" in text
    assert "Student's answer" in text


@pytest.mark.parametrize("language", ["zh"])
def test_a_translated_notebook_s_feedback_page_is_in_its_language(language):
    text = page(language)
    with speaking(language):
        words = [_("Test cell"), _("Written response"), _("Student's answer"),
                 _("Score: {score} / {points}", score="1.0", points="3.0")]
    for word in words:
        assert word in text, word
    for english in ("Test cell", "Written response", "Student's answer", "Score:", "graded by hand"):
        assert english not in text, english
