"""What a notebook prescribes is checked by its hidden test: solutions that ignore the
prescription fail, however plausible their results look. And what a hidden test checks is
prescribed: every check has its sentence in the released notebook
(course_grader/hidden_tests/prescribed/)."""
from __future__ import annotations

import functools
from pathlib import Path

import nbformat
import pytest
import torch

from course_grader.hidden_test import hidden_test_of
from course_grader.hidden_tests.prescribed import (EMPTY, EXTREME, FLOAT64, GRADIENTS, NON_CONTIGUOUS, PRESCRIBED,
                                                   RAISES, ZERO_DIM)
from course_grader.verdicts import answer, verify
from course_lib.exercise_rules import GRADED_TOPIC, LESSONS, TOPICS

RELEASE = Path(__file__).resolve().parents[1] / "exercises" / "release"


def _perceptron(x, weight, bias):
    return ((x @ weight.T + bias) > 0).to(x.dtype)


def _train(X, y, lr=1.0, epochs=100, start=None, per_sample=True):
    """The perceptron rule, or one of the ways learners stray from it."""
    weight = torch.zeros(1, X.shape[1], dtype=X.dtype) if start is None else start(X)
    bias = torch.zeros(1, dtype=X.dtype)
    for _ in range(epochs):
        if per_sample:
            mistakes = 0
            for x_i, y_i in zip(X, y.to(X.dtype)):
                error = y_i - _perceptron(x_i, weight, bias)
                weight, bias = weight + lr * error * x_i, bias + lr * error
                mistakes += int(error.item() != 0)
        else:  # one update per pass, from every mistake of the pass at once
            errors = y.to(X.dtype) - _perceptron(X, weight, bias)[:, 0]
            weight, bias = weight + lr * (errors @ X).unsqueeze(0), bias + lr * errors.sum()
            mistakes = int(errors.abs().sum().item())
        if mistakes == 0:
            break
    return weight, bias


def _random_start(X):
    return 0.1 * torch.randn(1, X.shape[1], generator=torch.Generator().manual_seed(1), dtype=X.dtype)


def _judged(fn, seed: int) -> str | None:
    test = hidden_test_of("perceptron_train")
    cases = test.cases(torch.Generator().manual_seed(seed))
    return verify(test, cases, [answer(test, fn, case) for case in cases])


@pytest.mark.parametrize("seed", range(3))
def test_perceptron_train_from_zero_with_one_update_per_sample_passes(seed):
    def perceptron_train(X, y, lr=1.0, epochs=100):
        return _train(X, y, lr, epochs)
    assert _judged(perceptron_train, seed) is None


@pytest.mark.parametrize("stray", ["random start", "batch updates", "ignores lr"])
def test_perceptron_train_that_strays_from_the_prescribed_rule_fails(stray):
    def perceptron_train(X, y, lr=1.0, epochs=100):
        if stray == "random start":
            return _train(X, y, lr, epochs, start=_random_start)
        if stray == "batch updates":
            return _train(X, y, lr, epochs, per_sample=False)
        return _train(X, y, 1.0, epochs)  # ignores lr
    problem = _judged(perceptron_train, 0)
    assert problem and "start from zero weight" in problem, problem


# ---- every hidden check traceable to a sentence of the notebook ----

def _flat(text: str) -> str:
    return " ".join(text.split())


@functools.cache
def _notebook(topic: str):
    lesson = LESSONS[TOPICS.index(topic)]
    return nbformat.read(RELEASE / lesson / f"{lesson}.ipynb", as_version=4)


def _words_for(name: str) -> list[str]:
    """The cells a quote for name may come from: the title and the rules box, which every name shares,
    then the name's markdown section (the last markdown cell above its solution cell), its solution
    cell (signature and docstring) and its visible test cell (examples and hints); whitespace flattened."""
    cells = _notebook(GRADED_TOPIC[name]).cells
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in cells]
    at = ids.index(name)
    section = next(cell for cell in reversed(cells[:at]) if cell.cell_type == "markdown")
    return [_flat(cell.source) for cell in (cells[0], cells[2], section, cells[at], cells[ids.index(f"test_{name}")])]


def _tensors(x: object):
    """The tensors anywhere in a case, but for the upstream gradient the grader multiplies by."""
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, dict):
        for key, value in x.items():
            if key != "upstream":
                yield from _tensors(value)
    elif isinstance(x, (list, tuple)):
        for value in x:
            yield from _tensors(value)


# What a drawn case can show, and the key in PRESCRIBED its name then needs.
TENSOR_KINDS = {
    FLOAT64: lambda t: t.dtype == torch.float64,
    ZERO_DIM: lambda t: t.is_floating_point() and t.dim() == 0,
    EMPTY: lambda t: t.numel() == 0,
    EXTREME: lambda t: t.is_floating_point() and bool((t.abs() >= 1e3).any()),
    NON_CONTIGUOUS: lambda t: not t.is_contiguous(),
}
CASE_KINDS = {GRADIENTS: lambda case: "wrt" in case, RAISES: lambda case: "raises" in case}


@functools.cache
def _drawn_kinds(name: str) -> frozenset[str]:
    """The kinds of case among the hidden test's cases, drawn with a fixed seed."""
    kinds = set()
    for case in hidden_test_of(name).cases(torch.Generator().manual_seed(0)):
        tensors = list(_tensors(case))
        kinds |= {kind for kind, shows in TENSOR_KINDS.items() if any(shows(t) for t in tensors)}
        kinds |= {kind for kind, shows in CASE_KINDS.items() if shows(case)}
    return frozenset(kinds)


graded_names = pytest.mark.parametrize("name", sorted(GRADED_TOPIC))


def test_every_graded_name_has_its_prescriptions():
    missing = sorted(set(GRADED_TOPIC) - set(PRESCRIBED))
    unknown = sorted(set(PRESCRIBED) - set(GRADED_TOPIC))
    assert not missing, f"prescribed/ has no entry for the graded names {missing}: list what their hidden tests check"
    assert not unknown, f"prescribed/ lists {unknown}, which are not graded names"


@graded_names
def test_every_prescription_is_quoted_from_the_released_notebook(name):
    cells = _words_for(name)
    absent = [f"  {key!r}: {quote!r}" for key, quote in PRESCRIBED.get(name, {}).items()
              if not any(_flat(quote) in cell for cell in cells)]
    assert not absent, (f"{name}: these checks quote words that its released notebook does not hold (in the title, "
                        "the rules box, its section, docstring or test cell):\n" + "\n".join(absent))


@graded_names
def test_every_kind_of_hidden_case_has_its_sentence(name):
    lacking = sorted(_drawn_kinds(name) - set(PRESCRIBED.get(name, {})))
    assert not lacking, (f"{name}: its hidden test draws cases with {', '.join(lacking)}, but prescribed/ gives no "
                         "sentence of the notebook that prescribes it: add the sentence to the notebook and its quote "
                         f"to PRESCRIBED[{name!r}]")


@graded_names
def test_every_kind_of_case_prescribed_is_drawn(name):
    kinds = set(TENSOR_KINDS) | set(CASE_KINDS)
    stale = sorted((set(PRESCRIBED.get(name, {})) & kinds) - _drawn_kinds(name))
    assert not stale, f"{name}: prescribed/ quotes a sentence for {', '.join(stale)}, but its hidden test draws no such case"
