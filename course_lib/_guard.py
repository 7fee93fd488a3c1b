"""The machinery behind course_lib.exercise_checks.call: run a learner's function under guard.

`guarded` runs it with a time limit (SIGALRM); a record of the torch functions and Python functions
it calls that it may not, and a ban on the operators among them in every thread
(course_lib/_forbidden.py); its stdout, stderr and warnings kept out of the cell while grading;
and a copy of its tensor inputs to catch in-place changes. When the instructor grades, `hooks` is the
grader's (course_grader/kernel_extension.py): it is told which function runs, and a function
that killed or hung the kernel in an earlier grading run fails at once.
"""
from __future__ import annotations

import contextlib
import io
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable

import torch

from course_lib._ban import Ban
from course_lib._forbidden import Watch, compile_forbidden
from course_lib.exercise_rules import GRADED_TOPIC
from course_lib.grading import GradingError, describe
from course_lib.grading.messages import hint_line
from course_lib.i18n import N_, _, fill, shown

GRADING = bool(os.environ.get("NBGRADER_EXECUTION"))  # set by nbgrader autograde and validate
TIME_LIMIT = float(os.environ.get("COURSE_CALL_TIME_LIMIT") or (5 if GRADING else 60))
# The hint of a call that used its twin: what the exercise asks for instead.
BUILD_IT = N_("build it from tensor arithmetic, indexing, exp, log, max, sum, matmul and where")
timed_out: set[str] = set()  # names that ran out of time in this kernel: later calls fail at once


class GraderHooks:
    """What the guard tells a grader and asks of it; without one, nothing."""

    def running(self, call: str | None, event: str = "running") -> None:
        """`call` (a graded name) starts, or None: it ended; event "ignored-interrupt": it is about
        to end the kernel."""

    def skipped(self) -> dict[str, str]:
        """graded name -> why the grader skips it (it killed or hung an earlier grading run)."""
        return {}


hooks = GraderHooks()


def fail(name: str, inputs: dict, first: str, hint: str | None = None, kind: str | None = None) -> GradingError:
    """A GradingError laid out like course_lib.grading's: what went wrong, the input, a hint."""
    lines = [f"{name}: {first}"]
    if inputs:
        lines.append("  " + _("input: {inputs}", inputs="; ".join(f"{k}={describe(v, 0)}" for k, v in inputs.items())))
    if hint:
        lines.append(hint_line(hint))
    return GradingError("\n".join(lines), kind, bool(hint))


class _TimeUp(BaseException):
    """Raised in the learner's code when its time is up; not an Exception, so fewer handlers catch it."""


_alarm = {"active": False, "fired": 0, "name": None}


def _on_alarm(signum, frame):
    if not _alarm["active"]:
        return
    _alarm["fired"] += 1
    if _alarm["fired"] > 5:  # our interrupt was swallowed five times: the code catches BaseException
        if GRADING:
            hooks.running(_alarm["name"], event="ignored-interrupt")
            os._exit(70)  # only ending the kernel stops it; grade.py takes over from here
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    raise _TimeUp


@contextlib.contextmanager
def _quiet():
    """When grading, nothing the learner's code prints or warns reaches the cell's output."""
    if not GRADING:
        yield
        return
    sink = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stderr(sink), contextlib.redirect_stdout(sink):
        warnings.simplefilter("ignore")
        yield


def _tensors(inputs: dict) -> list[tuple[str, torch.Tensor]]:
    """Every tensor argument, also those inside a list or tuple (params of l2_penalty)."""
    found = []
    for key, value in inputs.items():
        items = enumerate(value) if isinstance(value, (list, tuple)) else [(None, value)]
        found += [(key if i is None else f"{key}[{i}]", v) for i, v in items if isinstance(v, torch.Tensor)]
    return found


def _changed(before: torch.Tensor, after: torch.Tensor) -> bool:
    if before.shape != after.shape or before.dtype != after.dtype:
        return True
    return not bool(((before == after) | (before.isnan() & after.isnan())).all())


def guarded(run: Callable[[], object], name: str, inputs: dict, forbidden: tuple[str, ...],
            time_limit: float):
    """run() (which calls the learner's `name` on `inputs`) under every guard; returns its result."""
    __tracebackhide__ = True
    skipped = hooks.skipped()
    if name in skipped:
        raise fail(name, inputs, _("not run: {why}, so the grader skips it", why=shown(skipped[name])))
    if name in timed_out:
        raise fail(name, inputs, _("not run: an earlier call did not finish within {seconds} s",
                                   seconds=f"{time_limit:g}"))
    ops, python = compile_forbidden(forbidden)
    watch, ban = Watch(ops, python), Ban(ops)
    before = [(key, t.detach().clone()) for key, t in _tensors(inputs)]
    timed = threading.current_thread() is threading.main_thread()
    if timed:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        _alarm.update(active=True, fired=0, name=name)
        signal.setitimer(signal.ITIMER_REAL, time_limit, 0.2)  # then every 0.2 s until it stops
    hooks.running(name)
    start, error, result = time.perf_counter(), None, None
    try:
        with _quiet(), watch, ban:
            try:
                result = run()
            finally:
                _alarm["active"] = False
    except _TimeUp:
        pass
    except GradingError as err:
        error = err
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        hooks.running(None)
    used = watch.used() or ban.used()
    helper = watch.caller()
    if used and helper != name and GRADED_TOPIC.get(helper) and GRADED_TOPIC.get(helper) == GRADED_TOPIC.get(name):
        raise fail(name, inputs, _("calls your {helper}, which calls {used}, which computes the answer for it: "
                                   "fix {helper}. The grader tests {name} with a correct {helper}, so only {helper} "
                                   "loses points for it", helper=helper, used=used, name=name), BUILD_IT, "twin")
    if used:
        raise fail(name, inputs, _("calls {used}, which computes the answer for it. This exercise asks you to write "
                                   "{name} yourself, so it scores no points while it calls {used}",
                                   used=used, name=name), BUILD_IT, "twin")
    if timed and _alarm["fired"]:
        timed_out.add(name)
        raise fail(name, inputs, _("did not finish within {seconds} s (stopped after {stopped} s)",
                                   seconds=f"{time_limit:g}", stopped=f"{time.perf_counter() - start:.1f}"),
                   N_("is there a loop that never ends?"))
    if error is not None:
        raise error.with_traceback(None)
    after = dict(_tensors(inputs))
    for key, old in before:
        if _changed(old, after[key]):
            raise fail(name, inputs, _("changed its input {key} in place: leave inputs as they are", key=key),
                       _in_place_hint(name, key))
    return result


def _in_place_hint(name: str, key: str) -> str:
    """How to avoid the change, in the terms of the function: an update step or anything else."""
    if name.endswith("_step"):  # gd_step, adam_step ...: the learner updates weights
        return fill(N_("compute a new tensor: `{key} = {key} - lr * grad`, not `{key} -= lr * grad` or {key}.sub_()"),
                    {"key": key})
    return fill(N_("`{key} -= ...`, `{key}[...] = ...` and `{key}.add_()` change the caller's tensor: work on a "
                   "copy ({key}.clone()) or build a new tensor"), {"key": key})
