"""nbgrader's Execute step with sealed hidden tests (course_grader/sealed.py): the grade of a test
cell never rests on anything the learner's code could change.

Before the kernel starts, fresh inputs for every graded name are drawn here, in nbgrader's own
process, and written to a directory the kernel finds through COURSE_SEAL_DIR. After the notebook
ran, the answers the kernel wrote are read back as plain data and judged here with course_lib's
reference. A failed or missing answer becomes an error output of its test cell, so nbgrader's
SaveAutoGrades scores that cell zero and the feedback shows why.

The kernel's check that a function does not call its PyTorch twin can be switched off by the
notebook, so the grader also reads the notebook's code (course_grader/static_twins.py): a graded
function that calls its twin fails its hidden test here, whatever answers arrived.

The instructor's summary (exercises/grade.py) gets a flag for what looks like cheating: answers
that never arrived although the test cell reported no error, answers that are not plain data,
checks or references the notebook replaced, a twin called although the answers passed, and
suspicious lines in the submitted code.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

import torch
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute

from course_grader.hidden_test import hidden_test_of
from course_grader.protocol import CASES, ENV, SEAL_ENV, GradingDir, answers_file
from course_grader.static_twins import Bindings, twin_call
from course_grader.verdicts import NOT_PLAIN, verify
from course_lib.exercise_checks import new_generator
from course_lib.exercise_rules import REFERENCE_HELPERS, TOPICS

# Lines a learner's solution has no reason to contain; shown to the instructor, never scored.
SUSPICIOUS = re.compile(
    r"gradebook|autograded|submitted/|source/|hidden_tests|sealed|COURSE_|NBGRADER|/proc/|sys\.modules|"
    r"builtins|__import__|__torch_function__|allclose|assert_close|setprofile|settrace|ctypes|"
    r"os\._exit|signal\.|globals\(\)\[|importlib|set_custom_exc|excepthook|showtraceback|course_grader|"
    r"displayhook|display_pub|events\.register|input_transformers|ast_transformers|"
    rf"course_lib\.({'|'.join((*TOPICS, *REFERENCE_HELPERS, 'grading', 'exercise_checks'))})")


# Answers are plain tensors of the hidden tests' few cases: a few MB at most. Anything bigger, in
# this process (nbgrader's, shared by nothing else but still the grader's), is refused unread.
MAX_ANSWER_BYTES = 64 << 20


def _test_cells(nb) -> dict[str, object]:
    """graded name -> its test cell, for the names that have a sealed hidden test."""
    cells = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution") \
                and "sealed_checks(" in cell.source:
            cells[meta["grade_id"].removeprefix("test_")] = cell
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
            found[name] = (bindings.defines(name), twin_call(bindings, name))
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
                      traceback=["Checked by the grader, outside your notebook:", *message.splitlines()])


def _has_error(cell) -> bool:
    return any(out.output_type == "error" for out in cell.get("outputs", []))


def _read_bounded(path: Path) -> bytes | str:
    """The file's bytes, or why they are not read: only a regular file (no FIFO, device or symlink),
    at most MAX_ANSWER_BYTES, opened without blocking; checked on the open file, not on its name."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return "no answers"
    except OSError as err:
        return f"answers that cannot be opened ({type(err).__name__}: a link?)"
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            return "answers that are not a regular file"
        data = f.read(MAX_ANSWER_BYTES + 1)
    return data if len(data) <= MAX_ANSWER_BYTES else f"answers over {MAX_ANSWER_BYTES >> 20} MiB"


def _inflated_size(data: bytes) -> int | None:
    """What the answers' zip holds once read (torch.save stores, never compresses), or None when it
    compresses anything: a small file that would inflate to gigabytes in this process."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = archive.infolist()
    if any(e.compress_type != zipfile.ZIP_STORED for e in entries):
        return None
    return sum(e.file_size for e in entries)


def _load_answers(path: Path) -> tuple[object, list[str], str | None]:
    """(answers, objects the notebook replaced, why they could not be read)."""
    data = _read_bounded(path)
    if isinstance(data, str):
        return None, [], data
    try:
        size = _inflated_size(data)
        if size is None or size > MAX_ANSWER_BYTES:
            return None, [], "answers in a compressed or oversized archive"
        answers = torch.load(io.BytesIO(data), weights_only=True)  # plain data only: no learner object is rebuilt here
        return answers["answers"], [str(r)[:80] for r in answers.get("replaced", [])][:20], None
    except Exception as err:  # noqa: BLE001 - whatever the kernel wrote, it is not what we asked for
        return None, [], f"answers that are not plain data ({type(err).__name__})"


def _shown_not_scored(output):
    """A result the kernel displayed, kept for the feedback as display data: nbgrader gives full
    points to a test cell whose first execute_result is not a number, and the kernel can forge one."""
    if output.output_type != "execute_result":
        return output
    return new_output("display_data", data=output.get("data", {}), metadata=output.get("metadata", {}))


class SealedExecute(Execute):
    """Execute, then judge the sealed hidden tests in this (the grader's) process."""

    def preprocess(self, nb, resources):
        cells = _test_cells(nb)
        code = read_code(nb, cells)  # before the kernel runs: its sources are the learner's as submitted
        grading_dir = os.environ.get(ENV)
        own_dir = None
        if not grading_dir:  # plain `nbgrader autograde`: the kernel still needs a directory to answer in
            grading_dir = own_dir = tempfile.mkdtemp(prefix="course-grading-")
            os.environ[ENV] = grading_dir
        seal = Path(tempfile.mkdtemp(prefix="seal-", dir=grading_dir))
        try:
            cases = {name: hidden_test_of(name).cases(new_generator()) for name in cells}
            torch.save(cases, seal / CASES)
            # The kernel may run as another, unprivileged user (the sandbox): it reads the cases
            # and writes its answers here, and nothing else of ours lies in this directory.
            seal.chmod(0o733)
            (seal / CASES).chmod(0o644)
            os.environ[SEAL_ENV] = str(seal)
            try:
                nb, resources = super().preprocess(nb, resources)
            finally:
                os.environ.pop(SEAL_ENV, None)
            flags = self._judge(nb, cells, cases, seal, code)
        finally:
            shutil.rmtree(seal, ignore_errors=True)
            if own_dir:
                os.environ.pop(ENV, None)
                shutil.rmtree(own_dir, ignore_errors=True)
        lines = suspicious_lines(nb)
        if lines:
            flags.append({"kind": "suspicious code", "detail": "; ".join(lines[:5])[:300]})
        self._report(flags, None if own_dir else grading_dir)
        return nb, resources

    def _judge(self, nb, cells: dict, cases: dict, seal: Path, code: dict) -> list[dict]:
        flags = []
        for name, cell in cells.items():
            answers, replaced, unreadable = _load_answers(seal / answers_file(name))
            ran_clean = not _has_error(cell)
            if replaced:  # no points lost for this alone: the verdict below rests on the answers only
                flags.append({"kind": "tampering", "detail": f"{name}: the notebook replaced {', '.join(replaced)}"})
            if unreadable:
                problem = (f"{name}: the hidden checks sent {unreadable} to the grader, so they count as "
                           "failed. Was the notebook's code changing how tests run?")
                if ran_clean or unreadable != "no answers":
                    flags.append({"kind": "tampering", "detail": f"{name}: {unreadable}"
                                  + (" although its test cell reported no error" if ran_clean else "")})
            else:
                problem = verify(hidden_test_of(name), cases[name], answers)
                if problem and NOT_PLAIN in problem:
                    flags.append({"kind": "tampering", "detail": f"{name}: returned an object posing as a tensor"})
            defined, twin = code.get(name, (True, None))
            if ran_clean and not problem:  # the answers passed: so the kernel missed what the code shows
                if twin:
                    flags.append({"kind": "calls its twin", "detail": f"{twin}; its answers passed the "
                                  "kernel's check all the same"})
                elif not defined:
                    flags.append({"kind": "suspicious code", "detail": f"{name} passed, but no definition "
                                  "of it can be read from the notebook's code (exec? a module it wrote?)"})
            problem = twin or problem
            # The cell's score rests on the verdict above alone: no output of the kernel can earn it.
            cell.outputs = [_shown_not_scored(out) for out in cell.outputs]
            if problem and ran_clean:
                cell.outputs.append(_error_output(problem))
        return flags

    def _report(self, flags: list[dict], grading_dir: str | None) -> None:
        for flag in flags:
            self.log.warning("flagged (%s): %s", flag["kind"], flag["detail"])
        if grading_dir:
            GradingDir(grading_dir).add_flags(flags)
