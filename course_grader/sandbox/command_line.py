"""The launcher's command line: python -I -m course_grader.sandbox --scratch DIR [options] -- CMD...

Standard library and this package only: it runs as root under `python -I`. With a warm launcher
running (COURSE_SANDBOX_ZYGOTE, zygote_client.py), it hands the whole request over to it.
"""
from __future__ import annotations

import argparse
import os
import sys

from course_grader.sandbox.launcher import run
from course_grader.sandbox.limits import Limits, parse_size
from course_grader.sandbox.processes import RunHere
from course_grader.sandbox.zygote_client import ENV as ZYGOTE_ENV
from course_grader.sandbox.zygote_client import request


def main(argv: list[str] | None = None, run_here: RunHere | None = None) -> int:
    """The launcher: parse argv, run CMD in the sandbox, return its exit code. run_here: in a fork
    of the zygote (zygote.py), which passes its way of running a Python program in place."""
    argv = sys.argv[1:] if argv is None else argv
    if run_here is None and os.environ.get(ZYGOTE_ENV):  # a warm launcher runs (the class command): it does the work
        code = request(os.environ[ZYGOTE_ENV], argv)
        if code is not None:
            return code
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -I -m course_grader.sandbox", usage="%(prog)s [options] -- CMD...",
                                     description="Run CMD in a sandbox: namespaces, a user of its own, cgroup limits.")
    parser.add_argument("--scratch", required=True, help="the one directory CMD can write in, also its HOME")
    parser.add_argument("--hide", action="append", default=[], metavar="PATH",
                        help="a folder (shown empty) or file (shown empty) CMD must not read; repeatable")
    parser.add_argument("--readable", action="append", default=[], metavar="PATH",
                        help="a folder CMD must read even inside a hidden one (the course's packages); repeatable")
    parser.add_argument("--memory", type=parse_size, default=Limits.memory, help="memory limit, e.g. 2G")
    parser.add_argument("--processes", type=int, default=Limits.processes, help="processes plus threads")
    parser.add_argument("--cpu", type=int, default=Limits.cpu, help="CPU seconds per process")
    parser.add_argument("--file-size", type=parse_size, default=Limits.file_size, help="largest file written")
    parser.add_argument("--scratch-size", type=parse_size, default=Limits.scratch,
                        help="size of the scratch folder (a tmpfs, as root)")
    parser.add_argument("--pass-stdout", action="store_true",
                        help="CMD's stdout unbounded: a channel whose reader bounds it (the grader's replay)")
    parser.add_argument("--uid-base", type=int, default=60000, help="sandbox users are uid-base + 0..4999")
    args = parser.parse_args(argv[:split])
    cmd = argv[split + 1:]
    if not cmd:
        parser.error("no command after --")
    return run(cmd, args.scratch, args.hide, Limits(args.memory, args.processes, args.cpu, args.file_size, args.scratch_size),
               args.uid_base, run_here, args.readable, args.pass_stdout)
