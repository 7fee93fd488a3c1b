"""Input checks shared by every course_lib function.

Each check raises an error that names the argument, what was expected and what arrived, so a
learner who passes the wrong thing reads the fix instead of a shape error from deep inside torch.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch
from torch import Tensor

from course_lib.i18n import _


def _describe(x: object) -> str:
    if isinstance(x, Tensor):
        return _("tensor of shape {shape} and dtype {dtype}", shape=tuple(x.shape), dtype=x.dtype)
    return f"{type(x).__name__} {x!r}"


def check_tensor(name: str, x: object, *, ndim: int | Sequence[int] | None = None,
                 min_ndim: int | None = None, floating: bool = False) -> Tensor:
    """Return x if it is a tensor of the required rank (and floating dtype), else raise."""
    if not isinstance(x, Tensor):
        raise TypeError(_("{name} must be a torch.Tensor, got {got}", name=name, got=_describe(x)))
    if floating and not x.is_floating_point():
        raise TypeError(_("{name} must have a floating dtype (float32 or float64), got {dtype}; "
                          "convert it with {name}.float()", name=name, dtype=x.dtype))
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.dim() not in allowed:
            wanted = _(" or ").join(str(n) for n in allowed)
            raise ValueError(_("{name} must have {wanted} dimension(s), got shape {shape} "
                               "({ndim} dimension(s))", name=name, wanted=wanted, shape=tuple(x.shape),
                               ndim=x.dim()))
    if min_ndim is not None and x.dim() < min_ndim:
        raise ValueError(_("{name} must have at least {min_ndim} dimension(s), got shape {shape}",
                           name=name, min_ndim=min_ndim, shape=tuple(x.shape)))
    return x


def check_same_shape(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    """Raise unless a and b have exactly the same shape (no silent broadcasting)."""
    if a.shape != b.shape:
        raise ValueError(_("{name_a} and {name_b} must have the same shape, got {shape_a} and {shape_b}",
                           name_a=name_a, name_b=name_b, shape_a=tuple(a.shape), shape_b=tuple(b.shape)))


def check_same_dtype(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    if a.dtype != b.dtype:
        raise TypeError(_("{name_a} and {name_b} must have the same dtype, got {dtype_a} and {dtype_b}",
                          name_a=name_a, name_b=name_b, dtype_a=a.dtype, dtype_b=b.dtype))


def check_size(name: str, actual: int, expected: int, what: str) -> None:
    """Raise unless actual == expected; `what` says which dimension, e.g. 'in_features'."""
    if actual != expected:
        raise ValueError(_("{name}: {what} must be {expected}, got {actual}",
                           name=name, what=what, expected=expected, actual=actual))


def check_labels(name: str, labels: object, num_classes: int, batch: int) -> Tensor:
    """Class indices: int64 of shape (batch,), each in [0, num_classes)."""
    labels = check_tensor(name, labels, ndim=1)
    if labels.dtype != torch.int64:
        raise TypeError(_("{name} must be class indices of dtype torch.int64, got {dtype}; "
                          "convert with {name}.long()", name=name, dtype=labels.dtype))
    if labels.shape[0] != batch:
        raise ValueError(_("{name} must have shape ({batch},) to match the batch, got {shape}",
                           name=name, batch=batch, shape=tuple(labels.shape)))
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0].item()
        raise ValueError(_("{name} must lie in [0, {num_classes}), found {bad}",
                           name=name, num_classes=num_classes, bad=bad))
    return labels


def check_in_range(name: str, value: float, low: float, high: float, *,
                   high_inclusive: bool = True) -> float:
    """Raise unless low <= value <= high, or low <= value < high (nan fails too)."""
    check_real(name, value)
    if not (low <= value <= high) or (value == high and not high_inclusive):
        if high_inclusive:
            raise ValueError(_("{name} must be between {low} and {high} inclusive, got {value}",
                               name=name, low=low, high=high, value=value))
        raise ValueError(_("{name} must be between {low} and {high} (excluding {high}), got {value}",
                           name=name, low=low, high=high, value=value))
    return value


def check_positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    """Raise unless value is a finite real number > 0 (>= 0 with allow_zero), e.g. a learning rate."""
    check_real(name, value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        if allow_zero:
            raise ValueError(_("{name} must be a finite non-negative number, got {value}", name=name, value=value))
        raise ValueError(_("{name} must be a finite positive number, got {value}", name=name, value=value))
    return value


def check_real(name: str, value: object) -> None:
    """Raise unless value is a real number (int or float, not bool); tensors are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(_("{name} must be a real number such as 0.1, got {got}", name=name, got=_describe(value)))


def check_positive_int(name: str, value: object, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(_("{name} must be an int, got {got}", name=name, got=_describe(value)))
    if value < 0 or (value == 0 and not allow_zero):
        if allow_zero:
            raise ValueError(_("{name} must be a non-negative int, got {value}", name=name, value=value))
        raise ValueError(_("{name} must be a positive int, got {value}", name=name, value=value))
    return value
