"""What the exercise test cells call: run a learner's function safely, then judge its answer.

    expect(sigmoid, torch.tensor([0.0, 2.0]), to_be=torch.tensor([0.5, 0.8808]), atol=1e-4)
    expect(sigmoid, z, like=course_lib.activations.sigmoid)      # compare with the reference
    expect_raises(logic_gate_weights, ValueError, "XOR", match="separable")
    w, b = call(perceptron_train, X, y)                           # just the safe call

Every call of learner code goes through `call`, which
- fails at once for a function that hung or killed the kernel in an earlier grading run, or
  that ran out of time earlier in this notebook,
- stops the function after a time limit (5 s when grading, 60 s otherwise; longer for the names
  in course_lib/exercise_rules.py's TIME_LIMITS),
- fails if the function calls its own PyTorch twin (torch.sigmoid, F.softmax, x.sigmoid() ...)
  or course_lib's reference answer (exercise_rules.FORBIDDEN),
- fails if it changed an input tensor in place,
- when grading, keeps the function's prints, warnings and stderr out of the cell, since nbgrader
  scores a test cell that writes to stderr zero.
Failures raise course_lib.grading.GradingError with one block of text a learner can act on; in
IPython the cell shows that text alone. A cell whose checks passed ends with one line per function,
"✓ sigmoid: 6 checks passed" (IPython only; hidden tests run `uncounted`).
How: course_lib/_guard.py. When the instructor grades, the grader's kernel extension
(course_grader/kernel_extension.py) plugs into the guard to follow what runs.
"""
from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Callable

import torch

from course_lib import _guard
from course_lib.exercise_rules import FORBIDDEN, TIME_LIMITS
from course_lib.grading import GradingError, assert_close, call_safely, check_raises, describe
from course_lib.grading.calling import inputs_by_name
from course_lib.grading.advice import shape_hint, wrong_dtype
from course_lib.grading.messages import with_crash_hint
from course_lib.i18n import _, _n

__all__ = ["call", "expect", "expect_raises", "expect_shapes", "new_generator", "raised_by", "random_tensors",
           "uncounted"]

# Checks passed in the running cell, by name: IPython prints them when the cell ends without error.
_passed: dict[str, int] = {}
_counting = {"on": False}  # on once IPython shows the line; never in plain Python (the grader's replay)


def _count(name: str) -> None:
    if _counting["on"]:
        _passed[name] = _passed.get(name, 0) + 1


@contextlib.contextmanager
def uncounted():
    """The checks inside count for nothing: the hidden tests' own, which run elsewhere when grading."""
    on, _counting["on"] = _counting["on"], False
    try:
        yield
    finally:
        _counting["on"] = on


def _start_cell(info=None) -> None:
    _passed.clear()


def _end_cell(result) -> None:
    if result.success:  # a failed cell shows its error alone
        for name, n in _passed.items():
            print(f"✓ {name}: " + _n("{n} check passed", "{n} checks passed", n))
    _passed.clear()


def _show_passed_checks() -> bool:
    """In an IPython shell, print the passed checks after each cell; elsewhere do nothing."""
    ipython = sys.modules.get("IPython")  # never imported here: plain Python stays plain
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    shell.events.register("pre_run_cell", _start_cell)
    shell.events.register("post_run_cell", _end_cell)
    return True


def _name_of(fn: Callable) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def _guarded(run: Callable[[], object], fn: Callable, args: tuple, kwargs: dict):
    __tracebackhide__ = True
    name = _name_of(fn)
    limit = max(_guard.TIME_LIMIT, TIME_LIMITS.get(name, 0))
    return _guard.guarded(run, name, inputs_by_name(fn, args, kwargs), FORBIDDEN.get(name, ()), limit)


def call(fn: Callable, *args, **kwargs):
    """fn(*args, **kwargs) under the guards of this module; any failure is a GradingError."""
    __tracebackhide__ = True
    return _guarded(lambda: call_safely(fn, *args, name=_name_of(fn), **kwargs), fn, args, kwargs)


def expect(fn: Callable, *args, to_be=None, like: Callable | None = None, hint: str | None = None,
           rtol: float = 1e-5, atol: float = 1e-6, equal_nan: bool = False,
           names: tuple[str, ...] | None = None, **kwargs) -> None:
    """Check fn(*args, **kwargs) against `to_be`, or against like(*args, **kwargs) (the reference).

    Other keyword arguments go to fn. names labels the parts of a tuple result, e.g. ("w", "m", "v").
    """
    __tracebackhide__ = True
    if like is not None:
        with _guard._quiet():
            to_be = like(*args, **kwargs)  # before fn runs, so a learner's in-place change cannot leak in
    try:
        actual = call(fn, *args, **kwargs)
    except GradingError as err:
        raise with_crash_hint(err, hint) from None
    assert_close(actual, to_be, name=_name_of(fn), inputs=inputs_by_name(fn, args, kwargs), rtol=rtol,
                 atol=atol, equal_nan=equal_nan, hint=hint, names=names)
    _count(_name_of(fn))


def expect_raises(fn: Callable, exc_type: type[BaseException], *args, match: str | None = None,
                  hint: str | None = None, **kwargs) -> None:
    """Check that fn(*args, **kwargs) raises exc_type, with a message matching `match`.

    Returns None: a test cell ending in this call would otherwise show the exception, which reads
    as a failure.
    """
    __tracebackhide__ = True
    raised_by(fn, exc_type, *args, match=match, hint=hint, **kwargs)
    _count(_name_of(fn))


def raised_by(fn: Callable, exc_type: type[BaseException], *args, match: str | None = None,
              hint: str | None = None, **kwargs) -> BaseException:
    """The exc_type that fn(*args, **kwargs) must raise, under the guards: for tests that read its message."""
    __tracebackhide__ = True
    return _guarded(lambda: check_raises(fn, exc_type, *args, name=_name_of(fn), match=match,
                                         hint=hint, **kwargs), fn, args, kwargs)


def expect_shapes(name: str, result, *shapes: tuple[int, ...], dtype: torch.dtype | None = None,
                  labels: tuple[str, ...] | None = None) -> None:
    """Check result is a tensor of shape shapes[0], or a tuple of tensors of these shapes (and dtype)."""
    __tracebackhide__ = True
    labels = labels or tuple(_("element {i}", i=i) for i in range(len(shapes)))
    parts = [result]
    if len(shapes) > 1:
        if not isinstance(result, (tuple, list)) or len(result) != len(shapes):
            raise _guard.fail(name, {}, _("returned {got}; expected a tuple of {n} tensors ({labels})",
                                          got=describe(result, 0), n=len(shapes), labels=", ".join(labels)))
        parts = list(result)
    for label, part, shape in zip(labels, parts, shapes):
        what = name if len(shapes) == 1 else f"{name} ({label})"
        if not isinstance(part, torch.Tensor):
            raise _guard.fail(what, {}, _("returned {got}; expected a tensor of shape {shape}",
                                          got=describe(part, 0), shape=shape))
        if tuple(part.shape) != tuple(shape):
            got = tuple(part.shape)
            raise _guard.fail(what, {}, _("wrong shape: expected {expected}, got {got}", expected=tuple(shape),
                                          got=got) + shape_hint(got, tuple(shape)))
        if dtype is not None and part.dtype != dtype:
            raise _guard.fail(what, {}, wrong_dtype(dtype, part.dtype), kind="dtype")
    _count(name)


def new_generator() -> torch.Generator:
    """A generator seeded by the operating system: values no released notebook can know."""
    return torch.Generator().manual_seed(secrets.randbits(63))


def random_tensors(count: int = 4, scale: float = 1.0, max_dims: int = 3, max_size: int = 5,
                   generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """count tensors of fresh random shapes (the first 0-dim), values N(0, scale²), float32 and float64 in turn."""
    g = generator or new_generator()
    tensors = []
    for i in range(count):
        dims = 0 if i == 0 else int(torch.randint(1, max_dims + 1, (), generator=g))
        shape = torch.randint(1, max_size + 1, (dims,), generator=g).tolist()
        dtype = torch.float32 if i % 2 == 0 else torch.float64
        tensors.append(scale * torch.randn(shape, generator=g, dtype=dtype))
    return tensors


_counting["on"] = _show_passed_checks()
