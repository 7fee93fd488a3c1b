"""The artificial neuron: a weighted sum plus a bias, then a decision.

`linear` is the computation inside every `nn.Linear`; `perceptron` puts a hard threshold on it.
One perceptron can draw one straight line through its inputs, which is enough for AND, OR and
NAND but not for XOR: that needs a second layer (`xor_network`). `perceptron_train` is
Rosenblatt's learning rule, which finds such a line whenever one exists.
"""
from __future__ import annotations

import torch
from torch import Tensor

from course_lib._checks import check_positive, check_positive_int, check_same_dtype, check_tensor
from course_lib.i18n import _

__all__ = ["linear", "perceptron", "logic_gate_weights", "perceptron_train", "xor_network"]

# weight (1, 2) and bias (1,) of each gate: the line w . x + b = 0 leaves the inputs that should
# give 1 on its positive side. AND needs both inputs on (1 + 1 - 1.5 > 0), OR needs one.
_GATES = {
    "AND": ([[1.0, 1.0]], [-1.5]),
    "OR": ([[1.0, 1.0]], [-0.5]),
    "NAND": ([[-1.0, -1.0]], [1.5]),
}


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias.  (*, in), (out, in), (out,) -> (*, out)

    Each output is one neuron: the weighted sum of all inputs (one row of weight) plus its bias.
    This is exactly `F.linear`, the function behind `nn.Linear`; bias=None leaves it out.
    """
    check_tensor("x", x, min_ndim=1, floating=True)
    check_tensor("weight", weight, ndim=2, floating=True)
    check_same_dtype("x", x, "weight", weight)
    out_features, in_features = weight.shape
    if x.shape[-1] != in_features:
        raise ValueError(_("x has {features} features in its last dimension but weight expects "
                           "in_features={in_features}: x of shape {x_shape}, weight of shape "
                           "{weight_shape} (out_features, in_features)", features=x.shape[-1],
                           in_features=in_features, x_shape=tuple(x.shape), weight_shape=tuple(weight.shape)))
    y = x @ weight.T
    if bias is None:
        return y
    check_tensor("bias", bias, ndim=1, floating=True)
    check_same_dtype("x", x, "bias", bias)
    if bias.shape[0] != out_features:
        raise ValueError(_("bias must have shape ({out_features},) to match weight of shape "
                           "{weight_shape}, got {shape}", out_features=out_features,
                           weight_shape=tuple(weight.shape), shape=tuple(bias.shape)))
    return y + bias


def perceptron(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """step(x @ weight.T + bias) as 0. or 1.  (*, in), (out, in), (out,) -> (*, out)

    1. where the weighted sum is > 0, else 0 (also at exactly 0). The output has x's float
    dtype, so it can feed the next layer of perceptrons.
    """
    z = linear(x, weight, bias)
    # The same threshold as activations.step (z == 0 gives 0), written here because neurons
    # comes before activations in the course.
    return (z > 0).to(z.dtype)


def logic_gate_weights(gate: str) -> tuple[Tensor, Tensor]:
    """(weight, bias) of shapes (1, 2) and (1,) for a perceptron computing gate on {0, 1}^2.

    gate is "AND", "OR" or "NAND" (any case). XOR is refused: no single line separates
    {(0, 1), (1, 0)} from {(0, 0), (1, 1)}, so one perceptron cannot compute it.
    """
    if not isinstance(gate, str):
        raise TypeError(_("gate must be a string such as 'AND', got {type} {value}",
                          type=type(gate).__name__, value=repr(gate)))
    name = gate.upper()
    if name == "XOR":
        raise ValueError(_("XOR is not linearly separable: no single line puts (0, 1) and (1, 0) on "
                           "one side and (0, 0) and (1, 1) on the other, so one perceptron cannot "
                           "compute it. It needs a hidden layer: see xor_network()"))
    if name not in _GATES:
        raise ValueError(_("unknown gate {gate}; expected one of {choices}", gate=repr(gate),
                           choices=", ".join(_GATES)))
    weight, bias = _GATES[name]
    return torch.tensor(weight), torch.tensor(bias)


def perceptron_train(X: Tensor, y: Tensor, lr: float = 1.0,
                     epochs: int = 100) -> tuple[Tensor, Tensor]:
    """Perceptron rule on labels in {0, 1}.  X (N, F), y (N,) -> weight (1, F), bias (1,)

    Start from zero weights; visit the samples in order and after each prediction
    y_hat = perceptron(x_i) update
        weight += lr * (y_i - y_hat) * x_i,    bias += lr * (y_i - y_hat)
    so only mistakes move the line. Stop after the first epoch without a mistake, or after
    `epochs` passes. If a separating line exists this stops with every sample right
    (the perceptron convergence theorem), given enough epochs; on data like XOR it never does,
    and the last weights are returned. The result has X's dtype.
    """
    check_tensor("X", X, ndim=2, floating=True)
    check_tensor("y", y, ndim=1)
    check_positive("lr", lr)
    check_positive_int("epochs", epochs, allow_zero=True)
    if y.shape[0] != X.shape[0]:
        raise ValueError(_("y must have one label per row of X: X of shape {x_shape} "
                           "needs y of shape ({n},), got {y_shape}", x_shape=tuple(X.shape), n=X.shape[0],
                           y_shape=tuple(y.shape)))
    if not ((y == 0) | (y == 1)).all():
        raise ValueError(_("labels y must be 0 or 1, found {found}", found=sorted(set(y.tolist()) - {0, 1})[:5]))
    weight = torch.zeros(1, X.shape[1], dtype=X.dtype)
    bias = torch.zeros(1, dtype=X.dtype)
    targets = y.to(X.dtype)
    for _epoch in range(epochs):
        mistakes = 0
        for x_i, y_i in zip(X, targets):
            error = y_i - perceptron(x_i, weight, bias)  # (1,): 0 when right, +1 or -1 when wrong
            if error.item() != 0:
                weight = weight + lr * error * x_i
                bias = bias + lr * error
                mistakes += 1
        if mistakes == 0:
            break
    return weight, bias


def xor_network() -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """((W1, b1), (W2, b2)) of a 2-2-1 perceptron network computing XOR on {0, 1}^2.

    Shapes (2, 2), (2,), (1, 2), (1,). The hidden layer computes OR and NAND; the output
    ANDs them: x1 XOR x2 = (x1 OR x2) AND NOT (x1 AND x2). Use it as
        perceptron(perceptron(x, W1, b1), W2, b2)
    """
    w_or, b_or = logic_gate_weights("OR")
    w_nand, b_nand = logic_gate_weights("NAND")
    hidden = (torch.cat([w_or, w_nand]), torch.cat([b_or, b_nand]))
    return hidden, logic_gate_weights("AND")
