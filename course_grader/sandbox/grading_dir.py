"""COURSE_GRADING_DIR (course_grader/protocol.py) as the launcher shares it with the sandbox.

The sandbox sees the folder's entries at the same place, except flags.json; running.json, which
the kernel keeps current, is given to the sandbox's user. The limits CMD hit are appended to
flags.json, which the class command reports: from outside, where CMD cannot reach.
"""
from __future__ import annotations

import os
import sys

from course_grader.protocol import FLAGS, RUNNING, GradingDir


def shared_entries(grading_dir: str, uid: int | None) -> tuple[list[str], bool]:
    """(COURSE_GRADING_DIR's entries the sandbox sees: all but flags.json; whether running.json
    was created here). running.json is made the sandbox user's (uid; None: it is the grader's
    already, in a user namespace): the kernel keeps it current."""
    running = os.path.join(grading_dir, RUNNING)
    created = not os.path.lexists(running)
    fd = os.open(running, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    if uid is not None:
        os.fchown(fd, uid, uid)
    os.close(fd)
    entries = [os.path.join(grading_dir, name) for name in sorted(os.listdir(grading_dir)) if name != FLAGS]
    return entries, created


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
        elif flag["kind"] != "not isolated":  # already said in the warning
            print(f"course_grader.sandbox: {flag['kind']} limit reached: {flag['detail']}", file=sys.stderr)
    folder = GradingDir.from_env()
    if not flags or folder is None:
        return
    try:
        folder.add_flags(flags)
    except OSError as err:
        print(f"course_grader.sandbox: cannot write {folder.file(FLAGS)}: {err}", file=sys.stderr)


