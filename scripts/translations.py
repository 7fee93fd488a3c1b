"""The course in another language, from the English notebooks and gettext catalogs (PO files).

    python scripts/translations.py update   # English texts -> translations/zh/*.po: new texts empty,
                                            # changed ones fuzzy beside their old translation
    python scripts/translations.py build    # English notebooks + catalogs -> notebooks/zh/*.ipynb,
                                            # exercises/zh/NN_topic/NN_topic.ipynb and the messages'
                                            # course_lib/locale/zh/LC_MESSAGES/course_lib.mo

The English notebooks stay the source. A catalog holds, per notebook, every paragraph of its
markdown cells (code blocks stay as they are); translators edit the PO files in Poedit, Weblate or
any text editor. `build` writes each translated notebook as the English one with the markdown
translated, the Colab badge and links pointing at the translated notebooks, and the setup cell
that makes course_lib speak the language; every other code cell is the English one.

The messages learners read are in catalogs too (scripts/message_texts.py reads them from the code):
translations/zh/messages.po holds course_lib's and the grader's, and each exercise's catalog the
hints of its visible and hidden tests. `build` compiles them into the .mo file course_lib.i18n reads.
tests/test_translations.py fails while a catalog has texts untranslated or fuzzy, or a built
notebook or .mo differs from the one committed.
"""
from __future__ import annotations

import copy
import datetime
import io
import re
import sys
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_config import LESSONS, SETUP_CELL, setup_cell  # noqa: E402
from message_texts import (LABEL, MESSAGE, add_labels, add_texts, hidden_test_files,  # noqa: E402
                           labels_of_code, messages_template, new_catalog, texts_of_code, texts_of_file)

from course_lib.i18n import DOMAIN, LOCALE_DIR  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("zh",)
FENCE = re.compile(r"^(```|~~~)")
CREATED = datetime.datetime(2026, 12, 6, tzinfo=datetime.timezone.utc)  # fixed: an update changes texts only
HEADER = "# The course's texts, translated: edit the msgstr lines (scripts/translations.py; translations/README.md)."


def lessons(language: str) -> list[tuple[Path, Path, Path]]:
    """(English notebook, catalog, translated notebook) of each lesson and each released exercise."""
    folder = ROOT / "translations" / language
    return [*((ROOT / "notebooks" / f"{name}.ipynb", folder / "notebooks" / f"{name}.po",
               ROOT / "notebooks" / language / f"{name}.ipynb") for name in LESSONS),
            *((ROOT / "exercises" / "release" / name / f"{name}.ipynb", folder / "exercises" / f"{name}.po",
               ROOT / "exercises" / language / name / f"{name}.ipynb") for name in LESSONS)]


def blocks(markdown: str) -> list[str]:
    """The markdown's blocks, split at blank lines outside fenced code: what a translator translates
    one at a time."""
    found, current, fenced = [], [], False
    for line in markdown.split("\n"):
        if FENCE.match(line.strip()):
            fenced = not fenced
        if not line.strip() and not fenced:
            if current:
                found.append("\n".join(current))
            current = []
        else:
            current.append(line)
    if current:
        found.append("\n".join(current))
    return found


def translatable(block: str) -> bool:
    """Prose, headings, lists, tables and formulas are; code (fenced or indented) and bare links are not."""
    lines = block.split("\n")
    if FENCE.match(lines[0].strip()) or all(line.startswith("    ") for line in lines) or block.startswith("[!["):
        return False
    prose = re.sub(r"\$\$.*?\$\$|\(https?://[^)]*\)|`[^`]*`|\$[^$]*\$", "", block, flags=re.DOTALL)
    return bool(re.search(r"[A-Za-z]{2}", prose))


def template(notebook: Path) -> Catalog:
    """A catalog of every translatable block of the notebook's markdown cells, empty; for an exercise
    also the hints of its tests, visible (its code cells) and hidden."""
    catalog = new_catalog(CREATED, HEADER)
    nb = nbformat.read(notebook, as_version=4)
    where = notebook.relative_to(ROOT).as_posix()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for block in filter(translatable, blocks(cell.source)):
                catalog.add(block, locations=[(where, index + 1)])
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            add_labels(catalog, ((text, index + 1) for text, _ in labels_of_code(cell.source)), where)
    if notebook.is_relative_to(ROOT / "exercises"):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                add_texts(catalog, ((text, index + 1) for text, _ in texts_of_code(cell.source, where)), where)
        for path in hidden_test_files(notebook.stem.split("_", 1)[1]):
            add_texts(catalog, texts_of_file(path), path.relative_to(ROOT).as_posix())
    return catalog


def messages_source() -> Catalog:
    """The texts of messages.po: course_lib's and the grader's messages, untranslated."""
    return messages_template(new_catalog(CREATED, HEADER))


def read(path: Path, language: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=language, project="dl-fundamentals", fuzzy=False, creation_date=CREATED,
                       revision_date=CREATED, header_comment=HEADER)
    with open(path, "rb") as f:
        return read_po(f, locale=language)


def write(catalog: Catalog, path: Path) -> None:
    for message in catalog:  # Babel takes "20 % of" for a Python format string; checkers then refuse "20%"
        message.flags.discard("python-format")
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=False, include_previous=True)
    path.write_bytes(buffer.getvalue())


def updated(source: Catalog, po: Path, language: str) -> Catalog:
    """The catalog with the source's texts as they are now: new ones empty, changed ones fuzzy."""
    catalog = read(po, language)
    catalog.update(source, no_fuzzy_matching=False, update_header_comment=False)
    catalog.obsolete.clear()  # an old text's translation lives on in the fuzzy entry that replaced it
    return catalog


def problems(catalog: Catalog) -> list[str]:
    """What keeps the catalog from building a finished notebook: texts untranslated or fuzzy."""
    return [f"{'fuzzy' if message.fuzzy else 'untranslated'}: {str(message.id)[:70]!r}"
            for message in catalog if message.id and (message.fuzzy or not message.string or not all(
                message.string if isinstance(message.string, tuple) else [message.string]))]


def translate_markdown(text: str, catalog: Catalog) -> str:
    out = text
    for block in filter(translatable, blocks(text)):
        message = catalog.get(block)
        if message is not None and message.string and not message.fuzzy:
            out = out.replace(block, message.string, 1)
    return out


def relink(text: str, language: str) -> str:
    """Colab badges and links to the course's notebooks point at their translations."""
    text = re.sub(r"notebooks/(\d\d_\w+\.ipynb)", rf"notebooks/{language}/\1", text)
    return re.sub(r"exercises/release/(\d\d_\w+)/", rf"exercises/{language}/\1/", text)


def built(notebook: Path, catalog: Catalog, language: str, previous=None) -> nbformat.NotebookNode:
    """The translated notebook: markdown from the catalog, setup cell in the language, code as in
    English. A code cell keeps its outputs from `previous` (the translated notebook as executed:
    messages and figures in the language) while its code is the same, else takes the English ones."""
    nb = copy.deepcopy(nbformat.read(notebook, as_version=4))
    ran = {(cell.get("id"), cell.source): cell for cell in (previous.cells if previous else [])
           if cell.cell_type == "code"}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = relink(translate_markdown(cell.source, catalog), language)
            continue
        if cell.source == SETUP_CELL:
            cell.source = setup_cell(language)
        if (old := ran.get((cell.get("id"), cell.source))) is not None:
            cell.outputs, cell.execution_count = old.outputs, old.execution_count
    nb.metadata["language"] = language
    return nb


def messages_po(language: str) -> Path:
    return ROOT / "translations" / language / "messages.po"


def mo_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.mo"


def compiled(language: str) -> bytes:
    """The .mo of the language's messages: messages.po, the exercises' hints and every figure's
    labels, translated ones only."""
    merged = Catalog(locale=language, project="dl-fundamentals", fuzzy=False, creation_date=CREATED,
                     revision_date=CREATED)
    for po in [messages_po(language), *(po for _, po, _ in lessons(language))]:
        for message in read(po, language):
            wanted = MESSAGE in message.auto_comments or LABEL in message.auto_comments
            done = all(message.string) if isinstance(message.string, tuple) else bool(message.string)
            if message.id and wanted and done and not message.fuzzy and merged.get(message.id, message.context) is None:
                merged.add(message.id, message.string, context=message.context)
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    return buffer.getvalue()


def update(language: str) -> None:
    for notebook, po, _ in lessons(language):
        write(updated(template(notebook), po, language), po)
    write(updated(messages_source(), messages_po(language), language), messages_po(language))


def build(language: str) -> None:
    for notebook, po, target in lessons(language):
        target.parent.mkdir(parents=True, exist_ok=True)
        previous = nbformat.read(target, as_version=4) if target.exists() else None
        nbformat.write(built(notebook, read(po, language), language, previous), target)
    mo_path(language).parent.mkdir(parents=True, exist_ok=True)
    mo_path(language).write_bytes(compiled(language))


def main(argv: list[str]) -> int:
    if argv[:1] not in (["update"], ["build"]):
        print(__doc__, file=sys.stderr)
        return 2
    for language in LANGUAGES:
        (update if argv[0] == "update" else build)(language)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
