"""What to say about an answer of the wrong kind, shape or dtype: the advice that follows "expected
..., got ...", in the learner's language. comparing.py decides that an answer is wrong; this file
says what the learner can do about it.
"""
from __future__ import annotations

import numbers
import re

import torch

from course_lib.grading.messages import describe
from course_lib.i18n import _

_Tensor, _bool = torch.Tensor, torch.bool


def wrong_type(actual: object, wanted: str, wants_tensor: bool = False) -> str:
    """What to say when the learner returned the wrong kind of object altogether."""
    if actual is None:
        return _("returned None (NoneType) instead of {wanted}: did you forget `return`?", wanted=wanted)
    if isinstance(actual, _Tensor):
        return _("returned a {got} instead of {wanted}: convert with .item()", got=describe(actual, 0), wanted=wanted)
    if hasattr(actual, "shape") and hasattr(actual, "dtype"):
        return _("returned a {got} instead of {wanted}: keep working with torch tensors", got=describe(actual),
                 wanted=wanted)
    if isinstance(actual, list):
        return _("returned a list of length {n} instead of {wanted}: build a tensor (torch.stack)", n=len(actual),
                 wanted=wanted)
    if isinstance(actual, numbers.Number) and wants_tensor:
        return _("returned {got} instead of {wanted}: keep it a tensor (no .item() or float())", got=describe(actual),
                 wanted=wanted)
    return _("returned {got} instead of {wanted}", got=describe(actual, 0), wanted=wanted)


def shape_hint(got: tuple, want: tuple) -> str:
    if len(got) >= 2 and got == want[::-1]:
        return " — " + _("did you transpose?")
    if not got:
        return " — " + _("the result was reduced to one number: did you sum or average over every dimension?")
    if len(want) == 1 and want[0] > 1 and got == (want[0], want[0]):
        return " — " + _("an (N,) and an (N, 1) tensor broadcast to (N, N): check the shapes you combine")
    if [s for s in got if s != 1] == [s for s in want if s != 1]:
        return " — " + _("it differs only in dimensions of size 1: keepdim=True, squeeze() or unsqueeze()?")
    if len(got) == len(want):
        dim = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
        return " " + _("(dimension {dim} has size {got}, expected {expected})", dim=dim, got=got[dim],
                       expected=want[dim])
    return ""


def dtype_hint(got: torch.dtype, want: torch.dtype) -> str:
    if want == _bool:
        return " — " + _("a comparison such as z > 0 gives a bool tensor")
    if want.is_floating_point and got.is_floating_point:
        return " — " + _("keep the input's dtype: make new tensors with dtype=x.dtype or torch.zeros_like(x), "
                         "not from numpy or Python floats")
    if want.is_floating_point:
        return " — " + _("integer results: create tensors with dtype=x.dtype, or convert with .to(x.dtype)")
    return " — " + _("indices and counts are integers: convert with .long()") if want == torch.int64 else ""


def wrong_dtype(want: torch.dtype, got: torch.dtype) -> str:
    """The line of a dtype failure, with its advice."""
    return _("wrong dtype: expected {expected}, got {got}", expected=str(want).removeprefix("torch."),
             got=str(got).removeprefix("torch.")) + dtype_hint(got, want)


_ABOUT_DTYPES = re.compile(r"dtype|\bfloat|\bint|\.to\(|_like\b|\.double\(|\.long\(")


def hint_for(dtype_wrong: bool, hint: str | None) -> str | None:
    """A wrong dtype gets its own advice, and the test's hint (in English here) only where it is about dtypes too."""
    if dtype_wrong and hint and not _ABOUT_DTYPES.search(hint):
        return None
    return hint
