"""What a learner sees before running anything: every committed notebook opens clean.

For the lessons (notebooks/) and the exercises (exercises/source and exercises/release):
- no control character in any cell (a Python string that ate `\\b` of `\\beta` leaves \\x08,
  which MathJax shows as a red "Math input error");
- the kernelspec JupyterLab runs, so opening a notebook does not mark it modified;
- nbval's markers as cell tags, never `# NBVAL_*` comments in the learners' code;
- widget labels shown in full: widgets are made inside `interactive_figure` (which widens every
  label) or set `description_width` themselves;
- no saved widget state and no raw widget repr (`HBox(children=...`) in the outputs;
- no text smaller than 9 pt requested in code (`fontsize=8`).
`python scripts/notebooks.py sync` fixes all but the first and the widget labels.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from course_config import KERNELSPEC  # noqa: E402

PATHS = sorted([*(ROOT / "notebooks").glob("*.ipynb"),
                *(ROOT / "exercises" / "source").glob("*/*.ipynb"),
                *(ROOT / "exercises" / "release").glob("*/*.ipynb")])
PATHS = [p for p in PATHS if ".ipynb_checkpoints" not in p.parts]
IDS = [str(p.relative_to(ROOT)) for p in PATHS]
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # all but the newline
NBVAL_COMMENT = re.compile(r"^\s*#\s*(NBVAL_\w+|PYTEST_VALIDATE_\w+)", re.MULTILINE)
SMALL_FONT = re.compile(r"\bfontsize\s*=\s*[1-8](\.\d*)?\b")
WIDGET_WITH_LABEL = re.compile(r"widgets\.\w+\([^()]*description=")


def _read(path: Path):
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_no_control_characters_in_any_cell(path):
    found = [(i, repr(m.group())) for i, c in enumerate(_read(path).cells)
             for m in CONTROL.finditer(c.source)]
    assert not found, (f"{path.name}: control characters (cell index, character) {found}; in a Python "
                       f"string write math as a raw string r'\\beta' so \\b is not a backspace")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_kernelspec_is_the_one_jupyterlab_runs(path):
    assert dict(_read(path).metadata.get("kernelspec", {})) == KERNELSPEC, (
        f"{path.name}: run `python scripts/notebooks.py sync`")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_nbval_markers_are_tags_not_comments(path):
    found = [i for i, c in enumerate(_read(path).cells) if c.cell_type == "code" and NBVAL_COMMENT.search(c.source)]
    assert not found, f"{path.name}: cells {found} carry # NBVAL_ comments; `scripts/notebooks.py sync` makes them tags"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_widget_labels_are_not_cut(path):
    found = [i for i, c in enumerate(_read(path).cells)
             if c.cell_type == "code" and WIDGET_WITH_LABEL.search(c.source)
             and "interactive_figure(" not in c.source and "description_width" not in c.source]
    assert not found, (f"{path.name}: cells {found} make labelled widgets outside interactive_figure without "
                       "style={'description_width': 'initial'}: long labels would be cut")


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_no_saved_widget_state_and_no_raw_widget_repr(path):
    nb = _read(path)
    assert "widgets" not in nb.metadata, f"{path.name}: saved widget state; run `scripts/notebooks.py sync`"
    reprs = [i for i, c in enumerate(nb.cells) for out in c.get("outputs", [])
             if "(children=(" in str(out.get("data", {}).get("text/plain", ""))]
    assert not reprs, f"{path.name}: cells {reprs} show a widget's raw repr instead of a plain line"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_no_text_below_nine_points(path):
    found = [i for i, c in enumerate(_read(path).cells) if c.cell_type == "code" and SMALL_FONT.search(c.source)]
    assert not found, f"{path.name}: cells {found} ask for text below 9 pt; `scripts/notebooks.py sync` raises it"


def test_course_lib_draws_no_text_below_nine_points():
    found = [f"{p.name}:{n}" for p in sorted((ROOT / "course_lib").rglob("*.py"))
             for n, line in enumerate(p.read_text().splitlines(), 1) if SMALL_FONT.search(line)]
    assert not found, f"course_lib asks for text below 9 pt at {found}"


def test_lint_catches_a_backspace_and_a_comment_marker(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$\x08eta$"),
                                         nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nprint(1)")])
    assert CONTROL.search(nb.cells[0].source)
    assert NBVAL_COMMENT.search(nb.cells[1].source)
