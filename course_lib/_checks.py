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


def _describe(x: object) -> str:
    if isinstance(x, Tensor):
        return f"tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"


def check_tensor(name: str, x: object, *, ndim: int | Sequence[int] | None = None,
                 min_ndim: int | None = None, floating: bool = False) -> Tensor:
    """Return x if it is a tensor of the required rank (and floating dtype), else raise."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_describe(x)}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype (float32 or float64), got {x.dtype}; "
                        f"convert it with {name}.float()")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.dim() not in allowed:
            wanted = " or ".join(str(n) for n in allowed)
            raise ValueError(f"{name} must have {wanted} dimension(s), got shape {tuple(x.shape)} "
                             f"({x.dim()} dimension(s))")
    if min_ndim is not None and x.dim() < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), "
                         f"got shape {tuple(x.shape)}")
    return x


def check_same_shape(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    """Raise unless a and b have exactly the same shape (no silent broadcasting)."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, "
                         f"got {tuple(a.shape)} and {tuple(b.shape)}")


def check_same_dtype(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    if a.dtype != b.dtype:
        raise TypeError(f"{name_a} and {name_b} must have the same dtype, got {a.dtype} and {b.dtype}")


def check_size(name: str, actual: int, expected: int, what: str) -> None:
    """Raise unless actual == expected; `what` says which dimension, e.g. 'in_features'."""
    if actual != expected:
        raise ValueError(f"{name}: {what} must be {expected}, got {actual}")


def check_labels(name: str, labels: object, num_classes: int, batch: int) -> Tensor:
    """Class indices: int64 of shape (batch,), each in [0, num_classes)."""
    labels = check_tensor(name, labels, ndim=1)
    if labels.dtype != torch.int64:
        raise TypeError(f"{name} must be class indices of dtype torch.int64, got {labels.dtype}; "
                        f"convert with {name}.long()")
    if labels.shape[0] != batch:
        raise ValueError(f"{name} must have shape ({batch},) to match the batch, got {tuple(labels.shape)}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)][0].item()
        raise ValueError(f"{name} must lie in [0, {num_classes}), found {bad}")
    return labels


def check_in_range(name: str, value: float, low: float, high: float, *,
                   high_inclusive: bool = True) -> float:
    """Raise unless low <= value <= high, or low <= value < high (nan fails too)."""
    check_real(name, value)
    if not (low <= value <= high) or (value == high and not high_inclusive):
        interval = "inclusive" if high_inclusive else f"(excluding {high})"
        raise ValueError(f"{name} must be between {low} and {high} {interval}, got {value}")
    return value


def check_positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    """Raise unless value is a finite real number > 0 (>= 0 with allow_zero), e.g. a learning rate."""
    check_real(name, value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        wanted = "a finite non-negative" if allow_zero else "a finite positive"
        raise ValueError(f"{name} must be {wanted} number, got {value}")
    return value


def check_real(name: str, value: object) -> None:
    """Raise unless value is a real number (int or float, not bool); tensors are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number such as 0.1, got {_describe(value)}")


def check_positive_int(name: str, value: object, *, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {_describe(value)}")
    if value < 0 or (value == 0 and not allow_zero):
        wanted = "a non-negative" if allow_zero else "a positive"
        raise ValueError(f"{name} must be {wanted} int, got {value}")
    return value
