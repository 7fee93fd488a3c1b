"""python -m course_grader grade ASSIGNMENT [options]: the class command (grade_class/cli.py)."""
import sys

COMMANDS = {"grade": "autograde every submission of an assignment (python -m course_grader grade --help)"}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m course_grader COMMAND ...\n\ncommands:", file=sys.stderr)
        for name, what in COMMANDS.items():
            print(f"  {name:8} {what}", file=sys.stderr)
        return 2
    from course_grader.grade_class.cli import run_command
    return run_command(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
