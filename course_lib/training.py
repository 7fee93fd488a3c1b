"""The training loop the later lessons share: fit, evaluate, predict, and a confusion matrix.

A "loader" is anything that yields `(x, y)` batches: a DataLoader, `course_lib.data.TensorLoader`,
or a list of pairs. `loss_fn` returns the mean over a batch (PyTorch's default); the loop weights
each batch by its size, so the reported losses are averages per sample.
"""
from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from course_lib._checks import check_labels, check_positive_int, check_tensor
from course_lib.i18n import _


def show_progress(progress: bool | None = None) -> bool:
    """Whether a training loop draws a progress bar: `progress` if given, else only in a notebook.

    None means: on in a Jupyter kernel (JupyterLab, Colab, nbval), off in plain Python and
    under pytest, where a bar would only clutter the log.
    """
    if progress is not None:
        return bool(progress)
    if "PYTEST_CURRENT_TEST" in os.environ or "ipykernel" not in sys.modules:
        return False
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


@dataclass
class History:
    """What `fit` measured, one entry per epoch."""
    train_loss: list[float] = field(default_factory=list)  # mean loss per training sample
    train_acc: list[float] = field(default_factory=list)   # fraction correct (nan for regression)
    val_loss: list[float] = field(default_factory=list)    # empty without a val_loader
    val_acc: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)  # seconds, training and validation


def _batch(batch: object, device: torch.device | None) -> tuple[Tensor, Tensor]:
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise TypeError(_("each batch from the loader must be a pair (x, y), got {type}", type=type(batch).__name__))
    x, y = check_tensor(_("x (from the loader)"), batch[0]), check_tensor(_("y (from the loader)"), batch[1])
    return (x, y) if device is None else (x.to(device), y.to(device))


def _device(model: nn.Module) -> torch.device | None:
    return next((p.device for p in model.parameters()), None)


def _classes(out: Tensor) -> Tensor:
    """Predicted class per row.  (N, C) -> (N,) argmax; one logit (N,) or (N, 1) -> 1 where it is > 0"""
    if not out.is_floating_point() and out.dim() == 1:
        return out.long()  # already class labels
    if out.dim() == 2 and out.shape[1] > 1:
        return out.argmax(dim=1)
    if out.dim() == 1 or (out.dim() == 2 and out.shape[1] == 1):
        return (out.reshape(-1) > 0).long()
    raise ValueError(_("model outputs must be logits of shape (N, C), (N, 1) or (N,), got shape {shape}",
                       shape=tuple(out.shape)))


def _count_correct(out: Tensor, y: Tensor) -> float:
    """Number of correct predictions in a batch; nan when y holds regression targets, not labels."""
    if out.shape[0] != y.shape[0]:
        raise ValueError(_("model output and y disagree on the batch size: output of shape "
                           "{out_shape}, y of shape {y_shape}", out_shape=tuple(out.shape), y_shape=tuple(y.shape)))
    if out.dim() == 2 and out.shape[1] > 1:
        if y.is_floating_point() and y.shape == out.shape:
            return math.nan  # several regression outputs (or soft labels): no single class to match
        check_labels("y", y, out.shape[1], out.shape[0])
        return (out.argmax(dim=1) == y).sum().item()
    if y.numel() != out.shape[0]:
        raise ValueError(_("a single logit per sample needs one target per sample, got output of "
                           "shape {out_shape} and y of shape {y_shape}", out_shape=tuple(out.shape),
                           y_shape=tuple(y.shape)))
    y = y.reshape(-1)
    if y.is_floating_point() and not ((y == 0) | (y == 1)).all():
        return math.nan  # continuous targets: accuracy means nothing
    return (_classes(out) == y.long()).sum().item()


def _run_epoch(model, loader, loss_fn, optimizer, scheduler, bar) -> tuple[float, float]:
    """One pass; trains when optimizer is given. Returns (mean loss per sample, accuracy)."""
    device = _device(model)
    total_loss, correct, count = 0.0, 0.0, 0
    for batch in loader:
        x, y = _batch(batch, device)
        if optimizer is not None:
            optimizer.zero_grad()  # .grad accumulates across backward calls otherwise
        out = model(x)
        loss = loss_fn(out, y) if loss_fn is not None else None
        if loss is not None and (not isinstance(loss, Tensor) or loss.dim() != 0):
            raise ValueError(_("loss_fn must return a scalar tensor (the mean over the batch); "
                               "use reduction='mean'"))
        if optimizer is not None:
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()  # per batch, as OneCycleLR expects
        n = x.shape[0]
        total_loss += loss.item() * n if loss is not None else math.nan
        correct += _count_correct(out.detach(), y)
        count += n
        if bar is not None:
            bar.set_postfix(loss=f"{total_loss / count:.4f}", acc=f"{correct / count:.4f}",
                            refresh=False)  # drawn at the bar's own pace, not every batch
            bar.update(1)
    if count == 0:
        raise ValueError(_("the loader yielded no samples; is the dataset empty, "
                           "or a one-shot iterator already used up?"))
    return total_loss / count, correct / count


def evaluate(model: nn.Module, loader: Iterable, loss_fn: Callable | None = None) -> tuple[float, float]:
    """(mean loss per sample, accuracy) over loader, in eval mode and without gradients.

    The loss is nan without a loss_fn; the accuracy is nan for regression targets. Every
    submodule's train/eval mode is put back afterwards, even if the loop raises.
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()  # dropout off, batch norm uses its running statistics
    try:
        with torch.no_grad():
            return _run_epoch(model, loader, loss_fn, None, None, None)
    finally:
        for module, was_training in modes:
            module.training = was_training


def fit(model: nn.Module, train_loader: Iterable, loss_fn: Callable, optimizer: torch.optim.Optimizer,
        epochs: int = 1, val_loader: Iterable | None = None, scheduler=None,
        progress: bool | None = None) -> History:
    """Train for `epochs` passes over train_loader, evaluating on val_loader after each.  -> History

    Each step is zero_grad, forward, loss, backward, optimizer.step (then scheduler.step, per
    batch). A progress bar per epoch shows the running loss and accuracy; by default only in a
    notebook (`show_progress`), `progress=False` hides it and `True` forces it.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(_("model must be an nn.Module, got {type}", type=type(model).__name__))
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(_("optimizer must be a torch.optim.Optimizer, got {type}", type=type(optimizer).__name__))
    check_positive_int("epochs", epochs)
    history = History()
    for epoch in range(epochs):
        start = time.perf_counter()
        total = len(train_loader) if hasattr(train_loader, "__len__") else None
        with tqdm(total=total, desc=f"epoch {epoch + 1}/{epochs}", disable=not show_progress(progress)) as bar:
            model.train()
            loss, acc = _run_epoch(model, train_loader, loss_fn, optimizer, scheduler, bar)
            history.train_loss.append(loss)
            history.train_acc.append(acc)
            if val_loader is not None:
                val_loss, val_acc = evaluate(model, val_loader, loss_fn)
                history.val_loss.append(val_loss)
                history.val_acc.append(val_acc)
                bar.set_postfix(loss=f"{loss:.4f}", acc=f"{acc:.4f}",
                                val_loss=f"{val_loss:.4f}", val_acc=f"{val_acc:.4f}")
        history.epoch_time.append(time.perf_counter() - start)
    return history


def predict(model: Callable[[Tensor], Tensor], data: Iterable | Tensor,
            batch_size: int = 1024) -> Tensor:
    """Predicted class per sample.  X (N, *) or a loader -> (N,) int64

    Class = argmax of (N, C) logits, or 1 where a single logit is > 0; integer outputs are taken
    as classes already. An nn.Module runs in eval mode under torch.no_grad(), its mode restored
    afterwards; a plain function is just called.
    """
    if isinstance(data, Tensor):
        check_positive_int("batch_size", batch_size)
        batches = data.split(batch_size)  # bounds memory for big inputs such as a plotting grid
    else:
        batches = (b[0] if isinstance(b, (tuple, list)) else b for b in data)
    modes = [(m, m.training) for m in model.modules()] if isinstance(model, nn.Module) else []
    if isinstance(model, nn.Module):
        model.eval()
    try:
        with torch.no_grad():
            device = _device(model) if isinstance(model, nn.Module) else None
            preds = [_classes(model(x if device is None else x.to(device))) for x in batches]
    finally:
        for module, was_training in modes:
            module.training = was_training
    return torch.cat(preds) if preds else torch.empty(0, dtype=torch.int64)


def confusion_matrix(y_true: Tensor, y_pred: Tensor, num_classes: int) -> Tensor:
    """Counts: entry [i, j] = samples of true class i predicted as j.  (N,), (N,) -> (C, C) int64

    Each row sums to the number of samples of that class; the diagonal holds the correct ones.
    """
    check_positive_int("num_classes", num_classes)
    y_true = check_labels("y_true", y_true, num_classes, check_tensor("y_true", y_true, ndim=1).shape[0])
    y_pred = check_labels("y_pred", y_pred, num_classes, y_true.shape[0])
    # pair (i, j) gets the unique index i * C + j; counting those counts the pairs
    counts = torch.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).cpu()
