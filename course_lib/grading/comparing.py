"""assert_close: is the learner's answer the expected one, and if not, what is the first thing wrong?

Checked in turn: the kind of object, the shape, the dtype, then the values within
atol + rtol·|expected|. A value mismatch leads with a nan or inf where a number was expected;
a single value is reported as expected and got; several as how many elements differ, the greatest
errors, the first wrong element, and a wrong sign or factor when one explains every value.
"""
from __future__ import annotations

import math
import numbers
import re
from collections.abc import Sequence

import torch

from course_lib.grading.messages import describe, dtype_name, format_number, grading_error

# Captured at import: a learner's notebook that later rebinds torch.abs, torch.Tensor.sum, ...
# cannot change how answers are judged.
_Tensor, _float64, _uint8, _bool = torch.Tensor, torch.float64, torch.uint8, torch.bool
_abs, _sub, _mul, _add, _div = torch.abs, torch.sub, torch.mul, torch.add, torch.div
_eq, _le, _where = torch.eq, torch.le, torch.where
_isnan, _isinf, _isfinite = torch.isnan, torch.isinf, torch.isfinite
_and, _or, _not = torch.logical_and, torch.logical_or, torch.logical_not
_count, _argmax, _amax, _sum, _all = torch.count_nonzero, torch.argmax, torch.amax, torch.sum, torch.all
_flatten, _detach, _to = torch.flatten, torch.Tensor.detach, torch.Tensor.to
_item = torch.Tensor.item


def _wrong_type(actual: object, wanted: str) -> str:
    """What to say when the learner returned the wrong kind of object altogether."""
    if actual is None:
        return f"returned None (NoneType) instead of {wanted}: did you forget `return`?"
    if isinstance(actual, _Tensor):
        return f"returned a {describe(actual, 0)} instead of {wanted}: convert with .item()"
    if hasattr(actual, "shape") and hasattr(actual, "dtype"):
        return f"returned a {describe(actual)} instead of {wanted}: keep working with torch tensors"
    if isinstance(actual, list):
        return f"returned a list of length {len(actual)} instead of {wanted}: build a tensor (torch.stack)"
    if isinstance(actual, numbers.Number) and "tensor" in wanted:
        return f"returned {describe(actual)} instead of {wanted}: keep it a tensor (no .item() or float())"
    return f"returned {describe(actual, 0)} instead of {wanted}"


def _first(mask: torch.Tensor) -> tuple[int, ...]:
    """Index of the first True element of a non-empty bool tensor."""
    flat, index = int(_item(_argmax(_to(_flatten(mask), _uint8)))), []  # argmax returns the first maximum
    for size in reversed(mask.shape):
        flat, i = divmod(flat, size)
        index.append(i)
    return tuple(reversed(index))


def _at(index: tuple[int, ...]) -> str:
    return f" at [{', '.join(map(str, index))}]" if index else ""


def shape_hint(got: tuple, want: tuple) -> str:
    if len(got) >= 2 and got == want[::-1]:
        return " — did you transpose?"
    if not got:
        return " — the result was reduced to one number: did you sum or average over every dimension?"
    if len(want) == 1 and want[0] > 1 and got == (want[0], want[0]):
        return " — an (N,) and an (N, 1) tensor broadcast to (N, N): check the shapes you combine"
    if [s for s in got if s != 1] == [s for s in want if s != 1]:
        return " — it differs only in dimensions of size 1: keepdim=True, squeeze() or unsqueeze()?"
    if len(got) == len(want):
        dim = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
        return f" (dimension {dim} has size {got[dim]}, expected {want[dim]})"
    return ""


def dtype_hint(got: torch.dtype, want: torch.dtype) -> str:
    if want == _bool:
        return " — a comparison such as z > 0 gives a bool tensor"
    if want.is_floating_point and got.is_floating_point:
        return (" — keep the input's dtype: make new tensors with dtype=x.dtype or torch.zeros_like(x), "
                "not from numpy or Python floats")
    if want.is_floating_point:
        return " — integer results: create tensors with dtype=x.dtype, or convert with .to(x.dtype)"
    return " — indices and counts are integers: convert with .long()" if want == torch.int64 else ""


def _allowed(rtol: float, atol: float) -> str:
    """The tolerance in words, numbers kept for those who want them."""
    return f"the allowed {atol:g} + {rtol:g} × |expected|"


def _mismatch(a: torch.Tensor, e: torch.Tensor, rtol: float, atol: float, equal_nan: bool) -> torch.Tensor:
    """Where not |a - e| <= atol + rtol * |e|, with nan == nan only if equal_nan."""
    within = _le(_abs(_sub(a, e)), _add(_mul(_abs(e), rtol), atol))  # inf <= inf: guard with isfinite
    close = _or(_eq(a, e), _and(_isfinite(e), within))  # an infinite expected value must be hit exactly
    if equal_nan:
        close = _or(close, _and(_isnan(a), _isnan(e)))
    return _not(close)


def _one_value_lines(a: float, e: float, rtol: float, atol: float, where: str = "") -> list[str]:
    """The report for a single wrong value: no counts, no factors."""
    if not (math.isfinite(a) and math.isfinite(e)):
        return [f"got {format_number(a)}{where} where {format_number(e)} was expected"]
    relative = abs(a - e) / abs(e) if e else math.inf
    return [f"expected {format_number(e)}, got {format_number(a)}{where}",
            f"off by {format_number(abs(a - e))} (relative error {format_number(relative)}), more than "
            f"{_allowed(rtol, atol)} = {format_number(atol + rtol * abs(e))}"]


def _value_lines(a: torch.Tensor, e: torch.Tensor, rtol: float, atol: float, equal_nan: bool) -> list[str]:
    """Empty if a and e are close everywhere, else the mismatch report.  float64 tensors of one shape."""
    bad = _mismatch(a, e, rtol, atol, equal_nan)
    n_bad = int(_item(_count(bad)))
    if n_bad == 0:
        return []
    if a.numel() == 1:
        index = _first(bad)
        return _one_value_lines(_item(a[index]), _item(e[index]), rtol, atol, _at(index))
    finite = _and(_isfinite(a), _isfinite(e))
    lines = [f"{n_bad} of {a.numel()} elements differ ({100 * n_bad / a.numel():.3g}%) by more than "
             f"{_allowed(rtol, atol)}"]
    not_finite = _and(bad, _not(finite))
    if bool(_item(_count(not_finite))):  # a nan or inf is the news: lead with it
        index = _first(not_finite)
        lines.insert(0, f"got {format_number(_item(a[index]))}{_at(index)} where "
                        f"{format_number(_item(e[index]))} was expected")
    finite_bad = _and(bad, finite)
    if bool(_item(_count(finite_bad))):  # error sizes only where both values are numbers
        diff = _abs(_sub(a, e))
        relative = _where(_eq(e, 0), math.inf, _div(diff, _abs(e)))
        for label, err in (("absolute", diff), ("relative", relative)):
            err = _where(finite_bad, err, 0.0)
            worst = _item(_amax(err))
            lines.append(f"greatest {label} error {format_number(worst)}{_at(_first(_eq(err, worst)))}")
        index = _first(finite_bad)
        lines.append(f"first mismatch{_at(index)}: expected {format_number(_item(e[index]))}, "
                     f"got {format_number(_item(a[index]))}")
    for label, test in (("nan", _isnan), ("inf", _isinf)):
        in_a, in_e = test(a), test(e)
        n_a, n_e = int(_item(_count(in_a))), int(_item(_count(in_e)))
        if n_a or n_e:
            lines.append(f"{label}: actual has {n_a or 'none'}{_at(_first(in_a)) if n_a else ''}; "
                         f"expected has {n_e or 'none'}{_at(_first(in_e)) if n_e else ''}")
    if not lines[-1].startswith(("nan", "inf")):
        lines.append("no nan or inf in actual or expected")
    several = int(_item(_count(e))) >= 2  # a factor needs two nonzero values to show
    if several and bool(_item(_all(_isfinite(a)))) and (scale := _item(_sum(_mul(e, e)))) > 0:
        k = _item(_sum(_mul(a, e))) / scale  # least-squares fit a ≈ k * e: spots a sign or factor slip
        scaled_fits = not bool(_item(_count(_mismatch(a, _mul(e, k), rtol, atol, False))))
        if scaled_fits and abs(k - 1) > 1e-3 and abs(k) > 1e-3:
            lines.append("every value has the wrong sign" if abs(k + 1) < 1e-3 else
                         f"every value is {k:.4g} times the expected one: a missing or extra factor?")
    return lines


def _compare(actual: object, expected: object, rtol: float, atol: float, equal_nan: bool) -> list[str]:
    """Empty if actual passes, else lines describing the first problem: type, shape, dtype, values."""
    if expected is None:
        return [] if actual is None else [f"expected None, got {describe(actual)}"]
    if isinstance(expected, bool):
        if not isinstance(actual, bool):
            return [_wrong_type(actual, "a Python bool")]
        return [] if actual == expected else [f"expected {expected}, got {actual}"]
    if isinstance(expected, numbers.Integral):
        if isinstance(actual, float) and actual.is_integer():
            return [f"returned float {actual!r} instead of a Python int: "
                    f"use // for integer division, or int()"]
        if isinstance(actual, bool) or not isinstance(actual, numbers.Integral):
            return [_wrong_type(actual, "a Python int")]
        return [] if actual == expected else [f"expected {expected}, got {actual}"]
    if isinstance(expected, numbers.Real):
        if isinstance(actual, bool) or not isinstance(actual, numbers.Real):
            return [_wrong_type(actual, "a Python float")]
        a, e = float(actual), float(expected)
        if a == e or (math.isfinite(e) and abs(a - e) <= atol + rtol * abs(e)) or (
                equal_nan and math.isnan(a) and math.isnan(e)):
            return []
        return _one_value_lines(a, e, rtol, atol)
    if not isinstance(expected, _Tensor):
        raise TypeError(f"assert_close: expected must be a tensor, a number, a bool, None or a tuple "
                        f"of these, got {describe(expected)}")
    if not isinstance(actual, _Tensor):
        return [_wrong_type(actual, f"a tensor of shape {tuple(expected.shape)}")]
    got, want = tuple(actual.shape), tuple(expected.shape)
    same_dtype = actual.dtype == expected.dtype
    if got != want:
        return [f"wrong shape: expected {want}, got {got}{shape_hint(got, want)}",
                f"dtype {dtype_name(actual)} as expected" if same_dtype
                else f"dtype differs too: expected {dtype_name(expected)}, got {dtype_name(actual)}"]
    values = _value_lines(_to(_detach(actual), device="cpu", dtype=_float64),
                          _to(_detach(expected), device="cpu", dtype=_float64), rtol, atol, equal_nan)
    if not same_dtype:
        return [f"wrong dtype: expected {dtype_name(expected)}, got {dtype_name(actual)}"
                f"{dtype_hint(actual.dtype, expected.dtype)}", f"shape {got} as expected",
                *(values or ["the values agree once converted"])]
    if values:
        return [f"wrong values: {values[0]}", f"shape {got} and dtype {dtype_name(actual)} as expected",
                *values[1:]]
    return []


_ABOUT_DTYPES = re.compile(r"dtype|\bfloat|\bint|\.to\(|_like\b|\.double\(|\.long\(")


def _hint_for(lines: list[str], hint: str | None) -> str | None:
    """A wrong dtype gets its own advice, and the test's hint only where it is about dtypes too."""
    if lines[0].startswith("wrong dtype") and hint and not _ABOUT_DTYPES.search(hint):
        return None
    return hint


def assert_close(actual: object, expected: object, *, name: str, inputs: object = None,
                 rtol: float = 1e-5, atol: float = 1e-6, equal_nan: bool = False, hint: str | None = None,
                 names: Sequence[str] | None = None) -> None:
    """Raise GradingError unless |actual - expected| <= atol + rtol * |expected| everywhere.

    expected: a tensor (actual must match its shape and dtype), a Python float (actual must be a
    real number), int or bool (equal exactly), None, or a tuple of these checked one by one and
    labelled by `names` (default: a namedtuple's fields, else "element i").
    inputs: what the check fed in, a dict name -> value or a short string.
    nan equals nan only with equal_nan=True.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not ours
    for label, tol in (("rtol", rtol), ("atol", atol)):
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol >= 0:
            raise ValueError(f"assert_close: {label} must be a number >= 0, got {tol!r}")
    if not isinstance(expected, (tuple, list)):
        if lines := _compare(actual, expected, rtol, atol, equal_nan):
            raise grading_error(name, inputs, lines, _hint_for(lines, hint))
        return
    labels = list(names or getattr(expected, "_fields", None)
                  or [f"element {i}" for i in range(len(expected))])
    if len(labels) != len(expected):
        raise ValueError(f"assert_close: {len(labels)} names for {len(expected)} expected values")
    wanted = f"a tuple of {len(expected)} ({', '.join(labels)})"
    if not isinstance(actual, (tuple, list)):
        raise grading_error(name, inputs, [_wrong_type(actual, wanted)], hint)
    if len(actual) != len(expected):
        lines = [f"returned a {type(actual).__name__} of {len(actual)} instead of {wanted}"]
        raise grading_error(name, inputs, lines, hint)
    failures = [(label, lines) for label, a, e in zip(labels, actual, expected)
                if (lines := _compare(a, e, rtol, atol, equal_nan))]
    if failures:
        label, lines = failures[0]
        also = ["also wrong: " + ", ".join(other for other, _ in failures[1:])] if len(failures) > 1 else []
        raise grading_error(f"{name} ({label})", inputs, [*lines, *also], _hint_for(lines, hint))

