"""The committed lessons read as one clean top-to-bottom run (nbval then re-runs them and
compares outputs: `make test` calls pytest with --nbval on notebooks/)."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from course_config import LESSONS, SETUP_CELL, colab_badge  # noqa: E402
from notebooks import problems  # noqa: E402

PATHS = [ROOT / "notebooks" / f"{name}.ipynb" for name in LESSONS]
MAX_FOLDER_BYTES = 15 * 2**20


def test_every_lesson_of_the_syllabus_is_there_and_nothing_else():
    assert sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb")) == [p.name for p in PATHS]


@pytest.mark.parametrize("path", PATHS, ids=LESSONS)
def test_lesson_was_executed_top_to_bottom_without_errors(path):
    assert problems(path) == [], f"{path.name}: re-run `python scripts/notebooks.py execute {path.stem}`"


@pytest.mark.parametrize("path", PATHS, ids=LESSONS)
def test_lesson_starts_with_the_badge_and_the_shared_setup_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert colab_badge(f"notebooks/{path.name}") in nb.cells[0].source
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code.source == SETUP_CELL, "run `python scripts/notebooks.py sync`"


def test_problems_catches_an_error_output_and_an_out_of_order_run(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("1", execution_count=2),
        nbformat.v4.new_code_cell("1/0", execution_count=1, outputs=[
            nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                   traceback=[])]),
    ])
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    found = problems(path)
    assert any("execution counts are [2, 1]" in f for f in found)
    assert any("ZeroDivisionError" in f for f in found)


def test_notebooks_folder_stays_compact():
    size = sum(p.stat().st_size for p in (ROOT / "notebooks").rglob("*") if p.is_file())
    assert size < MAX_FOLDER_BYTES, f"notebooks/ holds {size / 2**20:.1f} MB, limit 15 MB"


def _synced(tmp_path, cells, **metadata):
    from notebooks import sync

    path = tmp_path / "nb.ipynb"
    root_relative = tmp_path / "notebooks"
    root_relative.mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    nbformat.write(nb, path)
    sync(path, lesson=False)
    return nbformat.read(path, as_version=4)


def test_sync_turns_nbval_comments_into_tags_and_removes_them(tmp_path):
    nb = _synced(tmp_path, [nbformat.v4.new_code_cell("setup"),
                            nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nprint(time.time())"),
                            nbformat.v4.new_code_cell("#NBVAL_SKIP\nslow()")])
    assert nb.cells[0].source == SETUP_CELL
    assert (nb.cells[1].source, nb.cells[1].metadata.tags) == ("print(time.time())", ["nbval-ignore-output"])
    assert (nb.cells[2].source, nb.cells[2].metadata.tags) == ("slow()", ["nbval-skip"])


def test_sync_stamps_the_kernelspec_and_drops_widget_state_and_widget_views(tmp_path):
    view = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
        "text/plain": "Run this cell"})
    cell = nbformat.v4.new_code_cell("interactive_figure(...)", outputs=[view])
    cell.metadata["execution"] = {"iopub.status.busy": "2026-11-29T10:33:02Z"}
    nb = _synced(tmp_path, [nbformat.v4.new_code_cell("setup"), cell],
                 kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"},
                 widgets={"application/vnd.jupyter.widget-state+json": {"state": {}}})
    from course_config import KERNELSPEC

    assert dict(nb.metadata.kernelspec) == KERNELSPEC and "widgets" not in nb.metadata
    assert dict(nb.cells[1].outputs[0].data) == {"text/plain": "Run this cell"}
    assert "execution" not in nb.cells[1].metadata


def test_sync_drops_progress_bars_but_keeps_what_the_cell_printed(tmp_path):
    bar = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "b4r", "version_major": 2, "version_minor": 0},
        "text/plain": "epoch 1/1:   0%|          | 0/469 [00:00<?, ?it/s]"})
    printed = nbformat.v4.new_output("stream", name="stdout", text="8.3 s of training\n")
    nb = _synced(tmp_path, [nbformat.v4.new_code_cell("setup"),
                            nbformat.v4.new_code_cell("fit(cnn, loader, loss, opt)", outputs=[bar, printed])])
    assert [out.get("text") for out in nb.cells[1].outputs] == ["8.3 s of training\n"]


def test_sync_tags_training_cells_whose_output_depends_on_timing():
    from notebooks import tag_cell

    trains = nbformat.v4.new_code_cell("result = recipes.train_small_cnn(eval_every=50)")
    quiet = nbformat.v4.new_code_cell("fit(model, loader, loss, opt, progress=False)")
    assert tag_cell(trains) and trains.metadata.tags == ["nbval-ignore-output"]
    assert not tag_cell(quiet) and "tags" not in quiet.metadata
    assert not tag_cell(trains), "a second sync changes nothing"


def test_sync_raises_text_below_nine_points_to_nine():
    from notebooks import tag_cell

    cell = nbformat.v4.new_code_cell('ax.legend(fontsize=8)\nax.set_title("t", fontsize=12)')
    assert tag_cell(cell)
    assert cell.source == 'ax.legend(fontsize=9)\nax.set_title("t", fontsize=12)'

