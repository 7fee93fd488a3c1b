"""The sandbox without root: user namespaces, which unprivileged users may create where the kernel
allows it (Debian, Ubuntu, Fedora; not where kernel.unprivileged_userns_clone=0 or AppArmor
forbids them).

The launcher's child enters a new user namespace together with the other namespaces, as root of
that namespace (mapped to the grader's own uid), which lets it build the file view. The program
then runs one user namespace further down as an ordinary user (the sandbox's uid, mapped to the
same host uid), without any capability: the mounts of the view belong to the namespace above, so
it cannot unmount what hides the course. To the host, everything it does is done by the grader's
user: that is what a sandbox without root cannot change (no user of its own on the host).
"""
from __future__ import annotations

import ctypes
import os

from course_grader.sandbox.linux import SetupError, unshare, write_file

CLONE_NEWUSER = 0x10000000
PR_CAPBSET_DROP = 24
_LAST_CAP = 63
_libc = ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _map(inside: int, outside_uid: int, outside_gid: int) -> None:
    # setgroups must be denied before an unprivileged process may write its gid_map
    write_file("/proc/self/setgroups", "deny")
    write_file("/proc/self/uid_map", f"{inside} {outside_uid} 1")
    write_file("/proc/self/gid_map", f"{inside} {outside_gid} 1")


def enter_as_root(flags: int) -> None:
    """unshare(CLONE_NEWUSER | flags), as root of the new user namespace (the grader's uid outside)."""
    uid, gid = os.geteuid(), os.getegid()
    try:
        unshare(CLONE_NEWUSER | flags)
    except OSError as err:
        raise SetupError(f"user namespaces are not allowed here ({err.strerror}): grade as root, or allow them "
                         "(sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)") from err
    _map(0, uid, gid)


def become(uid: int) -> None:
    """In a user namespace below this one, as uid, with no capabilities left at all: none now
    (capset), none after an exec (the bounding set emptied) and no way to gain any."""
    unshare(CLONE_NEWUSER)
    _map(uid, 0, 0)
    for cap in range(_LAST_CAP + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the kernel's last capability
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()  # _LINUX_CAPABILITY_VERSION_3
    if _libc.capset(ctypes.byref(header), data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"capset: {os.strerror(err)}")
