"""Grading one student until nbgrader grades: what killed or hung the kernel is skipped next time.

nbgrader alone leaves a submission ungraded when its code kills the kernel (os._exit, out of
memory) or hangs while ignoring interrupts. The grading kernel keeps running.json current with the
cell and graded function running (course_grader/protocol.py); after such a failure that function
(or cell) is marked poisoned and nbgrader runs again, with the poisoned part failing at once: it
scores zero, the rest counts.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from course_grader.grade_class.runs import run_nbgrader
from course_grader.grade_class.submissions import GRADER_ERROR, KILLED, TIME_LIMIT
from course_grader.protocol import RUNNING, GradingDir, flag
from course_grader.sandbox.launcher import FAILED as SANDBOX_FAILED
from course_lib.i18n import N_, fill

# Why a call or cell is skipped: the learner's feedback shows it, translated (course_lib/i18n.py shown).
DIED = N_("it made the Python kernel die (os._exit, a crash or running out of memory)")
IGNORED = N_("it ran past its time limit and ignored the interrupt (a loop catching BaseException?)")
HUNG = N_("it kept running past its time limit and could not be interrupted")
NO_EXTENSION = ("the grading kernel never ran the grader's extension (course_grader.kernel_extension), so "
                "nothing it graded can be trusted")


@dataclass
class Attempts:
    """One student's nbgrader runs, as they go."""
    student: str
    flags: list[dict] = field(default_factory=list)  # the class command's findings
    kernel_flags: list[dict] = field(default_factory=list)  # what the grader's other parts wrote in flags.json
    poisoned: dict = field(default_factory=lambda: {"calls": {}, "cells": {}})

    @property
    def skipped_parts(self) -> bool:
        return any(self.poisoned.values())


def outcome_of(code: int | None, text: str, time_limit: float) -> tuple[str, str]:
    """("ok" | "timeout" | "no kernel" | "died" | "hung" | "error", a detail) of one nbgrader run.

    "timeout": graded, but a cell ran out of time; if the kernel ignored the interrupt, every
    later cell ran out of time too, and running.json still names what was running.
    "no kernel": the kernel died while starting, for instance because another program took one of
    the ports jupyter_client had picked for it (seen with four gradings at a time).
    """
    errors = [line for line in text.splitlines() if "| ERROR]" in line or "Error" in line]
    last = errors[-1] if errors else f"exit code {code}"
    replay = [line.split("ReplayFailed: ", 1)[1] for line in text.splitlines() if "ReplayFailed: " in line]
    if code is None:
        return "hung", f"no result after {time_limit:g} s"
    if code == 0:
        return ("timeout", "a cell ran out of time") if "Timeout waiting for execute reply" in text else ("ok", "")
    if "Kernel died before replying to kernel_info" in text:
        # the kernel's own last words, not nbgrader's "see the above traceback"
        return "no kernel", next((line for line in text.splitlines() if "Error: " in line and line[0] != "["), last)
    if "DeadKernelError" in text or "Kernel died" in text:
        return "died", last
    if "Timeout waiting for" in text or "UnresponsiveKernel" in text:
        return "hung", last
    return "error", replay[-1] if replay else last


def autograde_until_graded(run, sub: Attempts, folder: GradingDir, log) -> dict | None:
    """Run nbgrader, poisoning what killed or hung the kernel, until it grades: None, or a flag saying
    why it cannot. run: the class command's Run (cli.py)."""
    failure = flag(GRADER_ERROR, f"not graded after {run.attempts} attempts")
    for _ in range(run.attempts):
        folder.set_poisoned(sub.poisoned)
        folder.clear_running()
        args = ["autograde", run.assignment, "--student", sub.student, "--force", *run.nbgrader_options]
        code, text = run_nbgrader(args, run.course, Path(folder.path), run.time_limit, log)
        outcome, detail = outcome_of(code, text, run.time_limit)
        sub.kernel_flags += [f for f in folder.take_flags() if f not in sub.kernel_flags]
        broken = [f["detail"] for f in sub.kernel_flags if f["kind"] == SANDBOX_FAILED]
        if broken:  # the host could isolate, yet did not: nothing ran, nothing can be graded
            return flag(GRADER_ERROR, broken[0])
        marker = folder.running()
        if outcome in ("ok", "timeout") and not os.path.exists(folder.file(RUNNING)):
            # The extension writes running.json before the first cell: without it, the grader's own
            # code failed in the kernel (course_lib or course_grader not importable there, say).
            errors = [line.strip() for line in text.splitlines() if "Error: " in line]
            return flag(GRADER_ERROR, f"{NO_EXTENSION}: {errors[0] if errors else 'see the log'}")
        if outcome == "ok":
            return None
        if outcome == "timeout" and not (marker.get("call") or marker.get("cell")):
            sub.flags.append(flag(TIME_LIMIT, "a cell ran past the cell time limit and was interrupted: "
                                              "what it defines scores 0"))
            return None
        if outcome == "error":
            return flag(GRADER_ERROR, f"nbgrader failed: {detail}")
        if outcome == "no kernel":  # before any of the submission's code ran: grade it again
            failure = flag(GRADER_ERROR, f"the grading kernel did not start: {detail}")
            continue
        reason = IGNORED if marker.get("event") == "ignored-interrupt" else DIED if outcome == "died" else HUNG
        kind = KILLED if reason == DIED else TIME_LIMIT
        part, key = ("calls", marker.get("call")) if marker.get("call") else ("cells", marker.get("cell"))
        if not key:
            return flag(kind, f"{reason.replace('it ', 'the notebook ', 1)}, outside any cell the grader can skip")
        if key in sub.poisoned[part]:
            return flag(kind, f"{key} still fails after being skipped ({detail})")
        sub.poisoned[part][key] = fill(N_("in an earlier grading run {reason}"), {"reason": reason})
        what = key if part == "calls" else f"the cell starting `{key.split(' ', 1)[1]}`"
        # A skipped cell scores 0; a skipped call only in the feedback's run: the grader's replay still
        # tests it, with its own stand-ins for the other graded names it uses (course_grader/stand_ins.py)
        outcome_text = "skipped, so its tests score 0" if part == "cells" else "skipped in the feedback's run"
        sub.flags.append(flag(kind, f"{what}: {reason}; {outcome_text}"))
        failure = flag(kind, f"not graded after {run.attempts} attempts")
    return failure
