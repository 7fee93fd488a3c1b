"""The files through which the grader and a grading kernel talk: the one place that names them.

The class command (course_grader/grade_class/) makes a folder per student's grading and hands it
to nbgrader, the sandbox and the kernel as COURSE_GRADING_DIR. It holds

- running.json: {"cell", "call", "event"}, which cell and graded function the kernel runs now
  (written by the kernel's extension, course_grader/kernel_extension.py), so that the class
  command can name the part that killed or hung the kernel;
- poisoned.json: {"calls": {name: why}, "cells": {cell key: why}}, what killed or hung the kernel in
  an earlier attempt, which the kernel then skips (written by the class command);
- flags.json: a list of {"kind", "detail"} for the instructor's report, written only from outside
  the kernel (the sandbox launcher, the sealed Execute step); the sandbox does not see it;

Standard library only: the sandbox's launcher imports this module as root under `python -I`.
"""
from __future__ import annotations

import json
import os

ENV = "COURSE_GRADING_DIR"
SEALED_ENV = "COURSE_SEALED"  # "grader" in the grading kernel: its hidden tests are answered in the replay
RUNNING, POISONED, FLAGS = "running.json", "poisoned.json", "flags.json"
KIND_LENGTH, DETAIL_LENGTH = 80, 500  # a flag as reported: whatever wrote it, it stays short
RUNNING_LENGTH = 64 * 1024  # more is not a marker the extension wrote


def write_json(path: str | os.PathLike, data) -> None:
    """Write atomically: a reader (or a run killed meanwhile) sees the old file or the new one."""
    partial = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
    os.replace(partial, path)


def read_json(path: str | os.PathLike, default):
    """The JSON in path, or default when it is missing or not JSON."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def flag(kind: str, detail: str) -> dict:
    return {"kind": kind, "detail": detail}


class GradingDir:
    """One COURSE_GRADING_DIR, seen from any side."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)

    @classmethod
    def from_env(cls) -> GradingDir | None:
        path = os.environ.get(ENV)
        return cls(path) if path else None

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    # running.json: the kernel writes it in place, as the sandbox shows it this one file and not
    # the folder it lies in (no rename possible); a half-written one reads as {}.
    def set_running(self, cell: str | None, call: str | None, event: str = "running") -> None:
        with open(self.file(RUNNING), "w") as f:
            f.write(json.dumps({"cell": cell, "call": call, "event": event}))

    def running(self) -> dict:
        """What running.json names, as strings: the kernel writes it, so anything else in it (too
        long, too deeply nested, not strings) reads as nothing."""
        try:
            with open(self.file(RUNNING), "rb") as f:
                data = f.read(RUNNING_LENGTH + 1)
            found = json.loads(data) if len(data) <= RUNNING_LENGTH else {}
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(found, dict):
            return {}
        return {k: v[:DETAIL_LENGTH] for k, v in found.items() if k in ("cell", "call", "event") and isinstance(v, str)}

    def clear_running(self) -> None:
        try:
            os.unlink(self.file(RUNNING))
        except FileNotFoundError:
            pass

    def set_poisoned(self, poisoned: dict) -> None:
        write_json(self.file(POISONED), poisoned)

    def poisoned(self) -> dict:
        found = read_json(self.file(POISONED), {})
        return found if isinstance(found, dict) else {}

    def add_flags(self, flags: list[dict]) -> None:
        """Append flags to flags.json (only ever written from outside the kernel)."""
        if flags:
            earlier = read_json(self.file(FLAGS), [])
            write_json(self.file(FLAGS), (earlier if isinstance(earlier, list) else []) + flags)

    def take_flags(self) -> list[dict]:
        """flags.json's flags, each cut to size, and the file removed: each attempt reports its own."""
        path = self.file(FLAGS)
        if not os.path.exists(path):
            return []
        try:
            with open(path) as f:
                flags = [flag(str(f["kind"])[:KIND_LENGTH], str(f["detail"])[:DETAIL_LENGTH]) for f in json.load(f)]
        except (OSError, ValueError, TypeError, KeyError, RecursionError) as err:
            flags = [flag("unreadable flags", f"flags.json is not a list of {{kind, detail}} ({type(err).__name__})")]
        os.unlink(path)
        return flags
