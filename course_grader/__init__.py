"""course_grader: what only the instructor's grading uses. Learners never install it.

    python -m course_grader grade 01_neurons --jobs 2      # in the nbgrader course folder (exercises/)

- hidden_test.py, hidden_tests/: the hidden tests of every graded name (cases, answer, check);
- sealed.py (in the grading kernel), verdicts.py and sealed_execute.py (in nbgrader's process):
  the hidden tests' verdict, reached where the learner's code cannot reach; static_twins.py: the
  notebook's code read for calls of a function's PyTorch twin;
- kernel_extension.py: what the grader adds to the grading kernel; protocol.py: the files through
  which grader and kernel talk;
- feedback.py, templates/: the feedback page, where what waits for hand grading says so;
- sandbox/: the grading kernel's sandbox and its warm launcher;
- grade_class/: the class command.

It imports course_lib (the references, the checks, the rules of course_lib/exercise_rules.py);
course_lib never imports it.
"""
