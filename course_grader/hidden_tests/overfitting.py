"""Hidden tests of 08_overfitting. The penalties are compared with course_lib.overfitting, values and
gradients. dropout is random: the kernel answers for generators chosen here, and the answers are
judged by what must hold for any correct mask (survivors scaled, the fraction and independence of
the zeros). EarlyStopping is stepped through loss sequences and compared with the reference's
answers. train_val_split's test is in train_val_split.py."""
from __future__ import annotations

import re

import torch
from torch import nn

from course_lib._guard import fail
from course_lib.exercise_checks import call, expect_shapes, raised_by
from course_lib.grading import GradingError, assert_close
from course_grader.hidden_tests._cases import check_with_grads, randint, respond_with_grads
from course_grader.hidden_test import hidden_test, reference
from course_grader.hidden_tests import train_val_split  # noqa: F401 - registers its hidden test
from course_lib.i18n import N_, _

GENERATOR_HINT = N_("params may be a generator such as model.parameters(): walk it once, without len() or indexing")


# ---- l1_penalty, l2_penalty ----

def respond_penalty(fn, case: dict) -> object:
    """A case with "linear" (an nn.Linear's state_dict) hands fn that layer's model.parameters(), a generator."""
    if "linear" not in case:
        return respond_with_grads(fn, case)
    weight = case["linear"]["weight"]
    model = nn.Linear(weight.shape[1], weight.shape[0])
    model.load_state_dict(case["linear"])
    return call(fn, model.parameters(), *case["args"])


def penalty_check(like: str):
    by_reference = check_with_grads(like)
    name = like.rpartition(".")[2]

    def check(case: dict, answer) -> None:
        if "linear" not in case:
            return by_reference(case, answer)
        (lam,), layer = case["args"], case["linear"]
        expected = reference(like)(list(layer.values()), lam)
        out_features, in_features = layer["weight"].shape
        assert_close(answer, expected, name=name, hint=GENERATOR_HINT,
                     inputs=_("params=model.parameters() of an {layer}, lam={lam}",
                              layer=f"nn.Linear({in_features}, {out_features})", lam=lam))
    return check


def penalty_cases(g: torch.Generator, grad_hint: str) -> list[dict]:
    """Parameters of every rank in float32 and float64, lam = 0, an nn.Linear's parameters() generator;
    last, the gradient with respect to each parameter."""
    cases = []
    for dtype in (torch.float32, torch.float64):
        params = [torch.randn(shape, generator=g, dtype=dtype) for shape in [(), (3,), (2, 4), (1, 2, 3)]]
        lam = float(torch.rand((), generator=g))
        cases.append({"args": (params, lam)})
    linear = {"weight": torch.randn(3, 4, generator=g), "bias": torch.randn(3, generator=g)}
    return cases + [{"args": (params, 0.0)}, {"args": (0.01,), "linear": linear},
                    {"args": (params, lam), "wrt": [0], "grad_hint": grad_hint,
                     "connect_hint": "sum tensors with tensor operations; no .item(), float() or torch.tensor(...)"}]


hidden_test("l1_penalty", respond=respond_penalty, check=penalty_check("course_lib.overfitting.l1_penalty"))(
    lambda g: penalty_cases(g, N_("d/dp lam * |p| = lam * sign(p)")))
hidden_test("l2_penalty", respond=respond_penalty, check=penalty_check("course_lib.overfitting.l2_penalty"))(
    lambda g: penalty_cases(g, N_("d/dp lam * p² = 2 * lam * p")))


# ---- dropout ----

def respond_dropout(fn, case: dict) -> dict:
    """fn's masks for generators seeded by the case (twice alike, once not), and its answers for p = 0,
    p = 1 and training=False; for a case with "raises", the message of the ValueError it raised."""
    x, p = case["args"]
    if "raises" in case:
        return {"message": str(raised_by(fn, ValueError, x, p, hint=case["hint"]))}
    seed = case["seed"]

    def seeded(s: int) -> torch.Generator:
        return torch.Generator().manual_seed(s)
    return {"out": call(fn, x, p, generator=seeded(seed)), "again": call(fn, x, p, generator=seeded(seed)),
            "other": call(fn, x, p, generator=seeded(seed + 1)), "p0": call(fn, x, 0.0), "p1": call(fn, x, 1.0),
            "eval": call(fn, x, p, training=False)}


def check_dropout(case: dict, answer) -> None:
    x, p = case["args"]
    if "raises" in case:
        message = answer["message"]
        if not re.search(re.escape(case["raises"]), message):
            raise fail("dropout", {"x": x, "p": p}, _("raised ValueError as it should, but its message {message} "
                                                      "does not say what p was ({p})", message=repr(message),
                                                      p=case["raises"]), case["hint"])
        return
    setting = f"dropout(x, {p:.3f})"
    out, shape = answer["out"], tuple(x.shape)
    expect_shapes(_("{setting} with x of shape {shape}", setting=setting, shape=shape), out, shape, dtype=x.dtype)
    kept = out != 0
    assert_close(out[kept], x[kept] / (1 - p), name=_("{setting}: the elements that survive", setting=setting),
                 hint="survivors are x / (1 - p)")
    assert_close(1 - kept.double().mean().item(), p, atol=0.02, rtol=0,
                 name=_("{setting}: the fraction of zeros", setting=setting),
                 hint="zero each element independently with probability p")
    for dim, size in enumerate(shape):  # independent elements: neighbours agree with probability p² + (1 - p)²
        agree = (kept.narrow(dim, 1, size - 1) == kept.narrow(dim, 0, size - 1)).double().mean().item()
        assert_close(agree, p * p + (1 - p) * (1 - p), atol=0.03, rtol=0,
                     name=_("{setting}: how often neighbours along dimension {dim} are both kept or both zeroed",
                            setting=setting, dim=dim),
                     hint="zero every element on its own: one random number per element, torch.rand(x.shape, ...)")
    same_mask = N_("draw the random numbers with torch.rand(x.shape, generator=generator, dtype=x.dtype)")
    assert_close(answer["again"], out, name=_("dropout called twice with generators seeded alike"), hint=same_mask)
    expect_shapes(_("{setting} with another generator", setting=setting), answer["other"], shape, dtype=x.dtype)
    assert_close(bool((answer["other"] != out).any()), True,
                 name=_("dropout with generators seeded differently gives another mask"), hint=same_mask)
    assert_close(answer["p0"], x, name="dropout(x, 0.0)", hint="p = 0 drops nothing")
    assert_close(answer["p1"], torch.zeros_like(x), name="dropout(x, 1.0)",
                 hint="p = 1 drops everything: zeros, no nan from 1 / (1 - p)")
    assert_close(answer["eval"], x, name=f"{setting}, training=False", hint="training=False: return x unchanged")


@hidden_test("dropout", respond=respond_dropout, check=check_dropout)
def dropout_cases(g: torch.Generator) -> list[dict]:
    """Large float32 and float64 inputs without zeros of their own, p in [0.1, 0.9]; a p below 0."""
    cases = []
    for dtype, shape in [(torch.float32, (100, 200)), (torch.float64, (40, 10, 50))]:
        p = 0.1 + 0.8 * float(torch.rand((), generator=g))
        sign = torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)
        x = (sign * (0.5 + torch.rand(shape, generator=g))).to(dtype)
        cases.append({"args": (x, p), "seed": randint(g, 0, 2**31 - 1)})
    return cases + [{"args": (x[:2, :2].clone(), -0.1), "raises": "-0.1",
                     "hint": "p must lie in [0, 1]: raise ValueError and say what p was"}]


# ---- EarlyStopping ----

def _setting(kwargs: dict) -> str:
    return f"EarlyStopping({', '.join(f'{k}={v}' for k, v in kwargs.items())})"


def respond_early_stopping(cls, case: dict) -> dict:
    """What step answers for each loss of the case, best_loss and best_epoch after them, and the classes
    the object is an instance of."""
    stopper = call(cls, **case["kwargs"])
    stops = [call(stopper.step, loss) for loss in case["losses"]]
    return {"stops": stops, "classes": [f"{c.__module__}.{c.__qualname__}" for c in type(stopper).__mro__],
            "best": {a: getattr(stopper, a) for a in ("best_loss", "best_epoch") if hasattr(stopper, a)}}


def check_early_stopping(case: dict, answer) -> None:
    losses, kwargs, hint = case["losses"], case["kwargs"], case["hint"]
    assert_close("course_lib.overfitting.EarlyStopping" in answer["classes"], False,
                 name=_("EarlyStopping is built on course_lib's EarlyStopping"), hint="write the class yourself")
    expected = reference("course_lib.overfitting.EarlyStopping")(**kwargs)
    setting, stops = _setting(kwargs), answer["stops"]
    for i, loss in enumerate(losses):
        assert_close(stops[i], expected.step(loss), hint=hint,
                     name=_("{setting}: {call} after the losses {losses}", setting=setting, call=f"step({loss})",
                            losses=losses[:i]))
    for attribute in ("best_loss", "best_epoch"):
        if attribute not in answer["best"]:
            raise GradingError(_("{setting} has no attribute {attribute}: set it in __init__ and update it in step",
                                 setting=setting, attribute=attribute))
    assert_close((answer["best"]["best_loss"], answer["best"]["best_epoch"]), (expected.best_loss, expected.best_epoch),
                 names=("best_loss", "best_epoch"), hint=hint,
                 name=_("{setting} after the losses {losses}", setting=setting, losses=losses))


@hidden_test("EarlyStopping", respond=respond_early_stopping, check=check_early_stopping)
def early_stopping_cases(g: torch.Generator) -> list[dict]:
    """Ties with the best, the default patience, then random runs of falling and rising losses up to the
    reference's first True (the expected answers stay here: the kernel reads the cases)."""
    cases = [{"losses": [1.0, 1.0, 1.0], "kwargs": {"patience": 2}, "hint": "a loss equal to the best is no improvement"},
             {"losses": [2.0, 1.0, 3.0, 0.5, 0.6, 0.7, 0.8], "kwargs": {},
              "hint": "the default patience is 3, and the count restarts at every new best"}]
    for _run in range(4):
        # min_delta and the losses are multiples of 2**-10: every form of "improved by more than min_delta"
        # (best - loss > min_delta, loss + min_delta < best ...) computes exactly, ties included
        kwargs = {"patience": randint(g, 1, 4), "min_delta": (0.0, 0.0625)[randint(g, 0, 1)]}
        stopper, losses, loss = reference("course_lib.overfitting.EarlyStopping")(**kwargs), [], 1.0
        while len(losses) < 15:
            loss = round(1024 * loss * (0.75 + 0.45 * float(torch.rand((), generator=g)))) / 1024
            losses.append(loss)
            if stopper.step(loss):
                break
        cases.append({"losses": losses, "kwargs": kwargs, "hint": "an improvement is val_loss < best_loss - min_delta; "
                      "stop after patience calls in a row without one"})
    return cases
