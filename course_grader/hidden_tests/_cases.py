"""Inputs several hidden tests share, and the respond and check of results differentiated by autograd."""
from __future__ import annotations

import inspect
from collections.abc import Callable

import torch

from course_lib.exercise_checks import call, random_tensors
from course_lib.grading import GradingError, assert_close, call_safely
from course_lib.grading.messages import hint_line
from course_grader.hidden_test import compare_with, inputs_of, reference, tolerances
from course_lib.i18n import _

# Saturation, underflow and the kink at 0, in one tensor: every elementwise function must stay finite.
EDGE = torch.tensor([-1e4, -100.0, -20.0, -1.0, -1e-8, 0.0, 1e-8, 1.0, 20.0, 100.0, 1e4])


def linear_inputs(g: torch.Generator, leads: list[tuple[int, ...]]):
    """(x, weight) of a linear layer: x of shape (*lead, in) for each lead, in float32 and float64."""
    for lead in leads:
        n_in, n_out = torch.randint(1, 6, (2,), generator=g).tolist()
        for dtype in (torch.float32, torch.float64):
            yield (torch.randn(*lead, n_in, generator=g, dtype=dtype),
                   torch.randn(n_out, n_in, generator=g, dtype=dtype))


def elementwise(g: torch.Generator, **kwargs) -> list[dict]:
    """Fresh random shapes and values in float32 and float64, the edge values, an empty tensor."""
    inputs = [*random_tensors(count=6, scale=10.0, generator=g), EDGE, EDGE.double(), torch.zeros(0)]
    return [{"args": (z,), "kwargs": kwargs} for z in inputs]


def class_batches(g: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(logits, labels) batches of one to sixteen samples, float32 and float64, logits up to about ±1e4."""
    batches = []
    for n, c, dtype, scale in [(1, 2, torch.float32, 1), (7, 3, torch.float64, 5), (16, 10, torch.float32, 30),
                               (5, 4, torch.float64, 1000)]:
        batches.append((scale * torch.randn(n, c, generator=g, dtype=dtype), torch.randint(0, c, (n,), generator=g)))
    return batches


def randint(g: torch.Generator, low: int, high: int) -> int:
    """A random int from low to high, both included."""
    return int(torch.randint(low, high + 1, (), generator=g))


def _with_leaves(case: dict) -> tuple[list, list[torch.Tensor]]:
    """The case's args with those at the positions in case["wrt"] (a tensor, or a list of tensors)
    replaced by copies that require grad, and those copies."""
    args, leaves = list(case["args"]), []
    for i in case["wrt"]:
        if type(args[i]) is list:
            args[i] = [t.clone().requires_grad_() for t in args[i]]
            leaves += args[i]
        else:
            args[i] = args[i].clone().requires_grad_()
            leaves.append(args[i])
    return args, leaves


def _total(out: torch.Tensor, case: dict) -> torch.Tensor:
    """What to differentiate: the output weighted by the case's random upstream gradient, or summed."""
    return out.sum() if case.get("upstream") is None else (out * case["upstream"]).sum()


def respond_with_grads(fn: Callable, case: dict) -> object:
    """fn on the case's args. With "wrt", {"out": the output, "grads": what autograd finds through fn
    for each input in wrt (None where no path leads back), or None if the output has no autograd graph}."""
    if "wrt" not in case:
        return call(fn, *case.get("args", ()), **case.get("kwargs", {}))
    args, leaves = _with_leaves(case)
    out = call(fn, *args, **case.get("kwargs", {}))
    upstream = case.get("upstream")
    if type(out) is not torch.Tensor or not out.requires_grad or (upstream is not None and out.shape != upstream.shape):
        return {"out": out, "grads": None}  # the check says which: a wrong output, or no autograd graph
    name = getattr(fn, "__name__", "the function")
    grads = call_safely(torch.autograd.grad, _total(out, case), leaves, allow_unused=True,
                        name=_("autograd through your {name}", name=name))
    return {"out": out, "grads": list(grads)}


def check_with_grads(like: str, terms: Callable[[dict], float] | None = None) -> Callable[[dict, object], None]:
    """The check of respond_with_grads: the output against the reference's; with "wrt", also an output
    autograd connects to every input in wrt, with the reference's gradients. Case keys: "hint" for a
    wrong output, "connect_hint" for a missing path, "grad_hint" for wrong gradients, "rtol"/"atol"."""
    by_value, name = compare_with(like, terms), like.rpartition(".")[2]

    def check(case: dict, answer: object) -> None:
        if "wrt" not in case:
            return by_value(case, answer)
        ref = reference(like)
        args, leaves = _with_leaves(case)
        expected = ref(*args, **case.get("kwargs", {}))
        expected_grads = torch.autograd.grad(_total(expected, case), leaves)
        params = list(inspect.signature(ref).parameters)
        labels = [label for i in case["wrt"] for label in
                  ([f"{params[i]}[{j}].grad" for j in range(len(args[i]))] if type(args[i]) is list
                   else [f"{params[i]}.grad"])]
        inputs, allowed = inputs_of(ref, case), tolerances(case, expected, terms)
        assert_close(answer["out"], expected.detach(), name=name, inputs=inputs, hint=case.get("hint"), **allowed)
        grads = answer["grads"]
        cut = [label.removesuffix(".grad") for label, grad in zip(labels, grads or []) if grad is None]
        if grads is None or cut:
            hint = case.get("connect_hint")
            raise GradingError(f"{name}: " + _("autograd finds no path from the output back to {inputs}",
                                               inputs=", ".join(cut) or _("its inputs"))
                               + (f"\n{hint_line(hint)}" if hint else ""), hinted=bool(hint))
        assert_close(tuple(grads), expected_grads, names=labels, inputs=inputs, hint=case.get("grad_hint"),
                     name=_("the gradients autograd finds through your {name}", name=name), **allowed)
    return check
