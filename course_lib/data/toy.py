"""Toy data sets made in code. Each depends only on `seed`: it builds its own `torch.Generator`,
so the global random state is left alone."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from course_lib._checks import check_in_range, check_positive_int
from course_lib.i18n import _


def _generator(n: int, noise: float, seed: int, noise_name: str = "noise") -> torch.Generator:
    check_positive_int("n", n)
    check_in_range(noise_name, noise, 0.0, math.inf)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(_("seed must be an int, got {type} {value}", type=type(seed).__name__, value=repr(seed)))
    return torch.Generator().manual_seed(seed)


def _shuffled(X: Tensor, y: Tensor, g: torch.Generator) -> tuple[Tensor, Tensor]:
    order = torch.randperm(len(y), generator=g)
    return X[order].float(), y[order]


def xor(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Points around the corners of the unit square, label a XOR b.  -> X (N, 2) float32, y (N,) int64

    No single line separates the classes: the reason an MLP needs a hidden layer.
    """
    g = _generator(n, noise, seed)
    corners = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    which = torch.arange(n) % 4  # equal numbers per corner
    X = corners[which] + noise * torch.randn(n, 2, generator=g)
    return _shuffled(X, torch.tensor([0, 1, 1, 0])[which], g)


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Two interleaving half circles (as sklearn's make_moons).  -> X (N, 2) float32, y (N,) int64"""
    g = _generator(n, noise, seed)
    y = (torch.arange(n) >= (n + 1) // 2).long()  # first half class 0, rest class 1
    t = torch.rand(n, generator=g) * math.pi
    upper = torch.stack([t.cos(), t.sin()], dim=1)
    lower = torch.stack([1 - t.cos(), 0.5 - t.sin()], dim=1)
    X = torch.where(y[:, None] == 0, upper, lower) + noise * torch.randn(n, 2, generator=g)
    return _shuffled(X, y, g)


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> tuple[Tensor, Tensor]:
    """`classes` spiral arms winding out of the origin (CS231n).  -> X (N, 2) float32, y (N,) int64"""
    g = _generator(n, noise, seed)
    check_positive_int("classes", classes)
    y = torch.arange(n) % classes
    r = torch.rand(n, generator=g)  # radius in [0, 1)
    # each arm turns through 4 radians as r grows; noise jitters the angle
    theta = 4.0 * (y + r) + noise * torch.randn(n, generator=g)
    return _shuffled(torch.stack([r * theta.sin(), r * theta.cos()], dim=1), y, g)


def blobs(n: int = 200, centers: int = 2, std: float = 0.4, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Gaussian clouds around `centers` points on a circle of radius 2.  -> X (N, 2), y (N,) int64

    Two centers lie 4 apart, ten standard deviations: the classes are linearly separable.
    """
    g = _generator(n, std, seed, "std")
    check_positive_int("centers", centers)
    y = torch.arange(n) % centers
    angle = math.pi / 4 + 2 * math.pi * y / centers  # the first two lie on the diagonal
    mean = 2.0 * torch.stack([angle.cos(), angle.sin()], dim=1)
    return _shuffled(mean + std * torch.randn(n, 2, generator=g), y, g)


def noisy_line(n: int = 50, slope: float = 2.0, intercept: float = -1.0, noise: float = 0.5,
               seed: int = 0) -> tuple[Tensor, Tensor]:
    """x uniform in [-1, 1], y = slope * x + intercept + noise * N(0, 1).  -> x (N,), y (N,) float32

    For `nn.Linear(1, 1)` make x a column first: `x.unsqueeze(1)` has shape (N, 1).
    """
    return noisy_polynomial(n, (intercept, slope), noise, seed)


def noisy_polynomial(n: int = 30, coeffs: tuple[float, ...] = (1.0, -2.0, 0.0, 3.0), noise: float = 0.2,
                     seed: int = 0) -> tuple[Tensor, Tensor]:
    """x uniform in [-1, 1], y = sum_k coeffs[k] * x**k + noise * N(0, 1).  -> x (N,), y (N,) float32

    coeffs run from the constant term up: the default is 1 - 2x + 3x^3.
    """
    g = _generator(n, noise, seed)
    if len(coeffs) == 0:
        raise ValueError(_("coeffs must hold at least one coefficient (the constant term)"))
    x = 2 * torch.rand(n, generator=g, dtype=torch.float64) - 1
    y = sum(c * x**k for k, c in enumerate(coeffs))
    y = y + noise * torch.randn(n, generator=g, dtype=torch.float64)
    return x.float(), y.float()
