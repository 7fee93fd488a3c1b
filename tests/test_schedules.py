"""course_lib.schedules against torch.optim.lr_scheduler, step by step."""
import math

import pytest
import torch

from course_lib import schedules


def torch_lrs(make_scheduler, lr, steps, momentum=0.9):
    """The learning rate (and momentum) a torch scheduler sets for steps 0 .. steps - 1."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr, momentum=momentum)
    scheduler = make_scheduler(optimizer)
    lrs, momenta = [], []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        optimizer.step()
        scheduler.step()
    return lrs, momenta


@pytest.mark.parametrize("step_size, gamma", [(1, 0.5), (7, 0.1), (30, 0.9)])
def test_step_lr_matches_torch(step_size, gamma):
    ours = [schedules.step_lr(t, 0.2, step_size, gamma) for t in range(60)]
    theirs, _ = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma), 0.2, 60)
    assert ours == pytest.approx(theirs, rel=1e-12)


@pytest.mark.parametrize("total_steps, min_lr", [(1, 0.0), (10, 0.0), (97, 1e-3)])
def test_cosine_lr_matches_torch(total_steps, min_lr):
    ours = [schedules.cosine_lr(t, 0.1, total_steps, min_lr) for t in range(total_steps + 1)]
    theirs, _ = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, total_steps, min_lr),
                          0.1, total_steps + 1)
    # torch updates the rate recursively, step from step: rounding adds up to ~1e-15 over 100 steps
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-15)
    assert ours[0] == 0.1 and ours[-1] == pytest.approx(min_lr, abs=1e-15)


@pytest.mark.parametrize("total_steps, max_lr, pct_start", [(10, 0.1, 0.3), (469, 0.1, 0.3),
                                                            (100, 1.0, 0.25), (7, 0.05, 0.5)])
def test_one_cycle_matches_torch_lr_and_momentum(total_steps, max_lr, pct_start):
    ours = [schedules.one_cycle_lr(t, max_lr, total_steps, pct_start) for t in range(total_steps)]
    ours_momentum = [schedules.one_cycle_momentum(t, total_steps, pct_start) for t in range(total_steps)]
    theirs, momenta = torch_lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start), max_lr, total_steps)
    assert ours == pytest.approx(theirs, rel=1e-12)
    assert ours_momentum == pytest.approx(momenta, rel=1e-12)
    assert ours[0] == pytest.approx(max_lr / 25)
    assert 0.9 * max_lr < max(ours) <= max_lr, "the peak is max_lr (or just below, between two steps)"
    assert ours[-1] == pytest.approx(max_lr / 25 / 1e4)


@pytest.mark.parametrize("call, error, message", [
    (lambda: schedules.step_lr(-1, 0.1, 5), ValueError, "t must be a non-negative int"),
    (lambda: schedules.step_lr(3, 0.1, 0), ValueError, "step_size must be a positive int"),
    (lambda: schedules.step_lr(3, 0.1, 2.5), TypeError, "step_size must be an int"),
    (lambda: schedules.cosine_lr(11, 0.1, 10), ValueError, "t must be at most total_steps = 10, got 11"),
    (lambda: schedules.cosine_lr(1, -0.1, 10), ValueError, "lr must be a finite positive number"),
    (lambda: schedules.one_cycle_lr(10, 0.1, 10), ValueError, "t must be below total_steps = 10, got 10"),
    (lambda: schedules.one_cycle_lr(0, 0.1, 3), ValueError, "pct_start \\* total_steps must be at least 2"),
    (lambda: schedules.one_cycle_lr(0, 0.1, 10, pct_start=1.0), ValueError, "pct_start must be between 0 and 1"),
], ids=["negative-t", "zero-step-size", "float-step-size", "past-the-end", "negative-lr",
        "one-cycle-past-the-end", "too-short", "pct-start-1"])
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_schedules_drive_a_torch_optimizer_like_lambda_lr():
    """Any of our schedules can drive torch.optim through LambdaLR (as a factor of the base lr)."""
    total = 50
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: schedules.cosine_lr(t, 1.0, total))
    for t in range(total):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(schedules.cosine_lr(t, 1.0, total))
        optimizer.step()
        scheduler.step()
    assert math.isclose(optimizer.param_groups[0]["lr"], 0.0, abs_tol=1e-15)
