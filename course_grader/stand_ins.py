"""The grader's own versions of the graded names that other graded names build on.

While the replay (course_grader/replay.py) runs the test cell of one graded name, the other graded
names of its exercise whose tests have already run (or that have none there) are replaced by these,
so that one mistake costs its own points only: a wrong `linear` fails linear's test, and
`perceptron`, which calls it, is judged with a right one. Each computes what course_lib's reference
computes (tests/test_stand_ins.py compares them), from torch operators that no graded name forbids
(the replay bans the forbidden ones for the whole notebook), and each is self-contained.

The replay never imports this module: the grader sends it the source of the stand-ins a test may
use when that test starts (replay_client.py), and the sandbox hides this file
(exercises/nbgrader_config.py). So before a name's own test has run, no code of the replay's holds
the grader's version of it, for the notebook's code to find.
"""
from __future__ import annotations

import inspect

import torch

from course_lib.exercise_rules import GRADED_TOPIC


def linear(x, weight, bias=None):
    out = x @ weight.T
    return out if bias is None else out + bias


def perceptron(x, weight, bias):
    z = x @ weight.T + bias
    return (z > 0).to(z.dtype)


def sigmoid(z):
    e = torch.exp(-z.abs())
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))


def tanh(z):
    em1 = torch.expm1(-2 * z.abs())
    t = -em1 / (2 + em1)
    return torch.where(z >= 0, t, -t)


def binary_cross_entropy(prob, target):
    log_p, log_q = torch.log(prob).clamp(min=-100), torch.log(1 - prob).clamp(min=-100)
    return -(target * log_p + (1 - target) * log_q).mean()


def gd_step(w, grad, lr):
    return w - lr * grad


def conv_output_size(size, kernel_size, stride=1, padding=0):
    if kernel_size > size + 2 * padding:
        raise ValueError(f"kernel_size {kernel_size} does not fit in size {size} with padding {padding}")
    return (size + 2 * padding - kernel_size) // stride + 1


STAND_INS = {fn.__name__: fn for fn in (linear, perceptron, sigmoid, tanh, binary_cross_entropy, gd_step,
                                         conv_output_size)}


def mates(name: str) -> list[str]:
    """The names with a stand-in in name's exercise, name left out."""
    return [other for other in STAND_INS if other != name and GRADED_TOPIC.get(other) == GRADED_TOPIC.get(name)]


def lent_for(name: str, pending: set[str]) -> dict[str, str]:
    """{mate: its stand-in's source} for name's test: the mates whose own tests are not still to run."""
    return {mate: inspect.getsource(STAND_INS[mate]) for mate in mates(name) if mate not in pending}
