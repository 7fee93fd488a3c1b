"""The grading kernel's side of exercises/grade.py's state, and the kernel's IPython extension.

While grade.py grades, COURSE_GRADING_DIR holds two files shared with the kernel:
`running.json`, kept current with the cell and graded function running, so that grade.py can name
the part that killed or hung the kernel; and `poisoned.json`, the functions and cells that did so
in an earlier attempt. course_lib._guard fails a poisoned function at once; the extension below
replaces a poisoned cell with a `raise` (exercises/nbgrader_config.py loads it through
course_lib.exercise_checks).
"""
from __future__ import annotations

import hashlib
import json
import os

STATE_DIR = os.environ.get("COURSE_GRADING_DIR")


class Marker:
    """running.json: which cell and graded function run now (nothing without COURSE_GRADING_DIR)."""

    cell: str | None = None

    @classmethod
    def write(cls, call: str | None = None, event: str = "running") -> None:
        if STATE_DIR:
            with open(os.path.join(STATE_DIR, "running.json"), "w") as f:
                json.dump({"cell": cls.cell, "call": call, "event": event}, f)

    @staticmethod
    def poisoned() -> dict:
        try:
            with open(os.path.join(STATE_DIR, "poisoned.json")) as f:
                return json.load(f)
        except (OSError, TypeError, ValueError):
            return {}


def cell_key(source: str) -> str:
    """Short fingerprint of a cell's source, with its first line so a person can find it."""
    source = source.strip()
    return hashlib.sha1(source.encode()).hexdigest()[:12] + " " + source.split("\n")[0][:60]


def skip_poisoned_cells(lines: list[str]) -> list[str]:
    """IPython input transformer: a poisoned cell becomes a `raise` saying why it was skipped."""
    reason = Marker.poisoned().get("cells", {}).get(cell_key("".join(lines)))
    if reason is None:
        return lines
    return [f"raise RuntimeError({f'This cell was skipped by the grader: {reason}.'!r})\n"]


def _explain_name_error(shell, etype, value, tb, tb_offset=None):
    """In a test cell, an undefined name is a function whose own cell failed: say so."""
    value = NameError(f"{value}: the cell that defines it raised an error or was skipped, so the "
                      "tests that use it fail")
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def load_ipython_extension(ipython) -> None:
    """In the grading kernel: explain NameErrors; with grade.py, keep running.json and skip poisoned cells."""
    ipython.set_custom_exc((NameError,), _explain_name_error)
    if not STATE_DIR:
        return

    def before(info):
        Marker.cell = cell_key(info.raw_cell)
        Marker.write()

    def after(result):
        Marker.cell = None
        Marker.write()

    ipython.events.register("pre_run_cell", before)
    ipython.events.register("post_run_cell", after)
    ipython.input_transformers_cleanup.insert(0, skip_poisoned_cells)
