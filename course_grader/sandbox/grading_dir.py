"""COURSE_GRADING_DIR (course_grader/protocol.py) as the launcher shares it with the sandbox.

The sandbox sees the folder's entries at the same place, except flags.json; running.json, which
the kernel keeps current, is given to the sandbox's user; what the class command wrote for the
kernel (poisoned.json) it can read, never rewrite. The limits CMD hit are appended to
flags.json, which the class command reports: from outside, where CMD cannot reach.
"""
from __future__ import annotations

import os
import stat
import sys

from course_grader.protocol import FLAGS, RUNNING, GradingDir


def shared_entries(grading_dir: str, uid: int | None) -> tuple[list[str], list[str], bool]:
    """(COURSE_GRADING_DIR's entries the sandbox may write, those it may only read, whether
    running.json was created here); flags.json is in neither. running.json, which the kernel keeps
    current, is made the sandbox user's (uid; None: in a user namespace it is the grader's already).

    As root the sandbox has a user of its own, so each entry's permissions decide what it writes.
    In a user namespace it is the grader's uid, which owns every entry: there all but running.json
    and what everyone may write (mode o+w, as the replay's seal folder) are bound read-only, so
    that a kernel cannot rewrite what the class command wrote for it (poisoned.json)."""
    running = os.path.join(grading_dir, RUNNING)
    created = not os.path.lexists(running)
    fd = os.open(running, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    if uid is not None:
        os.fchown(fd, uid, uid)
    os.close(fd)
    writable, read_only = [], []
    for name in sorted(os.listdir(grading_dir)):
        path = os.path.join(grading_dir, name)
        if name == FLAGS:
            continue
        open_to_all = os.lstat(path).st_mode & stat.S_IWOTH and not os.path.islink(path)
        (writable if name == RUNNING or open_to_all else read_only).append(path)
    return writable, read_only, created


def remove_untouched_running(grading_dir: str) -> None:
    """running.json made by shared_entries and never written: as if never created, which is what
    the class command expects."""
    running = os.path.join(grading_dir, RUNNING)
    if os.path.exists(running) and os.path.getsize(running) == 0:
        os.unlink(running)


def record_flags(flags: list[dict]) -> None:
    """A line on stderr per limit hit, and the flags appended to COURSE_GRADING_DIR/flags.json."""
    for flag in flags:
        if flag["kind"] == "no cgroup":
            print(f"course_grader.sandbox: WARNING: no memory or process cap for the whole sandbox: {flag['detail']}",
                  file=sys.stderr)
        elif flag["kind"] not in ("not isolated", "sandbox failed"):  # already said
            print(f"course_grader.sandbox: {flag['kind']} limit reached: {flag['detail']}", file=sys.stderr)
    folder = GradingDir.from_env()
    if not flags or folder is None:
        return
    try:
        folder.add_flags(flags)
    except OSError as err:
        print(f"course_grader.sandbox: cannot write {folder.file(FLAGS)}: {err}", file=sys.stderr)


