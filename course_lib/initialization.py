"""Weight initialization: the scale of the random starting weights.

A layer y = x @ W.T with fan_in inputs adds fan_in products, so the variance of y is about
fan_in * Var(W) * E[x^2]. The schemes below pick Var(W) so that this stays the same layer after
layer (forward) or so that gradients keep their size (backward):

    xavier_*  (Glorot & Bengio, 2010)  Var(W) = gain^2 * 2 / (fan_in + fan_out)
    kaiming_* (He et al., 2015)        Var(W) = gain^2 / fan   (fan_in or fan_out; ReLU: gain^2 = 2)
    linear_default                     nn.Linear's own: U(-1/sqrt(fan_in), 1/sqrt(fan_in))

Each function returns a new tensor and draws from `generator`, in the same order as its twin in
torch.nn.init, so the same seed gives the same numbers.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from course_lib._checks import check_positive, check_real, check_tensor
from course_lib.i18n import _

__all__ = ["fan_in_and_fan_out", "calculate_gain", "xavier_uniform", "xavier_normal",
           "kaiming_uniform", "kaiming_normal", "linear_default", "norms_through_depth"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid")


def fan_in_and_fan_out(shape: Sequence[int]) -> tuple[int, int]:
    """(inputs, outputs) per neuron of a weight of shape (out, in, *kernel).

    A linear layer's weight (out, in) has fan_in = in, fan_out = out; a convolution's
    (C_out, C_in, kH, kW) has fan_in = C_in * kH * kW and fan_out = C_out * kH * kW.
    """
    shape = tuple(shape)
    if len(shape) < 2 or not all(isinstance(n, int) and n > 0 for n in shape):
        raise ValueError(_("a weight shape must have at least 2 positive sizes (out, in, *kernel), got {shape}",
                           shape=shape))
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def calculate_gain(nonlinearity: str, negative_slope: float | None = None) -> float:
    """The factor by which to scale the standard deviation for this activation (torch's table).

    1 for linear layers and sigmoid, 5/3 for tanh, sqrt(2) for ReLU (it zeroes half its inputs,
    halving E[x^2]), sqrt(2 / (1 + slope^2)) for leaky ReLU (slope 0.01 unless given).
    """
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if negative_slope is None else negative_slope
        check_real("negative_slope", slope)
        return math.sqrt(2.0 / (1 + slope**2))
    raise ValueError(_("unknown nonlinearity {nonlinearity}; expected one of {linear}, tanh, relu, leaky_relu",
                       nonlinearity=repr(nonlinearity), linear=", ".join(_LINEAR)))


def _empty(shape: Sequence[int], dtype: torch.dtype) -> Tensor:
    if not dtype.is_floating_point:
        raise TypeError(_("dtype must be a floating dtype such as torch.float32, got {dtype}", dtype=dtype))
    return torch.empty(tuple(shape), dtype=dtype)


def xavier_uniform(shape: Sequence[int], gain: float = 1.0, generator: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float32) -> Tensor:
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).  shape (out, in, *kernel)

    Variance b^2 / 3 = gain^2 * 2 / (fan_in + fan_out): Glorot's compromise between keeping
    activations (fan_in) and gradients (fan_out) the same size. torch.nn.init.xavier_uniform_.
    """
    fan_in, fan_out = fan_in_and_fan_out(shape)
    check_positive("gain", gain)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _empty(shape, dtype).uniform_(-bound, bound, generator=generator)


def xavier_normal(shape: Sequence[int], gain: float = 1.0, generator: torch.Generator | None = None,
                  dtype: torch.dtype = torch.float32) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).  torch.nn.init.xavier_normal_."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    check_positive("gain", gain)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _empty(shape, dtype).normal_(0.0, std, generator=generator)


def _kaiming_std(shape: Sequence[int], a: float, mode: str, nonlinearity: str) -> float:
    fan_in, fan_out = fan_in_and_fan_out(shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(_("mode must be 'fan_in' or 'fan_out', got {mode}", mode=repr(mode)))
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_normal(shape: Sequence[int], a: float = 0.0, mode: str = "fan_in",
                   nonlinearity: str = "leaky_relu", generator: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float32) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan), He's init.  torch.nn.init.kaiming_normal_.

    For ReLU (or leaky ReLU with a = 0, the default) std^2 = 2 / fan_in: ReLU zeroes half of
    its inputs, and the 2 makes up for it, so activations keep their size through depth.
    """
    std = _kaiming_std(shape, a, mode, nonlinearity)
    return _empty(shape, dtype).normal_(0.0, std, generator=generator)


def kaiming_uniform(shape: Sequence[int], a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: torch.Generator | None = None,
                    dtype: torch.dtype = torch.float32) -> Tensor:
    """U(-b, b) with b = sqrt(3) * gain / sqrt(fan), the same variance as kaiming_normal.

    torch.nn.init.kaiming_uniform_. nn.Linear and nn.Conv2d call it with a = sqrt(5), which makes
    gain^2 = 2 / 6 and b = 1 / sqrt(fan_in): see linear_default.
    """
    bound = math.sqrt(3.0) * _kaiming_std(shape, a, mode, nonlinearity)
    return _empty(shape, dtype).uniform_(-bound, bound, generator=generator)


def linear_default(in_features: int, out_features: int, generator: torch.Generator | None = None,
                   dtype: torch.dtype = torch.float32) -> tuple[Tensor, Tensor]:
    """(weight (out, in), bias (out,)), both U(-1/sqrt(in), 1/sqrt(in)): nn.Linear's default.

    Its variance 1 / (3 * fan_in) is a sixth of He's 2 / fan_in, so in a deep ReLU stack of
    default layers without normalization the activations shrink by about sqrt(6) per layer.
    """
    weight = kaiming_uniform((out_features, in_features), a=math.sqrt(5), generator=generator,
                             dtype=dtype)
    bound = 1 / math.sqrt(in_features)
    bias = _empty((out_features,), dtype).uniform_(-bound, bound, generator=generator)
    return weight, bias


def norms_through_depth(x: Tensor, weights: Sequence[Tensor],
                        activation: Callable[[Tensor], Tensor]) -> tuple[list[float], list[float]]:
    """Forward x (N, D) through h <- activation(h @ W.T) for each W (D, D); backward from sum(h_L).

    Returns (activation RMS per layer, gradient norm per layer), layer 1 first: the size of the
    signal going forward and of the gradient that reaches each layer's output going backward.
    """
    check_tensor("x", x, ndim=2, floating=True)
    h, outputs = x.detach().requires_grad_(), []  # a graph to differentiate, whatever W is
    for k, W in enumerate(weights):
        check_tensor(f"weights[{k}]", W, ndim=2, floating=True)
        if W.shape[1] != h.shape[1]:
            raise ValueError(_("weights[{k}] has shape {shape}, but its input has "
                               "{features} features: expected ({features} outputs, ...) before it",
                               k=k, shape=tuple(W.shape), features=h.shape[1]))
        h = activation(h @ W.T)
        outputs.append(h)
    if not outputs:
        raise ValueError(_("weights is empty: pass at least one layer"))
    grads = torch.autograd.grad(h.sum(), outputs)
    rms = [out.detach().pow(2).mean().sqrt().item() for out in outputs]
    return rms, [g.norm().item() for g in grads]
