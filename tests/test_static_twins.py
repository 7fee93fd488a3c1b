"""course_grader/static_twins.py: the grader reads the notebook's code for calls of a function's twin.

The kernel's guard (tests/test_exercise_checks.py) sees what runs, but inside the learner's kernel,
where the notebook can switch it off and forge the answers. This check reads what is written, in
nbgrader's process. The end-to-end proof is the red-team case "forges_twin_answers"
(tests/test_red_team.py); here the reader itself, and SealedExecute's use of its verdict.
"""
from __future__ import annotations
from pathlib import Path

import nbformat
import pytest
import torch
from nbformat.v4 import new_code_cell, new_notebook

from course_grader import sealed_execute
from course_grader.hidden_test import hidden_test_of
from course_grader.replay_client import ReplayResult, Outcome
from course_grader.static_twins import Bindings, twin_call
from course_lib.exercise_rules import FORBIDDEN, GRADED_TOPIC

EXERCISES = Path(__file__).resolve().parents[1] / "exercises"


def twin_of(name: str, *cells: str) -> str | None:
    """The verdict on `name` once a setup cell (import torch) and these cells ran."""
    bindings = Bindings()
    for source in ("import torch", *cells):
        bindings.run(source)
    return twin_call(bindings, name)


# id -> (graded name, its cells, what the message must name)
CALLS_ITS_TWIN = {
    "torch.sigmoid": ("sigmoid", ["def sigmoid(z):\n    return torch.sigmoid(z)"], "calls torch.sigmoid,"),
    "a method": ("sigmoid", ["def sigmoid(z):\n    return z.sigmoid()"], "calls z.sigmoid(),"),
    "an in-place method": ("relu", ["def relu(z):\n    return (z + 0).relu_()"], "calls Tensor.relu_(),"),
    "the full path": ("softmax", ["def softmax(z, dim=-1):\n    return torch.nn.functional.softmax(z, dim)"],
                      "calls torch.nn.functional.softmax,"),
    "F imported in another cell": ("softmax", ["import torch.nn.functional as F",
                                               "def softmax(z, dim=-1):\n    return F.softmax(z, dim)"],
                                   "torch.nn.functional.softmax"),
    "F imported in the function": ("softmax", ["def softmax(z, dim=-1):\n    import torch.nn.functional as F\n"
                                               "    return F.softmax(z, dim)"], "torch.nn.functional.softmax"),
    "from torch import": ("sigmoid_grad", ["from torch import sigmoid\n\ndef sigmoid_grad(z):\n"
                                           "    s = sigmoid(z)\n    return s * (1 - s)"], "calls torch.sigmoid,"),
    "imported under another name": ("softmax", ["from torch.nn.functional import softmax as sm\n\n"
                                                "def softmax(z, dim=-1):\n    return sm(z, dim)"],
                                    "torch.nn.functional.softmax"),
    "getattr with a constant": ("sigmoid", ["def sigmoid(z):\n    return getattr(torch, 'sigmoid')(z)"],
                                "calls torch.sigmoid,"),
    "another twin of the list": ("sigmoid", ["def sigmoid(z):\n    return torch.special.expit(z)"],
                                 "torch.special.expit"),
    "a torch.nn module": ("sigmoid", ["def sigmoid(z):\n    return torch.nn.Sigmoid()(z)"], "torch.nn.Sigmoid"),
    "a default argument": ("sigmoid", ["def sigmoid(z, f=torch.sigmoid):\n    return f(z)"], "torch.sigmoid"),
    "a helper": ("sigmoid", ["def squash(z):\n    return torch.sigmoid(z)",
                             "def sigmoid(z):\n    return squash(z)"],
                 "calls torch.sigmoid (through squash),"),
    "a helper's helper": ("sigmoid", ["act = torch.sigmoid\n\ndef squash(z):\n    return act(z)\n\n"
                                      "def sigmoid(z):\n    return squash(z)"], "(through squash)"),
    "the name bound to the twin": ("relu", ["def relu(z):\n    return z.clamp(min=0)", "relu = torch.relu"],
                                   "calls torch.relu,"),
    "the name imported": ("relu", ["from torch.nn.functional import relu"], "torch.nn.functional.relu"),
    "a cell magic": ("relu", ["%%capture\ndef relu(z):\n    return z.relu()"], "z.relu()"),
    "autograd": ("sigmoid_grad", ["def sigmoid(z):\n    return 1 / (1 + torch.exp(-z))",
                                  "def sigmoid_grad(z):\n    z = z.detach().requires_grad_()\n"
                                  "    sigmoid(z).sum().backward()\n    return z.grad"], "Tensor.backward()"),
    "course_lib's reference": ("sigmoid_grad", ["from course_lib.activations import sigmoid\n\n"
                                                "def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 - s)"],
                               "calls course_lib.activations.sigmoid, course_lib's own answer"),
    "torch.optim": ("adam_step", ["def adam_step(w, grad, m, v, t, lr=1e-3):\n"
                                  "    return torch.optim.Adam([w], lr=lr), m, v"], "torch.optim.Adam"),
    "a method of a class": ("EarlyStopping", ["from course_lib.overfitting import EarlyStopping as Ours\n\n"
                                              "class EarlyStopping(Ours):\n    pass"],
                            "course_lib.overfitting.EarlyStopping"),
}


@pytest.mark.parametrize("case", CALLS_ITS_TWIN)
def test_a_function_that_calls_its_twin_is_caught_and_the_message_names_it(case):
    name, cells, words = CALLS_ITS_TWIN[case]
    problem = twin_of(name, *cells)
    assert problem and problem.startswith(f"{name} calls ") and words in problem, problem
    assert problem.endswith("write it from scratch")


# id -> (graded name, its cells): no twin called
FROM_SCRATCH = {
    "clamp is not relu's twin": ("relu", ["def relu(z):\n    return torch.clamp(z, min=0)"]),
    "the twin in a comment and a string": ("relu", ["def relu(z):\n    '''Like torch.relu(z).'''\n"
                                                    "    # z.relu() would do it\n    return z.clamp(min=0)"]),
    "its own sigmoid in sigmoid_grad": ("sigmoid_grad", [
        "def sigmoid(z):\n    return 1 / (1 + torch.exp(-z))",
        "def sigmoid_grad(z):\n    s = sigmoid(z)\n    return s * (1 - s)"]),
    "the twin elsewhere in the notebook": ("relu", ["def relu(z):\n    return z.clamp(min=0)",
                                                    "print(torch.relu(torch.ones(1)))"]),
    "the twin of another name": ("relu", ["import torch.nn.functional as F\n\n"
                                          "def relu(z):\n    return z.clamp(min=0)\n\n"
                                          "def leaky(z):\n    return F.leaky_relu(z)"]),
    "x.grad read, not torch.autograd.grad": ("numerical_gradient", [
        "def numerical_gradient(f, x, eps=1e-6):\n    with torch.no_grad():\n        g = torch.zeros_like(x)\n"
        "    return g if x.grad is None else g"]),
    "a parameter named like an import": ("relu_grad", [
        "from torch import relu", "def relu_grad(z, relu=None):\n    return (z > 0).to(z.dtype)"]),
    "a twin-free cell after a broken one": ("relu", ["def relu(z) return torch.relu(z)",
                                                     "def relu(z):\n    return z.clamp(min=0)"]),
}


@pytest.mark.parametrize("case", FROM_SCRATCH)
def test_a_function_written_from_scratch_passes(case):
    name, cells = FROM_SCRATCH[case]
    assert twin_of(name, *cells) is None


def test_a_name_built_at_run_time_escapes_the_static_check():
    """A known limit: the kernel's guard still sees this call, but a forged answer would hide it."""
    assert twin_of("relu", "def relu(z):\n    return getattr(torch, 're' + 'lu')(z)") is None


@pytest.mark.parametrize("name", sorted(set(FORBIDDEN) | set(GRADED_TOPIC)))
def test_every_entry_the_kernels_guard_refuses_is_caught_here_too(name):
    """The reader takes exercise_rules.FORBIDDEN itself: no second list to keep in step."""
    for entry in FORBIDDEN[name]:
        path = f"torch.{entry.removeprefix('torch:')}" if entry.startswith("torch:") else entry
        code = f"import {path.partition('.')[0]}\n\ndef {name}(*args):\n    return {path}(*args)"
        assert twin_of(name, code), (name, entry)


def notebook(*cells: tuple[str, str | None]):
    """A notebook of (source, grade_id) code cells: "test_X" makes a sealed test cell of X."""
    nb = new_notebook()
    for source, grade_id in cells:
        cell = new_code_cell(source)
        if grade_id:
            test = grade_id.startswith("test_")
            cell.metadata["nbgrader"] = {"grade_id": grade_id, "grade": test, "solution": not test,
                                         "locked": test, "points": 1}
        nb.cells.append(cell)
    return nb


def test_the_definition_read_is_the_one_in_force_when_its_test_cell_runs():
    nb = notebook(("import torch", None), ("def relu(z):\n    return torch.relu(z)", "relu"),
                  ("def relu(z):\n    return z.clamp(min=0)", None),
                  ("sealed_checks(relu)", "test_relu"),
                  ("def relu(z):\n    return torch.relu(z)", None))
    assert sealed_execute.read_code(nb, sealed_execute._test_cells(nb)) == {"relu": (True, None)}


@pytest.mark.parametrize("source", sorted((EXERCISES / "source").glob("*/*.ipynb")), ids=lambda p: p.stem)
def test_the_courses_own_solutions_call_no_twin(source):
    nb = nbformat.read(source, as_version=4)
    found = sealed_execute.read_code(nb, sealed_execute._test_cells(nb))
    assert found and all(defined and twin is None for defined, twin in found.values()), found


RELU_FROM_SCRATCH = "def relu(z):\n    return z.clamp(min=0)"
RELU_TWIN = "def relu(z):\n    return torch.relu(z)"


@pytest.mark.parametrize(("relu", "loses_the_point"), [(RELU_FROM_SCRATCH, False), (RELU_TWIN, True)],
                         ids=["from scratch", "calls torch.relu"])
def test_right_answers_forged_with_the_twin_lose_the_point_and_are_flagged(relu, loses_the_point):
    nb = notebook(("import torch", None), (relu, "relu"), ("sealed_checks(relu)", "test_relu"))
    cells = sealed_execute._test_cells(nb)
    cases = {"relu": hidden_test_of("relu").cases(torch.Generator().manual_seed(0))}
    # What a replay that missed the twin would send: torch.relu's own answers.
    answers = [{"value": torch.relu(*case["args"], **case.get("kwargs", {}))} for case in cases["relu"]]
    result = ReplayResult(tests={0: Outcome(asked=True, answers=answers)})
    flags = sealed_execute.SealedExecute()._judge(cells, {"relu": 0}, cases, result, sealed_execute.read_code(nb, cells))
    errors = [out.evalue for out in cells["relu"].get("outputs", []) if out.output_type == "error"]
    if loses_the_point:
        assert errors == ["relu calls torch.relu, its PyTorch twin: write it from scratch"]
        assert [f["kind"] for f in flags] == ["calls its twin"], flags
    else:
        assert errors == [] and flags == []


def test_right_answers_from_a_function_no_code_defines_are_flagged_but_keep_the_point():
    nb = notebook(("import torch", None), ("exec('def relu(z):\\n    return z.clamp(min=0)')", "relu"),
                  ("sealed_checks(relu)", "test_relu"))
    cells = sealed_execute._test_cells(nb)
    cases = {"relu": hidden_test_of("relu").cases(torch.Generator().manual_seed(0))}
    answers = [{"value": case["args"][0].clamp(min=0)} for case in cases["relu"]]
    result = ReplayResult(tests={0: Outcome(asked=True, answers=answers)})
    flags = sealed_execute.SealedExecute()._judge(cells, {"relu": 0}, cases, result, sealed_execute.read_code(nb, cells))
    assert not cells["relu"].get("outputs")
    assert [f["kind"] for f in flags] == ["suspicious code"] and "no definition" in flags[0]["detail"], flags
