"""Hidden tests whose verdict the learner's code cannot touch.

A test cell runs in the same kernel as the learner's code, which can rebind anything a check
would use (torch.allclose, course_lib, builtins) or hand back a tensor whose comparisons always
succeed. So when grading, the hidden part of a test cell only *answers*:

    sealed_checks(sigmoid)      # the whole hidden part of test_sigmoid

1. Before the kernel starts, the grader (exercises/sealed_execute.py, in nbgrader's own process)
   draws fresh inputs for every graded name from the operating system's randomness and writes
   them to `cases.pt` in the directory named by COURSE_SEAL_DIR.
2. In the kernel, `sealed_checks(fn)` calls the learner's function on each case through
   course_lib.exercise_checks.call (time limit, forbidden twins, in-place changes) and writes what
   came back as plain data: tensors, numbers, strings, lists, tuples, dicts (`<name>.pt`).
3. Back in nbgrader's process, the grader reads the answers with torch.load(weights_only=True),
   which refuses anything but plain data, computes the expected values itself with course_lib's
   reference, and compares them with course_lib.grading. A failed check becomes the error output
   of the test cell, which nbgrader scores zero and shows in the feedback.

Without COURSE_SEAL_DIR (an instructor running the source notebook under nbval or nbgrader
validate) `sealed_checks` draws the cases, answers and checks them on the spot, the same way.

The hidden tests themselves live in course_lib/hidden_tests/, one module per topic: for each
graded name a `HiddenTest` with `cases` (trusted: draws inputs), `respond` (runs in the learner's
kernel: what to send back) and `check` (trusted: raises GradingError).
"""
from __future__ import annotations

import builtins
import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from course_lib.grading import GradingError, assert_close
from course_lib.grading.calling import inputs_by_name

ENV = "COURSE_SEAL_DIR"
CASES_FILE = "cases.pt"
NOT_PLAIN = "not a plain tensor or number"
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
    from course_lib.exercise_checks import call
    return call(fn, *case.get("args", ()), **case.get("kwargs", {}))


def reference(path: str) -> Callable:
    """course_lib's reference for a dotted path, imported only on the grader's side."""
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def inputs_of(fn: Callable, case: dict) -> dict:
    """The case's arguments by parameter name, for messages."""
    return inputs_by_name(fn, case.get("args", ()), case.get("kwargs", {}))


def compare_with(path: str) -> Callable[[dict, object], None]:
    """The usual check: the answer equals the reference's on the same arguments."""
    def check(case: dict, answer: object) -> None:
        ref = reference(path)
        expected = ref(*case.get("args", ()), **case.get("kwargs", {}))
        assert_close(answer, expected, name=path.rpartition(".")[2], inputs=inputs_of(ref, case),
                     rtol=case.get("rtol", 1e-5), atol=case.get("atol", 1e-6), hint=case.get("hint"),
                     names=case.get("names"))
    return check


def hidden_test(name: str, *, like: str | None = None, respond: Callable | None = None,
                check: Callable | None = None) -> Callable:
    """Register the decorated `cases(generator) -> list[dict]` as the hidden test of `name`.

    like: dotted path of the reference to compare with (the default check); respond: what the
    kernel sends back for a case (default: the learner's function called on args and kwargs).
    """
    def register(cases: Callable[[torch.Generator], list[dict]]):
        if check is None and like is None:
            raise ValueError(f"hidden test {name}: give `like` (a reference) or `check`")
        _REGISTRY[name] = HiddenTest(name, cases, respond or _call_case, check or compare_with(like),
                                     cases.__doc__ or "")
        return cases
    return register


def hidden_test_of(name: str) -> HiddenTest:
    """The registered hidden test of a graded name (its topic's module is imported on first use)."""
    if name not in _REGISTRY:
        from course_lib.exercise_checks import GRADED_TOPIC
        if name in GRADED_TOPIC:
            importlib.import_module(f"course_lib.hidden_tests.{GRADED_TOPIC[name]}")
    if name not in _REGISTRY:
        raise KeyError(f"no hidden test for {name!r} in course_lib/hidden_tests/")
    return _REGISTRY[name]


# ---- what crosses from the learner's kernel to the grader: plain data only ----

def to_data(x: object, where: str = "the result") -> object:
    """x as plain data; anything else (a tensor subclass, a learner's object) is refused."""
    if type(x) is torch.Tensor:
        return x.detach().cpu().clone()
    if x is None or type(x) in (bool, int, float, str) or isinstance(x, (torch.dtype, torch.Size)):
        return tuple(x) if isinstance(x, torch.Size) else x
    if type(x) in (list, tuple):
        return type(x)(to_data(v, f"{where}[{i}]") for i, v in enumerate(x))
    if type(x) is dict and all(type(k) is str for k in x):
        return {k: to_data(v, f"{where}[{k!r}]") for k, v in x.items()}
    raise GradingError(f"{where} is a {type(x).__module__}.{type(x).__qualname__}, {NOT_PLAIN}: "
                       "return torch tensors, Python numbers, or tuples of them")


def answer(test: HiddenTest, fn: Callable, case: dict) -> dict:
    """{"value": plain data} or {"error": why the call failed}: one answer of the learner's kernel."""
    try:
        return {"value": to_data(test.respond(fn, case))}
    except GradingError as err:
        return {"error": str(err)}
    except Exception as err:  # noqa: BLE001 - a respond helper met a broken object of the learner's
        return {"error": f"{test.name}: {type(err).__name__}: {err}"}


def judge(test: HiddenTest, case: dict, response: object) -> str | None:
    """Why the answer to this case is wrong (trusted side), or None."""
    if not isinstance(response, dict) or not ({"value"} == set(response) or {"error"} == set(response)):
        return f"{test.name}: the answer that reached the grader is malformed ({type(response).__name__})"
    if "error" in response:
        return str(response["error"])
    try:
        test.check(case, response["value"])
    except GradingError as err:
        return str(err)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, RuntimeError) as err:
        # The answer is not in the form `respond` sends: something in the notebook wrote it.
        return (f"{test.name}: the answer that reached the grader is malformed ({type(err).__name__}): "
                "was the notebook's code changing how tests run?")
    return None


def verify(test: HiddenTest, cases: list[dict], responses: object) -> str | None:
    """The first reason the answers fail the hidden test, or None when every case passes."""
    if not isinstance(responses, list) or len(responses) != len(cases):
        return (f"{test.name}: the hidden checks did not answer all {len(cases)} cases: something in "
                "the notebook stopped or replaced them")
    for case, response in zip(cases, responses):
        problem = judge(test, case, response)
        if problem:
            return problem
    return None


# ---- what the notebook's code must not have replaced; noted before any learner code runs ----

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
        "course_lib.sealed.sealed_checks": sealed_checks,
    }
    objects.update({f"builtins.{n}": getattr(builtins, n) for n in
                    ("isinstance", "type", "len", "abs", "all", "any", "float", "int", "open", "print",
                     "getattr", "hasattr", "__import__")})
    objects.update({f"sys.modules[{m!r}]": sys.modules.get(m) for m in
                    ("torch", "course_lib.grading", "course_lib.grading.comparing", "course_lib.grading.calling",
                     "course_lib.exercise_checks", "course_lib.sealed")})
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
    seal = os.environ.get(ENV)
    if seal:  # grading: answer, and let the grader judge outside this kernel
        try:
            cases = torch.load(Path(seal) / CASES_FILE, weights_only=True)[name]
        except (OSError, KeyError) as err:
            raise GradingError(f"{name}: the grader's inputs are unreachable ({type(err).__name__}); "
                               "ask your instructor") from None
        answers = [answer(test, fn, case) for case in cases]
        torch.save({"answers": answers, "replaced": replaced()}, Path(seal) / f"{name}.pt")
        return
    from course_lib.exercise_checks import new_generator
    cases = test.cases(new_generator())
    problem = verify(test, cases, [answer(test, fn, case) for case in cases])
    if problem:
        raise GradingError(problem)
