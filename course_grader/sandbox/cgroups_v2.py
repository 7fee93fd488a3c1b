"""The sandbox's cgroup on the unified hierarchy (cgroup v2): one group with the memory and pids
controllers, its caps (memory and swap, processes plus threads) and the counters that tell
afterwards whether it hit them.

It is made below the launcher's own cgroup, as course-sandbox/<uid>, so that the sandbox stays
within whatever limits the launcher runs under; that works as root and, without root, in a subtree
delegated to the grader's user (systemd's Delegate=yes: `systemd-run --user --scope -p Delegate=yes
python exercises/grade.py ...`). cgroup v2 lets a group with controllers for its children hold
no process itself, so the processes of the launcher's group move first into a leaf of their own,
course-grader, beside course-sandbox (as container runtimes do); launchers started later from
there find their group's parent as the place to work in.
"""
from __future__ import annotations

import errno
import os
import time

from course_grader.sandbox.limits import Limits
from course_grader.sandbox.linux import SetupError, read_file, write_file

CGROUPS = "/sys/fs/cgroup"
LEAF = "course-grader"  # where the grader's own processes move, so that the sandboxes get controllers
CONTROLLERS = ("memory", "pids")


def unified() -> bool:
    """cgroup v2 alone at /sys/fs/cgroup (not the hybrid layout, where the controllers are v1's)."""
    return os.path.exists(os.path.join(CGROUPS, "cgroup.controllers"))


def own_group() -> str:
    """The folder of this process's cgroup, and, if that is our leaf, its parent's."""
    for line in read_file("/proc/self/cgroup").splitlines():
        if line.startswith("0::"):
            path = os.path.join(CGROUPS, line[3:].strip().lstrip("/"))
            if not os.path.isdir(path):  # a container whose hierarchy is mounted at its own group
                path = CGROUPS
            return os.path.dirname(path) if os.path.basename(path) == LEAF else path
    raise SetupError("no cgroup v2 group in /proc/self/cgroup")


def _enable(group: str) -> None:
    """The memory and pids controllers for group's children."""
    missing = [c for c in CONTROLLERS if c not in read_file(os.path.join(group, "cgroup.subtree_control")).split()]
    if missing:
        write_file(os.path.join(group, "cgroup.subtree_control"), " ".join(f"+{c}" for c in missing))


def _move_into_leaf(group: str) -> None:
    """Every process of group into group/course-grader: a group whose children have controllers
    may hold none itself. Repeated while processes appear (a fork while moving)."""
    leaf = os.path.join(group, LEAF)
    os.makedirs(leaf, exist_ok=True)
    for _ in range(20):
        pids = read_file(os.path.join(group, "cgroup.procs")).split()
        if not pids:
            return
        for pid in pids:
            try:
                write_file(os.path.join(leaf, "cgroup.procs"), pid)
            except OSError as err:
                if err.errno != errno.ESRCH:  # ended meanwhile
                    raise
    raise SetupError(f"cannot empty {group}: processes keep appearing")


def prepare(base: str) -> str:
    """base/course-sandbox, whose children get memory and pids controllers; raises SetupError with
    the reason where this user cannot make it (not root, and no delegated subtree)."""
    available = read_file(os.path.join(base, "cgroup.controllers")).split()
    lacking = [c for c in CONTROLLERS if c not in available]
    if lacking:
        raise SetupError(f"cgroup v2: the {' and '.join(lacking)} controller(s) are not given to {base}")
    if not os.access(os.path.join(base, "cgroup.subtree_control"), os.W_OK):
        raise SetupError(f"cgroup v2: {base} is not this user's (uid {os.geteuid()}): no delegated subtree")
    try:
        _enable(base)
    except OSError as err:
        if err.errno != errno.EBUSY:  # EBUSY: base holds processes, which must move to a leaf first
            raise SetupError(f"cgroup v2: {err}") from None
        _move_into_leaf(base)
        _enable(base)
    parent = os.path.join(base, "course-sandbox")
    os.makedirs(parent, exist_ok=True)
    _enable(parent)
    return parent


class CgroupsV2:
    """The group course-sandbox/<uid>, whose creation reserves the uid."""

    STALE_AFTER = 60  # seconds: a launcher moves its sandbox in within milliseconds of creating it

    def __init__(self, limits: Limits, uid_base: int, span: int = 5000):
        try:
            parent = prepare(own_group())
        except OSError as err:
            raise SetupError(f"cgroup v2: {err}") from None
        self._remove_stale(parent)
        start = os.getpid() % span
        for uid in (uid_base + (start + i) % span for i in range(span)):
            try:
                os.mkdir(os.path.join(parent, str(uid)))
                break
            except FileExistsError:
                continue
        else:
            raise SetupError(f"all {span} sandbox uids from {uid_base} are in use")
        self.uid, self.group = uid, os.path.join(parent, str(uid))
        self.paths = [self.group]
        try:
            write_file(os.path.join(self.group, "memory.max"), str(limits.memory))
            if os.path.exists(os.path.join(self.group, "memory.swap.max")):  # or a memory bomb moves to swap
                write_file(os.path.join(self.group, "memory.swap.max"), "0")
            write_file(os.path.join(self.group, "pids.max"), str(limits.processes))
        except OSError:
            self.remove()
            raise

    @classmethod
    def _remove_stale(cls, parent: str) -> None:
        """Groups left by a launcher that was killed (grade.py kills a hung grading run outright)."""
        for entry in os.scandir(parent):
            try:
                if (entry.is_dir() and time.time() - entry.stat().st_mtime > cls.STALE_AFTER
                        and not read_file(os.path.join(entry.path, "cgroup.procs")).strip()):
                    os.rmdir(entry.path)
            except OSError:
                pass  # in use again, or removed by another launcher meanwhile

    def join(self) -> None:
        write_file(os.path.join(self.group, "cgroup.procs"), str(os.getpid()))

    def _counter(self, name: str, key: str) -> int:
        try:
            for line in read_file(os.path.join(self.group, name)).splitlines():
                field, _, value = line.partition(" ")
                if field == key:
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def oom_kills(self) -> int:
        return self._counter("memory.events", "oom_kill")

    def processes_refused(self) -> int:
        return self._counter("pids.events", "max")

    def remove(self) -> None:
        for _ in range(50):  # the last processes may take a moment to leave
            try:
                os.rmdir(self.group)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)
