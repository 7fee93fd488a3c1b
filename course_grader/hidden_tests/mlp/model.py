"""Hidden test of MLP: its nn.Linear layers, its number of parameters, its output with the grader's weights."""
from __future__ import annotations

import torch
from torch import nn

from course_lib.exercise_checks import call
from course_lib.grading import GradingError, assert_close
from course_grader.hidden_tests._cases import randint
from course_grader.hidden_test import hidden_test, reference
from course_lib.i18n import _


def mlp_widths(case: dict) -> list[int]:
    n_in, hidden, n_out = case["args"]
    return [n_in, *hidden, n_out]


def respond_mlp(fn, case: dict) -> dict:
    """The learner's layers, its parameter count, and its output once the case's weights are loaded."""
    n_in, hidden, n_out = case["args"]
    model = call(fn, n_in, hidden, n_out)
    if not isinstance(model, nn.Module):
        raise GradingError(_("{call} is a {type}, not an nn.Module: write `class {cls}(nn.Module)` and call "
                             "super().__init__() first", call=f"MLP({n_in}, {hidden}, {n_out})",
                             type=type(model).__name__, cls="MLP"))
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    shapes = [(layer.in_features, layer.out_features) for layer in layers]
    widths = mlp_widths(case)
    output = None
    # Weights the grader chose make the output checkable; they fit only layers of the right sizes.
    if shapes == list(zip(widths[:-1], widths[1:])) and all(layer.bias is not None for layer in layers):
        with torch.no_grad():
            for layer, (weight, bias) in zip(layers, case["weights"]):
                layer.weight.copy_(weight)
                layer.bias.copy_(bias)
            output = call(model, case["x"])
    return {"layers": shapes, "n_parameters": sum(p.numel() for p in model.parameters()), "output": output}


def check_mlp(case: dict, answer: dict) -> None:
    n_in, hidden, n_out = case["args"]
    setting, widths = f"MLP({n_in}, {hidden}, {n_out})", mlp_widths(case)
    layers, n_parameters, output = answer["layers"], answer["n_parameters"], answer["output"]
    assert_close(len(layers), len(widths) - 1, name=_("{setting}: number of nn.Linear layers", setting=setting),
                 hint=f"one nn.Linear per pair of consecutive sizes in {widths}; layers kept in a plain "
                      "Python list are invisible to the model: use nn.Sequential or nn.ModuleList")
    for i, layer in enumerate(layers):
        assert_close(layer, (widths[i], widths[i + 1]), names=("in_features", "out_features"),
                     name=_("{setting}: nn.Linear layer {i}", setting=setting, i=i))
    assert_close(n_parameters, sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:])),
                 name=_("{setting}: number of parameters", setting=setting),
                 hint="only the nn.Linear layers hold parameters")
    model = reference("course_lib.mlp.MLP")(n_in, hidden, n_out)
    with torch.no_grad():
        for layer, (weight, bias) in zip([m for m in model.modules() if isinstance(m, nn.Linear)], case["weights"]):
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
        expected = model(case["x"])
    assert_close(output, expected, name=_("{setting}: the output", setting=setting), inputs={"x": case["x"]},
                 hint=f"{setting} is Linear, ReLU, ..., Linear: no ReLU after the last layer")


@hidden_test("MLP", respond=respond_mlp, check=check_mlp)
def mlp_cases(g: torch.Generator) -> list[dict]:
    """No hidden layer, one, three, and hidden sizes given as a tuple; weights and a batch of 1 to 6 from g."""
    cases = []
    for n_in, hidden, n_out in [(3, [], 2), (5, [7], 4), (4, [6, 5, 3], 2), (1, (2,), 1)]:
        widths = [n_in, *hidden, n_out]
        weights = [(torch.randn(b, a, generator=g) / a ** 0.5, torch.randn(b, generator=g))
                   for a, b in zip(widths[:-1], widths[1:])]
        x = 3 * torch.randn(randint(g, 1, 6), n_in, generator=g)
        cases.append({"args": (n_in, hidden, n_out), "weights": weights, "x": x})
    return cases
