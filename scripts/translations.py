"""The course in another language, from the English notebooks and gettext catalogs (PO files).

    python scripts/translations.py update   # English texts -> translations/zh/*.po: new texts empty,
                                            # changed ones fuzzy beside their old translation
    python scripts/translations.py build    # English notebooks + catalogs -> notebooks/zh/*.ipynb and
                                            # exercises/zh/NN_topic/NN_topic.ipynb

The English notebooks stay the source. A catalog holds, per notebook, every paragraph of its
markdown cells (code blocks stay as they are); translators edit the PO files in Poedit, Weblate or
any text editor. `build` writes each translated notebook as the English one with the markdown
translated, the Colab badge and links pointing at the translated notebooks, and the setup cell
that makes course_lib speak the language; every other code cell is the English one.
tests/test_translations.py fails while a catalog has texts untranslated or fuzzy, or a built
notebook differs from the one committed.
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
from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).resolve().parent))
from course_config import LESSONS, SETUP_CELL, setup_cell  # noqa: E402

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
    """A catalog of every translatable block of the notebook's markdown cells, empty."""
    catalog = Catalog(project="dl-fundamentals", fuzzy=False, creation_date=CREATED, header_comment=HEADER)
    nb = nbformat.read(notebook, as_version=4)
    where = notebook.relative_to(ROOT).as_posix()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            for block in filter(translatable, blocks(cell.source)):
                catalog.add(block, locations=[(where, index + 1)])
    return catalog


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


def updated(notebook: Path, po: Path, language: str) -> Catalog:
    """The catalog with the notebook's texts as they are now: new ones empty, changed ones fuzzy."""
    catalog = read(po, language)
    catalog.update(template(notebook), no_fuzzy_matching=False, update_header_comment=False)
    catalog.obsolete.clear()  # an old text's translation lives on in the fuzzy entry that replaced it
    return catalog


def problems(catalog: Catalog) -> list[str]:
    """What keeps the catalog from building a finished notebook: texts untranslated or fuzzy."""
    return [f"{'fuzzy' if message.fuzzy else 'untranslated'}: {message.id[:70]!r}"
            for message in catalog if message.id and (message.fuzzy or not message.string)]


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


def built(notebook: Path, catalog: Catalog, language: str) -> nbformat.NotebookNode:
    """The translated notebook: markdown from the catalog, setup cell in the language, code as in English."""
    nb = copy.deepcopy(nbformat.read(notebook, as_version=4))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = relink(translate_markdown(cell.source, catalog), language)
        elif cell.source == SETUP_CELL:
            cell.source = setup_cell(language)
    nb.metadata["language"] = language
    return nb


def update(language: str) -> None:
    for notebook, po, _ in lessons(language):
        write(updated(notebook, po, language), po)


def build(language: str) -> None:
    for notebook, po, target in lessons(language):
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(built(notebook, read(po, language), language), target)


def main(argv: list[str]) -> int:
    if argv[:1] not in (["update"], ["build"]):
        print(__doc__, file=sys.stderr)
        return 2
    for language in LANGUAGES:
        (update if argv[0] == "update" else build)(language)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
