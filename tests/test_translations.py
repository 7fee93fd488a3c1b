"""The Chinese course (scripts/translations.py): catalogs that follow the English texts, and
translated notebooks that are what the catalogs build."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import translations  # noqa: E402
from course_config import SETUP_CELL, setup_cell  # noqa: E402

PAIRS = [pytest.param(notebook, po, target, id=target.relative_to(ROOT).as_posix())
         for language in translations.LANGUAGES for notebook, po, target in translations.lessons(language)]


@pytest.mark.parametrize(("notebook", "po", "target"), PAIRS)
def test_each_catalog_translates_every_text_of_its_notebook_as_it_is_now(notebook, po, target):
    committed = translations.read(po, "zh")
    current = translations.updated(translations.template(notebook), po, "zh")
    new = sorted({m.id for m in current if m.id} - {m.id for m in committed if m.id})
    assert not new, (f"{po.name} lacks texts of {notebook.name} (run python scripts/translations.py update, "
                     f"then translate): {[text[:60] for text in new[:5]]}")
    assert not translations.problems(current), f"{po.relative_to(ROOT)}: {translations.problems(current)[:5]}"


@pytest.mark.parametrize(("notebook", "po", "target"), PAIRS)
def test_each_translated_notebook_is_what_its_catalog_builds(notebook, po, target):
    built = translations.built(notebook, translations.read(po, "zh"), "zh")
    assert target.exists(), f"{target.relative_to(ROOT)} missing: run python scripts/translations.py build"
    committed = nbformat.read(target, as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in built.cells], \
        f"{target.relative_to(ROOT)} is not what the catalogs build: run python scripts/translations.py build"
    english = nbformat.read(notebook, as_version=4)
    for mine, theirs in zip(committed.cells, english.cells):
        if theirs.cell_type == "code":  # the code is the English code; the setup cell sets the language
            assert mine.source == (setup_cell("zh") if theirs.source == SETUP_CELL else theirs.source)
    assert "/notebooks/zh/" in committed.cells[0].source or "/exercises/zh/" in committed.cells[0].source, \
        "the Colab badge must open the translated notebook"


def test_the_messages_catalog_translates_every_message_of_the_code_as_it_is_now():
    po = translations.messages_po("zh")
    current = translations.updated(translations.messages_source(), po, "zh")
    new = sorted({str(m.id) for m in current if m.id} - {str(m.id) for m in translations.read(po, "zh") if m.id})
    assert not new, (f"{po.name} lacks messages of the code (run python scripts/translations.py update, then "
                     f"translate): {[text[:60] for text in new[:5]]}")
    assert not translations.problems(current), f"{po.relative_to(ROOT)}: {translations.problems(current)[:5]}"


def test_the_shipped_catalog_is_what_the_catalogs_build():
    mo = translations.mo_path("zh")
    assert mo.exists() and mo.read_bytes() == translations.compiled("zh"), \
        f"{mo.relative_to(ROOT)} is not what the catalogs build: run python scripts/translations.py build"


def test_a_changed_english_text_leaves_its_translation_fuzzy_until_a_translator_looks(tmp_path):
    notebook, po = tmp_path / "lesson.ipynb", tmp_path / "lesson.po"
    text = "## A heading\n\nA neuron adds its weighted inputs and a bias."

    def write_notebook(source: str) -> None:
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)]), notebook)
    write_notebook(text)
    translations.ROOT, root = tmp_path, translations.ROOT
    try:
        catalog = translations.updated(translations.template(notebook), po, "zh")
        assert [m.id for m in catalog if m.id] == ["## A heading", "A neuron adds its weighted inputs and a bias."]
        catalog["## A heading"].string = "## 一个标题"
        catalog["A neuron adds its weighted inputs and a bias."].string = "神经元把加权输入与偏置相加。"
        translations.write(catalog, po)
        assert translations.problems(translations.read(po, "zh")) == []
        write_notebook(text.replace("a bias", "its bias"))
        catalog = translations.updated(translations.template(notebook), po, "zh")
        assert translations.problems(catalog) == ["fuzzy: 'A neuron adds its weighted inputs and its bias.'"]
        changed = catalog["A neuron adds its weighted inputs and its bias."]
        assert changed.string == "神经元把加权输入与偏置相加。" and changed.previous_id
        built = translations.built(notebook, catalog, "zh")
        assert built.cells[0].source == "## 一个标题\n\nA neuron adds its weighted inputs and its bias."  # fuzzy: English
    finally:
        translations.ROOT = root


def test_code_and_formulas_are_not_texts_to_translate():
    cell = "Compute it:\n\n```python\nz = x @ w\n```\n\n$$z = w_1 x_1 + b$$\n\n    weight += lr * x\n\n[![badge](u)](v)"
    assert [b for b in translations.blocks(cell) if translations.translatable(b)] == ["Compute it:"]


def test_a_translated_submission_s_setup_cell_is_not_an_edit():
    from course_grader.grade_class.submissions import edited_cells
    release = nbformat.read(ROOT / "exercises" / "release" / "01_neurons" / "01_neurons.ipynb", as_version=4)
    chinese = nbformat.read(ROOT / "exercises" / "zh" / "01_neurons" / "01_neurons.ipynb", as_version=4)
    assert edited_cells(release, chinese) == []
    chinese.cells[1].source += "\nprint('changed')"
    assert [f["detail"][:30] for f in edited_cells(release, chinese)] == ["read-only cell setup was edite"]
