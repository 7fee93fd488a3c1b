"""What crosses from the learner's kernel to the grader, and the grader's verdict on it.

In the kernel, `answer` turns what the learner's function returned into plain data (tensors,
numbers, strings, lists, tuples, dicts) or the reason the call failed. In the grader's process,
`verify` judges the answers to a hidden test's cases with its trusted `check`.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from course_grader.hidden_test import HiddenTest, inputs_of
from course_lib.grading import GradingError
from course_lib.grading.calling import failure_lines
from course_lib.grading.messages import grading_error, shorten, with_crash_hint
from course_lib.i18n import N_, _

NOT_PLAIN = "not plain"  # the kind of error of an answer that is not plain data: the grader flags it
# What a learner can do when the hidden test itself stops on their code or answer.
CRASH_HINT = N_("run your code on an input like this one: it should return what the exercise asks for, "
                "of the types and shapes its docstring gives")


MAX_PARTS = 10_000  # tensors, numbers and containers in one answer: the hidden tests' results have a few


def to_data(x: object, where: str | None = None, budget: list | None = None) -> object:
    """x as plain data; anything else (a tensor subclass, a learner's object, a structure of more
    than MAX_PARTS parts, counted as written out) is refused."""
    where = _("the result") if where is None else where
    budget = [MAX_PARTS] if budget is None else budget
    budget[0] -= 1
    if budget[0] < 0:
        raise GradingError(f"{where[:40]}: " + _("the result has more than {n} parts: return a tensor or a small "
                                                "tuple of tensors", n=MAX_PARTS))
    if type(x) is torch.Tensor:
        return x.detach().cpu().clone()
    if x is None or type(x) in (bool, int, float, str) or isinstance(x, (torch.dtype, torch.Size)):
        return tuple(x) if isinstance(x, torch.Size) else x
    if type(x) in (list, tuple):
        return type(x)(to_data(v, f"{where}[{i}]", budget) for i, v in enumerate(x))
    if type(x) is dict and all(type(k) is str for k in x):
        return {k: to_data(v, f"{where}[{k!r}]", budget) for k, v in x.items()}
    raise GradingError(_("{where} is a {type}, not a plain tensor or number: return torch tensors, Python numbers, "
                         "or tuples of them", where=where, type=f"{type(x).__module__}.{type(x).__qualname__}"),
                       NOT_PLAIN)


def answer(test: HiddenTest, fn: Callable, case: dict) -> dict:
    """{"value": plain data} or {"error": why the call failed, "failure": its kind or None}: one
    answer of the learner's kernel."""
    try:
        return {"value": to_data(test.respond(fn, case))}
    except GradingError as err:
        return {"error": str(with_crash_hint(err, case.get("hint"))), "failure": err.kind}
    except Exception as err:  # noqa: BLE001 - a respond helper met a broken object of the learner's
        lines = failure_lines(err, test.name)
        lines[0] = _("{what} while the hidden test used your code on this input", what=lines[0])
        return {"error": str(grading_error(test.name, inputs_of(fn, case), lines, case.get("hint") or CRASH_HINT)),
                "failure": "crash"}


def failures(responses: object) -> dict[str, str]:
    """The kinds of failure among the answers (NOT_PLAIN: an object posing as a tensor, say; "twin"),
    each with the first line of its first error."""
    found = {}
    for response in responses if isinstance(responses, list) else []:
        if isinstance(response, dict) and isinstance(response.get("failure"), str):
            found.setdefault(response["failure"], str(response.get("error", "")).split("\n", 1)[0][:300])
    return found


def judge(test: HiddenTest, case: dict, response: object) -> str | None:
    """Why the answer to this case is wrong (trusted side), or None."""
    if not isinstance(response, dict) or set(response) not in ({"value"}, {"error"}, {"error", "failure"}):
        return f"{test.name}: " + _("the answer that reached the grader is malformed ({type})",
                                    type=type(response).__name__)
    if "error" in response:
        return str(response["error"])
    try:
        test.check(case, response["value"])
    except GradingError as err:
        return str(err)
    except Exception as err:  # noqa: BLE001 - OverflowError from a huge int, anything a crafted answer raises
        # An answer of a kind the check did not foresee, or one the notebook's code forged.
        what = _("checking your answer raised {error}",
                 error=type(err).__name__ + (f": {shorten(err, 200)}" if str(err) else ""))
        inputs = {**{f"arg{i}": a for i, a in enumerate(case.get("args", ()))}, **case.get("kwargs", {})}
        return str(grading_error(test.name, inputs, [what], CRASH_HINT))
    return None


def verify(test: HiddenTest, cases: list[dict], responses: object) -> str | None:
    """The first reason the answers fail the hidden test, or None when every case passes."""
    if not isinstance(responses, list) or len(responses) != len(cases):
        return f"{test.name}: " + _("the hidden checks did not answer all {n} cases: something in the notebook "
                                    "stopped or replaced them", n=len(cases))
    for case, response in zip(cases, responses):
        problem = judge(test, case, response)
        if problem:
            return problem
    return None
