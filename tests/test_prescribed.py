"""What a notebook prescribes is checked by its hidden test: solutions that ignore the
prescription fail, however plausible their results look."""
from __future__ import annotations

import pytest
import torch

from course_grader.hidden_test import hidden_test_of
from course_grader.verdicts import answer, verify


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
