"""Hidden tests whose verdict the learner's code cannot touch.

A test cell runs in the same kernel as the learner's code, which can rebind anything a check
would use (torch.allclose, course_lib, builtins), hand back a tensor whose comparisons always
succeed, or register IPython hooks that rewrite the cell or forge its outputs. So the hidden part
of a test cell is one call:

    sealed_checks(sigmoid)      # the whole hidden part of test_sigmoid

- In the grading kernel (nbgrader autograde through course_grader/sealed_execute.py, which sets
  COURSE_SEALED=grader) it does nothing: the kernel's run is for the feedback only.
- In the grader's replay of the notebook (course_grader/replay.py: plain Python in the sandbox,
  no IPython) it asks the grader for fresh cases, which no code of the notebook has seen, and
  answers them with course_lib.exercise_checks.call (time limit, forbidden twins, in-place
  changes) as plain data: tensors, numbers, strings, lists, tuples, dicts.
- Back in nbgrader's process, the grader computes the expected values itself with course_lib's
  reference and compares (course_grader/verdicts.py). Its verdict alone scores the test cell.

Anywhere else (a learner's own run, an instructor's nbval or `nbgrader validate` of the source)
`sealed_checks` draws the cases, answers and checks them on the spot, the same way.

The hidden tests themselves live in course_grader/hidden_tests/, one module per topic, each a
`HiddenTest` (course_grader/hidden_test.py).
"""
from __future__ import annotations

import os
from collections.abc import Callable

from course_grader.hidden_test import hidden_test_of
from course_grader.protocol import SEALED_ENV
from course_grader.verdicts import answer, verify
from course_lib.exercise_checks import new_generator, uncounted
from course_lib.grading import GradingError


# Set by the replay (course_grader/replay.py): how a test cell's sealed_checks answers there.
answer_here: Callable[[Callable], None] | None = None


def sealed_checks(fn: Callable) -> None:
    """The hidden tests of fn (a learner's graded function or class), sealed from the notebook."""
    __tracebackhide__ = True
    if answer_here is not None:
        return answer_here(fn)
    if os.environ.get(SEALED_ENV) == "grader":
        return  # the grading kernel: the grader answers these in its replay of the notebook
    test = hidden_test_of(getattr(fn, "__name__", None) or type(fn).__name__)
    cases = test.cases(new_generator())
    with uncounted():  # the cell's line counts its visible checks, as the grader's run would
        problem = verify(test, cases, [answer(test, fn, case) for case in cases])
    if problem:
        raise GradingError(problem)
