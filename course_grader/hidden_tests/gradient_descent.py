"""Hidden tests of 04_gradient_descent: every function against course_lib.gradient_descent.

An optimizer step is judged along a run of steps from zero state, as torch.optim takes them. The
kernel feeds each step the w and state the learner's previous step returned, and the grader checks
every step against the reference on those same inputs: no case holds an answer (such as the
reference's state after a step) that the learner's kernel could read.
"""
from __future__ import annotations

import torch

from course_lib.exercise_checks import call, random_tensors
from course_lib.grading import GradingError, assert_close
from course_grader.hidden_test import hidden_test, inputs_of, reference
from course_lib.i18n import N_, _

GD = "course_lib.gradient_descent"


@hidden_test("gd_step", like=f"{GD}.gd_step")
def gd_cases(g: torch.Generator) -> list[dict]:
    """Fresh shapes in float32 and float64, learning rates between 0.001 and 1."""
    return [{"args": (w, torch.randn(w.shape, generator=g, dtype=w.dtype), float(torch.rand((), generator=g)) + 1e-3)}
            for w in random_tensors(count=5, scale=3, generator=g)]


def a_run(g: torch.Generator, shape: tuple, dtype: torch.dtype, n_state: int, steps: list[dict]) -> dict:
    """Random w, n_state zero tensors (velocity, square_avg, or m and v), a fresh grad for each step.
    A step's "args" and "kwargs" follow w, grad and the state in the call."""
    w = torch.randn(shape, generator=g, dtype=dtype)
    return {"w": w, "state": tuple(torch.zeros_like(w) for _i in range(n_state)),
            "steps": [{"grad": torch.randn(shape, generator=g, dtype=dtype), **step} for step in steps]}


def run_steps(fn, case: dict) -> list:
    """What the learner's step returned at each step of the run, each from its own previous result."""
    w, state, results = case["w"], case["state"], []
    for step in case["steps"]:
        result = call(fn, w, step["grad"], *state, *step.get("args", ()), **step.get("kwargs", {}))
        results.append(result)
        if not isinstance(result, (tuple, list)) or len(result) != 1 + len(state):
            break  # the check says what is wrong with it; the next step has no state to start from
        w, *state = result
    return results


def steps_like(name: str, names: tuple[str, ...]):
    """The check of run_steps: every step equals the reference's from the same w, grad and state."""
    def check(case: dict, answer) -> None:
        ref, steps = reference(f"{GD}.{name}"), case["steps"]
        w, state = case["w"], case["state"]
        if type(answer) is not list:
            raise GradingError(f"{name}: " + _("the grader got {type} instead of one answer per step",
                                               type=type(answer).__name__))
        for i, step in enumerate(steps):
            if i >= len(answer):
                raise GradingError(f"{name}: " + _("the answers stop after step {i} of {n}", i=i, n=len(steps)))
            call_case = {"args": (w, step["grad"], *state, *step.get("args", ())), "kwargs": step.get("kwargs", {})}
            expected = ref(*call_case["args"], **call_case["kwargs"])
            setting = _("{name}, step {step} of a run from zero state", name=name, step=i + 1)
            inputs = inputs_of(ref, call_case)
            if "state_hint" in step and isinstance(answer[i], (tuple, list)) and len(answer[i]) == len(names):
                # the state first, with its own hint: a wrong state makes w wrong from the next step on
                assert_close(tuple(answer[i][1:]), expected[1:], name=setting, inputs=inputs, names=names[1:],
                             hint=step["state_hint"])
            assert_close(answer[i], expected, name=setting, inputs=inputs, names=names, hint=step.get("hint"))
            w, *state = answer[i]  # checked just above, so the learner's own state is a fair start
    return check


@hidden_test("momentum_step", respond=run_steps, check=steps_like("momentum_step", ("w", "velocity")))
def momentum_cases(g: torch.Generator) -> list[dict]:
    """Runs of five steps in three shapes, random lr and momentum."""
    cases = []
    for shape, dtype in [((), torch.float32), ((5,), torch.float64), ((3, 4), torch.float32)]:
        lr, momentum = 0.01 + 0.2 * float(torch.rand((), generator=g)), 0.99 * float(torch.rand((), generator=g))
        cases.append(a_run(g, shape, dtype, 1, [{"args": (lr,), "kwargs": {"momentum": momentum}}] * 5))
    return cases


@hidden_test("rmsprop_step", respond=run_steps, check=steps_like("rmsprop_step", ("w", "square_avg")))
def rmsprop_cases(g: torch.Generator) -> list[dict]:
    """Runs of five steps in three shapes, random lr and alpha; eps=1e-3 shows whether eps is added after the root."""
    cases = []
    for shape, dtype in [((), torch.float64), ((6,), torch.float32), ((2, 3), torch.float64)]:
        lr, alpha = 0.001 + 0.1 * float(torch.rand((), generator=g)), 0.5 + 0.49 * float(torch.rand((), generator=g))
        cases.append(a_run(g, shape, dtype, 1, [{"kwargs": {"lr": lr, "alpha": alpha, "eps": 1e-3}}] * 5))
    return cases


ADAM_STATE_HINT = N_("m = beta1 * m + (1 - beta1) * grad and v = beta2 * v + (1 - beta2) * grad**2: return the new "
                     "m and v, not the bias-corrected m_hat and v_hat")


@hidden_test("adam_step", respond=run_steps, check=steps_like("adam_step", ("w", "m", "v")))
def adam_cases(g: torch.Generator) -> list[dict]:
    """Runs of steps t = 1 to 6 in three shapes, random lr and betas; the last run goes on at t = 50
    with the default hyperparameters, where the bias correction has almost faded. m and v are checked
    before w, with a hint of their own."""
    cases = []
    for shape, dtype in [((), torch.float32), ((4,), torch.float64), ((3, 2), torch.float32)]:
        lr = 0.001 + 0.1 * float(torch.rand((), generator=g))
        betas = (0.5 + 0.45 * float(torch.rand((), generator=g)), 0.9 + 0.099 * float(torch.rand((), generator=g)))
        cases.append(a_run(g, shape, dtype, 2, [
            {"args": (t,), "kwargs": {"lr": lr, "betas": betas}, "state_hint": ADAM_STATE_HINT,
             "hint": f"step t = {t}: divide m by 1 - beta1**t and v by 1 - beta2**t"} for t in range(1, 7)]))
    w = cases[-1]["w"]
    cases[-1]["steps"].append({"grad": torch.randn(w.shape, generator=g, dtype=w.dtype), "args": (50,),
                               "state_hint": ADAM_STATE_HINT})
    # a large eps shows where it goes: added to sqrt(v_hat), after the bias correction (not to sqrt(v))
    cases.append(a_run(g, (5,), torch.float64, 2, [
        {"args": (t,), "kwargs": {"lr": 0.1, "eps": 0.1}, "state_hint": ADAM_STATE_HINT,
         "hint": "eps is added to sqrt(v_hat), the corrected v"} for t in range(1, 4)]))
    return cases


@hidden_test("fit_line", like=f"{GD}.fit_line")
def fit_line_cases(g: torch.Generator) -> list[dict]:
    """Noisy points around a random line, fitted to convergence and for just 7 steps."""
    cases = []
    for n, dtype in [(5, torch.float32), (40, torch.float64), (200, torch.float32)]:
        x = 4 * torch.rand(n, generator=g, dtype=dtype) - 2
        y = 3 * torch.randn((), generator=g, dtype=dtype) * x + torch.randn((), generator=g, dtype=dtype)
        y = y + 0.3 * torch.randn(n, generator=g, dtype=dtype)
        loose = {"names": ("slope", "intercept"), "rtol": 1e-4, "atol": 1e-5}
        cases += [{"args": (x, y), **loose},
                  {"args": (x, y), "kwargs": {"lr": 0.05, "steps": 7}, **loose,
                   "hint": "after 7 steps from (0, 0) with lr=0.05: use lr and steps, and update both from one error"}]
    return cases
