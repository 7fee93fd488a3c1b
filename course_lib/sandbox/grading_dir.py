"""COURSE_GRADING_DIR, exercises/grade.py's folder for one grading run, seen from the launcher.

The sandbox sees its entries at the same place, except flags.json; running.json, which
course_lib/_grading_state.py writes from inside the kernel, is given to the sandbox's user. The limits CMD
hit are appended to flags.json, which grade.py reports: from outside, where CMD cannot reach.
"""
from __future__ import annotations

import json
import os
import sys

from course_lib.sandbox.linux import read_file, write_file

FLAGS_FILE, RUNNING_FILE = "flags.json", "running.json"


def shared_entries(grading_dir: str, uid: int) -> tuple[list[str], bool]:
    """(COURSE_GRADING_DIR's entries the sandbox sees: all but flags.json; whether running.json
    was created here). running.json is made the sandbox user's: the kernel keeps it current."""
    running = os.path.join(grading_dir, RUNNING_FILE)
    created = not os.path.lexists(running)
    fd = os.open(running, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    os.fchown(fd, uid, uid)
    os.close(fd)
    entries = [os.path.join(grading_dir, name) for name in sorted(os.listdir(grading_dir)) if name != FLAGS_FILE]
    return entries, created


def remove_untouched_running(grading_dir: str) -> None:
    """running.json made by shared_entries and never written: as if never created, which is what
    grade.py expects."""
    running = os.path.join(grading_dir, RUNNING_FILE)
    if os.path.exists(running) and os.path.getsize(running) == 0:
        os.unlink(running)


def record_flags(flags: list[dict]) -> None:
    """A line on stderr per limit hit, and the flags appended to COURSE_GRADING_DIR/flags.json."""
    for flag in flags:
        if flag["kind"] != "not isolated":  # already said in the warning
            print(f"course_lib.sandbox: {flag['kind']} limit reached: {flag['detail']}", file=sys.stderr)
    directory = os.environ.get("COURSE_GRADING_DIR")
    if not flags or not directory:
        return
    path = os.path.join(directory, FLAGS_FILE)
    try:
        try:
            earlier = json.loads(read_file(path))
        except (FileNotFoundError, ValueError):
            earlier = []
        partial = path + ".partial"
        write_file(partial, json.dumps((earlier if isinstance(earlier, list) else []) + flags, indent=1))
        os.replace(partial, path)
    except OSError as err:
        print(f"course_lib.sandbox: cannot write {path}: {err}", file=sys.stderr)
