"""The launcher's processes: forks, CMD's exec with its limits and user, waits, and the reports
that come back up a pipe.

Below the launcher in the sandbox: its child joins the cgroups, enters the new namespaces and
builds the view; that one's child, PID 1 of the new PID namespace, runs CMD and reaps orphans;
then CMD. Each passes on to its child the signals a kernel manager sends; the first two die with
their parent (PR_SET_PDEATHSIG), and what is left in the namespace dies with PID 1. What goes
wrong before CMD runs comes back as a setup error. Without a sandbox (run_plain), only CMD.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

from course_grader.sandbox import seccomp, user_namespace
from course_grader.sandbox.limits import Limits
from course_grader.sandbox.output import BoundedOutput
from course_grader.sandbox.linux import (MS_NODEV, MS_NOEXEC, NAMESPACES,
                                      MS_NOSUID, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, SetupError, describe, mount,
                                      prctl, unshare, write_file)
from course_grader.sandbox.view import build_view, listening_sockets


@dataclass
class Box:
    """What the sandbox is made of on this host: its uid; its cgroups, if the host lets this user
    make them; a user namespace (without root); the RLIMIT_NPROC that caps its processes."""
    uid: int
    cgroups: object | None
    userns: bool
    nproc: int

# What a kernel manager sends the kernel: interrupt, terminate. Each process of the launcher
# passes them on to its child, down to CMD.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)

_original_mask: set = set()  # the signal mask CMD gets back before exec
# In a fork of the zygote (zygote.py), `run_here` runs `python -m MODULE` or `python -c CODE` in
# the process that would exec it, with the modules the zygote imported; it returns for any other
# command, which is then exec'd.
RunHere = Callable[[list[str], dict], None]


def remember_signal_mask() -> None:
    """The launcher's signal mask as it starts, which CMD gets back: forks block signals meanwhile."""
    global _original_mask
    _original_mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])


def forward_signals_to(pid: int) -> None:
    def forward(signum, frame):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    for sig in FORWARDED:
        signal.signal(sig, forward)
    signal.pthread_sigmask(signal.SIG_SETMASK, _original_mask)


def _fork() -> int:
    """fork() with the forwarded signals blocked until the new process has its handlers."""
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    return os.fork()


def _report(fd: int, **message) -> None:
    os.write(fd, (json.dumps(message) + "\n").encode())


def _exec(cmd: list[str], env: dict, scratch: str, limits: Limits, nproc: int, uid: int | None,
          run_here: RunHere | None, output: BoundedOutput | None, userns: bool = False,
          memory_cap: bool = True) -> NoReturn:
    """In the child: limits, then the sandbox's user, then CMD. Never returns. Without a memory
    cgroup (memory_cap), each process's data is capped instead."""
    # The OOM killer's first choice, in the sandbox and on the machine: CMD, not the launcher.
    write_file("/proc/self/oom_score_adj", "1000")
    for limit, value in [(resource.RLIMIT_CPU, (limits.cpu, limits.cpu + 2)),  # SIGXCPU, then SIGKILL
                         (resource.RLIMIT_FSIZE, (limits.file_size,) * 2),
                         (resource.RLIMIT_CORE, (0, 0)),
                         (resource.RLIMIT_NPROC, (nproc,) * 2),
                         *([(resource.RLIMIT_DATA, (limits.memory,) * 2)] if not memory_cap else [])]:
        hard = resource.getrlimit(limit)[1]
        if hard != resource.RLIM_INFINITY:  # raising one needs CAP_SYS_RESOURCE, which root may lack
            value = tuple(min(v, hard) for v in value)
        resource.setrlimit(limit, value)
    if uid is not None and os.geteuid() == 0 and not userns:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    elif uid is not None:  # root of a user namespace only: one further down, without capabilities
        user_namespace.become(uid)
    if uid is not None:
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        seccomp.close_keyrings()
    try:
        os.chdir(scratch)
    except OSError as err:
        raise SetupError(f"cannot enter the scratch directory {scratch}: {err.strerror}") from None
    for sig in (*FORWARDED, signal.SIGPIPE, signal.SIGXFSZ):  # as subprocess restores them
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, _original_mask)
    if output is not None:
        output.in_child()
    os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])  # no fd of the grader's leaks in
    if run_here is not None:
        run_here(cmd, env)
    try:
        os.execvpe(cmd[0], cmd, env)
    except OSError as err:
        print(f"course_grader.sandbox: cannot run {cmd[0]}: {err.strerror}", file=sys.stderr)
    os._exit(127)


def user_count(uid: int) -> int:
    """Processes and threads running as uid: RLIMIT_NPROC counts them all."""
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return count


def _wait(pid: int, block: bool = True) -> dict | None:
    """Wait for the child pid: {"code": exit code or None, "signal": ... or None, "cpu": seconds};
    None if it still runs and block is False."""
    got, status, usage = os.wait4(pid, 0 if block else os.WNOHANG)
    if not got:
        return None
    cpu = round(usage.ru_utime + usage.ru_stime, 2)
    if os.WIFSIGNALED(status):
        return {"code": None, "signal": os.WTERMSIG(status), "cpu": cpu}
    return {"code": os.WEXITSTATUS(status), "signal": None, "cpu": cpu}


def _child(report: int | None, body: Callable[[], object]) -> NoReturn:
    """The body of a forked process, which must never return into the launcher's code. What goes
    wrong before CMD runs is reported as a setup error: then CMD does not run at all."""
    try:
        body()
    except BaseException as err:  # noqa: BLE001 - whatever it is, there is no sandbox
        if report is None:
            print(f"course_grader.sandbox: {describe(err)}", file=sys.stderr)
        else:
            _report(report, setup_error=describe(err))
    os._exit(125)


def _enter_sandbox(cmd, env, scratch, hidden, shared, limits, box: Box, report: int, launcher: int,
                   run_here: RunHere | None, readable: list[str], output: BoundedOutput) -> NoReturn:
    """The launcher's child: cgroups, namespaces, the view; then waits for the new PID
    namespace's first process, which runs CMD."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the launcher killed: so is the sandbox
    if os.getppid() != launcher:
        os._exit(125)  # killed before the line above
    os.setsid()  # out of the kernel manager's process group: signals come through the launcher
    if box.cgroups:
        box.cgroups.join()
    hidden = [*hidden, *listening_sockets()]  # the host's services: a socket hidden cannot be connected to
    if box.userns:
        user_namespace.enter_as_root(NAMESPACES)
    else:
        unshare(NAMESPACES)
    os.umask(0o022)  # mount points made in the view must be open to the sandbox's user
    # The Python running this launcher, which runs CMD too (a kernel), must stay readable.
    build_view(scratch, hidden, shared, sorted({sys.prefix, sys.base_prefix, *readable}))
    init = _fork()
    if init == 0:
        _child(report, lambda: _init(cmd, env, scratch, limits, box, report, run_here, output))
    forward_signals_to(init)
    result = _wait(init)
    os._exit(result["code"] if result["signal"] is None else 128 + result["signal"])


def _init(cmd, env, scratch, limits: Limits, box: Box, report: int, run_here: RunHere | None,
          output: BoundedOutput) -> NoReturn:
    """PID 1 of the new namespace: runs CMD as the sandbox's user, reaps orphans, and reports how
    CMD ended. When it exits, the kernel ends every process left in the namespace."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this namespace's processes
    child = _fork()
    if child == 0:
        _child(report, lambda: (os.setsid(), _exec(cmd, env, scratch, limits, box.nproc, box.uid, run_here,
                                                   output, box.userns, box.cgroups is not None)))
    forward_signals_to(child)
    while True:
        pid, status, usage = os.wait3(0)
        if pid == child:
            cpu = round(usage.ru_utime + usage.ru_stime, 2)
            signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
            _report(report, code=None if signum else os.WEXITSTATUS(status), signal=signum, cpu=cpu)
            os._exit(128 + signum if signum else os.WEXITSTATUS(status))


def _read_reports(fd: int) -> dict:
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    os.close(fd)
    merged = {}
    for line in data.decode(errors="replace").splitlines():
        try:
            merged.update(json.loads(line))
        except ValueError:
            pass
    return merged


def run_in_sandbox(cmd, env, scratch, hidden, shared, limits: Limits, box: Box,
                   run_here: RunHere | None = None, readable: list[str] = (), pass_stdout: bool = False) -> dict:
    """CMD in new namespaces, in the box's cgroups if any, as its uid: how it ended ({"code",
    "signal", "cpu"}). Raises SetupError if the sandbox could not be built."""
    env = {**env, "JPY_PARENT_PID": "1"}  # ipykernel: the parent seen inside, PID 1, never goes away
    read, write = os.pipe()
    launcher, output = os.getpid(), BoundedOutput(pass_stdout)
    child = _fork()
    if child == 0:
        os.close(read)
        output.close_read_ends()
        _child(write, lambda: _enter_sandbox(cmd, env, scratch, hidden, shared, limits, box, write,
                                             launcher, run_here, list(readable), output))
    os.close(write)
    forward_signals_to(child)
    result = {**output.pump(lambda block: _wait(child, block)), **_read_reports(read)}
    if "setup_error" in result:
        raise SetupError(result["setup_error"])
    return result


def run_plain(cmd, env, scratch, limits: Limits, run_here: RunHere | None = None, pass_stdout: bool = False) -> dict:
    """CMD with the limits an unprivileged process can set, as the same user."""
    nproc = user_count(os.getuid()) + limits.processes
    output = BoundedOutput(pass_stdout)
    child = _fork()
    if child == 0:
        output.close_read_ends()
        _child(None, lambda: (os.setsid(), _exec(cmd, env, scratch, limits, nproc, None, run_here, output,
                                                 memory_cap=False)))
    forward_signals_to(child)
    return output.pump(lambda block: _wait(child, block))
