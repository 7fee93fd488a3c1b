"""Hidden tests of 02_activations: every function against course_lib.activations."""
from __future__ import annotations

import torch

from course_grader.hidden_tests._cases import EDGE, elementwise
from course_grader.hidden_test import hidden_test, largest_input
from course_lib.i18n import N_

for _name in ("step", "sigmoid", "tanh", "relu", "sigmoid_grad", "tanh_grad", "relu_grad"):
    hidden_test(_name, like=f"course_lib.activations.{_name}")(elementwise)


def leaky_cases(g: torch.Generator, negative_slope: float, hint: str) -> list[dict]:
    """The elementwise cases with a slope below 1, then with 1.5: a slope above 1 tells z > 0 from
    z > negative_slope * z (max(z, negative_slope * z) is the leaky ReLU for slopes up to 1 only)."""
    above_one = [10 * torch.randn(4, 5, generator=g), EDGE.double()]
    return elementwise(g, negative_slope=negative_slope) + [
        {"args": (z,), "kwargs": {"negative_slope": 1.5}, "hint": hint} for z in above_one]


hidden_test("leaky_relu", like="course_lib.activations.leaky_relu")(
    lambda g: leaky_cases(g, 0.1, N_("negative_slope may exceed 1: choose by z > 0; max(z, negative_slope * z) "
                                     "then picks z")))
hidden_test("leaky_relu_grad", like="course_lib.activations.leaky_relu_grad")(
    lambda g: leaky_cases(g, 0.3, N_("negative_slope may exceed 1: choose by z > 0, not by comparing z with "
                                     "negative_slope * z")))


KEEPDIM = N_("every slice along dim sums to 1: amax and sum with keepdim=True, so they broadcast back along dim")


@hidden_test("softmax", like="course_lib.activations.softmax", terms=largest_input)
def softmax_cases(g: torch.Generator) -> list[dict]:
    """A square matrix first (sums taken without keepdim broadcast there to wrong values, so the hint shows),
    every dim of 1-, 2- and 3-d inputs, the default dim, and rows of ±1e4 that overflow exp."""
    cases = [{"args": (10 * torch.randn(3, 3, generator=g),), "hint": KEEPDIM}]
    for shape, dtype in [((7,), torch.float32), ((4, 6), torch.float64), ((2, 3, 5), torch.float32)]:
        z = 10 * torch.randn(shape, generator=g, dtype=dtype)
        cases += [{"args": (z,), "kwargs": {"dim": dim}, "hint": KEEPDIM} for dim in range(-len(shape), len(shape))]
        cases.append({"args": (z,), "hint": KEEPDIM})
    big = torch.tensor([[1e4, -1e4, 0.0], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4], [3.0, 3.0, -1e4]])
    hint = N_("subtract the maximum along dim before exp, so nothing overflows; amax and sum with keepdim=True")
    return cases + [{"args": (big,), "hint": hint}, {"args": (big.double(),), "kwargs": {"dim": 0}, "hint": hint}]
