"""Seccomp filters: no new processes and no new programs, for the grader's replay of a submission;
no keyrings, for every sandbox (processes.py).

`forbid_new_processes()` makes fork, vfork, clone without CLONE_THREAD, execve and execveat fail
with EPERM in this process and everything it starts, for good (a filter cannot be removed). Threads
still start: glibc's pthread_create tries clone3 first, gets ENOSYS (a filter cannot read clone3's
flags, which lie in memory) and falls back to clone with CLONE_THREAD. The replay
(course_grader/replay.py) installs it before any of the notebook's code runs, so that no answer
can be computed by a fresh Python that has none of the grader's checks.

Standard library (ctypes) and this package only; Linux on x86_64 and aarch64. Elsewhere, or where the kernel
refuses, it says why and forbids nothing.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

from course_grader.sandbox.linux import join_new_session_keyring

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
CLONE_THREAD = 0x00010000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
NR, ARCH, ARG0 = 0, 4, 16
LD_W_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06

# machine -> (audit arch, first number of another ABI or None). A system call of another
# architecture (x86_64's int 0x80, the i386 ABI) or ABI (x32) is refused: it would carry other numbers.
ARCHES = {"x86_64": (0xC000003E, 0x40000000), "aarch64": (0xC00000B7, None)}
# machine -> (forbidden outright, clone, clone3)
NEW_PROCESSES = {
    "x86_64": ((57, 58, 59, 322), 56, 435),  # fork vfork execve execveat
    "aarch64": ((221, 281), 220, 435),       # execve execveat
}
KEYRINGS = {"x86_64": (248, 249, 250), "aarch64": (217, 218, 219)}  # add_key request_key keyctl


def _program(arch: int, other_abi: int | None, refused: tuple[int, ...], clone: int | None = None,
             clone3: int | None = None) -> list[tuple]:
    """The filter as (code, jump if true, jump if false, k); jumps count the instructions skipped.
    With clone: clone without CLONE_THREAD refused too, clone3 ENOSYS."""
    body = [("ld", ARCH), ("jne", arch, "refuse"), ("ld", NR)]
    if other_abi is not None:
        body.append(("jge", other_abi, "refuse"))
    body += [("jeq", nr, "refuse") for nr in refused]
    if clone is None:
        body.append(("ret", RET_ALLOW))
    else:
        body += [("jeq", clone3, "nosys"), ("jne", clone, "allow"), ("ld", ARG0), ("jset", CLONE_THREAD, "allow")]
    body += [("label", "refuse"), ("ret", RET_ERRNO | errno.EPERM),
             ("label", "nosys"), ("ret", RET_ERRNO | errno.ENOSYS),
             ("label", "allow"), ("ret", RET_ALLOW)]
    labels, position = {}, 0
    for item in body:
        if item[0] == "label":
            labels[item[1]] = position
        else:
            position += 1
    program, position = [], 0
    for item in body:
        if item[0] == "label":
            continue
        op = item[0]
        if op == "ld":
            program.append((LD_W_ABS, 0, 0, item[1]))
        elif op == "ret":
            program.append((RET, 0, 0, item[1]))
        else:
            skip = labels[item[2]] - position - 1
            code = {"jeq": JEQ, "jne": JEQ, "jge": JGE, "jset": JSET}[op]
            program.append((code, 0, skip, item[1]) if op == "jne" else (code, skip, 0, item[1]))
        position += 1
    return program


def forbid_new_processes() -> str | None:
    """Install the filter of new processes and programs; None when it holds, else why not (it is
    then not installed)."""
    return _install(lambda machine: _program(*ARCHES[machine], *NEW_PROCESSES[machine]))


def forbid_keyrings() -> str | None:
    """Refuse add_key, request_key and keyctl: the host's keyrings outlive a sandbox (a key added
    to the user keyring of uid 60000+n waits there for the next student given that uid) and the
    session keyring inherited from the grader holds the grader's keys. None when it holds."""
    return _install(lambda machine: _program(*ARCHES[machine], KEYRINGS[machine]))


def close_keyrings() -> None:
    """A new, empty session keyring in place of the inherited one (the grader's), then
    forbid_keyrings(); OSError where the filter cannot be installed."""
    join_new_session_keyring()
    why_not = forbid_keyrings()
    if why_not:
        raise OSError(f"the keyrings cannot be closed: {why_not}")


def _install(program_for) -> str | None:
    machine = platform.machine()
    if not os.uname().sysname == "Linux" or machine not in ARCHES:
        return f"no seccomp filter for {os.uname().sysname} on {machine}"
    program = program_for(machine)
    raw = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program), ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), 0, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog), 0, 0) != 0:
        return f"seccomp refused: {os.strerror(ctypes.get_errno())}"
    return None
