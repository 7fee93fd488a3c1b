"""Hidden tests of 02_activations: every function against course_lib.activations."""
from __future__ import annotations

import torch

from course_grader.hidden_tests._cases import elementwise
from course_grader.hidden_test import hidden_test, largest_input

for _name in ("step", "sigmoid", "tanh", "relu", "sigmoid_grad", "tanh_grad", "relu_grad"):
    hidden_test(_name, like=f"course_lib.activations.{_name}")(elementwise)
hidden_test("leaky_relu", like="course_lib.activations.leaky_relu")(
    lambda g: elementwise(g, negative_slope=0.1))
hidden_test("leaky_relu_grad", like="course_lib.activations.leaky_relu_grad")(
    lambda g: elementwise(g, negative_slope=0.3))


@hidden_test("softmax", like="course_lib.activations.softmax", terms=largest_input)
def softmax_cases(g: torch.Generator) -> list[dict]:
    """Every dim of 1-, 2- and 3-d inputs, the default dim, and rows of ±1e4 that overflow exp."""
    cases = []
    for shape, dtype in [((7,), torch.float32), ((4, 6), torch.float64), ((2, 3, 5), torch.float32)]:
        z = 10 * torch.randn(shape, generator=g, dtype=dtype)
        cases += [{"args": (z,), "kwargs": {"dim": dim}} for dim in range(-len(shape), len(shape))]
        cases.append({"args": (z,)})
    big = torch.tensor([[1e4, -1e4, 0.0], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4], [3.0, 3.0, -1e4]])
    hint = "subtract the maximum along dim before exp, so nothing overflows"
    return cases + [{"args": (big,), "hint": hint}, {"args": (big.double(),), "kwargs": {"dim": 0}, "hint": hint}]
