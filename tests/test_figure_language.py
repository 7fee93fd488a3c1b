"""Figures in the learner's language (course_lib/figure_language.py): with a CJK font the Chinese
notebooks' figures draw their labels in Chinese, every character a glyph; without one they stay
English; English notebooks never change."""
from __future__ import annotations

import io
import re
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course_lib import figure_language  # noqa: E402
from course_lib.figure_language import font_for, label_figures  # noqa: E402
from course_lib.style import use_course_style  # noqa: E402

CJK = re.compile(r"[\u4e00-\u9fff]")
HAS_FONT = font_for("zh") is not None


@pytest.fixture(autouse=True)
def english_afterwards(monkeypatch):
    yield
    monkeypatch.delenv("COURSE_LANG", raising=False)
    label_figures()
    plt.close("all")


def drawn(labels: dict) -> dict:
    """The texts of a figure labelled by `labels`, after drawing it to a PNG: a glyph missing from
    the font (a box in place of a character) is an error."""
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, -1], label=labels["legend"])  # a minus sign on the y axis
    ax.set_xlabel(labels["x"])
    ax.set_title(labels["title"])
    ax.legend()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing")
        fig.savefig(io.BytesIO(), format="png")
    return {"x": ax.xaxis.label.get_text(), "title": ax.title.get_text(),
            "legend": ax.get_legend().get_texts()[0].get_text()}


LABELS = {"x": "epoch", "title": "Loss curves", "legend": "lr = 0.05"}  # lesson 04's words


@pytest.mark.needs(HAS_FONT, "a CJK font (bash scripts/install_system_deps.sh fonts: fonts-noto-cjk)")
def test_a_chinese_notebook_s_figures_speak_chinese_with_every_glyph_drawn(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "zh")
    use_course_style()  # what the setup cell runs
    assert figure_language._state["language"] == "zh"
    texts = drawn(LABELS)
    assert all(CJK.search(text) for text in (texts["x"], texts["title"])), texts
    assert "0.05" in texts["legend"] and CJK.search(texts["legend"]), texts  # a label with a value: its pattern
    assert drawn({**LABELS, "x": "a word no catalog has"})["x"] == "a word no catalog has"
    assert drawn({**LABELS, "x": "θ − α∇L + β₁m − β₂v"})  # Greek and subscripts beside Chinese: no box
    math = "label 1: $-\\log p$"  # mathtext draws a label with math in fonts without CJK: it stays English
    assert drawn({**LABELS, "legend": math})["legend"] == math


def test_without_a_font_for_it_a_chinese_notebook_s_figures_stay_english(monkeypatch):
    monkeypatch.setenv("COURSE_LANG", "zh")
    monkeypatch.setattr(figure_language, "FONTS", {"zh": ("A font nobody has",)})
    monkeypatch.setattr(figure_language, "FONT_FILES", ())
    assert label_figures() == "en"
    assert drawn(LABELS) == LABELS


def test_an_english_notebook_s_figures_are_untouched(monkeypatch):
    family = list(matplotlib.rcParams["font.family"])
    monkeypatch.setenv("COURSE_LANG", "zh")
    label_figures()
    monkeypatch.setenv("COURSE_LANG", "en")
    assert label_figures() == "en"
    assert matplotlib.rcParams["font.family"] == family
    assert matplotlib.text.Text.set_text is figure_language._set_text
    assert drawn(LABELS) == LABELS
