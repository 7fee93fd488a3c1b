"""Figures in the learner's language: axis labels, titles and legends translated where a font can draw them.

The notebooks' code is the English code in every language, so a figure's words are English in the
code. In a translated notebook the setup cell's style.use_course_style() calls `label_figures()`:
where the language has a font on this machine (for Chinese one of CJK_FONTS: Debian's
fonts-noto-cjk, macOS's and Windows' own), matplotlib draws with it and each text it sets that the
catalog knows as a figure's label (msgctxt "figure", read by scripts/message_texts.py from the
plotting calls) is drawn translated. Where no such font exists the figure stays English: never
boxes in place of characters.
"""
from __future__ import annotations

import re
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.text import Text

from course_lib import i18n

CONTEXT = "figure"  # the msgctxt of a figure's label in the catalogs
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
             "PingFang SC", "Heiti SC", "Microsoft YaHei", "SimHei")
FONTS = {"zh": CJK_FONTS}
# Where those fonts lie, for a matplotlib whose font cache was made before they were installed.
FONT_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/opentype/noto-cjk/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/System/Library/Fonts/PingFang.ttc",
              "C:/Windows/Fonts/msyh.ttc", "C:/Windows/Fonts/simhei.ttf")
_set_text = Text.set_text  # matplotlib's own, kept to put back
_state: dict = {"language": "en", "family": None}


def font_for(language: str) -> str | None:
    """The family of a font on this machine that draws `language`, or None."""
    wanted = FONTS.get(language, ())
    if not wanted:
        return None
    for attempt in range(2):
        installed = {entry.name for entry in font_manager.fontManager.ttflist}
        found = next((name for name in wanted if name in installed), None)
        if found or attempt:
            return found
        for path in FONT_FILES:
            if Path(path).exists():
                font_manager.fontManager.addfont(path)
    return None


def _labels(language: str) -> tuple[dict[str, str], list[tuple[re.Pattern, str]]]:
    """The figure labels of the language's catalog: exact texts, and patterns of those with placeholders."""
    exact, patterns, prefix = {}, [], CONTEXT + "\x04"
    for key, translation in i18n._catalog(language).items():  # noqa: SLF001
        if isinstance(key, str) and key.startswith(prefix) and translation:
            text = key[len(prefix):]
            if i18n.PLACEHOLDER.search(text):
                patterns.append((i18n.pattern_of(text), translation))
            else:
                exact[text] = translation
    return exact, patterns


def translated_label(text: str, exact: dict, patterns: list) -> str:
    if "$" in text:  # mathtext draws the whole label with its own fonts, which have no CJK: English
        return text
    if text in exact:
        return exact[text]
    for pattern, translation in patterns if len(text) <= i18n.MAX_PATTERN_TEXT else ():
        if match := pattern.fullmatch(text):
            return i18n.fill(translation, match.groupdict())
    return text


def label_figures() -> str:
    """Label figures in the learner's language where a font draws it; return the language they are in."""
    language, font = i18n.language(), None
    if language != i18n.SOURCE_LANGUAGE:
        font = font_for(language)
    if _state["family"] is not None:  # back to English first: the language may have changed
        matplotlib.rcParams["font.family"] = _state["family"]
        Text.set_text, _state["family"], _state["language"] = _set_text, None, "en"
    if font is None:
        return "en"
    exact, patterns = _labels(language)

    def set_text(self, s):
        if isinstance(s, str) and s:
            s = translated_label(s, exact, patterns)
        return _set_text(self, s)
    # The course's fonts first, the language's font after: matplotlib takes each character from the
    # first font that has it, so Latin, Greek, subscripts and minus signs look as in English figures.
    _state["family"] = list(matplotlib.rcParams["font.family"])
    matplotlib.rcParams["font.family"] = [*_state["family"], font]
    Text.set_text, _state["language"] = set_text, language
    return language
