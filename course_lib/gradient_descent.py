"""Gradient descent and the optimizers built on it, one update step at a time.

Every step function takes the weights w and the gradient of the loss at w, plus whatever running
state the method keeps, and returns the new weights and new state: nothing is modified in place,
so you can keep the whole history. Like torch.optim, an update is not part of the model, so
autograd does not record it (the results do not require grad).

`optimize_path` runs any of them on a small surface such as `rosenbrock` to draw its path.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from course_lib._checks import (check_in_range, check_positive, check_positive_int,
                                check_same_dtype, check_same_shape, check_tensor)
from course_lib.i18n import _

__all__ = ["gd_step", "momentum_step", "rmsprop_step", "adam_step", "fit_line",
           "optimize_path", "rosenbrock", "bowl", "OPTIMIZERS"]

OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam")


def _check_state(w: Tensor, **state: Tensor) -> None:
    """w a float tensor; grad and every state tensor of w's shape and dtype."""
    check_tensor("w", w, floating=True)
    for name, x in state.items():
        if x is None and name == "grad":
            raise TypeError(_("grad is None: call loss.backward() before taking a step"))
        check_tensor(name, x, floating=True)
        check_same_shape("w", w, name, x)
        check_same_dtype("w", w, name, x)


@torch.no_grad()
def gd_step(w: Tensor, grad: Tensor, lr: float) -> Tensor:
    """w - lr * grad.  (*), (*) -> (*)

    Walk downhill: the gradient points to where the loss grows fastest, so step the other way,
    by a distance proportional to the learning rate lr.
    """
    _check_state(w, grad=grad)
    check_positive("lr", lr)
    return w - lr * grad


@torch.no_grad()
def momentum_step(w: Tensor, grad: Tensor, velocity: Tensor, lr: float, momentum: float = 0.9,
                  nesterov: bool = False, weight_decay: float = 0.0) -> tuple[Tensor, Tensor]:
    """v <- momentum * v + grad;  w <- w - lr * v.  (*), (*), (*) -> (*), (*)

    The velocity v sums past gradients with decaying weights: steps add up along a valley
    floor, where gradients agree, and cancel across it, where they flip sign. Start with
    velocity = zeros_like(w); this is torch.optim.SGD(momentum=momentum) (dampening 0).

    nesterov=True steps with grad + momentum * v instead of v: it looks one step ahead along
    the velocity, which damps the overshoot (torch.optim.SGD(nesterov=True)). weight_decay
    adds weight_decay * w to grad first, pulling every weight toward 0 (L2 regularization).
    """
    _check_state(w, grad=grad, velocity=velocity)
    check_positive("lr", lr)
    check_in_range("momentum", momentum, 0, 1, high_inclusive=False)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    if not isinstance(nesterov, bool):
        raise TypeError(_("nesterov must be True or False, got {value}", value=repr(nesterov)))
    if nesterov and momentum == 0:
        raise ValueError(_("nesterov=True needs momentum > 0 (as in torch.optim.SGD), got momentum=0"))
    grad = grad + weight_decay * w
    velocity = momentum * velocity + grad
    step = grad + momentum * velocity if nesterov else velocity
    return w - lr * step, velocity


@torch.no_grad()
def rmsprop_step(w: Tensor, grad: Tensor, square_avg: Tensor, lr: float = 0.01,
                 alpha: float = 0.99, eps: float = 1e-8) -> tuple[Tensor, Tensor]:
    """s <- alpha * s + (1 - alpha) * grad^2;  w <- w - lr * grad / (sqrt(s) + eps).

    Shapes (*), (*), (*) -> (*), (*). Each weight's step is divided by the recent size of its own
    gradient, so steep and shallow directions move at similar speed. Start with
    square_avg = zeros_like(w); this is torch.optim.RMSprop (eps is added after the sqrt).
    """
    _check_state(w, grad=grad, square_avg=square_avg)
    check_positive("lr", lr)
    check_in_range("alpha", alpha, 0, 1, high_inclusive=False)
    check_positive("eps", eps, allow_zero=True)
    square_avg = alpha * square_avg + (1 - alpha) * grad * grad
    return w - lr * grad / (square_avg.sqrt() + eps), square_avg


@torch.no_grad()
def adam_step(w: Tensor, grad: Tensor, m: Tensor, v: Tensor, t: int, lr: float = 1e-3,
              betas: tuple[float, float] = (0.9, 0.999),
              eps: float = 1e-8) -> tuple[Tensor, Tensor, Tensor]:
    """Adam at step t = 1, 2, ...  (*), (*), (*), (*) -> w, m, v of shape (*)

        m <- beta1 * m + (1 - beta1) * grad          running mean of gradients (momentum)
        v <- beta2 * v + (1 - beta2) * grad^2        running mean of squares (RMSprop)
        m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)
        w <- w - lr * m_hat / (sqrt(v_hat) + eps)

    m and v start at zeros, so early on they are biased toward 0; dividing by 1 - beta^t
    undoes exactly that bias (at t = 1, m_hat is grad itself). This is torch.optim.Adam.
    """
    _check_state(w, grad=grad, m=m, v=v)
    check_positive_int("t", t)
    check_positive("lr", lr)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(_("betas must be a pair (beta1, beta2), got {value}", value=repr(betas)))
    beta1, beta2 = betas
    check_in_range("beta1", beta1, 0, 1, high_inclusive=False)
    check_in_range("beta2", beta2, 0, 1, high_inclusive=False)
    check_positive("eps", eps, allow_zero=True)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return w - lr * m_hat / (v_hat.sqrt() + eps), m, v


def fit_line(x: Tensor, y: Tensor, lr: float = 0.1, steps: int = 1000) -> tuple[float, float]:
    """(slope, intercept) minimizing mean((slope*x + intercept - y)^2).  (N,), (N,) -> float, float

    Full-batch gradient descent from (0, 0), with the gradient worked out by hand:
        d/d slope     = 2 * mean(error * x)
        d/d intercept = 2 * mean(error)           with error = slope * x + intercept - y
    With lr = 0.1 this converges when x is roughly in [-3, 3]; for larger x the step overshoots
    and the values blow up to inf or nan (returned as they are): scale x first, or lower lr.
    """
    check_tensor("x", x, ndim=1, floating=True)
    check_tensor("y", y, ndim=1, floating=True)
    check_same_shape("x", x, "y", y)
    check_same_dtype("x", x, "y", y)
    if x.numel() == 0:
        raise ValueError(_("x and y are empty: a line needs at least one point"))
    check_positive("lr", lr)
    check_positive_int("steps", steps, allow_zero=True)
    slope = torch.zeros((), dtype=x.dtype)
    intercept = torch.zeros((), dtype=x.dtype)
    for _step in range(steps):
        error = slope * x + intercept - y  # (N,)
        slope, intercept = (gd_step(slope, 2 * (error * x).mean(), lr),
                            gd_step(intercept, 2 * error.mean(), lr))
    return slope.item(), intercept.item()


def optimize_path(loss_fn: Callable[[Tensor], Tensor], start: Tensor | tuple[float, ...],
                  optimizer: str = "adam", lr: float = 0.01, steps: int = 100,
                  **hyperparams: float) -> Tensor:
    """Points visited by an optimizer minimizing loss_fn from start.  (D,) -> (steps + 1, D)

    loss_fn maps a point (D,) to a scalar; its gradient comes from autograd, the update from
    gd_step, momentum_step, rmsprop_step or adam_step (optimizer = "gd", "momentum", "rmsprop",
    "adam"); hyperparams go to that step, e.g. momentum=0.5 or betas=(0.8, 0.99). Row 0 is start.
    A diverging run is not stopped: its later rows are inf or nan.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(_("unknown optimizer {optimizer}; expected one of {choices}",
                           optimizer=repr(optimizer), choices=", ".join(OPTIMIZERS)))
    w = start if isinstance(start, Tensor) else torch.tensor(start, dtype=torch.float32)
    check_tensor("start", w, ndim=1, floating=True)
    check_positive_int("steps", steps, allow_zero=True)
    w = w.detach().clone()
    velocity = square_avg = m = v = torch.zeros_like(w)  # steps return new tensors: safe to share
    path = [w]
    for t in range(1, steps + 1):
        point = w.clone().requires_grad_(True)
        loss = loss_fn(point)
        if not isinstance(loss, Tensor) or loss.dim() != 0:
            raise ValueError(_("loss_fn must return a scalar tensor, got {loss}", loss=repr(loss)))
        (grad,) = torch.autograd.grad(loss, point)
        if optimizer == "gd":
            w = gd_step(w, grad, lr, **hyperparams)
        elif optimizer == "momentum":
            w, velocity = momentum_step(w, grad, velocity, lr, **hyperparams)
        elif optimizer == "rmsprop":
            w, square_avg = rmsprop_step(w, grad, square_avg, lr, **hyperparams)
        else:
            w, m, v = adam_step(w, grad, m, v, t, lr, **hyperparams)
        path.append(w)
    return torch.stack(path)


def _xy(xy: Tensor) -> tuple[Tensor, Tensor]:
    check_tensor("xy", xy, min_ndim=1, floating=True)
    if xy.shape[-1] != 2:
        raise ValueError(_("xy must hold points (x, y) in its last dimension of size 2, got shape {shape}",
                           shape=tuple(xy.shape)))
    return xy[..., 0], xy[..., 1]


def rosenbrock(xy: Tensor, a: float = 1.0, b: float = 100.0) -> Tensor:
    """(a - x)^2 + b * (y - x^2)^2.  (*, 2) -> (*)

    A curved, flat-bottomed valley with its minimum 0 at (a, a^2): easy to find the valley,
    slow to follow it. Works on a grid of points too, for contour plots.
    """
    x, y = _xy(xy)
    return (a - x) ** 2 + b * (y - x**2) ** 2


def bowl(xy: Tensor, condition: float = 10.0) -> Tensor:
    """0.5 * (x^2 + condition * y^2).  (*, 2) -> (*)

    A quadratic bowl with minimum 0 at (0, 0), `condition` times steeper along y than along x:
    plain gradient descent zig-zags across it, momentum and Adam do not.
    """
    x, y = _xy(xy)
    return 0.5 * (x**2 + condition * y**2)
