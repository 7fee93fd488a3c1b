"""Multilayer perceptrons and the training loop that fits them.

An MLP is a stack of `nn.Linear` layers with a ReLU between each pair: without the ReLU the stack
would collapse into one linear map and could never solve XOR. `train_one_epoch` and
`evaluate_accuracy` are the two loops every later lesson reuses; a "loader" is anything you can
iterate over to get `(x, y)` batches: a `DataLoader`, a list of tuples, `course_lib.data.TensorLoader`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

from course_lib._checks import check_positive_int, check_tensor
from course_lib.i18n import _


class MLP(nn.Module):
    """Linear -> ReLU -> ... -> Linear, returning logits.  (N, in_features) -> (N, out_features)

    `hidden_sizes` lists the width of each hidden layer; `MLP(2, [8, 8], 2)` is
    Linear(2, 8), ReLU, Linear(8, 8), ReLU, Linear(8, 2). An empty list gives one Linear layer
    (logistic/softmax regression). There is no activation after the last layer: the loss
    (e.g. `nn.CrossEntropyLoss`) works on raw logits.
    """

    def __init__(self, in_features: int, hidden_sizes: Sequence[int], out_features: int):
        super().__init__()
        check_positive_int("in_features", in_features)
        check_positive_int("out_features", out_features)
        if isinstance(hidden_sizes, (str, bytes)) or not isinstance(hidden_sizes, Sequence):
            raise TypeError(_("hidden_sizes must be a list of layer widths such as [64, 32] "
                              "(or [] for no hidden layer), got {type} {value}",
                              type=type(hidden_sizes).__name__, value=repr(hidden_sizes)))
        for i, width in enumerate(hidden_sizes):
            check_positive_int(f"hidden_sizes[{i}]", width)
        self.in_features = in_features
        self.hidden_sizes = tuple(hidden_sizes)
        self.out_features = out_features

        sizes = [in_features, *hidden_sizes, out_features]
        layers: list[nn.Module] = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i > 0:
                layers.append(nn.ReLU())
            layers.append(nn.Linear(fan_in, fan_out))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        check_tensor("x", x, floating=True)
        expected = f"(N, {self.in_features})"
        if x.dim() != 2 or x.shape[1] != self.in_features:
            fix = ""
            if x.dim() > 2 and math.prod(x.shape[1:]) == self.in_features:
                fix = _("; flatten them first: x.flatten(1)")
            elif x.dim() == 1 and x.shape[0] == self.in_features:
                fix = _("; for a single example add a batch dimension: x.unsqueeze(0)")
            raise ValueError(_("MLP expects x of shape {expected} (in_features={in_features}), got shape {shape}",
                               expected=expected, in_features=self.in_features, shape=tuple(x.shape)) + fix)
        weight_dtype = self.layers[0].weight.dtype
        if x.dtype != weight_dtype:
            raise TypeError(_("x has dtype {dtype} but the MLP's weights are {weight_dtype}; "
                              "convert one of them, e.g. x.to({weight_dtype})", dtype=x.dtype,
                              weight_dtype=weight_dtype))
        return self.layers(x)


def _unpack(batch: object) -> tuple[Tensor, Tensor]:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        if isinstance(batch, (tuple, list)):
            raise TypeError(_("each batch from the loader must be a pair (x, y), got {type} of length {length}",
                              type=type(batch).__name__, length=len(batch)))
        raise TypeError(_("each batch from the loader must be a pair (x, y), got {type}", type=type(batch).__name__))
    x, y = batch
    return check_tensor(_("x (from the loader)"), x), check_tensor(_("y (from the loader)"), y)


def train_one_epoch(model: nn.Module, loader: Iterable, loss_fn: Callable[[Tensor, Tensor], Tensor],
                    optimizer: torch.optim.Optimizer) -> float:
    """One pass over loader: zero_grad, forward, loss, backward, step.  Returns the mean loss per sample.

    `loss_fn` must return the mean over the batch (PyTorch's default). A mean over a batch of 10
    says less than a mean over a batch of 100, so each batch loss is weighted by its size: with
    a smaller last batch the result is still the average over every sample seen, not the
    average of the batch means.
    """
    model.train()
    total, count = 0.0, 0
    for batch in loader:
        x, y = _unpack(batch)
        optimizer.zero_grad()  # gradients accumulate in .grad until cleared
        loss = loss_fn(model(x), y)
        if not isinstance(loss, Tensor) or loss.dim() != 0:
            shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
            raise ValueError(_("loss_fn must return a scalar tensor (the mean over the batch), got "
                               "{shape}; use reduction='mean'", shape=shape))
        loss.backward()
        optimizer.step()
        total += loss.item() * x.shape[0]
        count += x.shape[0]
    if count == 0:
        raise ValueError(_("the loader yielded no samples, so there is no average loss; "
                           "is the dataset empty, or a one-shot iterator already used up?"))
    return total / count


def _predictions(logits: Tensor) -> Tensor:
    """Predicted class per row.  (N, C) -> (N,); one logit per row means class 1 where logit > 0."""
    if logits.dim() == 1 or logits.shape[-1] == 1:
        return (logits.reshape(-1) > 0).long()
    return logits.argmax(dim=1)


def evaluate_accuracy(model: nn.Module, loader: Iterable) -> float:
    """Fraction of samples whose predicted class (argmax of the logits) equals the label, in [0, 1].

    Runs in eval mode (dropout off, batch norm uses running statistics) and under
    torch.no_grad() (no graph is built, which saves memory). The train/eval mode of every
    submodule is put back afterwards, even if an exception interrupts the loop.
    Labels are class indices (N,); a model with a single output logit is read as binary
    (class 1 where the logit is positive) and then labels may also be 0./1. floats.
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        correct, count = 0, 0
        with torch.no_grad():
            for batch in loader:
                x, y = _unpack(batch)
                pred = _predictions(model(x))
                if y.numel() != pred.shape[0]:
                    raise ValueError(_("y must hold one label per sample, shape ({n},), got shape {shape}",
                                       n=pred.shape[0], shape=tuple(y.shape)))
                correct += (pred == y.reshape(-1)).sum().item()
                count += pred.shape[0]
    finally:
        for module, was_training in modes:
            module.training = was_training
    if count == 0:
        raise ValueError(_("the loader yielded no samples, so accuracy is undefined; "
                           "is the dataset empty, or a one-shot iterator already used up?"))
    return correct / count
