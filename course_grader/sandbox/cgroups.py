"""The sandbox's memory and pids cgroups (v1): the caps on its memory (swap included) and on its
processes plus threads, and the counters that tell afterwards whether it hit them; and
make_cgroups(), which chooses between them and cgroup v2's (cgroups_v2.py).

They are made inside the launcher's own cgroups, as course-sandbox/<uid>, so that the sandbox
stays within whatever limits the launcher itself runs under; creating them reserves the uid.
cgroup v1 lets root alone make them.
"""
from __future__ import annotations

import os
import time

from course_grader.sandbox import cgroups_v2
from course_grader.sandbox.limits import Limits
from course_grader.sandbox.linux import SetupError, read_file, write_file

CGROUPS = "/sys/fs/cgroup"


def _own_cgroup(controller: str) -> str:
    """This process's cgroup of `controller`: the sandbox's is made inside it, within its limits."""
    for line in read_file("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            inside = os.path.join(CGROUPS, controller, path.lstrip("/"))
            # In a container the hierarchy is mounted at our own cgroup, whose path is the host's.
            return inside if os.path.isdir(inside) else os.path.join(CGROUPS, controller)
    raise SetupError(f"no {controller} cgroup (cgroup v1 at {CGROUPS})")


def _new_dir(parent: str, name: str) -> bool:
    """mkdir parent/name, parent included: False if it exists already."""
    for _ in range(10):  # the parent may vanish meanwhile: the last sandbox out removes it
        os.makedirs(parent, exist_ok=True)
        try:
            os.mkdir(os.path.join(parent, name))
            return True
        except FileExistsError:
            return False
        except FileNotFoundError:
            continue
    raise SetupError(f"cannot create {os.path.join(parent, name)}")


class Cgroups:
    """A memory and a pids cgroup named after the sandbox's uid, which creating them reserves."""

    STALE_AFTER = 60  # seconds: a launcher moves its sandbox in within milliseconds of creating it

    def __init__(self, limits: Limits, uid_base: int, span: int = 5000):
        parents = {c: os.path.join(_own_cgroup(c), "course-sandbox") for c in ("memory", "pids")}
        for parent in parents.values():
            self._remove_stale(parent)
        start = os.getpid() % span
        for uid in (uid_base + (start + i) % span for i in range(span)):
            if not _new_dir(parents["memory"], str(uid)):  # the lock on this uid
                continue
            if _new_dir(parents["pids"], str(uid)):  # fresh, or its counters would tell of another sandbox
                break
            os.rmdir(os.path.join(parents["memory"], str(uid)))
        else:
            raise SetupError(f"all {span} sandbox uids from {uid_base} are in use")
        self.uid = uid
        self.memory, self.pids = (os.path.join(parents[c], str(uid)) for c in ("memory", "pids"))
        self.paths = [self.memory, self.pids]
        try:
            write_file(os.path.join(self.memory, "memory.limit_in_bytes"), str(limits.memory))
            memsw = os.path.join(self.memory, "memory.memsw.limit_in_bytes")
            if os.path.exists(memsw):  # swap counted too, or a memory bomb just moves to swap
                write_file(memsw, str(limits.memory))
            write_file(os.path.join(self.pids, "pids.max"), str(limits.processes))
        except OSError:
            self.remove()
            raise

    @classmethod
    def _remove_stale(cls, parent: str) -> None:
        """Cgroups left by a launcher that was killed (grade.py kills a hung grading run outright)."""
        if not os.path.isdir(parent):
            return
        for entry in os.scandir(parent):
            try:
                if (entry.is_dir() and time.time() - entry.stat().st_mtime > cls.STALE_AFTER
                        and not read_file(os.path.join(entry.path, "cgroup.procs")).strip()):
                    os.rmdir(entry.path)
            except OSError:
                pass  # in use again, or removed by another launcher meanwhile

    def join(self) -> None:
        for group in (self.memory, self.pids):
            write_file(os.path.join(group, "cgroup.procs"), str(os.getpid()))

    def _counter(self, path: str, name: str) -> int:
        try:
            for line in read_file(path).splitlines():
                key, _, value = line.partition(" ")
                if key == name:
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def oom_kills(self) -> int:
        return self._counter(os.path.join(self.memory, "memory.oom_control"), "oom_kill")

    def processes_refused(self) -> int:
        return self._counter(os.path.join(self.pids, "pids.events"), "max")

    def remove(self) -> None:
        for group in (self.memory, self.pids):
            for _ in range(50):  # the last processes may take a moment to leave
                try:
                    os.rmdir(group)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
            try:
                os.rmdir(os.path.dirname(group))  # the last sandbox out leaves no trace in the cgroups
            except OSError:
                pass  # other sandboxes still run


def make_cgroups(limits: Limits, uid_base: int):
    """The sandbox's cgroups on this host, v1 or v2 (an object with uid, paths, join(), oom_kills(),
    processes_refused(), remove()). Raises SetupError saying why there can be none."""
    if cgroups_v2.unified():
        return cgroups_v2.CgroupsV2(limits, uid_base)
    if os.geteuid() != 0:
        raise SetupError("cgroup v1 lets root alone make cgroups")
    return Cgroups(limits, uid_base)
