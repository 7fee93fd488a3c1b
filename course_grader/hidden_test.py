"""The hidden test of a graded name: how its cases are drawn, answered and judged; and their registry.

Each module of course_grader/hidden_tests/ registers, for the graded names of its topic, a
`HiddenTest`: `cases` (trusted, in the grader's process: draws fresh inputs from a generator),
`respond` (runs in the learner's kernel: what to send back for a case; by default the learner's
function called on the case's arguments through course_lib.exercise_checks.call) and `check`
(trusted: raises GradingError when the answer is wrong; by default a comparison with course_lib's
reference).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from course_lib.exercise_checks import call
from course_lib.exercise_rules import GRADED_TOPIC
from course_lib.grading import assert_close
from course_lib.grading.calling import inputs_by_name

_REGISTRY: dict[str, "HiddenTest"] = {}


@dataclass(frozen=True)
class HiddenTest:
    """The hidden test of one graded name. A case is a dict of plain data; by convention
    "args" and "kwargs" are what the learner's function is called with, "hint" is shown on failure,
    "rtol"/"atol" loosen the comparison, "names" labels the parts of a tuple result."""
    name: str
    cases: Callable[[torch.Generator], list[dict]]
    respond: Callable[[Callable, dict], object]
    check: Callable[[dict, object], None]
    doc: str = field(default="")


def _call_case(fn: Callable, case: dict):
    return call(fn, *case.get("args", ()), **case.get("kwargs", {}))


def reference(path: str) -> Callable:
    """course_lib's reference for a dotted path, imported only on the grader's side."""
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def inputs_of(fn: Callable, case: dict) -> dict:
    """The case's arguments by parameter name, for messages."""
    return inputs_by_name(fn, case.get("args", ()), case.get("kwargs", {}))


ROUNDING = 4  # units of rounding (eps) per term of the size given: sums in another order, a rearranged formula


def _floats(x: object) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x] if x.is_floating_point() else []
    return [t for part in x for t in _floats(part)] if isinstance(x, (tuple, list)) else []


def tolerances(case: dict, expected: object, terms: Callable[[dict], float] | None = None) -> dict:
    """rtol and atol for a case: the case's own, else rtol 1e-5 and atol 1e-6, widened to what rounding
    allows when `terms(case)` gives the size of the largest terms the answer is computed from (a loss
    of 1e-9 made of terms of size 30 can only be known to ROUNDING·eps(float32)·30 ≈ 1.4e-5)."""
    atol = case.get("atol", 1e-6)
    floats = _floats(expected)
    if terms is not None and floats:
        eps = max(torch.finfo(t.dtype).eps for t in floats)
        atol = max(atol, ROUNDING * eps * float(terms(case)))
    return {"rtol": case.get("rtol", 1e-5), "atol": atol}


def largest_input(case: dict) -> float:
    """terms: the largest finite magnitude among the case's float arguments (a loss made of |x|-sized terms)."""
    values = [t.detach().abs().double() for t in _floats(list(case.get("args", ())))]
    finite = [v[v.isfinite()] for v in values]
    return max((float(v.max()) for v in finite if v.numel()), default=0.0)


def sums_of_products(path: str) -> Callable[[dict], float]:
    """terms: for a function linear in each argument (a matmul, a convolution, their gradients), the
    reference on the absolute values gives, for each output, the sum of the magnitudes of its terms."""
    def terms(case: dict) -> float:
        args = [a.abs() if isinstance(a, torch.Tensor) and a.is_floating_point() else a for a in case.get("args", ())]
        return max((float(t.abs().max()) for t in _floats(reference(path)(*args, **case.get("kwargs", {})))
                    if t.numel()), default=0.0)
    return terms


def compare_with(path: str, terms: Callable[[dict], float] | None = None) -> Callable[[dict, object], None]:
    """The usual check: the answer equals the reference's on the same arguments, to the rounding that
    the size of its terms allows (`tolerances`)."""
    def check(case: dict, answer: object) -> None:
        ref = reference(path)
        expected = ref(*case.get("args", ()), **case.get("kwargs", {}))
        assert_close(answer, expected, name=path.rpartition(".")[2], inputs=inputs_of(ref, case),
                     hint=case.get("hint"), names=case.get("names"), **tolerances(case, expected, terms))
    return check


def hidden_test(name: str, *, like: str | None = None, respond: Callable | None = None,
                check: Callable | None = None, terms: Callable[[dict], float] | None = None) -> Callable:
    """Register the decorated `cases(generator) -> list[dict]` as the hidden test of `name`.

    like: dotted path of the reference to compare with (the default check); respond: what the
    kernel sends back for a case (default: the learner's function called on args and kwargs);
    terms: the size of the terms the answer sums, for the tolerance (`tolerances`).
    """
    def register(cases: Callable[[torch.Generator], list[dict]]):
        if check is None and like is None:
            raise ValueError(f"hidden test {name}: give `like` (a reference) or `check`")
        _REGISTRY[name] = HiddenTest(name, cases, respond or _call_case, check or compare_with(like, terms),
                                     cases.__doc__ or "")
        return cases
    return register


def hidden_test_of(name: str) -> HiddenTest:
    """The registered hidden test of a graded name (its topic's module is imported on first use)."""
    if name not in _REGISTRY:
        if name in GRADED_TOPIC:
            importlib.import_module(f"course_grader.hidden_tests.{GRADED_TOPIC[name]}")
    if name not in _REGISTRY:
        raise KeyError(f"no hidden test for {name!r} in course_grader/hidden_tests/")
    return _REGISTRY[name]
