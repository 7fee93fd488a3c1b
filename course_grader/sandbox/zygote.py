"""A warm launcher: a root process that has imported torch and ipykernel once, and forks a launcher
for each kernel, whose kernel then starts without importing them again.

    python -I course_grader/sandbox/zygote.py SOCKET      # the class command starts it for a grading run

Every grading kernel imports torch: 1.7 s of CPU, two thirds of what grading a short notebook
costs. With COURSE_SANDBOX_ZYGOTE=SOCKET in its environment, the launcher (command_line.py) asks
the zygote instead of building the sandbox itself: it sends its arguments, environment,
working directory and standard streams; the zygote forks; the fork runs the launcher's own
code (main, the same sandbox, limits and flags) and, where the command is `python -m MODULE`
(a kernel) or `python -c CODE` with this Python, runs it in its own process (run_here) instead
of starting a new Python.
The launcher stays in between as the kernel manager's process: it passes on the signals a
kernel manager sends and exits with the code the fork reports; killed, it closes the socket,
and the fork kills itself, and with it the sandbox (each process below dies with its parent).

The zygote imports third-party modules only, never course_lib's reference or the grader's
state, so that a kernel finds nothing in its memory that it could not import itself; and it
runs no tensor operation, so that no thread pool exists when it forks. Its socket lies in a
folder only its user can enter, which every sandbox it starts hides; and it serves only processes
in its own mount and PID namespaces, never one inside a sandbox (which, without root, runs as the
same user). Its environment, and what a launcher sends it, is the launcher's allow-list
(launcher_environment): a kernel forked from it finds no secret of the grader's in its memory
(/proc/self/environ, the stack frames above it). When the zygote cannot be reached, the launcher
runs as usual. Started with -I, as the launcher is: PYTHON* variables do not reach a program it
runs, except PYTHONPATH (run_here).
"""
from __future__ import annotations

import atexit
import gc
import importlib
import json
import os
import runpy
import signal
import socket
import struct
import sys
import threading
from collections.abc import Callable

if not __package__:  # run by path, as the launcher is (__main__.py)
    sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from course_grader.sandbox.command_line import main  # noqa: E402
from course_grader.sandbox.linux import PR_SET_DUMPABLE, PR_SET_PDEATHSIG, prctl  # noqa: E402
from course_grader.sandbox.zygote_client import ENV, MESSAGE, receive, send  # noqa: E402, F401 - ENV for the class command

# torch._dynamo: the guard's torch modes need it (kernel_extension.py imports it before any timed call)
PRELOAD = ("torch", "torch._dynamo", "ipykernel.kernelapp", "ipykernel.ipkernel")


def run_here(cmd: list[str], env: dict) -> None:
    """Run `python [-P] -m MODULE ARGS` or `python [-P] -c CODE ARGS` in this process, as that Python
    would, and exit; return if cmd is anything else (the caller then execs it)."""
    safe_path = len(cmd) > 1 and cmd[1] == "-P"  # nothing of the working folder on sys.path
    if safe_path:
        cmd = [cmd[0], *cmd[2:]]
    if len(cmd) < 3 or cmd[1] not in ("-m", "-c") or not _is_this_python(cmd[0]):
        return
    os.environ.clear()
    os.environ.update(env)
    # Its own user's to inspect (/proc/self, ptrace), as after an exec: a change of user without
    # one leaves the process owned by root.
    prctl(PR_SET_DUMPABLE, 1)
    # As Python sets them up when it starts: Ctrl-C raises KeyboardInterrupt; a broken pipe or a
    # file past RLIMIT_FSIZE raises OSError instead of killing the process.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    # What `python` puts first: the working directory, then PYTHONPATH (the zygote runs with -I).
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [*([] if safe_path else [os.getcwd() if cmd[1] == "-m" else ""]), *extra, *sys.path]
    sys.argv[:] = cmd[2:] if cmd[1] == "-m" else ["-c", *cmd[3:]]
    code = _as_python(lambda: _run_program(cmd[1], cmd[2]))
    atexit._run_exitfuncs()
    _flush()
    os._exit(code)


def _run_program(option: str, what: str) -> None:
    if option == "-m":
        runpy.run_module(what, run_name="__main__", alter_sys=True)
    else:
        program = type(sys)("__main__")
        sys.modules["__main__"] = program
        exec(compile(what, "<string>", "exec"), program.__dict__)


def _as_python(body: Callable[[], object]) -> int:
    """Run body as Python runs a program: its exit code (body's result, sys.exit's code, or 1 after
    an uncaught exception, whose traceback goes to stderr)."""
    try:
        result = body()
        return result if isinstance(result, int) else 0
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            return stop.code or 0
        print(stop.code, file=sys.stderr)
        return 1
    except BaseException:  # noqa: BLE001 - as Python reports an uncaught exception
        sys.excepthook(*sys.exc_info())
        return 1


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _is_this_python(path: str) -> bool:
    try:
        return os.path.samefile(path, sys.executable)
    except OSError:
        return False


def _launch(conn: socket.socket, request: dict, fds: list[int], socket_path: str) -> None:
    """In the zygote's fork: become the launcher the request describes, then report its exit code."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the launcher waits for its children
    for number, fd in enumerate(fds[:3]):
        os.dup2(fd, number)
    for fd in fds:
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    send(conn, pid=os.getpid())

    def die_with_launcher():
        # The launcher killed (a kernel manager gave up on the kernel): so is this fork, and with it the sandbox.
        while receive(conn) is not None:
            pass
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=die_with_launcher, daemon=True).start()
    hide_socket = f"--hide={os.path.dirname(os.path.abspath(socket_path))}"
    # argparse's errors exit with 2, as the launcher's would
    code = _as_python(lambda: main([hide_socket, *request["argv"]], run_here))
    _flush()
    send(conn, code=code)
    os._exit(0)


def serve(path: str) -> None:
    """Listen on path (a socket, made here), preload, then fork a launcher per connection."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # ends with the grading run that started it
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path + ".new")
    os.chmod(path + ".new", 0o600)
    listener.listen(64)  # launchers that come while the modules load wait in the backlog
    os.rename(path + ".new", path)  # path appears ready to connect to
    for name in PRELOAD:
        importlib.import_module(name)
    gc.freeze()  # the forks' collectors leave the preloaded objects alone: no page copied for them
    # Each fork reaped as it ends, so that its CPU time counts in the zygote's children (and so in
    # the class command's, which benchmarks/bench_grade_class.py reads), as the launcher's would.
    signal.signal(signal.SIGCHLD, _reap)
    while True:
        conn, _ = listener.accept()
        if not _from_outside_any_sandbox(conn):
            conn.close()
            continue
        try:
            data, fds, _, _ = socket.recv_fds(conn, MESSAGE, 3)
        except OSError:
            conn.close()
            continue
        if os.fork() == 0:
            listener.close()
            try:
                _launch(conn, json.loads(data), fds, path)
            finally:
                os._exit(125)
        conn.close()
        for fd in fds:
            os.close(fd)


def _from_outside_any_sandbox(conn: socket.socket) -> bool:
    """Whether the process that connected shares this one's mount and PID namespaces: a launcher
    started by a kernel manager does; a program in a sandbox, which could ask for a sandbox of its
    own choosing, does not (or its namespaces cannot be read)."""
    pid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[0]
    try:
        return all(os.readlink(f"/proc/{pid}/ns/{kind}") == os.readlink(f"/proc/self/ns/{kind}")
                   for kind in ("mnt", "pid"))
    except OSError:
        return False


def _reap(signum, frame) -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


if __name__ == "__main__":
    serve(sys.argv[1])
