"""course_lib.gradient_descent against torch.optim, step by step and over many steps."""
import time

import pytest
import torch

from course_lib import gradient_descent as gd

DTYPES = [torch.float32, torch.float64]
STEPS = 20


def gradient_sequence(shape, dtype, seed=0, steps=STEPS):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=dtype) for _ in range(steps)]


def torch_optim_trajectory(make_optimizer, w0, grads):
    """Weights after each step of a torch.optim optimizer fed the given gradients."""
    p = torch.nn.Parameter(w0.clone())
    optimizer = make_optimizer([p])
    out = []
    for g in grads:
        p.grad = g.clone()
        optimizer.step()
        out.append(p.detach().clone())
    return out


def our_trajectory(name, w0, grads, **hyper):
    w, state, out = w0, [torch.zeros_like(w0)] * (2 if name == "adam" else 1), []
    for t, g in enumerate(grads, start=1):
        if name == "gd":
            w = gd.gd_step(w, g, **hyper)
        elif name == "momentum":
            w, *state = gd.momentum_step(w, g, *state, **hyper)
        elif name == "rmsprop":
            w, *state = gd.rmsprop_step(w, g, *state, **hyper)
        else:
            w, *state = gd.adam_step(w, g, *state, t, **hyper)
        out.append(w)
    return out


# id: (our name, our hyperparameters, the same optimizer in torch.optim)
CASES = {
    "gd": ("gd", dict(lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    "momentum_0.9": ("momentum", dict(lr=0.05),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    "momentum_0": ("momentum", dict(lr=0.05, momentum=0.0),
                   lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.0)),
    "nesterov": ("momentum", dict(lr=0.05, nesterov=True),
                 lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "nesterov_weight_decay": ("momentum", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=5e-4),
                              lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True,
                                                        weight_decay=5e-4)),
    "momentum_weight_decay": ("momentum", dict(lr=0.05, weight_decay=0.1),
                              lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.1)),
    "rmsprop": ("rmsprop", dict(), lambda p: torch.optim.RMSprop(p)),
    "rmsprop_custom": ("rmsprop", dict(lr=0.1, alpha=0.5, eps=1e-3),
                       lambda p: torch.optim.RMSprop(p, lr=0.1, alpha=0.5, eps=1e-3)),
    "adam": ("adam", dict(), lambda p: torch.optim.Adam(p)),
    "adam_custom": ("adam", dict(lr=0.1, betas=(0.5, 0.9), eps=1e-4),
                    lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.5, 0.9), eps=1e-4)),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name, hyper, make_optimizer", CASES.values(), ids=CASES.keys())
def test_steps_match_torch_optim_over_many_steps(name, hyper, make_optimizer, dtype):
    w0 = torch.randn(3, 2, generator=torch.Generator().manual_seed(9), dtype=dtype)
    grads = gradient_sequence((3, 2), dtype)
    ours = our_trajectory(name, w0, grads, **hyper)
    theirs = torch_optim_trajectory(make_optimizer, w0, grads)
    for t, (a, b) in enumerate(zip(ours, theirs), start=1):
        torch.testing.assert_close(
            a, b, msg=lambda m: f"{name} differs from torch.optim at step {t}: {m}")


@pytest.mark.parametrize("name, hyper, make_optimizer", CASES.values(), ids=CASES.keys())
def test_steps_do_not_modify_inputs_or_record_autograd_history(name, hyper, make_optimizer):
    w = torch.ones(4, requires_grad=True)
    grads = gradient_sequence((4,), torch.float32, steps=2)
    before = [g.clone() for g in grads]
    (w_new,) = our_trajectory(name, w, grads[:1], **hyper)
    assert torch.equal(w.detach(), torch.ones(4)) and torch.equal(grads[0], before[0])
    assert not w_new.requires_grad, "an optimizer update should not be part of the graph"


@pytest.mark.parametrize("scale", [1e-2, 1.0, 1e3])
def test_adam_first_step_moves_each_weight_by_lr_whatever_the_gradient_scale(scale):
    # Bias correction makes m_hat = grad and v_hat = grad^2 at t = 1: the step is lr * sign(grad).
    grad = scale * torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    zeros = torch.zeros(3, dtype=torch.float64)
    w, m, v = gd.adam_step(zeros, grad, zeros, zeros, t=1, lr=0.1)
    torch.testing.assert_close(w, -0.1 * grad.sign(), rtol=1e-5, atol=0)


def test_momentum_keeps_moving_with_zero_gradient():
    w, velocity = gd.momentum_step(torch.zeros(1), torch.zeros(1), torch.ones(1),
                                   lr=1.0, momentum=0.5)
    assert w.item() == -0.5 and velocity.item() == 0.5


# --- fit_line -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fit_line_agrees_with_least_squares_on_noisy_data(seed, dtype):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(50, generator=g, dtype=dtype)
    y = 3.0 * x - 2.0 + 0.5 * torch.randn(50, generator=g, dtype=dtype)
    slope, intercept = gd.fit_line(x, y)
    assert isinstance(slope, float) and isinstance(intercept, float)
    design = torch.stack([x, torch.ones_like(x)], dim=1)  # (N, 2)
    expected = torch.linalg.lstsq(design.double(), y.double().unsqueeze(1)).solution.squeeze(1)
    # float32: the fitted values are only as exact as float32 means over 50 points.
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == torch.float32 else {}
    ours = torch.tensor([slope, intercept], dtype=torch.float64)
    torch.testing.assert_close(ours, expected, **tol)


def test_fit_line_with_too_large_a_step_for_the_data_blows_up():
    x = torch.linspace(0, 100, 20)
    slope, intercept = gd.fit_line(x, 2 * x, lr=0.1, steps=200)
    assert not (abs(slope) < 1e6), "lr=0.1 on x up to 100 overshoots: the fit should diverge"


def test_fit_line_with_zero_steps_returns_the_start():
    assert gd.fit_line(torch.ones(3), torch.ones(3), steps=0) == (0.0, 0.0)


def test_fit_line_refuses_empty_and_mismatched_data():
    with pytest.raises(ValueError, match="at least one point"):
        gd.fit_line(torch.empty(0), torch.empty(0))
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(4,\)"):
        gd.fit_line(torch.ones(3), torch.ones(4))
    with pytest.raises(ValueError, match=r"x must have 1 dimension"):
        gd.fit_line(torch.ones(3, 1), torch.ones(3, 1))


# --- paths on loss surfaces ---------------------------------------------------------------------

TORCH_TWINS = {
    "gd": (1e-3, {}, lambda p: torch.optim.SGD(p, lr=1e-3)),
    "momentum": (1e-3, {"momentum": 0.8}, lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.8)),
    "rmsprop": (1e-2, {}, lambda p: torch.optim.RMSprop(p, lr=1e-2)),
    "adam": (0.05, {"betas": (0.8, 0.99)},
             lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.99))),
}


@pytest.mark.parametrize("optimizer", TORCH_TWINS, ids=str)
def test_optimize_path_matches_torch_optim_on_rosenbrock(optimizer):
    lr, hyper, make_optimizer = TORCH_TWINS[optimizer]
    start = torch.tensor([-1.5, 2.0], dtype=torch.float64)
    path = gd.optimize_path(gd.rosenbrock, start, optimizer, lr=lr, steps=100, **hyper)
    p = torch.nn.Parameter(start.clone())
    opt = make_optimizer([p])
    expected = [start]
    for _ in range(100):
        opt.zero_grad()
        gd.rosenbrock(p).backward()
        opt.step()
        expected.append(p.detach().clone())
    assert path.shape == (101, 2)
    torch.testing.assert_close(path, torch.stack(expected))


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_optimize_path_reaches_the_bottom_of_the_bowl(optimizer):
    path = gd.optimize_path(gd.bowl, (3.0, 1.0), optimizer, lr=0.05, steps=300)
    assert path.dtype == torch.float32 and path[0].tolist() == [3.0, 1.0]
    assert gd.bowl(path[-1]) < 1e-3 * gd.bowl(path[0]), f"{optimizer} ended at {path[-1]}"


def test_surfaces_have_their_minimum_where_documented():
    for f, minimum in [(gd.rosenbrock, [1.0, 1.0]), (gd.bowl, [0.0, 0.0])]:
        xy = torch.tensor(minimum, dtype=torch.float64, requires_grad=True)
        value = f(xy)
        (grad,) = torch.autograd.grad(value, xy)
        assert value.item() == 0 and grad.abs().max() == 0, f"{f.__name__}: {value}, {grad}"


def test_surfaces_evaluate_a_whole_grid_for_contour_plots():
    grid = torch.stack(torch.meshgrid(torch.linspace(-2, 2, 5), torch.linspace(-1, 3, 4),
                                      indexing="xy"), dim=-1)  # (4, 5, 2)
    assert gd.rosenbrock(grid).shape == (4, 5) and gd.bowl(grid).shape == (4, 5)
    torch.testing.assert_close(gd.rosenbrock(grid)[1, 2], gd.rosenbrock(grid[1, 2]))


def test_optimize_path_errors():
    with pytest.raises(ValueError, match="unknown optimizer 'sgd'; expected one of gd, momentum"):
        gd.optimize_path(gd.bowl, (1.0, 1.0), "sgd")
    with pytest.raises(ValueError, match="loss_fn must return a scalar"):
        gd.optimize_path(lambda xy: xy ** 2, (1.0, 1.0))
    with pytest.raises(ValueError, match=r"xy must hold points \(x, y\).*got shape \(3,\)"):
        gd.optimize_path(gd.rosenbrock, (1.0, 1.0, 1.0))


# --- validation ---------------------------------------------------------------------------------

W = torch.zeros(3)


@pytest.mark.parametrize("call, error, pattern", [
    (lambda: gd.gd_step(W, W, lr=0.0), ValueError, "lr must be a finite positive number, got 0"),
    (lambda: gd.gd_step(W, W, lr=-0.1), ValueError, "lr must be a finite positive"),
    (lambda: gd.gd_step(W, W, lr=float("nan")), ValueError, "lr must be a finite positive"),
    (lambda: gd.gd_step(W, W, lr="0.1"), TypeError, "lr must be a real number"),
    (lambda: gd.gd_step(W, None, lr=0.1), TypeError, r"grad is None: call loss.backward\(\)"),
    (lambda: gd.gd_step(W, torch.zeros(3, 1), 0.1), ValueError,
     r"w and grad must have the same shape, got \(3,\) and \(3, 1\)"),
    (lambda: gd.gd_step(W, W.double(), 0.1), TypeError, "same dtype"),
    (lambda: gd.gd_step(torch.zeros(3, dtype=torch.int64), W, 0.1), TypeError, "floating dtype"),
    (lambda: gd.momentum_step(W, W, torch.zeros(2), 0.1), ValueError,
     r"w and velocity must have the same shape, got \(3,\) and \(2,\)"),
    (lambda: gd.momentum_step(W, W, W, 0.1, momentum=1.0), ValueError,
     r"momentum must be between 0 and 1 \(excluding 1\), got 1.0"),
    (lambda: gd.momentum_step(W, W, W, 0.1, momentum=0.0, nesterov=True), ValueError,
     "nesterov=True needs momentum > 0"),
    (lambda: gd.momentum_step(W, W, W, 0.1, nesterov=1), TypeError, "nesterov must be True or False"),
    (lambda: gd.momentum_step(W, W, W, 0.1, weight_decay=-1e-4), ValueError,
     "weight_decay must be a finite non-negative"),
    (lambda: gd.rmsprop_step(W, W, torch.zeros(4), 0.1), ValueError, "w and square_avg"),
    (lambda: gd.rmsprop_step(W, W, W, alpha=1.5), ValueError, "alpha must be between 0 and 1"),
    (lambda: gd.rmsprop_step(W, W, W, eps=-1e-8), ValueError, "eps must be a finite non-negative"),
    (lambda: gd.adam_step(W, W, W, torch.zeros(1), 1), ValueError,
     "w and v must have the same shape"),
    (lambda: gd.adam_step(W, W, W, W, t=0), ValueError, "t must be a positive int, got 0"),
    (lambda: gd.adam_step(W, W, W, W, t=1.0), TypeError, "t must be an int"),
    (lambda: gd.adam_step(W, W, W, W, 1, betas=(0.9, 1.0)), ValueError,
     r"beta2 must be between 0 and 1 \(excluding 1\)"),
    (lambda: gd.adam_step(W, W, W, W, 1, betas=(-0.1, 0.9)), ValueError, "beta1 must be between"),
    (lambda: gd.adam_step(W, W, W, W, 1, betas=0.9), TypeError, r"betas must be a pair"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_arguments_are_refused_with_a_clear_message(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
