"""The grader's own versions of the graded names that other graded names build on.

While the replay (course_grader/replay.py) runs the test cell of one graded name, every other
graded name of the notebook that has a stand-in here is replaced by it, so that one mistake costs
its own points only: a wrong `linear` fails linear's test, and `perceptron`, which calls it,
is judged with a right one. Each stand-in computes what course_lib's reference computes
(tests/test_stand_ins.py compares them), from torch operators that no graded name forbids, since
the replay bans the forbidden ones for the whole notebook. course_lib's references cannot serve:
the sandbox hides them from the replay.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from course_lib.exercise_rules import GRADED_TOPIC

def _nothing_tested() -> str | None:
    return None


_tested = _nothing_tested  # the replay's: the graded name whose test runs (serve_in)


def serve_in(tested: Callable[[], str | None]) -> None:
    """Ask `tested()` which name's test runs: a stand-in refuses to serve in the test of its own name."""
    global _tested
    _tested = tested


def _serving(name: str) -> None:
    # In each function itself, not in a wrapper whose closure would hand out one that does not refuse
    if _tested() == name:
        raise RuntimeError(f"{name} calls the grader's own {name}: write it yourself")


def linear(x, weight, bias=None):
    _serving("linear")
    out = x @ weight.T
    return out if bias is None else out + bias


def perceptron(x, weight, bias):
    _serving("perceptron")
    z = linear(x, weight, bias)
    return (z > 0).to(z.dtype)


def sigmoid(z):
    _serving("sigmoid")
    e = torch.exp(-z.abs())
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))


def tanh(z):
    _serving("tanh")
    em1 = torch.expm1(-2 * z.abs())
    t = -em1 / (2 + em1)
    return torch.where(z >= 0, t, -t)


def binary_cross_entropy(prob, target):
    _serving("binary_cross_entropy")
    log_p, log_q = torch.log(prob).clamp(min=-100), torch.log(1 - prob).clamp(min=-100)
    return -(target * log_p + (1 - target) * log_q).mean()


def gd_step(w, grad, lr):
    _serving("gd_step")
    return w - lr * grad


def conv_output_size(size, kernel_size, stride=1, padding=0):
    _serving("conv_output_size")
    if kernel_size > size + 2 * padding:
        raise ValueError(f"kernel_size {kernel_size} does not fit in size {size} with padding {padding}")
    return (size + 2 * padding - kernel_size) // stride + 1


STAND_INS = {fn.__name__: fn for fn in (linear, perceptron, sigmoid, tanh, binary_cross_entropy, gd_step,
                                         conv_output_size)}


def mates(name: str, topic_of: dict[str, str] = GRADED_TOPIC) -> list[str]:
    """The names whose stand-ins serve while name's test cell runs: the others of its exercise."""
    return [other for other in STAND_INS if other != name and topic_of.get(other) == topic_of.get(name)]
