"""The whole nbgrader workflow, with the real nbgrader, on a temporary copy of exercises/.

One module-scoped fixture does the slow part once (about 290 CPU seconds for four assignments):
generate every assignment from source, make the submissions below, grade them with
exercises/grade.py (nbgrader autograde per student), put a manual grade on each written answer
as the formgrader would, generate feedback, export grades.csv. The tests then read the results.

Every assignment gets three submissions: `reference` (the source's solutions: full marks),
`blank` (the release as is: zero, no crash) and `partial` (PARTIAL: some functions wrong, the exact
score stated). The broken kinds cost a kernel (re)start or a time limit each, so they are spread
over the assignments instead of all running on all:

| assignment          | broken submissions                                                      |
| 01_neurons          | syntax error; function loops forever; os._exit at the top of a cell;     |
|                     | misnamed notebook; missing notebook                                      |
| 02_activations      | loop that swallows KeyboardInterrupt (and a function calling it, so two |
|                     | grading runs poison one each); exception while defining; edited and     |
|                     | deleted test cells                                                       |
| 03_losses           | os._exit inside a function; invalid JSON; correct code that warns and   |
|                     | prints to stderr (must keep full marks)                                  |
| 04_gradient_descent | function loops forever; a function that ignores SIGALRM and SIGINT (like |
|                     | a long C call: the cell times out, grade.py grades again without it)     |

An assignment added later (05-08) needs only its PARTIAL entry; the broken kinds above cover
the machinery, which is the same for every assignment.
"""
from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from nbgrader_course import (ASSIGNMENTS, ENV, EXERCISES, IN_CHINESE, LOOP, NBGRADER, NOT_COPIED, PARTIAL, PYTHON,
                             ROOT, SWALLOW, in_parallel, points_of, read, run, submit)
from course_lib.i18n import _, speaking

pytestmark = pytest.mark.slow

# (assignment, student) -> (solution replacements, how to damage the notebook, failing test cells,
# status from grade.py, words its reasons must contain)
BROKEN = {
    ("01_neurons", "syntax_error"): ({"linear": "def linear(x, weight, bias=None)\n    return x"}, None,
                                     {"test_linear"}, "graded", []),  # perceptron is graded with the grader's linear
    ("01_neurons", "loops"): ({"logic_gate_weights": LOOP.format(name="logic_gate_weights")}, None,
                              {"test_logic_gate_weights"}, "graded", []),
    ("01_neurons", "exits_in_cell"): ({"perceptron_train": "import os\nos._exit(1)"}, None,
                                      {"test_perceptron_train"}, "graded, parts skipped",
                                      ["the cell starting `import os`", "die"]),
    ("01_neurons", "misnamed"): ({}, "rename", "all", "zero", ["01_neurons.ipynb not found", "rename"]),
    ("01_neurons", "missing"): ({}, "delete", "all", "zero", ["01_neurons.ipynb not found"]),
    ("02_activations", "swallows_interrupt"): (
        {"tanh": SWALLOW.format(name="tanh")}, None, {"test_tanh"},  # tanh_grad: graded with the grader's tanh
        "graded, parts skipped", ["tanh: it ran past its time limit", "tanh_grad: it ran past"]),
    ("02_activations", "fails_to_define"): (
        {"relu": "def relu(z, unused=1 / 0):\n    return z.clamp(min=0)"}, None, {"test_relu"}, "graded", []),
    ("02_activations", "edits_tests"): (
        {"step": "def step(z):\n    return z", "leaky_relu": "def leaky_relu(z, negative_slope=0.01):\n    return z"},
        "tamper", {"test_step", "test_leaky_relu"}, "graded",
        ["test_step was edited", "test_leaky_relu was deleted"]),
    ("03_losses", "exits_in_function"): (
        {"binary_cross_entropy_with_logits": "import os\n\ndef binary_cross_entropy_with_logits(logits, target):\n"
                                             "    os._exit(3)"}, None,
        {"test_binary_cross_entropy_with_logits"}, "graded, parts skipped",
        ["binary_cross_entropy_with_logits: it made the Python kernel die"]),
    ("03_losses", "invalid_json"): ({}, "truncate", "all", "zero", ["not a readable notebook"]),
    ("03_losses", "noisy"): (
        {"mse_loss": "import sys, warnings\n\ndef mse_loss(pred, target):\n"
                     "    warnings.warn('a learner warning')\n    print('debug', file=sys.stderr)\n"
                     "    return ((pred - target) ** 2).mean()"}, None, set(), "graded", []),
    ("04_gradient_descent", "loops"): ({"rmsprop_step": LOOP.format(name="rmsprop_step")}, None,
                                       {"test_rmsprop_step"}, "graded", []),
    ("04_gradient_descent", "ignores_signals"): (  # stands for a long C call that never checks for signals
        {"adam_step": "import signal, time\n\ndef adam_step(*args, **kwargs):\n"
                      "    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                      "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                      "    while True:\n        time.sleep(0.1)"}, None,
        {"test_adam_step"}, "graded, parts skipped", ["adam_step: it kept running past its time limit"]),
}
# Students graded in a run of their own, with these nbgrader options: a 5 s cell time limit makes
# the uninterruptible loop above cost seconds instead of minutes.
NBGRADER_OPTIONS = {("04_gradient_descent", "ignores_signals"): ["--", "--Execute.timeout=5"]}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> dict:
    """Run the workflow once; return what the tests read."""
    course = tmp_path_factory.mktemp("course") / "exercises"
    shutil.copytree(EXERCISES, course, ignore=NOT_COPIED)
    shutil.rmtree(course / "release")
    # learner mode, meanwhile: test_source_notebooks_pass_under_nbval reads the result
    nbval = subprocess.Popen([PYTHON, "-m", "pytest", "--nbval", "--nbval-cell-timeout=120", "-q", "-p",
                              "no:cacheprovider", str(EXERCISES / "source")], cwd=ROOT, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             env={**ENV, "PYTHONDONTWRITEBYTECODE": "1"})
    generate = [[*NBGRADER, "generate_assignment", a, "--force"] for a in ASSIGNMENTS]
    run(generate[0], course)  # alone: it creates the gradebook's tables
    in_parallel(generate[1:], course)

    expected = {}
    for assignment in ASSIGNMENTS:
        points = points_of(assignment)
        total = sum(points.values())
        submit(course, assignment, "reference", {})
        submit(course, assignment, "blank", {}, blank=True)
        expected[assignment, "reference"] = (total, "graded", [])
        expected[assignment, "blank"] = (0, "graded", [])
        if assignment in PARTIAL:
            replace, failing, score = PARTIAL[assignment]
            submit(course, assignment, "partial", replace)
            assert total - sum(points[t] for t in failing) == score, f"PARTIAL[{assignment!r}] is inconsistent"
            expected[assignment, "partial"] = (score, "graded", [])
            if assignment in IN_CHINESE:
                submit(course, assignment, "partial_zh", replace, language="zh")
                expected[assignment, "partial_zh"] = (score, "graded", [])
    for (assignment, student), (replace, damage, failing, status, words) in BROKEN.items():
        if assignment in ASSIGNMENTS:
            submit(course, assignment, student, replace, damage)
            points = points_of(assignment)
            score = 0 if failing == "all" else sum(points.values()) - sum(points[t] for t in failing)
            expected[assignment, student] = (score, status, words)

    def grade(assignment: str) -> tuple[str, dict]:
        """grade.py for the assignment's students, then for each with options of its own."""
        own = [(s, options) for (a, s), options in NBGRADER_OPTIONS.items() if a == assignment]
        others = [s for a, s in expected if a == assignment and s not in dict(own)]
        text, results = "", {}
        for run_id, (students, options) in enumerate([(others, []), *(([s], o) for s, o in own)]):
            logs = course / "grading_logs" / f"{assignment}-{run_id}"
            text += run([PYTHON, "grade.py", assignment, "--jobs", "2", "--time-limit", "240", "--logs", str(logs),
                         *(f"--student={s}" for s in students), *options], course)
            results.update({r["student"]: r for r in json.loads((logs / "summary.json").read_text())})
        return text, results

    with ThreadPoolExecutor(max_workers=2) as pool:  # two assignments at a time keep both cores busy
        graded = dict(zip(ASSIGNMENTS, pool.map(grade, ASSIGNMENTS)))
    output = {a: text for a, (text, _) in graded.items()}
    summaries = {a: results for a, (_, results) in graded.items()}

    # What an instructor does in the formgrader: full marks for the reference's written answers.
    from nbgrader.api import Gradebook
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    manual = {}
    with Gradebook(db_url) as gb:
        for assignment in ASSIGNMENTS:
            submission = gb.find_submission(assignment, "reference")
            for grade in submission.notebooks[0].grades:
                if grade.needs_manual_grade:
                    grade.manual_score = grade.max_score
                    manual[assignment] = manual.get(assignment, 0) + grade.max_score
        gb.db.commit()

    in_parallel([[*NBGRADER, "generate_feedback", a, "--force"] for a in ASSIGNMENTS], course)
    run([*NBGRADER, "export"], course)
    with open(course / "grades.csv") as f:
        exported = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(f)}
    return {"dir": course, "expected": expected, "summaries": summaries, "output": output,
            "exported": exported, "manual": manual, "nbval": nbval}


def test_committed_release_matches_a_fresh_generate_assignment(course):
    for assignment in ASSIGNMENTS:
        fresh = read(course["dir"] / "release" / assignment / f"{assignment}.ipynb")
        committed = read(EXERCISES / "release" / assignment / f"{assignment}.ipynb")
        assert [(c.cell_type, c.source) for c in committed.cells] == [(c.cell_type, c.source) for c in fresh.cells], (
            f"exercises/release/{assignment} is out of date with source: run "
            f"`nbgrader generate_assignment {assignment} --force` in exercises/ (README.md)")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_assignment_has_a_partial_submission(assignment):
    assert assignment in PARTIAL, f"add a partly wrong submission of {assignment} to PARTIAL"


def test_every_submission_gets_its_exact_grade_and_reason(course):
    wrong = []
    for (assignment, student), (score, status, words) in course["expected"].items():
        result = course["summaries"][assignment][student]
        reasons = " | ".join(result["reasons"])
        if result["score"] != score or result["status"] != status or not all(w in reasons for w in words):
            wrong.append(f"{assignment}/{student}: expected {score} ({status}; {words}), got "
                         f"{result['score']} ({result['status']}; {reasons})")
    assert not wrong, "\n".join(wrong)


def test_reference_solutions_earn_every_autograded_point_and_await_manual_grading(course):
    for assignment in ASSIGNMENTS:
        result = course["summaries"][assignment]["reference"]
        assert result["score"] == result["max_score"] - course["manual"].get(assignment, 0)
        assert result["needs_manual_grade"], f"{assignment}: no written answer to grade by hand"


def test_exported_csv_holds_the_grades_including_manual_ones(course):
    for (assignment, student), (score, _, _) in course["expected"].items():
        row = course["exported"][assignment, student]
        manual = course["manual"].get(assignment, 0) if student == "reference" else 0
        assert float(row["score"]) == score + manual, f"{assignment}/{student}: {row}"
        assert float(row["max_score"]) == sum(points_of(assignment).values()) + course["manual"].get(assignment, 0)


def test_grading_reports_each_student_on_one_line(course):
    for assignment, text in course["output"].items():
        for student in course["summaries"][assignment]:
            assert re.search(rf"^{student}\s+\d", text, re.MULTILINE), f"{assignment}: no line for {student}\n{text}"


def test_a_function_that_never_returns_costs_one_time_limit_not_one_per_cell(course):
    for assignment, student in [("01_neurons", "loops"), ("04_gradient_descent", "loops")]:
        if assignment in ASSIGNMENTS:
            summary = course["summaries"][assignment]
            assert summary[student]["seconds"] < summary["reference"]["seconds"] + 30, summary[student]


def feedback_text(course, assignment, student) -> str:
    page = (course["dir"] / "feedback" / student / assignment / f"{assignment}.html").read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def hidden_lines(assignment: str) -> set[str]:
    """Lines only the hidden tests hold, long enough not to appear in feedback by chance."""
    hidden, shown, inside = set(), set(), False
    for cell in read(EXERCISES / "source" / assignment / f"{assignment}.ipynb").cells:
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line or "END HIDDEN TESTS" in line:
                inside = "BEGIN" in line
            else:
                (hidden if inside else shown).add(line.strip())
    shown_text = "\n".join(shown)
    return {line for line in hidden if len(line) > 30 and line not in shown_text}


def test_feedback_never_shows_hidden_tests_or_tracebacks(course):
    for (assignment, student), (_, status, _) in course["expected"].items():
        if status == "zero":
            assert not (course["dir"] / "feedback" / student / assignment).exists()
            continue
        text = feedback_text(course, assignment, student)
        leaked = [line for line in hidden_lines(assignment) if line in text]
        assert not leaked, f"{assignment}/{student} feedback shows hidden tests: {leaked[:3]}"
        assert "Traceback (most recent call last)" not in text and "HIDDEN TESTS" not in text
        assert not re.search(r'File ".*", line \d+', text), f"{assignment}/{student}: a traceback frame"


def test_feedback_says_what_to_fix(course):
    expectations = [("blank", "not implemented yet: replace `raise NotImplementedError()`"),
                    ("partial", "calls torch.sigmoid, which computes the answer for it"),
                    ("partial", "wrong values"),
                    ("swallows_interrupt", "tanh: not run: in an earlier grading run it ran past its time limit")]
    for student, words in expectations:
        if "02_activations" in ASSIGNMENTS:
            assert words in feedback_text(course, "02_activations", student), (student, words)
    if "01_neurons" in ASSIGNMENTS:
        assert "did not finish within" in feedback_text(course, "01_neurons", "loops")
        assert "This cell was skipped by the grader" in feedback_text(course, "01_neurons", "exits_in_cell")
        assert ("name 'linear' is not defined: the cell that defines it raised an error"
                in feedback_text(course, "01_neurons", "syntax_error"))


CJK = re.compile(r"[\u4e00-\u9fff]")


def _failed_checks(course, assignment: str, student: str) -> dict[str, str]:
    """Each failing test cell of the autograded notebook -> the text of its error outputs."""
    nb = read(course["dir"] / "autograded" / student / assignment / f"{assignment}.ipynb")
    return {cell.metadata["nbgrader"]["grade_id"]: "\n".join(f"{o.evalue}" for o in cell.outputs
                                                            if o.output_type == "error")
            for cell in nb.cells if cell.get("outputs") and cell.metadata.get("nbgrader", {}).get("grade")
            and any(o.output_type == "error" for o in cell.outputs)}


@pytest.mark.parametrize("assignment", [a for a in IN_CHINESE if a in ASSIGNMENTS])
def test_a_chinese_submission_gets_the_same_grade_and_its_feedback_in_chinese(course, assignment):
    """partial_zh is partial handed in from the Chinese release: graded by the same hidden tests to
    the same score (test_every_submission_gets_its_exact_grade_and_reason), with every failed check's
    message and the feedback page's words in Chinese; the English one's stay English."""
    failing = PARTIAL[assignment][1]
    chinese, english = (_failed_checks(course, assignment, s) for s in ("partial_zh", "partial"))
    assert set(chinese) == set(english) == failing
    for test, message in chinese.items():
        assert CJK.search(message.split("\n", 1)[0]), f"{assignment}/partial_zh {test}: {message[:300]}"
        assert not CJK.search(english[test]), f"{assignment}/partial {test}: {english[test][:300]}"
    page = " ".join(feedback_text(course, assignment, "partial_zh").split())
    with speaking("zh"):
        words = [_("Student's answer"), _("Test cell"), _("Checked by the grader, outside your notebook:"),
                 _("Written response")]
    for word in words:
        assert CJK.search(word) and word in page, f"{assignment}/partial_zh feedback lacks {word!r}"
    assert "Student's answer" not in page and "Test cell" not in page
    summary = {s: course["summaries"][assignment][s] for s in ("partial", "partial_zh")}
    assert summary["partial_zh"]["score"] == summary["partial"]["score"]
    assert sorted(f["kind"] for f in summary["partial_zh"]["flags"]) == \
        sorted(f["kind"] for f in summary["partial"]["flags"]), "the instructor's flags differ by language"


def test_feedback_made_before_hand_grading_says_graded_by_hand_later(course):
    """partial's written answer waits for hand grading: "graded by hand later", and the total says how
    many points still wait. reference's was graded by hand, blank's left unanswered (0 by nbgrader)."""
    for assignment in ASSIGNMENTS:
        manual = course["manual"][assignment]
        waiting, graded, blank = (" ".join(feedback_text(course, assignment, s).split())
                                  for s in ("partial", "reference", "blank"))
        assert re.search(rf"\(Score: [\d.]+ / [\d.]+, with {manual:.1f} points? still to be graded by hand\)",
                         waiting), f"{assignment}/partial: the total does not say what waits for hand grading"
        assert "Written response (graded by hand later" in waiting, f"{assignment}/partial"
        assert "Written response (Score: 0.0" not in waiting, f"{assignment}/partial: its answer shows a score of 0"
        for student, text in [("reference", graded), ("blank", blank)]:
            assert "graded by hand later" not in text and "still to be graded" not in text, f"{assignment}/{student}"
        assert "Written response (Score: 0.0" not in graded, f"{assignment}/reference: its hand grade is not shown"
        assert "Written response (Score: 0.0" in blank, f"{assignment}/blank: an unanswered question scores 0"


def test_source_notebooks_pass_under_nbval(course):
    output = course["nbval"].communicate(timeout=600)[0]
    assert course["nbval"].returncode == 0, output[-3000:]
