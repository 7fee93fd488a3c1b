"""Backward passes written by hand, and the numerical check that keeps them honest.

Each `*_backward` takes the gradient of the loss with respect to a layer's output (`grad_out`) and
the layer's inputs, and returns the gradient with respect to those inputs: one step of the chain
rule. `torch.autograd` computes exactly these tensors; the tests compare against it.
`numerical_gradient` needs no calculus at all, which is why it is the referee when a hand-written
gradient and autograd disagree.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from course_lib._checks import check_labels, check_same_dtype, check_same_shape, check_tensor
from course_lib.activations import sigmoid, softmax
from course_lib.i18n import _

__all__ = ["linear_backward", "relu_backward", "sigmoid_backward",
           "softmax_cross_entropy_backward", "numerical_gradient"]


def linear_backward(grad_out: Tensor, x: Tensor, weight: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Gradients of y = x @ weight.T + bias.  (*, out), (*, in), (out, in) -> (*, in), (out, in), (out,)

    Every row of x met the same weight, so the weight and bias gradients add up the
    contributions of all rows (all leading dimensions):
        grad_x      = grad_out @ weight
        grad_weight = grad_out.T @ x      (rows flattened to (M, out) and (M, in))
        grad_bias   = grad_out summed over rows
    The bias value is not needed: y depends on it with slope 1.
    """
    check_tensor("grad_out", grad_out, min_ndim=1, floating=True)
    check_tensor("x", x, min_ndim=1, floating=True)
    check_tensor("weight", weight, ndim=2, floating=True)
    check_same_dtype("x", x, "weight", weight)
    check_same_dtype("grad_out", grad_out, "x", x)
    out_features, in_features = weight.shape
    if x.shape[-1] != in_features:
        raise ValueError(_("x must end in in_features={in_features} to match weight of shape "
                           "{weight_shape}, got x of shape {x_shape}", in_features=in_features,
                           weight_shape=tuple(weight.shape), x_shape=tuple(x.shape)))
    expected = (*x.shape[:-1], out_features)
    if tuple(grad_out.shape) != expected:
        raise ValueError(_("grad_out must have the shape of the layer output {expected} "
                           "(x {x_shape}, weight {weight_shape}), got {shape}", expected=expected,
                           x_shape=tuple(x.shape), weight_shape=tuple(weight.shape),
                           shape=tuple(grad_out.shape)))
    g = grad_out.reshape(-1, out_features)  # (M, out), M = product of leading dims
    rows = x.reshape(-1, in_features)       # (M, in)
    return grad_out @ weight, g.T @ rows, g.sum(dim=0)


def relu_backward(grad_out: Tensor, z: Tensor) -> Tensor:
    """grad_out where z > 0, else 0.  (*), (*) -> (*)

    At z == 0 exactly the slope is taken as 0, the convention torch.relu's backward uses.
    """
    check_tensor("grad_out", grad_out, floating=True)
    check_tensor("z", z, floating=True)
    check_same_shape("grad_out", grad_out, "z", z)
    return torch.where(z > 0, grad_out, torch.zeros_like(grad_out))


def sigmoid_backward(grad_out: Tensor, z: Tensor) -> Tensor:
    """grad_out * s * (1 - s) with s = sigmoid(z).  (*), (*) -> (*)

    The slope is at most 1/4 (at z = 0) and vanishes for large |z|: the saturation that makes
    deep sigmoid networks slow to train.
    """
    check_tensor("grad_out", grad_out, floating=True)
    check_tensor("z", z, floating=True)
    check_same_shape("grad_out", grad_out, "z", z)
    s = sigmoid(z)
    return grad_out * s * (1 - s)


def softmax_cross_entropy_backward(logits: Tensor, labels: Tensor) -> Tensor:
    """(softmax(logits) - one_hot(labels)) / N.  (N, C), (N,) int64 -> (N, C)

    The gradient of mean cross entropy with respect to the logits. Softmax and log cancel so
    neatly that the result is simply "predicted probability minus target", divided by N
    because the loss is a mean over the batch.
    """
    check_tensor("logits", logits, ndim=2, floating=True)
    n, num_classes = logits.shape
    check_labels("labels", labels, num_classes, n)
    grad = softmax(logits, dim=1)
    grad[torch.arange(n), labels] -= 1  # grad is a fresh tensor, so in-place is safe here
    return grad / n


def numerical_gradient(f: Callable[[Tensor], Tensor | float], x: Tensor,
                       eps: float = 1e-6) -> Tensor:
    """(f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for every element i.  (*) -> (*) float64

    f maps a tensor shaped like x to a scalar (a one-element tensor or a float). f is called
    on a float64 copy of x, two evaluations per element, so keep x small. The central
    difference has error O(eps**2); in float64, eps = 1e-6 balances that against rounding.
    """
    if not callable(f):
        raise TypeError(_("f must be callable (a function of x returning a scalar), got {type}",
                          type=type(f).__name__))
    check_tensor("x", x, floating=True)
    if not eps > 0:
        raise ValueError(_("eps must be positive, got {eps}", eps=eps))
    x64 = x.detach().to(torch.float64).clone(memory_format=torch.contiguous_format)
    grad = torch.zeros_like(x64)
    flat, flat_grad = x64.view(-1), grad.view(-1)  # views: editing flat edits x64
    for i in range(flat.numel()):
        original = flat[i].item()
        flat[i] = original + eps
        f_plus = _scalar(f(x64))
        flat[i] = original - eps
        f_minus = _scalar(f(x64))
        flat[i] = original
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def _scalar(value: Tensor | float) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(_("f must return a scalar, got a tensor of shape {shape}", shape=tuple(value.shape)))
        return value.item()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(_("f must return a scalar tensor or a float, got {type}", type=type(value).__name__))
