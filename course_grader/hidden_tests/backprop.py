"""Hidden tests of 05_backprop: every function against course_lib.backprop, and the softmax
cross-entropy gradient once against torch.autograd.

A function cannot cross from the grader to the kernel, so a numerical_gradient case names the
function f from the menu below and gives its data; both sides build f from that.
"""
from __future__ import annotations

import torch

from course_lib.exercise_checks import call, random_tensors
from course_lib.grading import assert_close
from course_grader.hidden_tests._cases import EDGE, class_batches, linear_inputs
from course_grader.hidden_test import hidden_test, largest_input, reference, sums_of_products, tolerances
from course_lib.i18n import N_

BP = "course_lib.backprop"


@hidden_test("linear_backward", like=f"{BP}.linear_backward", terms=sums_of_products(f"{BP}.linear_backward"))
def linear_backward_cases(g: torch.Generator) -> list[dict]:
    """x of shape (*, in) with no, one and two leading dimensions, float32 and float64."""
    cases = []
    for x, weight in linear_inputs(g, [(), (1,), (6,), (2, 3)]):
        grad_out, shape = torch.randn(*x.shape[:-1], weight.shape[0], generator=g, dtype=x.dtype), tuple(x.shape)
        cases.append({"args": (grad_out, x, weight), "names": ("grad_x", "grad_weight", "grad_bias"),
                      "hint": f"x has shape {shape}: flatten its leading dimensions into rows "
                      "(reshape(-1, in)) for the weight and bias gradients"})
    return cases


def elementwise_backward(g: torch.Generator, hint: str) -> list[dict]:
    """grad_out and z of fresh shapes and dtypes; the edge values of z, in float32 with a different
    grad_out at each element and in float64; empty tensors."""
    cases = [{"args": (torch.randn(z.shape, generator=g, dtype=z.dtype), z)}
             for z in random_tensors(count=6, scale=5.0, generator=g)]
    n = len(EDGE)
    return cases + [{"args": (torch.arange(1.0, n + 1), EDGE), "hint": hint},
                    {"args": (-3 * torch.ones(n, dtype=torch.float64), EDGE.double()), "hint": hint},
                    {"args": (torch.zeros(0), torch.zeros(0))}]


hidden_test("relu_backward", like=f"{BP}.relu_backward")(
    lambda g: elementwise_backward(g, N_("the gradient passes where z > 0 only: 0 at exactly z = 0")))
hidden_test("sigmoid_backward", like=f"{BP}.sigmoid_backward")(
    lambda g: elementwise_backward(g, N_("finite for |z| up to 1e4: the slope there is 0, not nan")))


def check_softmax_cross_entropy(case: dict, answer) -> None:
    logits, labels = case["args"]
    if case.get("by_autograd"):  # an independent referee: PyTorch's own cross-entropy, differentiated
        logits = logits.clone().requires_grad_(True)
        (expected,) = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, labels), logits)
        logits = logits.detach()
    else:
        expected = reference(f"{BP}.softmax_cross_entropy_backward")(logits, labels)
    assert_close(answer, expected, name="softmax_cross_entropy_backward", inputs={"logits": logits, "labels": labels},
                 hint=case.get("hint"), **tolerances(case, expected, largest_input))


@hidden_test("softmax_cross_entropy_backward", check=check_softmax_cross_entropy)
def softmax_cross_entropy_cases(g: torch.Generator) -> list[dict]:
    """Batches of one to sixteen with logits up to ±1e4, batches whose labels leave out classes (all 0 first:
    a one-hot too narrow then broadcasts to wrong values instead of failing on shapes, so its hint shows), and a
    float64 batch checked against autograd."""
    batches = [(3 * torch.randn(3, 4, generator=g), torch.zeros(3, dtype=torch.int64)), *class_batches(g),
               (3 * torch.randn(4, 5, generator=g), torch.randint(0, 4, (4,), generator=g))]
    cases = []
    for logits, labels in batches:
        n, classes = len(labels), logits.shape[1]
        cases.append({"args": (logits, labels), "hint": f"N = {n}: divide by N, and make the one-hot as wide as "
                      f"the logits (num_classes={classes}), though a class may be absent from labels"})
    logits = torch.randn(6, 5, generator=g, dtype=torch.float64)
    return cases + [{"args": (logits, torch.randint(0, 5, (6,), generator=g)), "by_autograd": True}]


# ---- numerical_gradient: the functions f a case may name ----

def cubes(t):
    return (t ** 3).sum()


def weighted_sine(weights: torch.Tensor):
    def weighted_sine(t):
        return (torch.sin(t) * weights).sum()
    return weighted_sine


def f_of(case: dict):
    """The case's f, built the same way in the kernel and in the grader."""
    return cubes if case["f"] == "cubes" else weighted_sine(case["weights"])


def numerical_gradient_answer(fn, case: dict):
    return call(fn, f_of(case), case["x"], **case.get("kwargs", {}))


def check_numerical_gradient(case: dict, answer) -> None:
    f, x, kwargs = f_of(case), case["x"], case.get("kwargs", {})
    if case.get("exact"):  # the true derivative of sum(x**3), not another difference quotient
        expected = 3 * x ** 2
    else:
        expected = reference(f"{BP}.numerical_gradient")(f, x, **kwargs)
    assert_close(answer, expected, name="numerical_gradient", inputs={"f": f, "x": x, **kwargs},
                 atol=case.get("atol", 1e-6), hint=case.get("hint"))


@hidden_test("numerical_gradient", respond=numerical_gradient_answer, check=check_numerical_gradient)
def numerical_gradient_cases(g: torch.Generator) -> list[dict]:
    """x in float32 (f must see a float64 copy) and float64, 0-d, 2-d and not contiguous; the exact
    derivative; a large eps, where the central difference of x**3 is 3 x**2 + eps**2 exactly."""
    weights = torch.randn(3, 4, generator=g, dtype=torch.float64)
    hint = N_("evaluate f on a float64 copy of x: float32 rounding swamps a difference of 1e-6")
    cases = [{"f": "cubes", "x": 2 * torch.randn(5, generator=g), "hint": hint},
             {"f": "cubes", "x": torch.randn((), generator=g, dtype=torch.float64), "hint": hint},
             {"f": "weighted_sine", "weights": weights, "x": torch.randn(3, 4, generator=g), "hint": hint},
             {"f": "weighted_sine", "weights": weights, "hint": hint,
              "x": torch.randn(4, 3, generator=g, dtype=torch.float64).T}]
    x = 3 * torch.randn(4, generator=g, dtype=torch.float64)
    return cases + [{"f": "cubes", "x": x, "exact": True, "atol": 1e-5, "hint": "d/dx sum(x**3) = 3 x**2"},
                    {"f": "cubes", "x": x, "kwargs": {"eps": 1e-2},
                     "hint": "use the eps argument, and the central difference (f(x + eps) - f(x - eps)) / (2 eps); "
                     "for x**3 it gives 3 x**2 + eps**2 exactly"}]
