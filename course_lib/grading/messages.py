"""GradingError and how its message reads: one line per fact, never a dump of the tensors.

Every check of course_lib.grading raises `grading_error(title, inputs, lines, hint)`, which reads

    relu: wrong shape: expected (2, 3), got (3, 2) — did you transpose?
      input: z=tensor of shape (2, 3), float32
      dtype float32 as expected
      hint: negative inputs map to 0
"""
from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import torch

from course_lib.i18n import _, shown

# Captured at import: a learner's notebook that later rebinds torch.Tensor.tolist, ... cannot
# change how answers are described.
_Tensor, _flatten, _detach, _tolist = torch.Tensor, torch.flatten, torch.Tensor.detach, torch.Tensor.tolist
_is_contiguous, _permute = torch.Tensor.is_contiguous, torch.Tensor.permute


class GradingError(AssertionError):
    """A check of the learner's code failed; the message says what to look at.

    kind: what failed, for code that acts on it whatever the language of the message: "crash" (the
    learner's code raised), "twin" (it called its PyTorch twin), "dtype" (a wrong dtype), or None.
    hinted: the message ends in a hint."""

    def __init__(self, message: str, kind: str | None = None, hinted: bool = False):
        super().__init__(message)
        self.kind, self.hinted = kind, hinted

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for it: the message alone, since a traceback into course_lib helps no
        learner. The cell still ends in an error output, by which nbgrader scores a test cell."""
        return str(self).splitlines()


def shorten(text: object, limit: int = 200, collapse: bool = True) -> str:
    text = " ".join(str(text).split()) if collapse else str(text).strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."


def format_number(v: float | int | bool) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def _layout(x: torch.Tensor) -> list[str]:
    """What about a tensor, beyond shape and dtype, can trip a learner's code up."""
    notes = []
    if x.numel() == 0:
        notes.append(_("empty"))
    elif not _is_contiguous(x):
        by_stride = sorted(range(x.dim()), key=lambda d: -x.stride(d))
        # A permuted view (x.T) is contiguous once its dimensions are put back in memory order.
        transposed = _is_contiguous(_permute(x, by_stride))
        notes.append(_("non-contiguous (a transposed view)") if transposed else _("non-contiguous (a strided view)"))
    if x.requires_grad:
        notes.append("requires_grad")
    return notes


def describe(x: object, max_values: int = 4) -> str:
    """One line: a tensor's shape, dtype, layout and first max_values values; type and value otherwise."""
    if isinstance(x, _Tensor):
        text = ", ".join([_("tensor of shape {shape}", shape=tuple(x.shape)), dtype_name(x), *_layout(x)])
        if x.device.type != "cpu":
            text += _(" on {device}", device=x.device)
        if max_values > 0 and x.numel() > 0:
            values = _tolist(_flatten(_detach(x))[:max_values])
            more = ", ..." if x.numel() > max_values else ""
            text += f": [{', '.join(format_number(v) for v in values)}{more}]"
        return text
    if x is None:
        return "None"
    if isinstance(x, (bool, numbers.Number)):
        return f"{type(x).__name__} {x!r}"
    if hasattr(x, "shape") and hasattr(x, "dtype"):  # numpy arrays and the like
        return _("{type} of shape {shape}, {dtype}", type=f"{type(x).__module__}.{type(x).__name__}",
                 shape=tuple(x.shape), dtype=x.dtype)
    if isinstance(x, (tuple, list)):
        items = ", ".join(describe(v, 0) for v in x[:3]) + (", ..." if len(x) > 3 else "")
        return shorten(_("{type} of length {n}: ({items})", type=type(x).__name__, n=len(x), items=items))
    return shorten(f"{type(x).__name__} {x!r}", 80)


def _describe_inputs(inputs: object) -> str | None:
    if inputs is None or isinstance(inputs, str):
        return inputs and shorten(inputs, 300)
    if isinstance(inputs, Mapping):
        parts = [f"{key}={describe(value, 0 if isinstance(value, _Tensor) else 4)}"
                 for key, value in list(inputs.items())[:6]]
        return shorten("; ".join(parts) + ("; ..." if len(inputs) > 6 else ""), 300)
    return describe(inputs, 0)


def hint_line(hint: str) -> str:
    """The hint as its message's last line, in the learner's language (the test gives it in English)."""
    return "  " + _("hint: {hint}", hint=shown(hint))


def grading_error(title: str, inputs: object, lines: Sequence[str], hint: str | None,
                  kind: str | None = None) -> GradingError:
    """The title and lines[0], then the input, the other lines and the hint, each on a line of its own."""
    described = _describe_inputs(inputs)
    message = [f"{title}: {lines[0]}", *(["  " + _("input: {inputs}", inputs=described)] if described else []),
               *(f"  {line}" for line in lines[1:]), *([hint_line(hint)] if hint else [])]
    return GradingError("\n".join(message), kind, bool(hint))


def with_crash_hint(err: GradingError, hint: str | None) -> GradingError:
    """err, with the check's hint when the learner's code raised: the hint says what this input
    tests (a 1-D x, stride=None ...), which is what a crash on it is most often about."""
    if hint and err.kind == "crash" and not err.hinted:
        return GradingError(f"{err}\n{hint_line(hint)}", err.kind, True)
    return err
