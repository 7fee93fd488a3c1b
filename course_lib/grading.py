"""Checks for the exercise tests, each failing with one short message a learner can act on.

    out = call_safely(relu, z, name="relu")        # NotImplementedError -> "not implemented yet"
    assert_close(out, expected, name="relu", inputs={"z": z}, hint="negative inputs map to 0")
    check_raises(dropout, ValueError, x, 1.5, name="dropout")

A failed check raises GradingError (an AssertionError). Its message names the check and the input,
then the first thing that is wrong: the type, the shape, the dtype or the values (how many
differ, the largest errors, the first wrong element, nan and inf), never a dump of the tensors.
"""
from __future__ import annotations

import inspect
import linecache
import math
import numbers
import os
import re
import sysconfig
from collections.abc import Callable, Mapping, Sequence

import torch

# Captured at import: a learner's notebook that later rebinds torch.abs, torch.Tensor.sum, ...
# cannot change how answers are judged.
_Tensor, _float64, _uint8, _bool = torch.Tensor, torch.float64, torch.uint8, torch.bool
_abs, _sub, _mul, _add, _div = torch.abs, torch.sub, torch.mul, torch.add, torch.div
_eq, _le, _where = torch.eq, torch.le, torch.where
_isnan, _isinf, _isfinite = torch.isnan, torch.isinf, torch.isfinite
_and, _or, _not = torch.logical_and, torch.logical_or, torch.logical_not
_count, _argmax, _amax, _sum, _all = torch.count_nonzero, torch.argmax, torch.amax, torch.sum, torch.all
_flatten, _detach, _to = torch.flatten, torch.Tensor.detach, torch.Tensor.to
_item, _tolist = torch.Tensor.item, torch.Tensor.tolist
_re_search, _signature = re.search, inspect.signature

# Frames in these folders are library code; the learner's line is the innermost frame elsewhere.
_LIBRARY_DIRS = tuple({os.path.abspath(d) + os.sep for d in (
    *(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")),
    os.path.dirname(torch.__file__), os.path.dirname(os.path.abspath(__file__)))})  # last: course_lib
_NOT_IMPLEMENTED = ("not implemented yet: replace `raise NotImplementedError()` with your code "
                    "and run the cell")


class GradingError(AssertionError):
    """A check of the learner's code failed; the message says what to look at."""


def _short(text: object, limit: int = 200, collapse: bool = True) -> str:
    text = " ".join(str(text).split()) if collapse else str(text).strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _num(v: float | int | bool) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def describe(x: object, max_values: int = 4) -> str:
    """One line: a tensor's shape, dtype and first max_values values; type and value otherwise."""
    if isinstance(x, _Tensor):
        text = f"tensor of shape {tuple(x.shape)}, {_dtype(x)}"
        if x.device.type != "cpu":
            text += f" on {x.device}"
        if max_values > 0 and x.numel() > 0:
            values = _tolist(_flatten(_detach(x))[:max_values])
            text += f": [{', '.join(_num(v) for v in values)}{', ...' if x.numel() > max_values else ''}]"
        return text
    if x is None:
        return "None"
    if isinstance(x, (bool, numbers.Number)):
        return f"{type(x).__name__} {x!r}"
    if hasattr(x, "shape") and hasattr(x, "dtype"):  # numpy arrays and the like
        return f"{type(x).__module__}.{type(x).__name__} of shape {tuple(x.shape)}, {x.dtype}"
    if isinstance(x, (tuple, list)):
        items = ", ".join(describe(v, 0) for v in x[:3]) + (", ..." if len(x) > 3 else "")
        return _short(f"{type(x).__name__} of length {len(x)}: ({items})")
    return _short(f"{type(x).__name__} {x!r}", 80)


def _describe_inputs(inputs: object) -> str | None:
    if inputs is None or isinstance(inputs, str):
        return inputs and _short(inputs, 300)
    if isinstance(inputs, Mapping):
        parts = [f"{key}={describe(value, 0 if isinstance(value, _Tensor) else 4)}"
                 for key, value in list(inputs.items())[:6]]
        return _short("; ".join(parts) + ("; ..." if len(inputs) > 6 else ""), 300)
    return describe(inputs, 0)


def _error(title: str, inputs: object, lines: Sequence[str], hint: str | None) -> GradingError:
    described = _describe_inputs(inputs)
    message = [f"{title}: {lines[0]}", *([f"  input: {described}"] if described else []),
               *(f"  {line}" for line in lines[1:]), *([f"  hint: {hint}"] if hint else [])]
    return GradingError("\n".join(message))


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


def _shape_hint(got: tuple, want: tuple) -> str:
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


def _dtype_hint(got: torch.dtype, want: torch.dtype) -> str:
    if want == _bool:
        return " — a comparison such as z > 0 gives a bool tensor"
    if want.is_floating_point and got.is_floating_point:
        return " — a tensor was created without dtype=x.dtype along the way (or came from numpy)"
    if want.is_floating_point:
        return " — integer results: create tensors with dtype=x.dtype, or convert with .to(x.dtype)"
    return " — indices and counts are integers: convert with .long()" if want == torch.int64 else ""


def _mismatch(a: torch.Tensor, e: torch.Tensor, rtol: float, atol: float, equal_nan: bool) -> torch.Tensor:
    """Where not |a - e| <= atol + rtol * |e|, with nan == nan only if equal_nan."""
    within = _le(_abs(_sub(a, e)), _add(_mul(_abs(e), rtol), atol))  # inf <= inf: guard with isfinite
    close = _or(_eq(a, e), _and(_isfinite(e), within))  # an infinite expected value must be hit exactly
    if equal_nan:
        close = _or(close, _and(_isnan(a), _isnan(e)))
    return _not(close)


def _value_lines(a: torch.Tensor, e: torch.Tensor, rtol: float, atol: float, equal_nan: bool) -> list[str]:
    """Empty if a and e are close everywhere, else the mismatch report.  float64 tensors of one shape."""
    bad = _mismatch(a, e, rtol, atol, equal_nan)
    n_bad = int(_item(_count(bad)))
    if n_bad == 0:
        return []
    lines = [f"{n_bad} of {a.numel()} elements differ ({100 * n_bad / a.numel():.3g}%) beyond "
             f"atol + rtol·|expected| (atol={atol:g}, rtol={rtol:g})"]
    finite, diff = _and(_isfinite(a), _isfinite(e)), _abs(_sub(a, e))
    if bool(_item(_count(finite))):
        relative = _where(_eq(e, 0), _where(_eq(diff, 0), 0.0, math.inf), _div(diff, _abs(e)))
        for label, err in (("absolute", diff), ("relative", relative)):
            err = _where(finite, err, 0.0)
            worst = _item(_amax(err))
            lines.append(f"greatest {label} error {_num(worst)}{_at(_first(_eq(err, worst)))}")
    index = _first(bad)
    lines.append(f"first mismatch{_at(index)}: expected {_num(_item(e[index]))}, got {_num(_item(a[index]))}")
    for label, test in (("nan", _isnan), ("inf", _isinf)):
        in_a, in_e = test(a), test(e)
        n_a, n_e = int(_item(_count(in_a))), int(_item(_count(in_e)))
        if n_a or n_e:
            lines.append(f"{label}: actual has {n_a or 'none'}{_at(_first(in_a)) if n_a else ''}; "
                         f"expected has {n_e or 'none'}{_at(_first(in_e)) if n_e else ''}")
    if not lines[-1].startswith(("nan", "inf")):
        lines.append("no nan or inf in actual or expected")
    if bool(_item(_all(_isfinite(a)))) and (scale := _item(_sum(_mul(e, e)))) > 0:
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
        relative = abs(a - e) / abs(e) if e else math.inf
        return [f"expected {_num(e)}, got {_num(a)}",
                f"absolute error {_num(abs(a - e))}, relative error {_num(relative)}; allowed: atol + "
                f"rtol·|expected| = {_num(atol + rtol * abs(e))} (atol={atol:g}, rtol={rtol:g})"]
    if not isinstance(expected, _Tensor):
        raise TypeError(f"assert_close: expected must be a tensor, a number, a bool, None or a tuple "
                        f"of these, got {describe(expected)}")
    if not isinstance(actual, _Tensor):
        return [_wrong_type(actual, f"a tensor of shape {tuple(expected.shape)}")]
    got, want = tuple(actual.shape), tuple(expected.shape)
    same_dtype = actual.dtype == expected.dtype
    if got != want:
        return [f"wrong shape: expected {want}, got {got}{_shape_hint(got, want)}",
                f"dtype {_dtype(actual)} as expected" if same_dtype
                else f"dtype differs too: expected {_dtype(expected)}, got {_dtype(actual)}"]
    values = _value_lines(_to(_detach(actual), device="cpu", dtype=_float64),
                          _to(_detach(expected), device="cpu", dtype=_float64), rtol, atol, equal_nan)
    if not same_dtype:
        return [f"wrong dtype: expected {_dtype(expected)}, got {_dtype(actual)}"
                f"{_dtype_hint(actual.dtype, expected.dtype)}", f"shape {got} as expected",
                *(values or ["the values agree once converted"])]
    if values:
        return [f"wrong values: {values[0]}", f"shape {got} and dtype {_dtype(actual)} as expected",
                *values[1:]]
    return []


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
            raise _error(name, inputs, lines, hint)
        return
    labels = list(names or getattr(expected, "_fields", None)
                  or [f"element {i}" for i in range(len(expected))])
    if len(labels) != len(expected):
        raise ValueError(f"assert_close: {len(labels)} names for {len(expected)} expected values")
    wanted = f"a tuple of {len(expected)} ({', '.join(labels)})"
    if not isinstance(actual, (tuple, list)):
        raise _error(name, inputs, [_wrong_type(actual, wanted)], hint)
    if len(actual) != len(expected):
        lines = [f"returned a {type(actual).__name__} of {len(actual)} instead of {wanted}"]
        raise _error(name, inputs, lines, hint)
    failures = [(label, lines) for label, a, e in zip(labels, actual, expected)
                if (lines := _compare(a, e, rtol, atol, equal_nan))]
    if failures:
        label, lines = failures[0]
        also = ["also wrong: " + ", ".join(other for other, _ in failures[1:])] if len(failures) > 1 else []
        raise _error(f"{name} ({label})", inputs, [*lines, *also], hint)


def _is_library(code) -> bool:
    return os.path.abspath(code.co_filename).startswith(_LIBRARY_DIRS)


def _failure_lines(err: Exception) -> list[str]:
    """[what happened, where in the learner's code]; the first traceback frame is our own call."""
    frames, tb = [], err.__traceback__.tb_next
    while tb is not None:
        frames.append((tb.tb_frame.f_code, tb.tb_lineno))
        tb = tb.tb_next
    if isinstance(err, NotImplementedError) and (not frames or not _is_library(frames[-1][0])):
        what = _NOT_IMPLEMENTED  # an exercise stub, not an operation torch lacks
    else:
        what = f"raised {type(err).__name__}" + (f": {_short(err, 300)}" if str(err) else "")
    own = [frame for frame in frames if not _is_library(frame[0])] or frames
    if not own:
        return [what]
    code, line = own[-1]
    file = code.co_filename
    place = (f"line {line} of the cell" if "ipykernel_" in file or file.startswith("<")
             else f"{os.path.basename(file)}, line {line}")
    source = linecache.getline(file, line).strip()
    return [what, f"in {code.co_name}, {place}" + (f": {_short(source, 120, collapse=False)}" if source else "")]


def _call_inputs(fn: Callable, args: tuple, kwargs: dict) -> dict:
    try:
        return dict(_signature(fn).bind(*args, **kwargs).arguments)
    except (TypeError, ValueError):  # no signature (some builtins), or arguments that do not bind
        return {**{f"arg{i}": a for i, a in enumerate(args)}, **kwargs}


def call_safely(fn: Callable, *args, name: str, **kwargs):
    """fn(*args, **kwargs), with any exception turned into a short GradingError.

    An unfinished exercise (NotImplementedError) reads "not implemented yet"; any other
    exception gives its type and message and the line of the learner's code that raised it.
    """
    __tracebackhide__ = True
    try:
        return fn(*args, **kwargs)
    except Exception as err:  # whatever the learner's code raises, report it in two lines
        lines = _failure_lines(err)
    raise _error(name, _call_inputs(fn, args, kwargs), lines, None) from None


def check_raises(fn: Callable, exc_type: type[BaseException] | tuple[type[BaseException], ...], *args,
                 name: str, hint: str | None = None, match: str | None = None, **kwargs) -> BaseException:
    """Raise GradingError unless fn(*args, **kwargs) raises exc_type; return the exception.

    match: a regular expression the error message must contain (re.search), e.g. "XOR".
    """
    __tracebackhide__ = True
    types = exc_type if isinstance(exc_type, tuple) else (exc_type,)
    wanted = " or ".join(t.__name__ for t in types)
    try:
        result = fn(*args, **kwargs)
    except types as err:
        if match is None or _re_search(match, str(err)):
            return err
        lines = [f"raised {type(err).__name__} as it should, but its message {_short(err, 150)!r} "
                 f"does not match {match!r}"]
    except Exception as err:  # the wrong kind of error
        lines = _failure_lines(err)
        if lines[0] != _NOT_IMPLEMENTED:
            lines[0] = f"should raise {wanted} for this input, but {lines[0]}"
    else:
        lines = [f"should raise {wanted} for this input, but returned {describe(result)}"]
    raise _error(name, _call_inputs(fn, args, kwargs), lines, hint) from None
