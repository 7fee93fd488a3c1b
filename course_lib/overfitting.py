"""Fighting overfitting: penalties, dropout, early stopping, validation splits, augmentation.

Also the polynomial-fitting helpers of the capacity lesson: a degree-15 polynomial through ten
noisy points fits them perfectly and everything between them badly; a ridge penalty tames it.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

import torch
from torch import Tensor

from course_lib._checks import (check_in_range, check_positive, check_positive_int, check_real,
                               check_same_shape, check_tensor)
from course_lib.i18n import _


def _checked_params(params: Iterable[Tensor]) -> list[Tensor]:
    params = list(params)  # model.parameters() is a generator: it can be walked only once
    if not params:
        raise ValueError(_("params is empty; note that a generator such as model.parameters() "
                           "is used up after one pass: call model.parameters() again"))
    for i, p in enumerate(params):
        check_tensor(f"params[{i}]", p, floating=True)
    return params


def l1_penalty(params: Iterable[Tensor], lam: float) -> Tensor:
    """lam * sum over all parameters of sum |p|.  iterable of tensors -> scalar

    Add it to the loss. Its gradient lam * sign(p) has the same size for small and large
    weights, so it pushes small weights all the way to zero: L1 gives sparse models.
    """
    lam = check_positive("lam", lam, allow_zero=True)
    return lam * sum(p.abs().sum() for p in _checked_params(params))


def l2_penalty(params: Iterable[Tensor], lam: float) -> Tensor:
    """lam * sum over all parameters of sum p**2.  iterable of tensors -> scalar

    Its gradient 2 * lam * p shrinks every weight in proportion to its size; SGD's
    `weight_decay=wd` applies the gradient of this penalty with lam = wd / 2.
    """
    lam = check_positive("lam", lam, allow_zero=True)
    return lam * sum((p * p).sum() for p in _checked_params(params))


def dropout(x: Tensor, p: float, training: bool = True,
            generator: torch.Generator | None = None) -> Tensor:
    """Zero each element with probability p, scale survivors by 1 / (1 - p).  (*) -> (*)

    The scaling ("inverted" dropout) keeps the expected value of every element unchanged, so
    at evaluation time the network is used as is. Like F.dropout, x itself is returned when
    not training or when p == 0; p == 1 gives all zeros.
    """
    check_tensor("x", x, floating=True)
    check_in_range("p", p, 0.0, 1.0)
    if not training or p == 0:
        return x
    if p == 1:
        return x * torch.zeros((), dtype=x.dtype, device=x.device)  # 1 / (1 - p) would be inf
    keep = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) >= p
    return x * (keep.to(x.dtype) / (1 - p))


class EarlyStopping:
    """Stop training once the validation loss has not improved for `patience` epochs in a row.

    Call `step(val_loss)` once per epoch; it returns True when it is time to stop. A loss
    counts as an improvement only if val_loss < best_loss - min_delta. A nan loss never
    improves (nan < anything is False), so a diverged run stops after `patience` calls.
    Keep the weights of `best_epoch` (e.g. a copy of model.state_dict()) to restore them.
    """

    def __init__(self, patience: int = 3, min_delta: float = 0.0):
        self.patience = check_positive_int("patience", patience)
        self.min_delta = float(check_positive("min_delta", min_delta, allow_zero=True))
        self.best_loss = math.inf
        self.best_epoch = -1  # no step yet
        self.bad_epochs = 0  # calls in a row without improvement
        self.epoch = 0  # number of step calls so far

    def step(self, val_loss: float | Tensor) -> bool:
        if isinstance(val_loss, Tensor):
            if val_loss.numel() != 1:
                raise ValueError(_("val_loss must be a single number, got a tensor of shape {shape}",
                                   shape=tuple(val_loss.shape)))
            val_loss = val_loss.item()
        else:
            check_real("val_loss", val_loss)
        val_loss = float(val_loss)
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
        else:
            self.bad_epochs += 1
        self.epoch += 1
        return self.bad_epochs >= self.patience


def train_val_split(n: int, val_fraction: float, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Shuffle range(n) and cut it in two.  -> (train_idx (n - n_val,), val_idx (n_val,)), int64

    n_val = int(n * val_fraction). Index your data with the results: x[train_idx], x[val_idx].
    """
    check_positive_int("n", n, allow_zero=True)
    check_in_range("val_fraction", val_fraction, 0.0, 1.0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(_("seed must be an int, got {type} {value}", type=type(seed).__name__, value=repr(seed)))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = int(n * val_fraction)
    return perm[n_val:], perm[:n_val]


def polynomial_features(x: Tensor, degree: int) -> Tensor:
    """Powers x**0, x**1, ..., x**degree as columns.  (N,) -> (N, degree + 1)

    Keep x within [-1, 1]: elsewhere high powers span many orders of magnitude and the fit
    becomes numerically ill-conditioned.
    """
    check_tensor("x", x, ndim=1, floating=True)
    check_positive_int("degree", degree, allow_zero=True)
    return x.unsqueeze(1) ** torch.arange(degree + 1, device=x.device)  # (N, 1) ** (D+1,)


def fit_polynomial(x: Tensor, y: Tensor, degree: int, l2: float = 0.0) -> Tensor:
    """w minimising |X w - y|**2 + l2 * |w[1:]|**2, X = polynomial_features(x, degree).  (N,), (N,) -> (degree + 1,)

    Closed form: w = (X^T X + l2 D)^-1 X^T y with D = diag(0, 1, ..., 1). The constant term is
    not penalised, so a huge l2 gives the flat line at mean(y), not at 0. We solve the
    equivalent stacked system [X; sqrt(l2) D] w = [y; 0] by least squares, which stays
    accurate when X^T X is nearly singular. Returns float64 (lowest power first), since the
    large alternating coefficients of an overfit polynomial lose too much in float32;
    predict with polynomial_features(x.double(), degree) @ w.
    """
    check_tensor("x", x, ndim=1, floating=True)
    check_tensor("y", y, ndim=1, floating=True)
    check_same_shape("x", x, "y", y)
    check_positive_int("degree", degree, allow_zero=True)
    l2 = check_positive("l2", l2, allow_zero=True)
    X = polynomial_features(x.double(), degree)  # (N, D+1)
    penalty = math.sqrt(l2) * torch.eye(degree + 1, dtype=torch.float64, device=x.device)[1:]  # (D, D+1)
    A = torch.cat([X, penalty])  # (N + D, D+1)
    b = torch.cat([y.double(), torch.zeros(degree, dtype=torch.float64, device=x.device)])
    # gelsd handles rank deficiency (fewer points than coefficients) with the minimum-norm solution
    return torch.linalg.lstsq(A, b.unsqueeze(1), driver="gelsd").solution.squeeze(1)


def augment_shift(images: Tensor, max_shift: int, generator: torch.Generator | None = None) -> Tensor:
    """Translate each image by up to max_shift pixels, zero-filled.  (N, C, H, W) -> (N, C, H, W)

    Each image gets its own random shift (dy, dx), both in [-max_shift, max_shift]. A digit
    moved by a pixel or two is still the same digit, so shifted copies are free extra training
    data. We pad by max_shift on every side, then cut an H x W window out of each padded image
    at its own offset.
    """
    check_tensor("images", images, ndim=4)
    s = check_positive_int("max_shift", max_shift, allow_zero=True)
    N, C, H, W = images.shape
    padded = images.new_zeros(N, C, H + 2 * s, W + 2 * s)
    padded[:, :, s:s + H, s:s + W] = images
    dy, dx = torch.randint(-s, s + 1, (2, N), generator=generator, device=images.device)
    # output pixel (i, j) comes from input pixel (i - dy, j - dx) = padded pixel (i - dy + s, j - dx + s)
    rows = (s - dy)[:, None] + torch.arange(H, device=images.device)  # (N, H)
    cols = (s - dx)[:, None] + torch.arange(W, device=images.device)  # (N, W)
    n = torch.arange(N, device=images.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[n, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()
