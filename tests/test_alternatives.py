"""Every alternative correct solution of tests/alternatives.py through the course's real hidden tests.

For each (graded name, alternative) the hidden cases are drawn with several seeds, answered as the
learner's kernel answers them (verdicts.answer: the guard, the forbidden twins, no in-place changes)
and judged as the grader judges them (verdicts.verify). Every one must pass: a correct formulation
the hidden tests reject is a fault of the grading (its tolerance, or a case that rounding decides),
fixed there. Formulations that compute another function than the notebook asks for are named, and
left out, in tests/alternatives.py.
"""
from __future__ import annotations

import functools

import pytest
import torch

from course_grader import verdicts
from course_grader.hidden_test import hidden_test_of
from course_lib.exercise_rules import GRADED_TOPIC
from alternatives import ALTERNATIVES, KNOWN_WRONG

SEEDS = range(5)
# the names whose cases train or run models (or run the reference's loops): fewer seeds keep the file fast
OTHER_SEEDS = {"train_one_epoch": range(1), "evaluate_accuracy": range(2), "SmallCNN": range(1), "fit_line": range(1),
               "perceptron_train": range(3), "MLP": range(3), "conv2d": range(2), "max_pool2d": range(3),
               # seed 10 drew an exact decimal tie, decided by rounding, until the cases became multiples of 2**-10
               "EarlyStopping": (0, 1, 2, 3, 4, 10)}

@functools.cache
def cases_of(name: str, seed: int) -> list[dict]:
    return hidden_test_of(name).cases(torch.Generator().manual_seed(seed))


def seeds_of(name: str):
    return OTHER_SEEDS.get(name, SEEDS)


def first_problem(name: str, fn, seeds) -> str | None:
    """The grader's first complaint about fn over the cases of these seeds, or None."""
    test = hidden_test_of(name)
    for seed in seeds:
        cases = cases_of(name, seed)
        problem = verdicts.verify(test, cases, [verdicts.answer(test, fn, case) for case in cases])
        if problem:
            return f"seed {seed}: {problem}"
    return None


def _params():
    return [pytest.param(name, label, id=f"{name}-{label}") for name, table in ALTERNATIVES.items() for label in table]


@pytest.mark.filterwarnings("ignore:Length of split at index")  # random_split with n_val = 0, as PyTorch warns
@pytest.mark.parametrize(("name", "label"), list(_params()))
def test_a_correct_alternative_passes_the_hidden_test(name, label):
    problem = first_problem(name, ALTERNATIVES[name][label], seeds_of(name))
    assert problem is None, f"{name} [{label}] rejected:\n{problem}"


def test_every_graded_name_has_alternatives():
    assert set(ALTERNATIVES) == set(GRADED_TOPIC)
    assert all(len(table) >= 2 for table in ALTERNATIVES.values())


@pytest.mark.parametrize(("name", "label"), [pytest.param(n, lbl, id=f"{n}-{lbl}")
                                             for n, table in KNOWN_WRONG.items() for lbl in table])
def test_the_harness_rejects_a_known_wrong_solution(name, label):
    assert first_problem(name, KNOWN_WRONG[name][label], range(2)) is not None
