"""The grading kernel's IPython extension: what the grader adds to the learner's kernel.

nbgrader_config.py loads it into every grading kernel (--IPKernelApp.extensions). It
- explains a NameError in a test cell: the function's own cell failed or was skipped;
- with COURSE_GRADING_DIR (the class command), keeps running.json current with the cell and graded
  function running, and skips what poisoned.json names: a poisoned cell becomes a `raise`, a
  poisoned function fails at once (through course_lib._guard's hooks).
"""
from __future__ import annotations

import hashlib

from course_grader.protocol import GradingDir
from course_lib import _guard
from course_lib.i18n import _, shown


def cell_key(source: str) -> str:
    """Short fingerprint of a cell's source, with its first line so a person can find it."""
    source = source.strip()
    return hashlib.sha1(source.encode()).hexdigest()[:12] + " " + source.split("\n")[0][:60]


class ProtocolHooks(_guard.GraderHooks):
    """The guard's hooks, kept in the grading folder."""

    def __init__(self, folder: GradingDir):
        self.folder, self.cell = folder, None

    def running(self, call: str | None, event: str = "running") -> None:
        self.folder.set_running(self.cell, call, event)

    def skipped(self) -> dict[str, str]:
        calls = self.folder.poisoned().get("calls", {})
        return calls if isinstance(calls, dict) else {}

    def skip_poisoned_cells(self, lines: list[str]) -> list[str]:
        """IPython input transformer: a poisoned cell becomes a `raise` saying why it was skipped."""
        reason = self.folder.poisoned().get("cells", {}).get(cell_key("".join(lines)))
        if reason is None:
            return lines
        message = _("This cell was skipped by the grader: {reason}.", reason=shown(reason))
        return [f"raise RuntimeError({message!r})\n"]


def _explain_name_error(shell, etype, value, tb, tb_offset=None):
    """In a test cell, an undefined name is a function whose own cell failed: say so."""
    value = NameError(_("{error}: the cell that defines it raised an error or was skipped, so the tests that use "
                        "it fail", error=value))
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def load_ipython_extension(ipython) -> None:
    # The guard's torch modes import torch._dynamo on first use (about 2 s of CPU): imported here,
    # before any timed call, so that a busy machine cannot cut the import short inside one.
    import torch._dynamo  # noqa: F401
    ipython.set_custom_exc((NameError,), _explain_name_error)
    folder = GradingDir.from_env()
    if folder is None:
        return
    hooks = _guard.hooks = ProtocolHooks(folder)

    def before(info):
        hooks.cell = cell_key(info.raw_cell)
        hooks.running(None)

    def after(result):
        hooks.cell = None
        hooks.running(None)

    ipython.events.register("pre_run_cell", before)
    ipython.events.register("post_run_cell", after)
    ipython.input_transformers_cleanup.insert(0, hooks.skip_poisoned_cells)
