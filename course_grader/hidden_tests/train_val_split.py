"""Hidden test of train_val_split (08_overfitting): the split is random, so the kernel answers for
seeds chosen here, and the answers are judged by what must hold for any correct split: every index
once, the same seed giving the same split, two seeds two splits, the global random state left alone."""
from __future__ import annotations

import sys

import torch

from course_lib._guard import fail
from course_lib.exercise_checks import call, expect_shapes
from course_lib.grading import assert_close
from course_grader.hidden_tests._cases import randint
from course_grader.hidden_test import hidden_test
from course_lib.i18n import N_, _


def global_random_states() -> dict:
    """The global random states a function could reseed or draw from: torch's, and NumPy's and Python's
    `random` module's once imported."""
    states = {"torch": torch.random.get_rng_state()}
    if "numpy" in sys.modules:
        states["NumPy"] = sys.modules["numpy"].random.get_state()
    if "random" in sys.modules:
        states[N_("Python's random")] = sys.modules["random"].getstate()
    return states


def changed_states(before: dict, after: dict) -> list[str]:
    def same(a, b) -> bool:
        if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
            return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)
        if isinstance(a, tuple) and isinstance(b, tuple):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        if hasattr(a, "tolist") and hasattr(b, "tolist"):  # NumPy's state holds an array of 624 words
            return a.tolist() == b.tolist()
        return a == b
    return [name for name in after if name in before and not same(before[name], after[name])]


def respond_split(fn, case: dict) -> dict:
    """fn's split, the same call again, and with "other_seed", the split for that seed; and which global
    random states (torch's, NumPy's, Python's) the calls changed."""
    before = global_random_states()
    answer = {"split": call(fn, *case["args"], **case["kwargs"]), "again": call(fn, *case["args"], **case["kwargs"])}
    if "other_seed" in case:
        answer["other"] = call(fn, *case["args"], seed=case["other_seed"])
    answer["changed_states"] = changed_states(before, global_random_states())
    return answer


GLOBAL_STATE_HINT = N_("shuffle with a generator of your own, torch.randperm(n, generator=torch.Generator()"
                       ".manual_seed(seed)), not after torch.manual_seed(seed)")


def check_split(case: dict, answer) -> None:
    (n, fraction), seed = case["args"], case["kwargs"]["seed"]
    setting, n_val, labels = f"train_val_split({n}, {fraction:.4g}, seed={seed})", int(n * fraction), ("train_idx", "val_idx")
    split, last = answer["split"], n - 1
    expect_shapes(setting, split, (n - n_val,), (n_val,), dtype=torch.int64, labels=labels)
    assert_close(torch.cat(tuple(split)).sort().values, torch.arange(n), hint=f"every index 0..{last} exactly once",
                 name=_("{setting}: train_idx and val_idx together, sorted", setting=setting))
    assert_close(answer["again"], tuple(split), names=labels, name=_("{setting} a second time", setting=setting),
                 hint="the same seed must give the same split")
    if answer["changed_states"]:
        states = _(" and ").join(map(_, answer["changed_states"]))  # "Python's random": marked N_ above
        raise fail("train_val_split", {"n": n, "val_fraction": fraction, "seed": seed},
                   _("changed the global random state of {states}: every later random draw of the program now "
                     "depends on this call", states=states), GLOBAL_STATE_HINT)
    if "other_seed" not in case:
        return
    val_idx = split[1]
    assert_close(int(val_idx.max() - val_idx.min()) + 1 > n_val, True,
                 name=_("{call}: val_idx is a random sample", call=f"train_val_split({n}, {fraction:.4g})"),
                 hint="shuffle the indices before cutting, so validation samples come from everywhere")
    other = answer["other"]
    expect_shapes(f"train_val_split({n}, {fraction:.4g}, seed={case['other_seed']})", other, (n - n_val,), (n_val,),
                  dtype=torch.int64, labels=labels)
    assert_close(bool((other[1].sort().values != val_idx.sort().values).any()), True,
                 name=_("{call} with two different seeds gives two different splits",
                        call=f"train_val_split({n}, {fraction:.4g})"),
                 hint="seed your own generator with seed: torch.Generator().manual_seed(seed)")


@hidden_test("train_val_split", respond=respond_split, check=check_split)
def split_cases(g: torch.Generator) -> list[dict]:
    """One sample, fractions 0 and 1, random fractions of up to 1000 samples; a spread and a second seed."""
    sizes = [(100, 0.29), (1, 0.5), (7, 0.0), (7, 1.0), (1000, float(torch.rand((), generator=g))),
             (37, float(torch.rand((), generator=g)))]
    cases = [{"args": (n, fraction), "kwargs": {"seed": randint(g, 0, 2**31 - 1)}} for n, fraction in sizes]
    seed = randint(g, 0, 2**31 - 1)
    return cases + [{"args": (1000, 0.3), "kwargs": {"seed": seed}, "other_seed": seed + 1}]
