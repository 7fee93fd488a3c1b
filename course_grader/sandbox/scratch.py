"""The scratch directory as a tmpfs of capped size (as root): what the sandbox writes there takes
memory counted in its own memory cgroup, never the host's disk, and is gone when it ends.

The tmpfs is mounted at the scratch directory on the host, not inside the sandbox: the kernel's
sockets to nbgrader lie in it, and both sides must reach them. What the directory held (the
connection file, the files beside the notebook) is copied in first, and is there again, as it
was, once the tmpfs is unmounted.
"""
from __future__ import annotations

import os
import shutil
import signal

from course_grader.sandbox.linux import MS_NODEV, MS_NOSUID, PR_SET_PDEATHSIG, mount, prctl, umount
from course_grader.sandbox.limits import size_text

MiB = 1024**2


def mount_scratch(scratch: str, size: int, uid: int) -> None:
    """A tmpfs of `size` bytes at scratch, the sandbox user's, holding a copy of what was there."""
    below = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)
    try:
        mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=700,uid={uid},gid={uid}")
        try:
            shutil.copytree(f"/proc/self/fd/{below}", scratch, symlinks=True, dirs_exist_ok=True)
            for root, dirs, files in os.walk(scratch):
                for name in dirs + files:
                    os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)
        except BaseException:
            umount(scratch)
            raise
    finally:
        os.close(below)


def unmount_when_killed(scratch: str) -> int:
    """A process that unmounts the scratch folder if the launcher dies first (a kernel manager
    kills it outright when a kernel does not stop): a tmpfs left mounted would hold its memory
    until the machine restarts. The launcher kills it (SIGKILL) once it has unmounted itself."""
    launcher = os.getpid()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    pid = os.fork()
    if pid:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return pid
    try:
        os.setsid()  # out of the launcher's group, which a kernel manager signals
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, 65536)  # holds none of the launcher's pipes open
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == launcher:
            signal.sigwait([signal.SIGTERM])
        unmount_scratch(scratch)
    finally:
        os._exit(0)


def unmount_scratch(scratch: str) -> None:
    try:
        umount(scratch)
    except OSError:
        pass  # unmounted already (by the kernel manager, after a launcher killed)


def scratch_flags(scratch: str, size: int) -> list[dict]:
    """The flag "scratch" if the sandbox filled its scratch directory (within 1 MiB: a write that
    did not fit failed with "No space left on device")."""
    stats = os.statvfs(scratch)
    if stats.f_bavail * stats.f_frsize < MiB:
        return [{"kind": "scratch", "detail": f"the scratch folder was full ({size_text(size)}): "
                                              f"writes past it failed"}]
    return []
