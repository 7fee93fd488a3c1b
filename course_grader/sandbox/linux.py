"""What the launcher needs of Linux beyond the standard library: libc's mount, prctl and unshare
(through ctypes) and their flags; files of /proc and /sys read and written with the file named in
the error; and SetupError, raised when the sandbox cannot be built."""
from __future__ import annotations

import ctypes
import os
import platform

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x8000000, 0x20000000, 0x40000000
NAMESPACES = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC  # the sandbox's own, besides a user namespace
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 0x20, 0x400, 0x800, 0x1000
MS_REC, MS_PRIVATE, MS_RELATIME = 0x4000, 0x40000, 0x200000
MOUNT_OPTIONS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
                 "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
KEYCTL_JOIN_SESSION_KEYRING = 1
_KEYCTL = {"x86_64": 250, "aarch64": 219}  # the system call's number; libc has no wrapper

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    """The sandbox could not be built: CMD does not run (launcher.py)."""


def describe(err: BaseException) -> str:
    return str(err) if isinstance(err, (SetupError, OSError)) else f"{type(err).__name__}: {err}"


def _call(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    _call(_libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
          f"mount {target}")


def umount(target: str) -> None:
    """Detach the mount at target (MNT_DETACH: at once, even while files in it are open)."""
    _call(_libc.umount2(os.fsencode(target), 2), f"umount {target}")


def prctl(option: int, value: int) -> None:
    _call(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def unshare(flags: int) -> None:
    _call(_libc.unshare(flags), "unshare")


def join_new_session_keyring() -> None:
    """A new, empty session keyring in place of the inherited one (the grader's, holding its keys);
    nothing where keyrings are unavailable (a container's seccomp profile often refuses them)."""
    number = _KEYCTL.get(platform.machine())
    if number is not None:
        _libc.syscall(ctypes.c_long(number), ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), None)


def write_file(path: str, text: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as err:  # raised when the file closes, without its name
        raise OSError(err.errno, f"writing {text!r} to {path}: {err.strerror}") from None


def read_file(path: str) -> str:
    with open(path) as f:
        return f.read()
