"""The texts the course shows as messages, read from its code for the gettext catalogs.

From Python (course_lib, course_grader, the exercises' code cells):
- the first argument of `_("...")` and `N_("...")` (an f-string in N_, as in a hint), and both
  of `_n("...", "...", n)`;
- a test's hint: the value of a `hint=` (also `grad_hint=`, `connect_hint=`) argument or of such a
  dict key. A hint written as an f-string becomes a text with placeholders, `{gate}`, which
  course_lib.i18n.shown matches against the hint as shown. Only plain names may stand in its braces.
From the feedback's Jinja template: the texts of `resources.tr("...")` and `resources.tr_n("...", "...")`.

And the words of figures (`labels_of_code`): the strings a plotting call draws, set_xlabel("epoch"),
set_title(f"slope {slope:.4f}"), label="data" ..., which course_lib/figure_language.py translates
as matplotlib sets them; not a label with $math$ in it, which stays English. In a label's
f-string any expression may stand in braces: it becomes {name} for a plain name and {value1},
{value2} ... otherwise.
"""
from __future__ import annotations

import ast
import datetime
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog

from course_lib.exercise_rules import GRADED_TOPIC
from course_lib.figure_language import CONTEXT

ROOT = Path(__file__).resolve().parents[1]
HIDDEN_TESTS = ROOT / "course_grader" / "hidden_tests"
MESSAGE = "a message"  # the extracted comment of a catalog entry that is a message, not a notebook's text
LABEL = "a figure's label"  # ... that is a word a figure draws (msgctxt "figure")
HINT_KEYS = {"hint", "grad_hint", "connect_hint"}
LABEL_CALLS = {"set_xlabel", "set_ylabel", "set_title", "xlabel", "ylabel", "title", "suptitle", "set_label",
               "annotate", "text"}
LABEL_KEYS = {"label", "title", "xlabel", "ylabel"}
WORDS = re.compile(r"[A-Za-z]{2}")
MATH = re.compile(r"(?<!\\)\$.+?(?<!\\)\$")  # mathtext: $-\log p$
TEMPLATE_CALL = re.compile(r"""\btr(_n)?\("((?:[^"\\]|\\.)*)"(?:,\s*"((?:[^"\\]|\\.)*)")?""")

Text = tuple[str | tuple[str, str], int]  # (msgid, or (singular, plural)), line


class HintError(ValueError):
    """A hint that cannot become a catalog text."""


def _text(node: ast.AST, name_of) -> str | None:
    """The text of a string literal, or of an f-string with a {name} placeholder for a plain name and
    name_of(expression) for any other expression; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        return None
    return "".join(value.value if isinstance(value, ast.Constant) else
                   "{" + value.value.id + "}" if isinstance(value.value, ast.Name) else name_of(value.value)
                   for value in node.values)


def _string(node: ast.AST, where: str) -> str | None:
    """A hint's text: its f-string may put only plain names in braces."""
    def refuse(expression: ast.AST) -> str:
        raise HintError(f"{where}, line {node.lineno}: a hint's f-string may only put plain names in its "
                        f"braces (name the value first), not {{{ast.unparse(expression)}}}")
    return _text(node, refuse)


def _hints(node: ast.AST, where: str) -> list[str]:
    """The texts a hint's expression can give: a string, or either of `a if c else b`."""
    if isinstance(node, ast.IfExp):
        return _hints(node.body, where) + _hints(node.orelse, where)
    text = _string(node, where)
    return [text] if text else []


def texts_of_code(source: str, where: str) -> Iterator[Text]:
    """The texts of one Python source: marked texts and hints."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name == "_" and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                yield node.args[0].value, node.lineno
            elif name == "N_" and node.args and (text := _string(node.args[0], where)):
                yield text, node.lineno
            elif name == "_n" and len(node.args) >= 2 and all(
                    isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args[:2]):
                yield (node.args[0].value, node.args[1].value), node.lineno
            for keyword in node.keywords:
                if keyword.arg in HINT_KEYS:
                    yield from ((text, node.lineno) for text in _hints(keyword.value, where))
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value in HINT_KEYS:
                    yield from ((text, node.lineno) for text in _hints(value, where))


def _label(node: ast.AST) -> str | None:
    """A figure label's text: a string literal, or an f-string with its expressions as placeholders."""
    count = itertools.count(1)
    text = _text(node, lambda expression: "{value%d}" % next(count))
    if text is None:
        return None
    if MATH.search(text):  # matplotlib draws all of such a label with its math font, which has no CJK
        return None
    return text if WORDS.search(re.sub(r"\{\w+\}", "", text)) else None  # words to translate


def labels_of_code(source: str) -> Iterator[Text]:
    """The words figures draw in one Python source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a cell with IPython magics: no labels read from it
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        values = list(node.args) if called in LABEL_CALLS else []
        values += [keyword.value for keyword in node.keywords if keyword.arg in LABEL_KEYS]
        for value in values:
            if text := _label(value):
                yield text, node.lineno


def texts_of_template(source: str) -> Iterator[Text]:
    for match in TEMPLATE_CALL.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        yield ((match[2], match[3]) if match[1] else match[2]), line


def texts_of_file(path: Path) -> Iterator[Text]:
    source = path.read_text(encoding="utf-8")
    if path.suffix == ".j2":
        yield from texts_of_template(source)
    else:
        yield from texts_of_code(source, path.name)


# Which catalog a text goes in: scripts/translations.py builds the catalogs with these.

def new_catalog(created: datetime.datetime, header: str) -> Catalog:
    return Catalog(project="dl-fundamentals", fuzzy=False, creation_date=created, header_comment=header)


def add_texts(catalog: Catalog, texts, where: str) -> None:
    for text, line in texts:
        catalog.add(text, locations=[(where, line)], auto_comments=[MESSAGE])


def add_labels(catalog: Catalog, labels, where: str) -> None:
    for text, line in labels:
        catalog.add(text, locations=[(where, line)], auto_comments=[LABEL], context=CONTEXT)


def hidden_test_files(topic: str) -> list[Path]:
    """The hidden tests of a topic: its module or package, and modules named after its graded names."""
    names = [topic, *(name for name, of in GRADED_TOPIC.items() if of == topic)]
    found = [HIDDEN_TESTS / f"{name}.py" for name in names if (HIDDEN_TESTS / f"{name}.py").exists()]
    return found + (sorted((HIDDEN_TESTS / topic).glob("*.py")) if (HIDDEN_TESTS / topic).is_dir() else [])


def message_files() -> list[Path]:
    """Where course_lib's and the grader's own messages are: everything but the topics' hidden tests."""
    of_topics = {path for topic in set(GRADED_TOPIC.values()) for path in hidden_test_files(topic)}
    return [path for path in sorted([*(ROOT / "course_lib").rglob("*.py"), *(ROOT / "course_grader").rglob("*.py"),
                                     *(ROOT / "course_grader" / "templates").rglob("*.j2")])
            if path not in of_topics and "egg-info" not in str(path)]


def messages_template(catalog: Catalog) -> Catalog:
    """catalog, empty, with course_lib's and the grader's messages added."""
    for path in message_files():
        add_texts(catalog, texts_of_file(path), path.relative_to(ROOT).as_posix())
        if path.suffix == ".py" and path.is_relative_to(ROOT / "course_lib"):
            add_labels(catalog, labels_of_code(path.read_text(encoding="utf-8")), path.relative_to(ROOT).as_posix())
    return catalog
