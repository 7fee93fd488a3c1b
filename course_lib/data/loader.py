"""TensorLoader: mini-batches sliced from tensors in memory, the fast path for CPU training."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from course_lib._checks import check_positive_int, check_tensor
from course_lib.i18n import _


class TensorLoader:
    """Mini-batches (X[idx], y[idx]) sliced from tensors in memory.  (N, *), (N, *) -> (B, *), (B, *)

    Iterates like a DataLoader over a TensorDataset, without its per-sample work: each epoch
    draws one permutation (if `shuffle`) and slices it into batches of `batch_size`, the last
    one smaller unless `drop_last`. `len(loader)` is the number of batches.

        loader = TensorLoader(X, y, batch_size=128, shuffle=True, generator=torch.Generator().manual_seed(0))
        for xb, yb in loader:  # a new order every epoch
            ...
    """

    def __init__(self, X: Tensor, y: Tensor, batch_size: int, shuffle: bool = False,
                 generator: torch.Generator | None = None, drop_last: bool = False):
        check_tensor("X", X, min_ndim=1)
        check_tensor("y", y, min_ndim=1)
        if X.shape[0] != y.shape[0]:
            raise ValueError(_("X and y must hold the same number of samples (first dimension), "
                               "got X of shape {x_shape} and y of shape {y_shape}",
                               x_shape=tuple(X.shape), y_shape=tuple(y.shape)))
        check_positive_int("batch_size", batch_size)
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(_("generator must be a torch.Generator or None, got {type}",
                              type=type(generator).__name__))
        self.X, self.y, self.batch_size = X, y, batch_size
        self.shuffle, self.generator, self.drop_last = shuffle, generator, drop_last
        self.dataset = torch.utils.data.TensorDataset(X, y)  # so len(loader.dataset) works

    def __len__(self) -> int:
        n = self.X.shape[0]
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = self.X.shape[0]
        order = torch.randperm(n, generator=self.generator) if self.shuffle else None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            if order is None:
                yield self.X[start:start + self.batch_size], self.y[start:start + self.batch_size]
            else:
                idx = order[start:start + self.batch_size].to(self.X.device)
                # index_select: the same gather as X[idx], about twice as fast on a CPU
                yield self.X.index_select(0, idx), self.y.index_select(0, idx)
