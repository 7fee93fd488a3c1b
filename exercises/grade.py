"""python grade.py ASSIGNMENT [options]: the class command, run from this course folder.

The same as `python -m course_grader grade ASSIGNMENT --course <this folder> [options]`; see
course_grader/grade_class/cli.py.
"""
import os
import sys

from course_grader.grade_class.cli import run_command

if __name__ == "__main__":
    sys.exit(run_command(["--course", os.path.dirname(os.path.abspath(__file__)), *sys.argv[1:]]))
