"""assert_close: is the learner's answer the expected one, and if not, what is the first thing wrong?

Checked in turn: the kind of object, the shape, the dtype, then the values within
atol + rtol·|expected|. A value mismatch leads with a nan or inf where a number was expected;
a single value is reported as expected and got; several as how many elements differ, the greatest
errors, the first wrong element, and a wrong sign or factor when one explains every value.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch

from course_lib.grading.advice import hint_for, shape_hint, wrong_dtype, wrong_type
from course_lib.grading.messages import describe, dtype_name, format_number, grading_error
from course_lib.i18n import _, fill

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


def _first(mask: torch.Tensor) -> tuple[int, ...]:
    """Index of the first True element of a non-empty bool tensor."""
    flat, index = int(_item(_argmax(_to(_flatten(mask), _uint8)))), []  # argmax returns the first maximum
    for size in reversed(mask.shape):
        flat, i = divmod(flat, size)
        index.append(i)
    return tuple(reversed(index))


def _at(index: tuple[int, ...]) -> str:
    return _(" at [{index}]", index=", ".join(map(str, index))) if index else ""


def _allowed(rtol: float, atol: float) -> str:
    """The tolerance in words, numbers kept for those who want them."""
    return _("the allowed {atol} + {rtol} × |expected|", atol=f"{atol:g}", rtol=f"{rtol:g}")


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
        return [_("got {got}{where} where {expected} was expected", got=format_number(a), where=where,
                  expected=format_number(e))]
    relative = abs(a - e) / abs(e) if e else math.inf
    return [_("expected {expected}, got {got}{where}", expected=format_number(e), got=format_number(a), where=where),
            _("off by {error} (relative error {relative}), more than {allowed} = {bound}",
              error=format_number(abs(a - e)), relative=format_number(relative), allowed=_allowed(rtol, atol),
              bound=format_number(atol + rtol * abs(e)))]


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
    lines = [_("{n_bad} of {n} elements differ ({percent}%) by more than {allowed}", n_bad=n_bad, n=a.numel(),
               percent=f"{100 * n_bad / a.numel():.3g}", allowed=_allowed(rtol, atol))]
    not_finite = _and(bad, _not(finite))
    if bool(_item(_count(not_finite))):  # a nan or inf is the news: lead with it
        index = _first(not_finite)
        lines.insert(0, _("got {got}{where} where {expected} was expected", got=format_number(_item(a[index])),
                          where=_at(index), expected=format_number(_item(e[index]))))
    finite_bad = _and(bad, finite)
    if bool(_item(_count(finite_bad))):  # error sizes only where both values are numbers
        diff = _abs(_sub(a, e))
        relative = _where(_eq(e, 0), math.inf, _div(diff, _abs(e)))
        for label, err in ((_("greatest absolute error {error}{where}"), diff),
                           (_("greatest relative error {error}{where}"), relative)):
            err = _where(finite_bad, err, 0.0)
            worst = _item(_amax(err))
            lines.append(fill(label, {"error": format_number(worst), "where": _at(_first(_eq(err, worst)))}))
        index = _first(finite_bad)
        lines.append(_("first mismatch{where}: expected {expected}, got {got}", where=_at(index),
                       expected=format_number(_item(e[index])), got=format_number(_item(a[index]))))
    not_numbers = False
    for label, test in (("nan", _isnan), ("inf", _isinf)):
        in_a, in_e = test(a), test(e)
        n_a, n_e = int(_item(_count(in_a))), int(_item(_count(in_e)))
        if n_a or n_e:
            not_numbers = True
            lines.append(_("{label}: actual has {n_actual}{where_actual}; expected has {n_expected}{where_expected}",
                           label=label, n_actual=n_a or _("none"), where_actual=_at(_first(in_a)) if n_a else "",
                           n_expected=n_e or _("none"), where_expected=_at(_first(in_e)) if n_e else ""))
    if not not_numbers:
        lines.append(_("no nan or inf in actual or expected"))
    several = int(_item(_count(e))) >= 2  # a factor needs two nonzero values to show
    if several and bool(_item(_all(_isfinite(a)))) and (scale := _item(_sum(_mul(e, e)))) > 0:
        k = _item(_sum(_mul(a, e))) / scale  # least-squares fit a ≈ k * e: spots a sign or factor slip
        scaled_fits = not bool(_item(_count(_mismatch(a, _mul(e, k), rtol, atol, False))))
        if scaled_fits and abs(k - 1) > 1e-3 and abs(k) > 1e-3:
            lines.append(_("every value has the wrong sign") if abs(k + 1) < 1e-3 else
                         _("every value is {k} times the expected one: a missing or extra factor?", k=f"{k:.4g}"))
    return lines


def _compare(actual: object, expected: object, rtol: float, atol: float, equal_nan: bool) -> list[str]:
    """Empty if actual passes, else lines describing the first problem: type, shape, dtype, values."""
    if expected is None:
        return [] if actual is None else [_("expected None, got {got}", got=describe(actual))]
    if isinstance(expected, bool):
        if not isinstance(actual, bool):
            return [wrong_type(actual, _("a Python bool"))]
        return [] if actual == expected else [_("expected {expected}, got {got}", expected=expected, got=actual)]
    if isinstance(expected, numbers.Integral):
        if isinstance(actual, float) and actual.is_integer():
            return [_("returned float {got} instead of a Python int: use // for integer division, or int()",
                      got=repr(actual))]
        if isinstance(actual, bool) or not isinstance(actual, numbers.Integral):
            return [wrong_type(actual, _("a Python int"))]
        return [] if actual == expected else [_("expected {expected}, got {got}", expected=expected, got=actual)]
    if isinstance(expected, numbers.Real):
        if isinstance(actual, bool) or not isinstance(actual, numbers.Real):
            return [wrong_type(actual, _("a Python float"))]
        a, e = float(actual), float(expected)
        if a == e or (math.isfinite(e) and abs(a - e) <= atol + rtol * abs(e)) or (
                equal_nan and math.isnan(a) and math.isnan(e)):
            return []
        return _one_value_lines(a, e, rtol, atol)
    if not isinstance(expected, _Tensor):
        raise TypeError(f"assert_close: expected must be a tensor, a number, a bool, None or a tuple "
                        f"of these, got {describe(expected)}")
    if not isinstance(actual, _Tensor):
        return [wrong_type(actual, _("a tensor of shape {shape}", shape=tuple(expected.shape)), wants_tensor=True)]
    got, want = tuple(actual.shape), tuple(expected.shape)
    same_dtype = actual.dtype == expected.dtype
    if got != want:
        return [_("wrong shape: expected {expected}, got {got}", expected=want, got=got) + shape_hint(got, want),
                _("dtype {dtype} as expected", dtype=dtype_name(actual)) if same_dtype
                else _("dtype differs too: expected {expected}, got {got}", expected=dtype_name(expected),
                       got=dtype_name(actual))]
    values = _value_lines(_to(_detach(actual), device="cpu", dtype=_float64),
                          _to(_detach(expected), device="cpu", dtype=_float64), rtol, atol, equal_nan)
    if not same_dtype:
        return [wrong_dtype(expected.dtype, actual.dtype), _("shape {shape} as expected", shape=got),
                *(values or [_("the values agree once converted")])]
    if values:
        return [_("wrong values: {problem}", problem=values[0]),
                _("shape {shape} and dtype {dtype} as expected", shape=got, dtype=dtype_name(actual)), *values[1:]]
    return []


def _only_dtype_wrong(actual: object, expected: object) -> bool:
    """The failure _compare reports is the dtype: tensors of one shape and different dtypes."""
    return (isinstance(actual, _Tensor) and isinstance(expected, _Tensor) and actual.shape == expected.shape
            and actual.dtype != expected.dtype)


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
            dtype_wrong = _only_dtype_wrong(actual, expected)
            raise grading_error(name, inputs, lines, hint_for(dtype_wrong, hint), "dtype" if dtype_wrong else None)
        return
    labels = list(names or getattr(expected, "_fields", None)
                  or [_("element {i}", i=i) for i in range(len(expected))])
    if len(labels) != len(expected):
        raise ValueError(f"assert_close: {len(labels)} names for {len(expected)} expected values")
    wanted = _("a tuple of {n} ({names})", n=len(expected), names=", ".join(labels))
    if not isinstance(actual, (tuple, list)):
        raise grading_error(name, inputs, [wrong_type(actual, wanted)], hint)
    if len(actual) != len(expected):
        lines = [_("returned a {type} of {n} instead of {wanted}", type=type(actual).__name__, n=len(actual),
                   wanted=wanted)]
        raise grading_error(name, inputs, lines, hint)
    failures = [(label, a, e, lines) for label, a, e in zip(labels, actual, expected)
                if (lines := _compare(a, e, rtol, atol, equal_nan))]
    if failures:
        label, a, e, lines = failures[0]
        also = [_("also wrong: {names}", names=", ".join(f[0] for f in failures[1:]))] if len(failures) > 1 else []
        dtype_wrong = _only_dtype_wrong(a, e)
        raise grading_error(f"{name} ({label})", inputs, [*lines, *also], hint_for(dtype_wrong, hint),
                            "dtype" if dtype_wrong else None)
