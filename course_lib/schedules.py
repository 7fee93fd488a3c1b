"""Learning-rate schedules: the learning rate as a function of the step number.

Each function returns the learning rate to use for step t = 0, 1, 2, ... (a plain float), so a
schedule is just a curve you can plot. They match torch.optim.lr_scheduler, whose schedulers
change optimizer.param_groups[i]["lr"] in place each time you call scheduler.step():

    step_lr(t, ...)     StepLR            multiply by gamma every step_size steps
    cosine_lr(t, ...)   CosineAnnealingLR half a cosine from lr down to min_lr
    one_cycle_lr(t, ...) OneCycleLR       warm up to max_lr, then anneal to almost 0
"""
from __future__ import annotations

import math

from course_lib._checks import check_in_range, check_positive, check_positive_int
from course_lib.i18n import _

__all__ = ["step_lr", "cosine_lr", "one_cycle_lr", "one_cycle_momentum"]


def step_lr(t: int, lr: float, step_size: int, gamma: float = 0.1) -> float:
    """lr * gamma ** (t // step_size): drop the learning rate by gamma every step_size steps.

    torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma) with the optimizer's lr = lr.
    """
    check_positive_int("t", t, allow_zero=True)
    check_positive("lr", lr)
    check_positive_int("step_size", step_size)
    check_positive("gamma", gamma)
    return lr * gamma ** (t // step_size)


def _cosine(start: float, end: float, fraction: float) -> float:
    """Half a cosine from start (fraction 0) to end (fraction 1)."""
    return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2


def cosine_lr(t: int, lr: float, total_steps: int, min_lr: float = 0.0) -> float:
    """min_lr + (lr - min_lr) * (1 + cos(pi * t / total_steps)) / 2, for 0 <= t <= total_steps.

    Starts at lr, falls slowly, fastest in the middle, and flattens out at min_lr at the end.
    torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps, eta_min=min_lr).
    """
    check_positive_int("t", t, allow_zero=True)
    check_positive("lr", lr)
    check_positive_int("total_steps", total_steps)
    check_positive("min_lr", min_lr, allow_zero=True)
    if t > total_steps:
        raise ValueError(_("t must be at most total_steps = {total_steps}, got {t} "
                           "(the cosine would rise again after its minimum)", total_steps=total_steps, t=t))
    return _cosine(lr, min_lr, t / total_steps)


def _one_cycle_phase(t: int, total_steps: int, pct_start: float) -> tuple[int, float]:
    """(phase 0 = warm-up or 1 = annealing, fraction of that phase done) at step t."""
    check_positive_int("t", t, allow_zero=True)
    check_positive_int("total_steps", total_steps)
    check_in_range("pct_start", pct_start, 0, 1, high_inclusive=False)
    if pct_start * total_steps < 2:
        raise ValueError(_("pct_start * total_steps must be at least 2 so the warm-up has two steps, "
                           "got {pct_start} * {total_steps} = {product}", pct_start=pct_start,
                           total_steps=total_steps, product=pct_start * total_steps))
    if t >= total_steps:
        raise ValueError(_("t must be below total_steps = {total_steps}, got {t} "
                           "(the cycle ends at step total_steps - 1)", total_steps=total_steps, t=t))
    # the same step boundaries as torch.optim.lr_scheduler.OneCycleLR (three_phase=False)
    warm_end = float(pct_start * total_steps) - 1
    last = float(total_steps - 1)
    if t <= warm_end:
        return 0, t / warm_end
    return 1, (t - warm_end) / (last - warm_end)


def one_cycle_lr(t: int, max_lr: float, total_steps: int, pct_start: float = 0.3,
                 div_factor: float = 25.0, final_div_factor: float = 1e4) -> float:
    """The one-cycle learning rate at step t, for 0 <= t < total_steps.

    Warm up along half a cosine from max_lr / div_factor to max_lr during the first pct_start of
    the steps, then anneal along half a cosine to max_lr / (div_factor * final_div_factor).
    Large steps while the loss is high, tiny ones to settle at the end.
    torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr, total_steps) with its defaults.
    """
    check_positive("max_lr", max_lr)
    check_positive("div_factor", div_factor)
    check_positive("final_div_factor", final_div_factor)
    phase, fraction = _one_cycle_phase(t, total_steps, pct_start)
    initial_lr = max_lr / div_factor
    if phase == 0:
        return _cosine(initial_lr, max_lr, fraction)
    return _cosine(max_lr, initial_lr / final_div_factor, fraction)


def one_cycle_momentum(t: int, total_steps: int, pct_start: float = 0.3,
                       base_momentum: float = 0.85, max_momentum: float = 0.95) -> float:
    """The momentum OneCycleLR sets at step t: it moves opposite to the learning rate.

    From max_momentum down to base_momentum while the learning rate warms up, then back up:
    when the steps are large, less of the old velocity is kept. (OneCycleLR does this by default,
    cycle_momentum=True, for an optimizer with momentum such as SGD.)
    """
    check_in_range("base_momentum", base_momentum, 0, 1)
    check_in_range("max_momentum", max_momentum, 0, 1)
    phase, fraction = _one_cycle_phase(t, total_steps, pct_start)
    if phase == 0:
        return _cosine(max_momentum, base_momentum, fraction)
    return _cosine(base_momentum, max_momentum, fraction)
