"""The class command's processes: nbgrader runs forked from a warm server, each with a hard time
limit, and the sandbox's warm launcher (the zygote) for their kernels.

run_nbgrader forks each run from a server process that has imported nbgrader and what the course's
nbgrader_config.py imports (torch, for one) once: starting Python and importing them for every
student cost about 1 s of CPU per student (benchmarks/bench_grade_class.py). The kernels fork from
the zygote (course_grader/sandbox/zygote.py), which has imported torch: 1.7 s of CPU less each.
"""
from __future__ import annotations

import ast
import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from course_grader.protocol import ENV as GRADING_ENV
from course_grader.sandbox import zygote
from course_grader.sandbox.launcher import launcher_environment

# `nbgrader`, minus 1.5-3 s of start-up: jsonschema imports rfc3987_syntax, which builds a parser
# grammar at import, only to check IRI strings that nbgrader's notebooks never hold.
NBGRADER = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); sys.argv[0] = 'nbgrader'; "
            "from nbgrader.apps.nbgraderapp import main; sys.exit(main())")

FORKSERVER = multiprocessing.get_context("forkserver")
# What a forked run does before its command's code: a session of its own (Ctrl-C in the terminal
# reaches the class command alone, which ends every run in flight), its folder, environment and
# output file. A string for the builtin exec, so that the forked process needs to import nothing.
# gc.freeze(): the garbage collector leaves alone the objects inherited from the server (torch,
# nbgrader...); scanning them wrote to every page, which the OS then had to copy: 0.15 s of CPU per
# run, 40% of what a forked run spends outside its kernel (measured).
FORKED_RUN = """\
import gc, os, resource, sys
resource.setrlimit(resource.RLIMIT_DATA, (NBGRADER_MEMORY, NBGRADER_MEMORY))
gc.freeze()
os.setsid()
os.chdir(CWD)
os.environ.clear()
os.environ.update(ENV)
os.dup2(os.open(OUTPUT, os.O_WRONLY), 1)
os.dup2(1, 2)
sys.argv = ARGV
"""
# nbgrader's own process, which reads what the replay of a submission sends (course_grader/frames.py
# caps each message at 64 MiB): with torch and nbgrader imported it holds about 0.9 GB of data, so
# a cap of 4 GiB stops only a runaway, with a MemoryError in that student's run, not the machine's
# OOM killer choosing among the processes of a whole class.
NBGRADER_MEMORY = 4 << 30
STOPPING = threading.Event()  # set on Ctrl-C: every nbgrader run in flight is ended at once


class Interrupted(Exception):
    """The run is stopping (Ctrl-C): this student stays unrecorded, to be graded by the next run."""


def start_forkserver(course: Path) -> None:
    """Start FORKSERVER importing course_grader/grade_class/preload.py and what the course's
    nbgrader_config.py imports, which each nbgrader run would otherwise import again. Started
    before this process reads the configuration itself, so that both import on a core each: 1 s
    less before the first run."""
    tree = ast.parse((course / "nbgrader_config.py").read_text())
    imported = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    imported += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and not node.level]
    FORKSERVER.set_forkserver_preload(["course_grader.grade_class.preload", *imported])
    multiprocessing.forkserver.ensure_running()


@contextlib.contextmanager
def warm_launcher():
    """The sandbox's zygote for this run's grading kernels. Started first, with the kernels'
    environment, so that it imports while this process gets ready."""
    folder = tempfile.mkdtemp(prefix="course-zygote-")
    socket = os.path.join(folder, "socket")
    # With the launcher's allow-list for environment: its memory is what each kernel starts from.
    process = subprocess.Popen([sys.executable, "-I", zygote.__file__, socket], stdin=subprocess.DEVNULL,
                               env=launcher_environment(os.environ))
    # Listening within 0.1 s; launchers that come while it imports wait their turn. One that found
    # no socket at all would start its kernel the slow way.
    deadline = time.monotonic() + 10
    while not os.path.exists(socket) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.environ[zygote.ENV] = socket
    try:
        yield
    finally:
        del os.environ[zygote.ENV]
        process.kill()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


# Bounded repeats: with `\w+` and `[^@\s]+`, a long run of letters or of "x://y:" made the search
# quadratic (160 kB of a kernel's stderr took 25 s, with the class command's signals held off).
PASSWORD = re.compile(r"(\b\w{1,32}://[^:/@\s]{0,256}:)[^@\s]{1,256}@")
LOG_TAIL = 64 * 1024  # what the log keeps of a run's output, and all a regex ever searches


def hide_passwords(text: str) -> str:
    """scheme://user:***@host for every scheme://user:PASSWORD@host in text (database URLs)."""
    return PASSWORD.sub(r"\1***@", text)


def kernel_environment(jobs: int) -> dict[str, str]:
    """The environment of nbgrader and its kernels, with each kernel's share of the cores.

    torch and BLAS start one thread per core in every kernel: with --jobs 2 on 2 cores, 4 threads
    would contend for 2 cores. The course's small tensors gain little from threads anyway: 3-5% less
    CPU for 06_mlp with 1 thread per kernel than with 2, measured.
    """
    threads = str(max(1, len(os.sched_getaffinity(0)) // jobs))
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env.setdefault(name, threads)
    return env


def _kill_tree(process: multiprocessing.Process) -> None:
    """nbgrader and its kernel (started in a session of its own, so not in nbgrader's group)."""
    try:
        family = psutil.Process(process.pid).children(recursive=True) + [psutil.Process(process.pid)]
    except psutil.NoSuchProcess:
        return
    for p in family:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    process.join()


def run_nbgrader(args: list[str], course: Path, grading_dir: Path, time_limit: float, log,
                 code: str = NBGRADER) -> tuple[int | None, str]:
    """`nbgrader ARGS...` (or `python -c CODE ARGS...`) in course, forked from FORKSERVER, killed
    after time_limit: (exit code, or None if killed; its output)."""
    env = {**os.environ, GRADING_ENV: str(grading_dir)}
    with tempfile.NamedTemporaryFile("w+", errors="replace") as out:
        process = FORKSERVER.Process(target=exec, args=(FORKED_RUN + code, {
            "__name__": "__main__", "CWD": str(course), "ENV": env, "OUTPUT": out.name, "ARGV": ["-c", *args],
            "NBGRADER_MEMORY": NBGRADER_MEMORY}))
        process.start()
        deadline = time.monotonic() + time_limit
        while process.exitcode is None and not STOPPING.is_set() and time.monotonic() < deadline:
            # short waits, so that a stopping run does not wait for this one
            process.join(timeout=min(0.5, max(0.0, deadline - time.monotonic())))
        exit_code = process.exitcode
        if exit_code is None:
            _kill_tree(process)
            if STOPPING.is_set():
                raise Interrupted
        size = os.fstat(out.fileno()).st_size
        out.seek(max(0, size - LOG_TAIL))
        text = out.read()
        if size > LOG_TAIL:
            text = f"[{size - LOG_TAIL} bytes of output left out]\n{text}"
    log.write(hide_passwords(f"$ nbgrader {' '.join(args)}\n{text}\n"))
    return exit_code, text
