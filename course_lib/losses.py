"""Loss functions: one number that says how wrong the predictions are.

Each is the mean over all elements (PyTorch's default reduction="mean"). MSE is the negative
log-likelihood of Gaussian noise; the cross-entropies are the negative log-likelihood of the
labels under a Bernoulli (binary) or categorical (multi-class) model.

Empty input: like PyTorch, the mean of no losses is nan (0 / 0), returned without an error.
"""
from __future__ import annotations

import torch
from torch import Tensor

from course_lib._checks import check_labels, check_same_dtype, check_same_shape, check_tensor
from course_lib.i18n import _

__all__ = ["mse_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "log_softmax", "cross_entropy"]

_DTYPE_NAMES = {torch.int64: "Long", torch.int32: "Int", torch.bool: "Bool", torch.uint8: "Byte"}


def _check_pair(pred_name: str, pred: object, target: object) -> None:
    """pred and target: float tensors of one dtype and one shape (no silent broadcasting)."""
    check_tensor(pred_name, pred, floating=True)
    check_tensor("target", target)
    if not target.is_floating_point():
        # The classic bug: integer class labels fed to BCELoss, which fails with PyTorch's
        # "Found dtype Long but expected Float".
        found = _DTYPE_NAMES.get(target.dtype, str(target.dtype))
        raise TypeError(_("target must have a floating dtype like {pred_name}, got {dtype} "
                          "(PyTorch says 'Found dtype {found} but expected Float'); "
                          "convert the labels with target.float()", pred_name=pred_name, dtype=target.dtype,
                          found=found))
    check_same_dtype(pred_name, pred, "target", target)
    check_same_shape(pred_name, pred, "target", target)


def mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """mean((pred - target)^2).  (*), (*) -> ()"""
    _check_pair("pred", pred, target)
    return ((pred - target) ** 2).mean()


def binary_cross_entropy(prob: Tensor, target: Tensor) -> Tensor:
    """mean(-(target * log(prob) + (1 - target) * log(1 - prob))).  (*), (*) -> ()

    prob must already be a probability in [0, 1], e.g. the output of a sigmoid. Each log is
    clamped at -100, as PyTorch does, so prob = 0 or 1 costs at most 100 instead of inf.
    """
    _check_pair("prob", prob, target)
    if prob.numel() and not ((prob >= 0) & (prob <= 1)).all():
        bad = prob[~((prob >= 0) & (prob <= 1))][0].item()
        raise ValueError(_("prob must lie in [0, 1] (PyTorch: 'all elements of input should be "
                           "between 0 and 1'), found {bad}. Raw model outputs (logits) are not "
                           "probabilities: apply sigmoid first, or better, pass the logits to "
                           "binary_cross_entropy_with_logits", bad=bad))
    # At prob == 0 or 1, log's slope is infinite and clamp's is 0: 0 * inf would make the
    # gradient nan. Routing those entries through log(1) keeps the value -100 and the gradient finite.
    inside_p, inside_1mp = prob > 0, prob < 1
    log_p = torch.where(inside_p, torch.log(torch.where(inside_p, prob, 1.0)), -100.0).clamp(min=-100)
    log_1mp = torch.where(inside_1mp, torch.log1p(-torch.where(inside_1mp, prob, 0.0)), -100.0).clamp(min=-100)
    return -(target * log_p + (1 - target) * log_1mp).mean()


def binary_cross_entropy_with_logits(logits: Tensor, target: Tensor) -> Tensor:
    """binary_cross_entropy(sigmoid(logits), target), computed stably.  (*), (*) -> ()

    With x = logits and y = target the loss per element simplifies to
        log(1 + exp(x)) - x * y  =  max(x, 0) - x * y + log(1 + exp(-|x|))
    The right-hand form never exponentiates a positive number and never takes the log of a
    rounded-off sigmoid, so it stays finite and exact for any x; the sigmoid never appears.
    """
    _check_pair("logits", logits, target)
    # max(x, 0) and -|x| both spelled with where(x > 0, ...), so at x == 0 autograd takes the
    # left-hand slope of each (0 and +1), which add up to the true sigmoid(0) - y. abs has
    # slope 0 at 0 and would give -y instead.
    positive_part = torch.where(logits > 0, logits, 0.0)
    minus_abs = torch.where(logits > 0, -logits, logits)
    return (positive_part - logits * target + torch.log1p(torch.exp(minus_abs))).mean()


def log_softmax(z: Tensor, dim: int = -1) -> Tensor:
    """z - log(sum(exp(z))) along dim.  (*) -> (*)

    log-sum-exp is computed as m + log(sum(exp(z - m))) with m the max along dim: the same
    value, but no exp argument is above 0, so nothing overflows and the largest term is exactly 1.
    """
    check_tensor("z", z, floating=True)
    if z.numel() == 0:
        return z.clone()  # amax refuses an empty dimension
    shifted = z - z.amax(dim=dim, keepdim=True).detach()  # the shift cancels: no gradient needed
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """mean over the batch of -log softmax(logits)[label].  (N, C), (N,) int64 -> ()

    logits are raw scores, one row per sample; labels are class indices in [0, C). Like
    F.cross_entropy, softmax is built in: do not apply it to the logits first.
    """
    check_tensor("logits", logits, ndim=2, floating=True)
    n, c = logits.shape
    check_labels("labels", labels, num_classes=c, batch=n)
    # -log softmax(z)[y] = logsumexp(z) - z[y]: only the true class's entry is needed, so
    # skip building the whole (N, C) log_softmax matrix.
    shifted = logits - logits.amax(dim=1, keepdim=True).detach()   # (N, C), max of each row is 0
    true_class = shifted[torch.arange(n), labels]                  # (N,), taken before exp_ overwrites
    log_sum_exp = shifted.exp_().sum(dim=1).log()                  # (N,); in place: no second (N, C) buffer
    return (log_sum_exp - true_class).mean()
