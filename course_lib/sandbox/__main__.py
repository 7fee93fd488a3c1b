"""The launcher's command line: python -I -m course_lib.sandbox --scratch DIR [options] -- CMD...

It runs as root on the standard library and this package alone. SandboxKernelManager runs this
file by its path instead, which works even where the `python -I` it starts would not find
course_lib by itself (-I ignores PYTHONPATH): the folder holding course_lib is then added to
sys.path, last, so that nothing in it can stand in for a module of the standard library. The
working directory, which holds the learner's files, stays off sys.path either way.
"""
import argparse
import os
import sys

if not __package__:  # run by path, not with -m
    sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from course_lib import sandbox  # noqa: E402
from course_lib.sandbox import Limits, parse_size, run, zygote  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if os.environ.get(zygote.ENV):  # a warm launcher is running (exercises/grade.py): it does the work
        code = zygote.request(os.environ[zygote.ENV], argv)
        if code is not None:
            return code
    split = argv.index("--") if "--" in argv else len(argv)
    parser = argparse.ArgumentParser(prog="python -I -m course_lib.sandbox", usage="%(prog)s [options] -- CMD...",
                                     description=sandbox.__doc__.split("\n")[0])
    parser.add_argument("--scratch", required=True, help="the one directory CMD can write in, also its HOME")
    parser.add_argument("--hide", action="append", default=[], metavar="PATH",
                        help="a folder (shown empty) or file (shown empty) CMD must not read; repeatable")
    parser.add_argument("--memory", type=parse_size, default=Limits.memory, help="memory limit, e.g. 2G")
    parser.add_argument("--processes", type=int, default=Limits.processes, help="processes plus threads")
    parser.add_argument("--cpu", type=int, default=Limits.cpu, help="CPU seconds per process")
    parser.add_argument("--file-size", type=parse_size, default=Limits.file_size, help="largest file written")
    parser.add_argument("--uid-base", type=int, default=60000, help="sandbox users are uid-base + 0..4999")
    args = parser.parse_args(argv[:split])
    cmd = argv[split + 1:]
    if not cmd:
        parser.error("no command after --")
    return run(cmd, args.scratch, args.hide, Limits(args.memory, args.processes, args.cpu, args.file_size),
               args.uid_base)


if __name__ == "__main__":
    sys.exit(main())
