"""Activation functions and their derivatives, written to survive any finite input.

Without a nonlinearity between them, stacked linear layers collapse into one linear layer.
Each activation here comes with its derivative (`*_grad`), the factor backprop multiplies by:
where it is near zero (sigmoid and tanh far from 0, ReLU for z < 0) gradients vanish.

The naive formulas overflow: exp(1e4) is inf, and inf / inf is nan. The forms below only ever
call exp on arguments <= 0, which gives a number in (0, 1].
"""
from __future__ import annotations

import torch
from torch import Tensor

from course_lib._checks import check_real, check_tensor

__all__ = ["step", "sigmoid", "tanh", "relu", "leaky_relu", "softmax",
           "sigmoid_grad", "tanh_grad", "relu_grad", "leaky_relu_grad"]


def step(z: Tensor) -> Tensor:
    """1. where z > 0, else 0.  (*) -> (*)

    The perceptron's threshold. Its derivative is 0 almost everywhere, so gradient descent
    cannot learn through it: the reason smooth activations replaced it.
    """
    check_tensor("z", z, floating=True)
    return (z > 0).to(z.dtype)


def _minus_abs(z: Tensor) -> Tensor:
    # -|z| written with where, so autograd gives the slope of the branch taken at z == 0
    # (abs has gradient 0 there, which would make autograd through sigmoid wrong at 0).
    return torch.where(z >= 0, -z, z)


def sigmoid(z: Tensor) -> Tensor:
    """1 / (1 + exp(-z)).  (*) -> (*)

    For z >= 0 that formula is safe; for z < 0 exp(-z) can overflow, so use the equal form
    exp(z) / (1 + exp(z)) there. Both use e = exp(-|z|) in (0, 1].
    """
    check_tensor("z", z, floating=True)
    e = torch.exp(_minus_abs(z))
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))


def tanh(z: Tensor) -> Tensor:
    """(exp(z) - exp(-z)) / (exp(z) + exp(-z)).  (*) -> (*)

    tanh is odd, so compute tanh(|z|) = (1 - e) / (1 + e) with e = exp(-2|z|) in (0, 1] and put
    the sign back. 1 - e written as -expm1(-2|z|) keeps full precision for tiny z, where e is
    so close to 1 that the subtraction would cancel every digit.
    """
    check_tensor("z", z, floating=True)
    em1 = torch.expm1(2 * _minus_abs(z))  # e - 1, in (-1, 0]
    t = -em1 / (2 + em1)                   # tanh(|z|)
    return torch.where(z >= 0, t, -t)


def relu(z: Tensor) -> Tensor:
    """max(z, 0).  (*) -> (*)

    Written as where(z <= 0, 0, z) so a nan input stays nan, as in torch.relu.
    """
    check_tensor("z", z, floating=True)
    return torch.where(z <= 0, 0.0, z)


def leaky_relu(z: Tensor, negative_slope: float = 0.01) -> Tensor:
    """z where z > 0, else negative_slope * z.  (*) -> (*)

    The small slope for z < 0 keeps a gradient flowing where ReLU would give exactly 0.
    """
    check_tensor("z", z, floating=True)
    check_real("negative_slope", negative_slope)
    return torch.where(z > 0, z, negative_slope * z)


def softmax(z: Tensor, dim: int = -1) -> Tensor:
    """exp(z) / sum(exp(z)) along dim.  (*) -> (*)

    Subtracting the max along dim first changes nothing mathematically (the factor exp(-max)
    cancels) and keeps every exp argument <= 0. Like F.softmax, a slice that is all -inf has no
    meaningful answer and gives nan; entries of -inf beside finite ones give exactly 0.
    """
    check_tensor("z", z, floating=True)
    if z.numel() == 0:
        return z.clone()  # nothing to normalize, and amax refuses an empty dimension
    # The shift is a constant for the result, so no gradient needs to flow through it.
    e = (z - z.amax(dim=dim, keepdim=True).detach()).exp_()
    # exp_ (and div_ below) reuse the buffer the subtraction made: on a large batch, allocating
    # fresh (N, C) buffers costs more than the arithmetic. The backward pass of exp needs its
    # result intact, so divide in place only when no gradient is recorded.
    if torch.is_grad_enabled() and e.requires_grad:
        return e / e.sum(dim=dim, keepdim=True)
    return e.div_(e.sum(dim=dim, keepdim=True))


def sigmoid_grad(z: Tensor) -> Tensor:
    """d sigmoid / dz = s * (1 - s), s = sigmoid(z).  (*) -> (*)

    At most 1/4 (at z = 0): every sigmoid layer shrinks the gradient by at least 4x.
    """
    s = sigmoid(z)
    return s * (1 - s)


def tanh_grad(z: Tensor) -> Tensor:
    """d tanh / dz = 1 - tanh(z)^2.  (*) -> (*)

    1 at z = 0, and close to 0 once |z| is more than a few: tanh saturates.
    """
    t = tanh(z)
    return 1 - t * t


def relu_grad(z: Tensor) -> Tensor:
    """1. where z > 0, else 0.  (*) -> (*)

    ReLU has no derivative at exactly 0; like autograd, we take 0 there.
    """
    check_tensor("z", z, floating=True)
    return (z > 0).to(z.dtype)


def leaky_relu_grad(z: Tensor, negative_slope: float = 0.01) -> Tensor:
    """1. where z > 0, else negative_slope.  (*) -> (*)

    At exactly 0 this is negative_slope, the value autograd gives for F.leaky_relu.
    """
    check_tensor("z", z, floating=True)
    check_real("negative_slope", negative_slope)
    return torch.where(z > 0, 1.0, torch.full_like(z, negative_slope))
