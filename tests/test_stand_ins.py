"""The grader's stand-ins (course_grader/stand_ins.py): each graded name judged on its own.

A graded name whose test cell uses another graded name (perceptron calls linear) is replayed with
the grader's version of that other name, so that one mistake costs its own points only.
"""
from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from course_grader.hidden_test import hidden_test_of, reference
from course_grader.replay_client import REPLAY_COMMAND, ReplayClient, Step
from course_grader.replay_program import ban_of
from course_grader.stand_ins import STAND_INS, lent_for
from course_grader.static_twins import Bindings, twin_call
from course_grader.verdicts import verify
from course_lib.exercise_checks import new_generator, random_tensors
from course_lib.exercise_rules import GRADED_TOPIC, LESSONS

ROOT = Path(__file__).resolve().parents[1]


def _names_in(source: str) -> set[str]:
    tree = ast.parse(source.replace("%", "#"))
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _used_by_others() -> dict[str, set[str]]:
    """graded name -> the other graded names of its exercise whose solution or test cell uses it."""
    used: dict[str, set[str]] = {}
    for lesson in LESSONS:
        nb = nbformat.read(ROOT / "exercises" / "source" / lesson / f"{lesson}.ipynb", as_version=4)
        graded = {name for name, topic in GRADED_TOPIC.items() if lesson.endswith(topic)}
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
            owner = grade_id.removeprefix("test_")
            if cell.cell_type == "code" and owner in graded:
                for other in (_names_in(cell.source) & graded) - {owner}:
                    used.setdefault(other, set()).add(owner)
    return used


def test_every_graded_name_another_one_uses_has_a_stand_in():
    used = _used_by_others()
    assert used, "the scan found no graded name used by another: it reads nothing"
    missing = {name: sorted(users) for name, users in used.items() if name not in STAND_INS}
    assert not missing, f"graded names used by others without a stand-in: {missing}"


def _inputs(name: str, g: torch.Generator) -> list[tuple]:
    x = [t for t in random_tensors(count=6, scale=10.0, generator=g) if t.dim() >= 1]
    edge = torch.tensor([-1e4, -30.0, -1e-8, 0.0, 1e-8, 30.0, 1e4])
    if name in ("linear", "perceptron"):
        biases = ((torch.randn(3, generator=g, dtype=torch.float64),), ()) if name == "linear" else \
            ((torch.randn(3, generator=g, dtype=torch.float64),),)
        return [(t, torch.randn(3, t.shape[-1], generator=g, dtype=t.dtype), *(b.to(t.dtype) for b in bias))
                for t in x for bias in biases]
    if name in ("sigmoid", "tanh"):
        return [(t,) for t in x] + [(edge,), (edge.double(),)]
    if name == "binary_cross_entropy":
        p = torch.tensor([0.0, 1.0, 1e-30, 0.3, 1 - 1e-7])
        return [(torch.rand(t.shape, generator=g, dtype=t.dtype), torch.rand(t.shape, generator=g, dtype=t.dtype))
                for t in x] + [(p, torch.tensor([0.0, 1.0, 1.0, 0.5, 0.0]))]
    if name == "gd_step":
        return [(t, torch.randn(t.shape, generator=g, dtype=t.dtype), 0.1) for t in x]
    if name == "conv_output_size":
        return [(size, k, s, p) for size in (1, 5, 28) for k in (1, 3, 5) for s in (1, 2, 3) for p in (0, 1, 2)
                if k <= size + 2 * p]
    raise AssertionError(f"no inputs for {name}")


@pytest.mark.parametrize("name", sorted(STAND_INS))
def test_each_stand_in_computes_what_the_reference_computes(name):
    """Values to float rounding (rtol 1e-6 on float32 sums of a few terms; exact for ints and steps)."""
    ref = reference(f"course_lib.{GRADED_TOPIC[name]}.{name}")
    for args in _inputs(name, torch.Generator().manual_seed(0)):
        expected, got = ref(*args), STAND_INS[name](*args)
        if isinstance(expected, torch.Tensor):
            assert got.dtype == expected.dtype and got.shape == expected.shape
            torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-7)
        else:
            assert got == expected, (name, args)


LINEAR_TEST = ("import torch\nfrom course_lib.exercise_checks import expect\n"
               "expect(linear, torch.ones(1, 2), torch.ones(1, 2), to_be=torch.tensor([[2.0]]))\n"
               "from course_grader.sealed import sealed_checks\nsealed_checks(linear)\n")
PERCEPTRON_TEST = ("import torch\nfrom course_lib.exercise_checks import expect\n"
                   "expect(perceptron, torch.ones(1, 2), torch.ones(1, 2), torch.zeros(1), to_be=torch.ones(1, 1))\n"
                   "from course_grader.sealed import sealed_checks\nsealed_checks(perceptron)\n")
PERCEPTRON = "def perceptron(x, weight, bias):\n    return (linear(x, weight, bias) > 0).to(x.dtype)\n"


def replay(linear_cell: str, perceptron_cell: str = PERCEPTRON, linear_first: bool = True) -> dict[str, str]:
    """Replay linear's cell, perceptron's (which calls linear) and both tests: {name: verdict}."""
    tests = [Step("test", LINEAR_TEST, "linear"), Step("test", PERCEPTRON_TEST, "perceptron")]
    steps = [Step("code", "import torch\n"), Step("code", linear_cell), Step("code", perceptron_cell),
             *(tests if linear_first else tests[::-1])]
    cases = {name: hidden_test_of(name).cases(new_generator()) for name in ("linear", "perceptron")}
    env = dict(os.environ, NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg")
    client = ReplayClient(REPLAY_COMMAND, os.getcwd(), env, 30, lambda name: 6)
    result = client.run(steps, cases.__getitem__, ban_of(list(cases)), lent_for)
    return {steps[i].name: outcome.error or verify(hidden_test_of(steps[i].name), cases[steps[i].name], outcome.answers)
            or "passed" for i, outcome in result.tests.items()}


def test_a_wrong_linear_costs_linear_alone():
    verdicts = replay("def linear(x, weight, bias=None):\n    return 2 * (x @ weight.T) + (0 if bias is None else bias)\n")
    assert verdicts["linear"].startswith("linear: wrong values") and verdicts["perceptron"] == "passed", verdicts


# Found by the attack review: the grader's linear, reached through a stand-in lent in linear's own
# test (the module both lived in) and rebuilt without the check that refused it. Now no stand-in is
# lent to a test before its own name's test has run, and each is defined alone from its source.
THROUGH_PERCEPTRON = ("def linear(x, weight, bias=None):\n    g = perceptron.__globals__\n    own = g['linear']\n"
                      "    return type(own)(own.__code__, dict(g))(x, weight, bias)\n")


@pytest.mark.parametrize("linear_first", [True, False], ids=["in order", "tests swapped"])
def test_the_grader_s_linear_is_out_of_reach_in_linear_s_own_test(linear_first):
    verdicts = replay(THROUGH_PERCEPTRON, linear_first=linear_first)
    assert verdicts["linear"] != "passed", verdicts


def test_a_stand_in_goes_only_to_tests_after_its_own_name_s():
    assert lent_for("perceptron", pending=set()) .keys() == {"linear"}
    assert lent_for("perceptron", pending={"linear"}) == {}
    assert lent_for("perceptron_train", pending=set()).keys() == {"linear", "perceptron"}
    assert "def linear" in lent_for("perceptron", pending=set())["linear"]


def test_the_grading_sandbox_hides_the_stand_ins():
    config = (ROOT / "exercises" / "nbgrader_config.py").read_text()
    assert '"course_grader.stand_ins"' in config  # hidden_reference_modules: unreadable in the sandbox


def test_reading_the_code_a_call_of_the_grader_s_stand_in_is_a_twin():
    bindings = Bindings()
    bindings.run("from course_grader.stand_ins import linear as lin\n\ndef linear(x, w, b=None):\n    return lin(x, w, b)\n")
    assert "the grader's own code" in twin_call(bindings, "linear")


def test_a_linear_that_never_got_defined_costs_linear_alone():
    verdicts = replay("def linear(x, weight, bias=None)\n    return x\n")  # a syntax error: nothing defined
    assert "not defined" in verdicts["linear"] and verdicts["perceptron"] == "passed", verdicts


def test_reading_the_code_a_twin_in_a_name_the_grader_stands_in_for_costs_that_name_alone():
    bindings = Bindings()
    bindings.run("import torch\n\ndef sigmoid(z):\n    return torch.sigmoid(z)\n\n"
                 "def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 - s)\n")
    assert "torch.sigmoid" in twin_call(bindings, "sigmoid")
    assert "torch.sigmoid" in twin_call(bindings, "sigmoid_grad")  # as the kernel's guard sees it
    assert twin_call(bindings, "sigmoid_grad", lent=("sigmoid",)) is None  # as the replay grades it


def test_a_stand_in_kept_from_another_test_does_not_serve_its_own():
    """The learner moved linear's test below perceptron's: perceptron's test then runs with the
    learner's own linear, so there is no stand-in of linear to keep for later."""
    kept = ("def perceptron(x, weight, bias):\n    global KEPT\n    KEPT = linear\n"
            "    return (linear(x, weight, bias) > 0).to(x.dtype)\n")
    verdicts = replay("def linear(x, weight, bias=None):\n    return KEPT(x, weight, bias)\n", kept, linear_first=False)
    assert verdicts["linear"] != "passed" and verdicts["perceptron"] != "passed", verdicts
