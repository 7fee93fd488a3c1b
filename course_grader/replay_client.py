"""The grader's side of the replay (course_grader/replay.py): start it, in the sandbox where there
is one, send it the notebook's cells and each test's cases when that test asks, and collect what
every test answered.

A replay that ends, hangs or writes what is not a message of ours while a cell or a test runs
blames that step: a test fails with the reason, a cell is left out, and the replay starts again
from the top without it, so that one bad cell costs its own points and nothing else. Each
restart leaves out one more step, so a submission can cost at most as many restarts as it has
cells. A replay that cannot even start is the grader's fault: ReplayFailed, never a zero.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from course_grader import frames
from course_grader.protocol import flag
from course_grader.replay_messages import kind_of, within_bounds
from course_lib.i18n import N_, _, fill, shown

# -P: the replay's folder (the scratch, where the notebook's cells write) is not on sys.path, so a
# cell cannot put its own course_grader/replay.py there for the next start (an attack review's find)
REPLAY_COMMAND = [sys.executable, "-P", "-m", "course_grader.replay"]
START_SECONDS = 120  # importing torch and course_lib on a busy machine, before any cell runs
VISIBLE_SECONDS = 60  # a test cell's visible checks, before its hidden ones ask for their cases
STDERR_TAIL = 64 << 10


class ReplayFailed(Exception):
    """The replay could not run for the grader's own reasons (it did not start)."""


@dataclass
class Outcome:
    error: str | None = None  # why the test failed before or without answering
    failure: str | None = None  # the error's kind (GradingError.kind: "twin", "crash" ...), as the replay says
    asked: bool = False  # its hidden checks asked for their cases
    answers: list | None = None
    twin: str | None = None
    replaced_before: list = field(default_factory=list)
    replaced_during: list = field(default_factory=list)


@dataclass
class ReplayResult:
    tests: dict[int, Outcome] = field(default_factory=dict)  # step index -> outcome
    flags: list[dict] = field(default_factory=list)
    restarts: int = 0


@dataclass
class Step:
    kind: str  # "code" or "test"
    source: str
    name: str | None = None

    def message(self) -> dict:
        return {"kind": self.kind, "source": self.source, "name": self.name}


SKIPPED = {"kind": "code", "source": "", "name": None}


class _Blame(Exception):
    def __init__(self, why: str, tampering: bool = False):
        super().__init__(why)
        self.why, self.tampering = why, tampering


class ReplayClient:
    def __init__(self, command: list[str], cwd: str, env: dict, cell_timeout: float,
                 call_seconds: Callable[[str], float]):
        self.command, self.cwd, self.env = command, cwd, env
        self.cell_timeout, self.call_seconds = cell_timeout, call_seconds

    def run(self, steps: list[Step], cases_of: Callable[[str], list], ban: tuple,
            stand_ins: Callable[[str, set[str]], dict[str, str]] = lambda name, pending: {}) -> ReplayResult:
        """Replay steps; cases_of(name): the cases of a test; ban: the operator kernels the replay
        replaces before any cell runs (course_lib._ban.ban_targets), computed here, where no
        code of the notebook ran; stand_ins(name, names whose tests are still to run): the source
        of the stand-ins name's test runs with (course_grader/stand_ins.py lent_for), sent as it starts."""
        result, left_out = ReplayResult(), set()
        for _attempt in range(len(steps) + 1):
            program = [SKIPPED if i in left_out or i in result.tests else step.message() for i, step in enumerate(steps)]
            blamed = self._run_once(program, steps, cases_of, ban, stand_ins, result)
            if blamed is None:
                return result
            index, blame = blamed
            left_out.add(index)
            result.restarts += 1
            if blame.tampering:
                first_line = steps[index].source.strip().split("\n")[0][:60]
                result.flags.append(flag("tampering", f"the cell starting `{first_line}`: {blame.why}"))
            if steps[index].kind == "test":
                result.tests[index] = Outcome(error=f"{steps[index].name}: " + _(
                    "its test {why}, so it counts as failed", why=shown(blame.why)))
        return result

    def _run_once(self, program, steps, cases_of, ban, stand_ins, result) -> tuple[int, _Blame] | None:
        """One replay from the top: None when it reached the end, else (step to blame, why)."""
        with tempfile.TemporaryFile() as stderr:
            process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                       cwd=self.cwd, env=self.env, start_new_session=True)
            reader = frames.FrameReader(process.stdout.fileno())
            current, last_done, outcome = None, -1, None
            try:
                frames.write(process.stdin.fileno(), {"steps": program, "cell_timeout": self.cell_timeout,
                                                      "ban": [list(t) for t in ban]}, time.monotonic() + START_SECONDS)
                try:
                    ready = reader.read(time.monotonic() + START_SECONDS)
                except frames.BadFrame as bad:
                    raise ReplayFailed(f"the grader's replay of the notebook did not start ({bad}): "
                                       f"{_tail(stderr, process)}") from None
                if not (isinstance(ready, dict) and ready.get("ready")):
                    raise ReplayFailed(f"the grader's replay of the notebook did not start: {_tail(stderr, process)}")
                if ready.get("processes"):
                    result.flags.append(flag("not isolated", f"the replay could start programs: {ready['processes']}"))
                deadline = time.monotonic() + self.cell_timeout + 10
                while True:
                    message = _read(reader, deadline, process)
                    kind = kind_of(message)
                    if kind is None:
                        raise _Blame(N_("wrote to the grader's channel what is not a message of the grader's"),
                                     tampering=True)
                    if kind == "at":
                        current = _index(message["at"], last_done + 1, len(steps))
                        step = steps[current]  # a test judged in an earlier run is left out: a code step now
                        outcome = Outcome() if program[current]["kind"] == "test" else None
                        deadline = time.monotonic() + (VISIBLE_SECONDS if outcome else self.cell_timeout + 10)
                        if outcome is not None:
                            pending = {s["name"] for s in program[current + 1:] if s["kind"] == "test"}
                            try:
                                frames.write(process.stdin.fileno(), {"stand_ins": stand_ins(step.name, pending)},
                                             deadline)
                            except frames.BadFrame:
                                raise _Blame(N_("stopped reading what the grader sent (a loop that never ends?)")) \
                                    from None
                    elif kind == "cases_for" and outcome is not None and message["cases_for"] == step.name \
                            and not outcome.asked:
                        cases = cases_of(step.name)
                        outcome.asked = True
                        try:
                            frames.write(process.stdin.fileno(), {"cases": cases}, deadline)
                        except frames.BadFrame:
                            raise _Blame(N_("stopped reading what the grader sent (a loop that never ends?)")) from None
                        deadline = time.monotonic() + VISIBLE_SECONDS + len(cases) * self.call_seconds(step.name)
                    elif kind == "answers" and outcome is not None and outcome.asked and outcome.answers is None:
                        if not within_bounds(message["answers"]):
                            raise _Blame(N_("sent answers nested too deeply or too large to judge"), tampering=True)
                        outcome.answers = message["answers"]
                        outcome.twin = message["twin"]
                        outcome.replaced_before = _texts(message["replaced_before"])
                        outcome.replaced_during = _texts(message["replaced_during"])
                    elif kind == "done" and current is not None and message["done"] == current:
                        if outcome is not None:
                            outcome.replaced_before = outcome.replaced_before or _texts(message["replaced"])
                            outcome.twin = outcome.twin or message["twin"]  # refused in its visible checks, say
                            if message["error"]:  # its visible checks failed, or the cell failed after the hidden ones
                                outcome.error = message["error"][:2000]
                                outcome.failure = message["failure"]
                            elif outcome.answers is None:
                                outcome.error = f"{step.name}: " + _("the hidden checks of its test cell did not run")
                            result.tests[current] = outcome
                        last_done, current, outcome = current, None, None
                        deadline = time.monotonic() + self.cell_timeout + 10
                    elif kind == "end" and current is None:
                        process.wait(timeout=30)
                        return None
                    else:
                        raise _Blame(N_("sent the grader a message out of turn: the notebook's code wrote to "
                                     "the grader's channel"), tampering=True)
            except _Blame as blame:
                return (current if current is not None else min(last_done + 1, len(steps) - 1)), blame
            except frames.BadFrame as bad:  # the program could not be handed over
                raise ReplayFailed(f"the grader's replay of the notebook did not take its program ({bad}): "
                                   f"{_tail(stderr, process)}") from None
            except (BrokenPipeError, subprocess.TimeoutExpired):
                return (current if current is not None else min(last_done + 1, len(steps) - 1)), \
                    _Blame(N_("ended the grader's replay of the notebook"))
            except ReplayFailed:
                raise
            except Exception as err:  # noqa: BLE001 - what the replay sent broke the reading: its doing, not ours
                return (current if current is not None else min(last_done + 1, len(steps) - 1)), \
                    _Blame(fill(N_("sent the grader what it cannot read ({error})"), {"error": type(err).__name__}),
                           tampering=True)
            finally:
                _kill(process)


def _read(reader: frames.FrameReader, deadline: float, process) -> dict:
    try:
        message = reader.read(deadline)
    except frames.BadFrame as bad:
        if str(bad) == "nothing in time":
            raise _Blame(N_("did not finish in time (a loop that never ends?)")) from None
        if str(bad) == "the end of the pipe":
            process.poll()
            code = process.returncode
            how = (fill(N_("with signal {signal}"), {"signal": -code}) if code is not None and code < 0
                   else fill(N_("with exit code {code}"), {"code": code}))
            raise _Blame(fill(N_("ended the grader's replay of the notebook ({how}: os._exit, a crash, or the memory "
                                 "limit?)"), {"how": how})) from None
        raise _Blame(fill(N_("wrote to the grader's channel what is not a message of the grader's ({problem})"),
                          {"problem": bad}), tampering=True) from None
    if not isinstance(message, dict):
        raise _Blame(N_("wrote to the grader's channel what is not a message of the grader's"), tampering=True)
    return message


def _index(value, expected: int, count: int) -> int:
    if type(value) is not int or value != expected or value >= count:
        raise _Blame(N_("sent the grader a step out of order: the notebook's code wrote to the grader's channel"),
                     tampering=True)
    return value


def _texts(value) -> list[str]:
    return [v[:200] for v in value[:20] if isinstance(v, str)] if isinstance(value, list) else []


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.wait()
    for stream in (process.stdin, process.stdout):
        try:
            stream.close()
        except OSError:
            pass


def _tail(stderr, process) -> str:
    _kill(process)
    stderr.seek(0, os.SEEK_END)
    stderr.seek(max(0, stderr.tell() - STDERR_TAIL))
    lines = stderr.read().decode(errors="replace").strip().splitlines()
    errors = [line for line in lines if re.match(r"\w+(Error|Exception): ", line)]  # a traceback's last line
    return (errors or lines or [f"no message (exit code {process.returncode})"])[-1][:500]
