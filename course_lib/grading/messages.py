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

# Captured at import: a learner's notebook that later rebinds torch.Tensor.tolist, ... cannot
# change how answers are described.
_Tensor, _flatten, _detach, _tolist = torch.Tensor, torch.flatten, torch.Tensor.detach, torch.Tensor.tolist
_is_contiguous, _permute = torch.Tensor.is_contiguous, torch.Tensor.permute


class GradingError(AssertionError):
    """A check of the learner's code failed; the message says what to look at."""

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
        notes.append("empty")
    elif not _is_contiguous(x):
        by_stride = sorted(range(x.dim()), key=lambda d: -x.stride(d))
        # A permuted view (x.T) is contiguous once its dimensions are put back in memory order.
        transposed = _is_contiguous(_permute(x, by_stride))
        notes.append("non-contiguous (a transposed view)" if transposed else "non-contiguous (a strided view)")
    if x.requires_grad:
        notes.append("requires_grad")
    return notes


def describe(x: object, max_values: int = 4) -> str:
    """One line: a tensor's shape, dtype, layout and first max_values values; type and value otherwise."""
    if isinstance(x, _Tensor):
        text = ", ".join([f"tensor of shape {tuple(x.shape)}", dtype_name(x), *_layout(x)])
        if x.device.type != "cpu":
            text += f" on {x.device}"
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
        return f"{type(x).__module__}.{type(x).__name__} of shape {tuple(x.shape)}, {x.dtype}"
    if isinstance(x, (tuple, list)):
        items = ", ".join(describe(v, 0) for v in x[:3]) + (", ..." if len(x) > 3 else "")
        return shorten(f"{type(x).__name__} of length {len(x)}: ({items})")
    return shorten(f"{type(x).__name__} {x!r}", 80)


def _describe_inputs(inputs: object) -> str | None:
    if inputs is None or isinstance(inputs, str):
        return inputs and shorten(inputs, 300)
    if isinstance(inputs, Mapping):
        parts = [f"{key}={describe(value, 0 if isinstance(value, _Tensor) else 4)}"
                 for key, value in list(inputs.items())[:6]]
        return shorten("; ".join(parts) + ("; ..." if len(inputs) > 6 else ""), 300)
    return describe(inputs, 0)


def grading_error(title: str, inputs: object, lines: Sequence[str], hint: str | None) -> GradingError:
    """The title and lines[0], then the input, the other lines and the hint, each on a line of its own."""
    described = _describe_inputs(inputs)
    message = [f"{title}: {lines[0]}", *([f"  input: {described}"] if described else []),
               *(f"  {line}" for line in lines[1:]), *([f"  hint: {hint}"] if hint else [])]
    return GradingError("\n".join(message))


def with_crash_hint(err: GradingError, hint: str | None) -> GradingError:
    """err, with the check's hint when the learner's code raised: the hint says what this input
    tests (a 1-D x, stride=None ...), which is what a crash on it is most often about."""
    text = str(err)
    if hint and ": raised " in text.split("\n", 1)[0] and "\n  hint: " not in text:
        return GradingError(f"{text}\n  hint: {hint}")
    return err
