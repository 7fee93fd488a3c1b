"""The class command: autograde every submission of an assignment, each student ending with a
grade and a reason (cli.py says how; python -m course_grader grade runs it)."""
