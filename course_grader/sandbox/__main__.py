"""Runs the launcher: python -I -m course_grader.sandbox --scratch DIR [options] -- CMD...

It runs as root on the standard library and this package alone. SandboxKernelManager runs this
file by its path instead, which works even where the `python -I` it starts would not find
course_lib by itself (-I ignores PYTHONPATH): the folder holding course_lib is then added to
sys.path, last, so that nothing in it can stand in for a module of the standard library. The
working directory, which holds the learner's files, stays off sys.path either way.
"""
import os
import sys

if not __package__:  # run by path, not with -m
    sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from course_grader.sandbox.command_line import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
