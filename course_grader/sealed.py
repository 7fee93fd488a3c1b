"""Hidden tests whose verdict the learner's code cannot touch.

A test cell runs in the same kernel as the learner's code, which can rebind anything a check
would use (torch.allclose, course_lib, builtins) or hand back a tensor whose comparisons always
succeed. So when grading, the hidden part of a test cell only *answers*:

    sealed_checks(sigmoid)      # the whole hidden part of test_sigmoid

1. Before the kernel starts, the grader (course_grader/sealed_execute.py, in nbgrader's own process)
   draws fresh inputs for every graded name from the operating system's randomness and writes
   them to `cases.pt` in the directory named by COURSE_SEAL_DIR (course_grader/protocol.py).
2. In the kernel, `sealed_checks(fn)` calls the learner's function on each case through
   course_lib.exercise_checks.call (time limit, forbidden twins, in-place changes) and writes what
   came back as plain data: tensors, numbers, strings, lists, tuples, dicts (`<name>.pt`).
3. Back in nbgrader's process, the grader reads the answers with torch.load(weights_only=True),
   which refuses anything but plain data, computes the expected values itself with course_lib's
   reference, and compares them with course_lib.grading. A failed check becomes the error output
   of the test cell, which nbgrader scores zero and shows in the feedback.

Without COURSE_SEAL_DIR (an instructor running the source notebook under nbval or nbgrader
validate) `sealed_checks` draws the cases, answers and checks them on the spot, the same way.

The hidden tests themselves live in course_grader/hidden_tests/, one module per topic, each a
`HiddenTest` (course_grader/hidden_test.py); what crosses back and how it is judged is in
course_grader/verdicts.py. This module is the kernel's side: `sealed_checks`, and the objects the
notebook's code must not replace, noted before any of it runs.
"""
from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Callable
from pathlib import Path

import torch

from course_grader.hidden_test import hidden_test_of
from course_grader.protocol import CASES, SEAL_ENV, answers_file
from course_grader.verdicts import answer, verify
from course_lib.exercise_checks import new_generator
from course_lib.grading import GradingError


def _watched() -> dict[str, object]:
    import course_lib.exercise_checks as checks
    import course_lib.grading as grading
    import course_lib.grading.comparing as comparing
    objects = {
        "torch.allclose": torch.allclose, "torch.equal": torch.equal, "torch.isclose": torch.isclose,
        "torch.testing.assert_close": torch.testing.assert_close, "torch.load": torch.load,
        "torch.save": torch.save, "torch.Tensor": torch.Tensor, "torch.Tensor.__eq__": torch.Tensor.__eq__,
        "course_lib.grading.assert_close": grading.assert_close,
        "course_lib.grading.comparing.assert_close": comparing.assert_close,
        "course_lib.exercise_checks.call": checks.call, "course_lib.exercise_checks.expect": checks.expect,
        "course_grader.sealed.sealed_checks": sealed_checks,
    }
    objects.update({f"builtins.{n}": getattr(builtins, n) for n in
                    ("isinstance", "type", "len", "abs", "all", "any", "float", "int", "open", "print",
                     "getattr", "hasattr", "__import__")})
    objects.update({f"sys.modules[{m!r}]": sys.modules.get(m) for m in
                    ("torch", "course_lib.grading", "course_lib.grading.comparing", "course_lib.grading.calling",
                     "course_lib.exercise_checks", "course_grader.sealed", "course_grader.verdicts", "course_grader.hidden_test")})
    return objects


_PRISTINE: dict[str, object] = {}


def note_pristine() -> None:
    """Remember the objects above; the grading kernel's extension calls this before any cell runs."""
    if not _PRISTINE:
        _PRISTINE.update(_watched())


def replaced() -> list[str]:
    """Which watched objects the notebook's code has replaced since note_pristine()."""
    if not _PRISTINE:
        return []
    try:
        now = _watched()
    except Exception as err:  # noqa: BLE001 - whatever broke the lookup was done by the notebook
        return [f"course_lib or torch ({type(err).__name__})"]
    return [name for name, obj in _PRISTINE.items() if now.get(name) is not obj]


def sealed_checks(fn: Callable) -> None:
    """The hidden tests of fn (a learner's graded function or class), sealed from the notebook."""
    __tracebackhide__ = True
    name = getattr(fn, "__name__", None) or type(fn).__name__
    test = hidden_test_of(name)
    seal = os.environ.get(SEAL_ENV)
    if seal:  # grading: answer, and let the grader judge outside this kernel
        try:
            cases = torch.load(Path(seal) / CASES, weights_only=True)[name]
        except (OSError, KeyError) as err:
            raise GradingError(f"{name}: the grader's inputs are unreachable ({type(err).__name__}); "
                               "ask your instructor") from None
        answers = [answer(test, fn, case) for case in cases]
        torch.save({"answers": answers, "replaced": replaced()}, Path(seal) / answers_file(name))
        return
    cases = test.cases(new_generator())
    problem = verify(test, cases, [answer(test, fn, case) for case in cases])
    if problem:
        raise GradingError(problem)
