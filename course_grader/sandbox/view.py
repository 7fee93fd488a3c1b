"""The sandbox's view of the file system, built in its new mount namespace: hidden folders are an
empty tmpfs and hidden files /dev/null, every mount is read-only, and the scratch directory (the
sandbox user's alone) and the shared entries of the grading directory are the places it can write.
"""
from __future__ import annotations

import os
import re

from course_grader.sandbox.linux import (MOUNT_OPTIONS, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE,
                                      MS_RDONLY, MS_REC, MS_REMOUNT, mount, read_file)

# /run and /var/run hold the host's service sockets (D-Bus, databases, the Docker daemon's);
# /dev/pts and /dev/ptmx the host's terminals, which a kernel never needs and could use up.
HIDDEN_ALWAYS = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/var/run", "/dev/pts", "/dev/ptmx")
# The system's folders at /; every other one (/home, /root, /srv, /mnt, /var, a machine's own
# /work or /data) is hidden: other copies of the course, with their hidden tests and reference
# answers, lie there. What the sandbox must read in them (the Python, the course's packages,
# COURSE_DATA_DIR) is bound back.
SYSTEM_FOLDERS = frozenset({"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt", "dev", "proc",
                            "sys", "nix", "gnu", "snap"})


def outside_the_system() -> list[str]:
    """The folders at / that are not the system's. A link there (/lib on a merged-/usr host) leads
    to a folder that is either the system's or hidden itself."""
    with os.scandir("/") as entries:
        return sorted(e.path for e in entries if e.name not in SYSTEM_FOLDERS and e.is_dir(follow_symlinks=False))


def listening_sockets() -> list[str]:
    """The paths of the Unix sockets bound in this network namespace (/proc/net/unix), wherever
    they lie: a socket hidden by /dev/null cannot be connected to."""
    try:
        lines = read_file("/proc/net/unix").splitlines()[1:]
    except OSError:
        return []
    fields = (line.split(None, 7) for line in lines)
    return sorted({f[7] for f in fields if len(f) == 8 and f[7].startswith("/")})


def _mount_points() -> list[tuple[str, int]]:
    """(mount point, its per-mount flags) from /proc/self/mountinfo."""
    found = []
    for line in read_file("/proc/self/mountinfo").splitlines():
        fields = line.split()
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[4])
        flags = 0
        for option in fields[5].split(","):
            flags |= MOUNT_OPTIONS.get(option, 0)
        found.append((point, flags))
    return found


def _closed_parent(path: str) -> str | None:
    """The outermost folder above path that others cannot enter, if any."""
    parts = path.split(os.sep)
    for i in range(1, len(parts)):
        folder = os.sep.join(parts[:i]) or os.sep
        if not os.stat(folder).st_mode & 0o001:
            return folder
    return None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _hide(path: str) -> None:
    if os.path.isdir(path):
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=1m,mode=755")
    elif os.path.exists(path):
        mount("/dev/null", path, None, MS_BIND)


def _bind_back(path: str, fd: int) -> None:
    """The folder or file opened as fd, at its own path again, above what hid it."""
    if not os.path.exists(path):  # hidden above: make a mount point in the tmpfs
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(path)
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)


def build_view(scratch: str, hidden: list[str], shared: list[str], readable: list[str]) -> None:
    """In a new mount namespace: hide; bind back `readable` (read-only), then the scratch directory
    and `shared` (writable where their own permissions allow); make every other mount read-only.

    A hidden path inside one bound back (a reference answer inside course_lib, cloned under /tmp)
    is hidden again after the binding, so it stays hidden."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here shows outside
    kept = [*readable, scratch, *shared]
    # A folder above a path bound back that is closed to others (pyenv's Pythons live in /root, a
    # clone in a home folder of mode 700) is hidden too, so that the path can be reached in the
    # empty folder that replaces it.
    hidden = [*hidden, *filter(None, map(_closed_parent, kept))]
    around = [h for h in hidden if not any(_inside(h, k) for k in kept)]
    within = [h for h in hidden if h not in around]
    # Inside another hidden folder, a hidden path is hidden already (the sockets of /run).
    around = [h for h in dict.fromkeys(around) if not any(o != h and _inside(h, o) for o in around)]
    writable = [scratch, *shared]
    # The writable paths become mount points of their own, so that they escape the read-only remount.
    covered = [k for k in kept if k in writable or any(_inside(k, h) for h in around)]
    # Opened before anything is hidden: a tmpfs over /tmp also hides a scratch directory in /tmp.
    keep = {path: os.open(path, os.O_PATH) for path in covered}
    for path in around:
        _hide(path)
    for path, fd in keep.items():
        _bind_back(path, fd)
        os.close(fd)
    for path in within:
        _hide(path)
    for point, flags in _mount_points():
        if point in writable or point == "/proc" or point.startswith("/proc/"):
            continue
        try:
            mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)
        except OSError:
            pass  # stays writable, but only where the sandbox's user has permission to write


def give(scratch: str, uid: int) -> None:
    """The scratch directory and everything in it to the sandbox's user, and to nobody else."""
    for root, dirs, files in os.walk(scratch):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)
    os.chown(scratch, uid, uid)
    os.chmod(scratch, 0o700)
