"""Hidden tests of 01_neurons. The chosen gate weights are judged by what a perceptron with them
does (the grader's own perceptron), not by their values; the learned weights by the steps of the
rule the notebook prescribes."""
from __future__ import annotations

import re

import torch

from course_lib.exercise_checks import call, expect_shapes, raised_by
from course_lib.grading import GradingError, assert_close
from course_lib.grading.messages import hint_line
from course_grader.hidden_tests._cases import linear_inputs
from course_grader.hidden_test import hidden_test, reference, sums_of_products
from course_lib.i18n import N_, _

XOR_WORDS = r"(?i)separab|line|layer|可分|线|层"  # as the visible test asks, in English or Chinese
XOR_HINT = N_("say why: no single line separates the XOR inputs (not linearly separable)")
GATE_INPUTS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
TRUTH = {"AND": [0.0, 0.0, 0.0, 1.0], "OR": [0.0, 1.0, 1.0, 1.0], "NAND": [1.0, 1.0, 1.0, 0.0]}


@hidden_test("linear", like="course_lib.neurons.linear", terms=sums_of_products("course_lib.neurons.linear"))
def linear_cases(g: torch.Generator) -> list[dict]:
    """Batches of no, one and two leading dimensions, float32 and float64, with and without bias."""
    cases = []
    for x, weight in linear_inputs(g, [(), (1,), (7,), (2, 3)]):
        cases += [{"args": (x, weight, torch.randn(weight.shape[0], generator=g, dtype=x.dtype))},
                  {"args": (x, weight), "hint": "bias=None means: no bias"}]
    return cases


@hidden_test("perceptron", like="course_lib.neurons.perceptron")
def perceptron_cases(g: torch.Generator) -> list[dict]:
    cases = []
    for lead, dtype in [((9,), torch.float32), ((2, 5), torch.float64), ((), torch.float32)]:
        n_in, n_out = torch.randint(1, 6, (2,), generator=g).tolist()
        cases.append({"args": (torch.randn(*lead, n_in, generator=g, dtype=dtype),
                               torch.randn(n_out, n_in, generator=g, dtype=dtype),
                               torch.randn(n_out, generator=g, dtype=dtype))})
    return cases + [{"args": (torch.zeros(3, 2), torch.ones(2, 2), torch.zeros(2)), "hint": "a sum of exactly 0 gives 0"}]


def respond_gate(fn, case: dict):
    """The weights for a gate; for XOR, the message of the ValueError it must raise."""
    gate = case["args"][0]
    if gate == "XOR":
        return {"message": str(raised_by(fn, ValueError, gate, hint=XOR_HINT))}
    return call(fn, gate)


def check_gate(case: dict, answer) -> None:
    gate = case["args"][0]
    if gate == "XOR":
        if not re.search(XOR_WORDS, answer["message"]):
            raise GradingError("logic_gate_weights('XOR'): " + _("its ValueError {message} does not say why",
                                                                 message=repr(answer["message"][:120]))
                               + "\n" + hint_line(XOR_HINT), hinted=True)
        return
    expect_shapes(f"logic_gate_weights({gate!r})", answer, (1, 2), (1,), dtype=torch.float32, labels=("weight", "bias"))
    fired = reference("course_lib.neurons.perceptron")(GATE_INPUTS, *answer)
    assert_close(fired, torch.tensor(TRUTH[gate]).unsqueeze(1), inputs={"x": GATE_INPUTS},
                 name=_("a perceptron with your {gate} weights", gate=gate), hint=f"expected the truth table of {gate}")


@hidden_test("logic_gate_weights", respond=respond_gate, check=check_gate)
def gate_cases(g: torch.Generator) -> list[dict]:
    """Each gate's truth table, and XOR, which must raise a ValueError saying why."""
    return [{"args": (gate,)} for gate in TRUTH] + [{"args": ("XOR",)}]


def separable(g: torch.Generator, n: int, n_features: int, dtype: torch.dtype):
    """n points with a margin around a random line, labelled by its side; the reference separates them.
    Coordinates are multiples of 1/16, so every sum the rule makes is exact in float32: any correct
    way of writing it takes the same steps as the reference."""
    train, perceptron = reference("course_lib.neurons.perceptron_train"), reference("course_lib.neurons.perceptron")
    while True:
        w, b = torch.randn(n_features, generator=g), 0.5 * torch.randn((), generator=g)
        X = torch.randint(-16, 17, (8 * n, n_features), generator=g) / 16
        z = (X @ w + b) / w.norm()
        X, z = X[z.abs() > 0.15][:n].to(dtype), z[z.abs() > 0.15][:n]
        y = (z > 0).to(dtype)
        weight, bias = train(X, y)
        if len(y) == n and 0 < y.sum() < n and (perceptron(X, weight, bias)[:, 0] == y).all():
            return X, y


RULE = N_("start from zero weight and bias, visit the samples in order, update after each mistake (not once "
          "per pass), and stop after a pass without mistakes or after `epochs` passes")


def check_training(case: dict, answer) -> None:
    """The weights the rule gives, step for step: the notebook prescribes the start, the order and the updates."""
    X, y = case["args"]
    kwargs = case.get("kwargs", {})
    n, n_features = X.shape
    expect_shapes("perceptron_train", answer, (1, n_features), (1,), dtype=X.dtype, labels=("weight", "bias"))
    expected = reference("course_lib.neurons.perceptron_train")(X, y, **kwargs)
    what = ", ".join(f"{key}={value}" for key, value in kwargs.items())
    assert_close(tuple(answer), expected, names=("weight", "bias"), inputs={"X": X, "y": y},
                 name=_("perceptron_train on {n} points with {n_features} features", n=n, n_features=n_features)
                 + (f" ({what})" if what else ""),
                 hint=RULE)


@hidden_test("perceptron_train", check=check_training)
def training_cases(g: torch.Generator) -> list[dict]:
    """Separable points (exact in float32), also with another lr and stopped after one pass; XOR, where
    it must stop after `epochs` passes."""
    cases = [{"args": separable(g, n, k, dtype)}
             for n, k, dtype in [(20, 2, torch.float32), (30, 3, torch.float64), (40, 4, torch.float32)]]
    cases += [{"args": separable(g, 25, 3, torch.float32), "kwargs": {"lr": 0.5}},
              {"args": separable(g, 25, 2, torch.float64), "kwargs": {"epochs": 1}}]
    return cases + [{"args": (GATE_INPUTS.clone(), torch.tensor([0.0, 1.0, 1.0, 0.0])), "kwargs": {"epochs": 20}}]
