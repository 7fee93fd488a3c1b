"""course_lib's messages in the learner's language: `_("...")` looks a text up in that language's catalog.

    from course_lib.i18n import _, N_
    raise ValueError(_("{name} must have {wanted} dimension(s), got shape {shape}", name=name, ...))
    KEEPDIM = N_("sum with keepdim=True")  # a text kept for later: translated where it is shown

The language is COURSE_LANG ("zh"; the Chinese notebooks' setup cell sets it), else English, the
source. The grader speaks a notebook's language inside `speaking(language)`. Placeholders are
named, `{shape}`, and filled after translation, so a translation may put them in another order.
A text already filled in (a test's hint written as an f-string) is found by `shown`, which also
matches it against the catalog's texts with placeholders.

Catalogs: translations/<language>/messages.po (course_lib's and the grader's messages), the hints
in translations/<language>/exercises/NN.po and the figures' labels in each lesson's catalog
(course_lib/figure_language.py); scripts/translations.py build compiles them into
course_lib/locale/<language>/LC_MESSAGES/course_lib.mo, shipped with the package.
"""
from __future__ import annotations

import contextlib
import functools
import gettext
import os
import re
from collections.abc import Iterator
from pathlib import Path

DOMAIN = "course_lib"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE_LANGUAGE = "en"
MAX_PATTERN_TEXT = 400  # longer texts are looked up exactly only: a pattern's cost grows with the text
PLACEHOLDER = re.compile(r"\{(\w+)\}")
_spoken: list[str] = []  # the languages of `speaking`, innermost last


def language() -> str:
    """The language messages are shown in: "en" or a catalog's ("zh" for COURSE_LANG=zh_CN too)."""
    chosen = _spoken[-1] if _spoken else os.environ.get("COURSE_LANG", "")
    code = chosen.strip().split("_")[0].split("-")[0].lower()
    # a language code names a catalog's folder: anything else (a path, say) is English
    return code if re.fullmatch(r"[a-z]{2,3}", code) else SOURCE_LANGUAGE


@contextlib.contextmanager
def speaking(lang: str | None) -> Iterator[None]:
    """Messages made inside are in `lang` (None or "": English)."""
    _spoken.append(lang or SOURCE_LANGUAGE)
    try:
        yield
    finally:
        _spoken.pop()


@functools.cache
def _translations(lang: str) -> gettext.GNUTranslations | None:
    try:
        with open(LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as f:
            return gettext.GNUTranslations(f)
    except OSError:
        return None


def _catalog(lang: str) -> dict:
    """msgid -> translation, (msgid, form) -> a plural form's; empty where there is no catalog."""
    translations = _translations(lang)
    return translations._catalog if translations else {}  # noqa: SLF001 - the parsed catalog itself


def fill(text: str, values: dict) -> str:
    """text with each {name} in values replaced by str(value); other braces stay as they are."""
    if not values:
        return text
    return PLACEHOLDER.sub(lambda m: str(values[m[1]]) if m[1] in values else m[0], text)


def _(text: str, **values) -> str:
    """text in the learner's language (text itself where the catalog lacks it), placeholders filled."""
    lang = language()
    if lang != SOURCE_LANGUAGE and text:
        text = _catalog(lang).get(text) or text
    return fill(text, values)


def _n(singular: str, plural: str, n: int, **values) -> str:
    """singular or plural as n asks, translated, with {n} and the other placeholders filled."""
    lang = language()
    translations = _translations(lang) if lang != SOURCE_LANGUAGE else None
    if translations and (text := translations._catalog.get((singular, translations.plural(int(n))))):  # noqa: SLF001
        return fill(text, {"n": n, **values})
    return fill(singular if n == 1 else plural, {"n": n, **values})


def N_(text: str) -> str:
    """text as it is: marks it for the catalog, to be translated where it is shown (`shown`)."""
    return text


def pattern_of(text: str) -> re.Pattern:
    """A pattern that matches text with its placeholders filled in, each captured under its name."""
    pieces, parts, names = PLACEHOLDER.split(text), [], set()  # literal, name, literal, ...
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            parts.append(re.escape(piece))
        else:
            parts.append(f"(?P={piece})" if piece in names else f"(?P<{piece}>.+?)")
            names.add(piece)
    return re.compile("".join(parts), re.DOTALL)


@functools.cache
def _patterns(lang: str) -> list[tuple[re.Pattern, str]]:
    """The catalog's texts with placeholders as patterns that match them filled in, and their
    translations (figure labels, "figure\x04..." in the catalog, are course_lib/figure_language.py's)."""
    return [(pattern_of(msgid), translation) for msgid, translation in _catalog(lang).items()
            if isinstance(msgid, str) and "\x04" not in msgid and translation and PLACEHOLDER.search(msgid)]


def shown(text: str | None) -> str | None:
    """A text made elsewhere (a hint, perhaps an f-string already filled in) in the learner's language."""
    lang = language()
    if not text or lang == SOURCE_LANGUAGE:
        return text
    if found := _catalog(lang).get(text):
        return found
    for pattern, translation in _patterns(lang) if len(text) <= MAX_PATTERN_TEXT else ():
        if match := pattern.fullmatch(text):  # what fills it in may be a text of the catalog too
            return fill(translation, {k: _catalog(lang).get(v) or v for k, v in match.groupdict().items()})
    return text
