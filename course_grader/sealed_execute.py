"""nbgrader's Execute step with sealed hidden tests (course_grader/sealed.py): the grade of a test
cell rests on the grader's own verdict, reached where the learner's code cannot reach.

nbgrader runs the notebook in its kernel, for the feedback: the learner sees their cells' outputs
and their visible checks. Nothing the kernel shows is scored. Then the grader replays the
notebook's code as plain Python in a process of its own, in the same sandbox
(course_grader/replay.py, replay_client.py): fresh cases for every graded name are drawn here,
in nbgrader's process, and handed to the replay only when that name's test asks for them; the
answers come back as plain data and are judged here with course_lib's reference. Each test
cell's outputs are then set to say the verdict: a failed verdict is an error output, which
nbgrader's SaveAutoGrades scores zero; a passed one leaves no error in the cell.

The replay bans a graded function's forbidden operators in every thread while its cases are
answered; the grader also reads the notebook's code (course_grader/static_twins.py): a graded
function that calls its twin fails its hidden test here, whatever answers arrived.

The instructor's summary (python -m course_grader grade) gets a flag for what looks like
cheating: checks the notebook replaced, a twin called, messages on the grader's channel that are
not the replay's, and suspicious lines in the submitted code.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile

from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute

from course_grader.hidden_test import hidden_test_of
from course_grader.protocol import SEALED_ENV, GradingDir
from course_grader.replay_client import REPLAY_COMMAND, Outcome, ReplayClient, ReplayResult, Step
from course_grader.replay_program import ban_of, call_seconds, replay_groups, replay_steps
from course_grader.stand_ins import lent_for, mates
from course_grader.static_twins import Bindings, twin_call
from course_grader.verdicts import NOT_PLAIN, failures, verify
from course_lib.exercise_checks import new_generator
from course_lib.exercise_rules import REFERENCE_HELPERS, TOPICS
from course_lib.i18n import _, speaking

# Lines a learner's solution has no reason to contain; shown to the instructor, never scored.
SUSPICIOUS = re.compile(
    r"gradebook|autograded|submitted/|source/|hidden_tests|sealed|COURSE_|NBGRADER|/proc/|sys\.modules|"
    r"builtins|__import__|__torch_function__|allclose|assert_close|setprofile|settrace|ctypes|"
    r"os\._exit|signal\.|globals\(\)\[|importlib|set_custom_exc|excepthook|showtraceback|course_grader|"
    r"displayhook|display_pub|events\.register|input_transformers|ast_transformers|os\.fork|subprocess|"
    r"multiprocessing|gc\.get_|torch\._C\._dispatch|torch\.library|os\.write\(|/proc/self/fd|_getframe|"
    r"f_back|f_locals|f_globals|_current_frames|__closure__|cell_contents|__globals__|__code__|__self__|__func__|"
    r"torch\._refs|torch\._decomp|"
    r"torch\._prims|_forbidden|_ban\b|\bBan\b|fcntl|memfd|dup2|lseek|threading|concurrent|torch\.func|torch\.ops\.|_fused_|serialization|"
    r"as_subclass|__torch_|"
    rf"course_lib\.({'|'.join((*TOPICS, *REFERENCE_HELPERS, 'grading', 'exercise_checks'))})")


def _test_cells(nb) -> dict[str, object]:
    """graded name -> its test cell, for the names that have a sealed hidden test."""
    cells = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution") and meta.get("grade_id") \
                and "sealed_checks(" in cell.source:
            cells[str(meta["grade_id"]).removeprefix("test_")] = cell
    return cells


def read_code(nb, cells: dict) -> dict[str, tuple[bool, str | None]]:
    """graded name -> (the notebook's code defines it, why it calls its twin or None), read as the
    code stands when the name's test cell runs."""
    tested = {id(cell): name for name, cell in cells.items()}
    bindings, found = Bindings(), {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if id(cell) in tested:
            name = tested[id(cell)]
            # the names the grader stands in for there: those tested before, or not at all
            lent = tuple(mate for mate in mates(name) if mate in found or mate not in cells)
            found[name] = (bindings.defines(name), twin_call(bindings, name, lent))
        bindings.run(cell.source)
    return found


def suspicious_lines(nb) -> list[str]:
    """Lines of the learner's own cells (everything not locked) that touch the grading machinery."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "code" or cell.metadata.get("nbgrader", {}).get("locked"):
            continue
        found += [line.strip() for line in cell.source.splitlines() if SUSPICIOUS.search(line)]
    return found


def _error_output(message: str):
    return new_output("error", ename="GradingError", evalue=message,
                      traceback=[_("Checked by the grader, outside your notebook:"), *message.splitlines()])


def _has_error(cell) -> bool:
    return any(out.output_type == "error" for out in cell.get("outputs", []))


def _shown_not_scored(output):
    """What the kernel showed, kept for the feedback but not scored: nbgrader gives full points to
    a test cell whose first execute_result is not a number, and the kernel can forge one; an error
    of the kernel's becomes text (the verdict adds its own error where it failed)."""
    if output.output_type == "execute_result":
        return new_output("display_data", data=output.get("data", {}), metadata=output.get("metadata", {}))
    if output.output_type == "error":
        return new_output("stream", name="stdout", text=_("(in your notebook, not scored)") +
                          f" {output.get('ename')}: {output.get('evalue')}\n")
    return output


def _scored_by(cell, problem: str | None) -> None:
    """The test cell's outputs as the verdict has it: nothing the kernel showed scores or loses. A
    failed verdict shows its own reason, last: the kernel's error may be another function's doing
    (a wrong linear under perceptron's test), which the grader's replay left out."""
    cell.outputs = [_shown_not_scored(out) for out in cell.outputs]
    if problem:
        cell.outputs.append(_error_output(problem))


class SealedExecute(Execute):
    """Execute for the feedback, then replay the notebook and judge its hidden tests here."""

    def preprocess(self, nb, resources):
        """The feedback, the verdicts and the replay's messages in the notebook's language (its metadata)."""
        language = str(nb.metadata.get("language") or "")
        with speaking(language):
            return self._preprocess(nb, resources, language)

    def _preprocess(self, nb, resources, language: str):
        cells = _test_cells(nb)
        code = read_code(nb, cells)  # before the kernel runs: its sources are the learner's as submitted
        os.environ[SEALED_ENV] = "grader"  # the kernel's sealed_checks leave the answering to the replay
        # The kernel speaks the notebook's language: the setup cell that sets it is a locked cell,
        # which nbgrader has put back as the English release has it.
        spoken, os.environ["COURSE_LANG"] = os.environ.get("COURSE_LANG"), language
        try:
            nb, resources = super().preprocess(nb, resources)
        finally:
            os.environ.pop(SEALED_ENV, None)
            if spoken is None:
                os.environ.pop("COURSE_LANG", None)
            else:
                os.environ["COURSE_LANG"] = spoken
        folder = GradingDir.from_env()
        skipped = folder.poisoned().get("cells", {}) if folder else {}
        steps, index = replay_steps(nb, cells, skipped if isinstance(skipped, dict) else {})
        cases = {name: hidden_test_of(name).cases(new_generator()) for name in cells}
        result = self._replay(steps, cases, resources, language) if cells else ReplayResult()
        flags = result.flags + self._judge(cells, index, cases, result, code)
        lines = suspicious_lines(nb)
        if lines:
            flags.append({"kind": "suspicious code", "detail": "; ".join(lines[:5])[:300]})
        self._report(flags, folder)
        return nb, resources

    def _replay(self, steps: list[Step], cases: dict, resources, language: str) -> ReplayResult:
        scratch = tempfile.mkdtemp(prefix="course-replay-")
        try:
            prefix = []
            manager_class = self.kernel_manager_class
            if hasattr(manager_class, "launcher_command"):  # sandboxed (exercises/nbgrader_config.py)
                manager = manager_class(parent=self)
                manager.scratch = scratch
                prefix = manager.launcher_command(pass_stdout=True)
            from course_grader.sandbox.kernel import copy_inputs
            copy_inputs(resources.get("metadata", {}).get("path"), scratch)
            env = dict(os.environ, NBGRADER_EXECUTION="autograde", MPLBACKEND="Agg", COURSE_LANG=language)
            env.pop(SEALED_ENV, None)
            client = ReplayClient([*prefix, *REPLAY_COMMAND], scratch, env,
                                  float(self.timeout or 30), call_seconds)
            result = ReplayResult()
            for names in replay_groups([step.name for step in steps if step.kind == "test"]):
                group = [step if step.kind == "code" or step.name in names else Step("code", "") for step in steps]
                part = client.run(group, cases.__getitem__, ban_of(names), lent_for)
                result.tests.update(part.tests)
                result.flags += [flag for flag in part.flags if flag not in result.flags]
                result.restarts += part.restarts
            return result
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _judge(self, cells: dict, index: dict, cases: dict, result: ReplayResult, code: dict) -> list[dict]:
        flags = []
        for name, cell in cells.items():
            outcome = result.tests.get(index.get(name), Outcome(
                error=f"{name}: " + _("its test cell was skipped (it killed or hung an earlier grading run)")))
            if outcome.replaced_before:  # put back before the test: no points lost for this alone
                flags.append({"kind": "tampering", "detail": f"{name}: before its test the notebook replaced "
                                                             f"{', '.join(outcome.replaced_before[:5])}"})
            if outcome.replaced_during:
                flags.append({"kind": "tampering", "detail": f"{name}: while its hidden tests ran the notebook "
                                                             f"replaced {', '.join(outcome.replaced_during[:5])}"})
                problem = f"{name}: " + _("while its hidden tests ran, the notebook's code changed the grader's "
                                          "checks ({replaced}), so its answers cannot be vouched for",
                                          replaced=", ".join(outcome.replaced_during[:3]))
            elif outcome.twin:
                flags.append({"kind": "calls its twin", "detail": f"{name} calls {outcome.twin} (seen by the ban)"})
                problem = f"{name}: " + _("calls {twin}, which computes the answer for it. This exercise asks you to "
                                          "write {name} yourself, so it scores no points while it calls it",
                                          twin=outcome.twin, name=name)
            elif outcome.error:
                problem = outcome.error
                if outcome.failure == "twin":
                    flags.append({"kind": "calls its twin", "detail": problem.splitlines()[0][:300]})
            else:
                problem = verify(hidden_test_of(name), cases[name], outcome.answers)
                failed = failures(outcome.answers) if problem else {}
                if NOT_PLAIN in failed:
                    flags.append({"kind": "tampering", "detail": f"{name}: returned an object posing as a tensor"})
                if "twin" in failed:  # on hidden cases alone, say: a twin behind a condition
                    flags.append({"kind": "calls its twin", "detail": failed["twin"]})
            defined, twin = code.get(name, (True, None))
            if not problem:  # the answers passed: so the replay missed what the code shows
                if twin:
                    flags.append({"kind": "calls its twin", "detail": f"{twin}; its answers passed the "
                                  "replay's checks all the same"})
                elif not defined:
                    flags.append({"kind": "suspicious code", "detail": f"{name} passed, but no definition "
                                  "of it can be read from the notebook's code (exec? a module it wrote?)"})
            _scored_by(cell, twin or problem)
        return flags

    def _report(self, flags: list[dict], folder: GradingDir | None) -> None:
        for flag in flags:
            self.log.warning("flagged (%s): %s", flag["kind"], flag["detail"])
        if folder:
            folder.add_flags(flags)
