"""Hidden tests of 03_losses: every loss against course_lib.losses."""
from __future__ import annotations

import torch

from course_lib.exercise_checks import random_tensors
from course_grader.hidden_test import hidden_test, largest_input
from course_lib.i18n import N_


@hidden_test("mse_loss", like="course_lib.losses.mse_loss")
def mse_cases(g: torch.Generator) -> list[dict]:
    preds = random_tensors(count=6, scale=5, generator=g)
    return [{"args": (p, p + torch.randn(p.shape, generator=g, dtype=p.dtype))} for p in preds]


@hidden_test("binary_cross_entropy", like="course_lib.losses.binary_cross_entropy")
def bce_cases(g: torch.Generator) -> list[dict]:
    """Hard and soft targets over several shapes; probabilities of exactly 0 and 1 (log clamped at -100)."""
    cases = []
    for shape, dtype in [((), torch.float32), ((8,), torch.float64), ((3, 5), torch.float32), ((2, 2, 4), torch.float64)]:
        prob = torch.rand(shape, generator=g, dtype=dtype)
        hard = torch.randint(0, 2, shape, generator=g).to(dtype)
        soft = torch.rand(shape, generator=g, dtype=dtype)  # soft labels in [0, 1] are allowed too
        cases += [{"args": (prob, hard)}, {"args": (prob, soft)}]
    edge = torch.tensor([0.0, 1.0, 0.0, 1.0, 1e-30, 1 - 1e-7, 0.5])
    return cases + [{"args": (edge, torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.5])),
                     "hint": "log(0) is -inf: clamp each log at -100, as PyTorch does"}]


@hidden_test("binary_cross_entropy_with_logits", like="course_lib.losses.binary_cross_entropy_with_logits",
             terms=largest_input)
def bce_logits_cases(g: torch.Generator) -> list[dict]:
    """Logits up to ±1e4 (exp overflows). Each loss is known to the rounding of its largest terms, |x|:
    max(x, 0) - x*t + log(1 + exp(-|x|)) is as right as the log1p form."""
    cases = []
    for shape, dtype, scale in [((), torch.float32, 3), ((9,), torch.float64, 10), ((4, 5), torch.float32, 30),
                                ((2, 3, 2), torch.float64, 100)]:
        logits = scale * torch.randn(shape, generator=g, dtype=dtype)
        hard = torch.randint(0, 2, shape, generator=g).to(dtype)
        cases += [{"args": (logits, hard)}, {"args": (logits, torch.rand(shape, generator=g, dtype=dtype))}]
    edge = torch.tensor([1e4, -1e4, 1e4, -1e4, 0.0, 40.0, -40.0, 1e-8])
    return cases + [
        {"args": (edge, torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])),
         "hint": "exp(1e4) overflows: use max(x, 0) - x*y + log1p(exp(-|x|))"}]


@hidden_test("cross_entropy", like="course_lib.losses.cross_entropy", terms=largest_input)
def cross_entropy_cases(g: torch.Generator) -> list[dict]:
    """Batches of one to sixteen, logits up to ±1e4."""
    cases = []
    for n, c, dtype, scale in [(1, 2, torch.float32, 1), (7, 3, torch.float64, 5), (16, 10, torch.float32, 30),
                               (5, 4, torch.float64, 1000)]:
        cases.append({"args": (scale * torch.randn(n, c, generator=g, dtype=dtype),
                               torch.randint(0, c, (n,), generator=g))})
    big = torch.tensor([[1e4, -1e4, 0.0], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4], [0.0, 50.0, -50.0]])
    hint = N_("subtract each row's maximum before exp (log-sum-exp), so nothing overflows")
    return cases + [{"args": (big, torch.tensor([0, 1, 2, 2])), "hint": hint},
                    {"args": (big.double(), torch.tensor([1, 0, 0, 1])), "hint": hint}]
