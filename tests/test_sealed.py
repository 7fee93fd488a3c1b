"""course_grader.sealed and course_grader/hidden_tests: hidden tests judged outside the learner's kernel.

The end-to-end proof (real nbgrader, cheating submissions) is tests/test_red_team.py; here the
pieces: what may cross from the kernel to the grader, how answers are judged, and that every
graded name has a hidden test whose cases are plain data, fresh at every grading.
"""
from __future__ import annotations

import io

import pytest
import torch

from course_grader import hidden_test, protocol, sealed, verdicts
from course_lib.exercise_rules import GRADED_TOPIC
from course_lib.grading import GradingError


class Posing(torch.Tensor):
    """A tensor subclass, as a cheat would return one."""


# A learner's right answers (course_lib's own would be refused: calling the reference scores 0).
def sigmoid(z):
    e = torch.exp(-z.abs())
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))


def relu(z):
    return z.clamp(min=0)


def same(a, b) -> bool:
    """Plain data equal in every value, dtype and structure (str() would round tensors to 4 digits)."""
    if isinstance(a, torch.Tensor) and type(a) is type(b):
        try:
            torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)  # checks dtype and shape too
        except AssertionError:
            return False
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


# Names whose every case is known in advance: logic gates have one truth table each.
FIXED_CASES = {"logic_gate_weights"}


def roundtrip(data):
    buffer = io.BytesIO()
    torch.save(data, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("value", [torch.ones(2, 3), 3, 2.5, True, None, "AND", (torch.zeros(1), [1, 2]),
                                   {"loss": 0.5, "state": [torch.ones(1)]}, torch.Size([2, 3]), torch.float64])
def test_plain_data_crosses_and_survives_a_weights_only_load(value):
    data = verdicts.to_data(value)
    again = roundtrip(data)
    assert same(again, data)


@pytest.mark.parametrize("value", [torch.ones(2).as_subclass(Posing), object(), {1: torch.ones(1)},
                                   [torch.ones(1), lambda: 0], torch.nn.Linear(1, 1)])
def test_anything_else_is_refused_with_a_message(value):
    with pytest.raises(GradingError, match="not a plain tensor or number") as caught:
        verdicts.to_data(value)
    assert caught.value.kind == verdicts.NOT_PLAIN


def test_a_tensor_subclass_would_not_load_on_the_grader_side_either():
    buffer = io.BytesIO()
    torch.save([torch.ones(2).as_subclass(Posing)], buffer)
    buffer.seek(0)
    with pytest.raises(Exception, match="(?i)weights only"):
        torch.load(buffer, weights_only=True)


def test_the_answer_is_a_copy_so_later_changes_in_the_kernel_cannot_alter_it():
    z = torch.zeros(3)
    answer = verdicts.answer(hidden_test.hidden_test_of("relu"), lambda z: z, {"args": (z,)})
    z.fill_(7)
    assert answer["value"].tolist() == [0.0, 0.0, 0.0]


def test_verify_passes_right_answers_and_names_the_first_wrong_one():
    test = hidden_test.hidden_test_of("sigmoid")
    cases = test.cases(torch.Generator().manual_seed(0))
    right = [verdicts.answer(test, sigmoid, case) for case in cases]
    assert verdicts.verify(test, cases, right) is None
    wrong = [verdicts.answer(test, lambda z: z, case) for case in cases]
    problem = verdicts.verify(test, cases, wrong)
    assert problem and problem.startswith("sigmoid") and "wrong values" in problem


@pytest.mark.parametrize("answers", [None, [], "forged", [{"value": torch.ones(1)}]])
def test_missing_or_forged_answers_fail(answers):
    test = hidden_test.hidden_test_of("sigmoid")
    cases = test.cases(torch.Generator().manual_seed(0))
    assert verdicts.verify(test, cases, answers)


@pytest.mark.parametrize("response", [{"value": 1, "error": "x"}, {"other": 1}, "text", None])
def test_a_malformed_answer_is_judged_wrong(response):
    test = hidden_test.hidden_test_of("relu")
    assert "malformed" in verdicts.judge(test, {"args": (torch.ones(1),)}, response)


def test_an_error_in_the_kernel_is_the_verdict():
    test = hidden_test.hidden_test_of("relu")
    assert verdicts.judge(test, {"args": (torch.ones(1),)}, {"error": "relu: not implemented yet"}) == \
        "relu: not implemented yet"


def test_a_crash_while_answering_gives_the_exception_the_input_the_line_and_a_hint():
    def relu(z):
        raise ValueError("boom")
    test = hidden_test.HiddenTest("relu", lambda g: [], lambda fn, case: fn(*case["args"]), lambda case, a: None)
    message = verdicts.answer(test, relu, {"args": (torch.ones(2),)})["error"]
    assert message.startswith("relu: raised ValueError: boom while the hidden test used your code on this input")
    assert "input: z=tensor of shape (2,), float32" in message and "in relu, test_sealed.py" in message
    assert f"hint: {verdicts.CRASH_HINT}" in message


def test_a_crash_while_checking_gives_the_exception_the_input_and_a_hint():
    test = hidden_test.HiddenTest("relu", lambda g: [], lambda fn, case: None, lambda case, a: a["out"])
    message = verdicts.judge(test, {"args": (torch.ones(2),)}, {"value": 7})
    assert message.startswith("relu: checking your answer raised TypeError: 'int' object is not subscriptable")
    assert "input: arg0=tensor of shape (2,), float32" in message and f"hint: {verdicts.CRASH_HINT}" in message


def test_sealed_checks_decides_on_the_spot_outside_grading(monkeypatch):
    monkeypatch.delenv(protocol.SEALED_ENV, raising=False)
    sealed.sealed_checks(relu)
    def wrong(z):
        return z
    wrong.__name__ = "relu"  # sealed_checks finds the hidden test by the function's name
    with pytest.raises(GradingError, match="relu: wrong values"):
        sealed.sealed_checks(wrong)


def test_the_hidden_checks_do_not_count_in_the_cells_line_of_passed_checks(monkeypatch):
    from course_lib import exercise_checks
    monkeypatch.delenv(protocol.SEALED_ENV, raising=False)
    monkeypatch.setitem(exercise_checks._counting, "on", True)  # as in IPython
    monkeypatch.setattr(exercise_checks, "_passed", {})
    checks = verdicts.verify  # a hidden check that uses a visible helper, as neurons' and cnn's do
    monkeypatch.setattr(sealed, "verify", lambda *args: exercise_checks.expect_shapes("hidden", torch.ones(1), (1,))
                        or checks(*args))
    sealed.sealed_checks(relu)
    exercise_checks.expect(relu, torch.tensor([-1.0]), to_be=torch.tensor([0.0]))
    assert exercise_checks._passed == {"relu": 1}


def test_in_the_grading_kernel_sealed_checks_leaves_the_answering_to_the_replay(monkeypatch):
    monkeypatch.setenv(protocol.SEALED_ENV, "grader")
    def relu(z):
        return z  # wrong, yet nothing is raised in the kernel: the grader's replay answers
    sealed.sealed_checks(relu)


def test_in_the_replay_sealed_checks_hands_the_function_to_the_replay(monkeypatch):
    handed = []
    monkeypatch.setattr(sealed, "answer_here", handed.append)
    sealed.sealed_checks(relu)
    assert handed == [relu]


@pytest.mark.parametrize("name", sorted(GRADED_TOPIC))
def test_every_graded_name_has_a_hidden_test_with_fresh_plain_cases(name):
    test = hidden_test.hidden_test_of(name)
    first = test.cases(torch.Generator().manual_seed(1))
    again = test.cases(torch.Generator().manual_seed(1))
    other = test.cases(torch.Generator().manual_seed(2))
    assert first, f"{name}: no cases"
    assert same(roundtrip(first), first), f"{name}: cases are not plain data"
    assert same(first, again), f"{name}: cases must come from the generator alone"
    assert not same(first, other) or name in FIXED_CASES, f"{name}: the same cases for every seed"


@pytest.mark.parametrize("name", ["MLP", "train_one_epoch", "EarlyStopping", "SmallCNN", "perceptron_train"])
def test_an_answer_not_in_the_form_respond_sends_fails_without_stopping_the_grader(name):
    test = hidden_test.hidden_test_of(name)
    case = test.cases(torch.Generator().manual_seed(0))[0]
    for forged in [{"unexpected": 1}, [1, 2], "text", 7]:
        problem = verdicts.judge(test, case, {"value": forged})
        assert problem and problem.startswith(name), (forged, problem)


def test_the_kinds_of_failure_among_the_answers_are_read_whatever_their_language():
    answers = [{"value": 1.0}, {"error": "sigmoid: 调用了 torch.sigmoid\n  输入：...", "failure": "twin"},
               {"error": "sigmoid: calls torch.sigmoid", "failure": "twin"}, {"error": "x", "failure": None},
               {"error": "the result is a Posing, not a plain tensor", "failure": verdicts.NOT_PLAIN}, "junk"]
    assert verdicts.failures(answers) == {"twin": "sigmoid: 调用了 torch.sigmoid",
                                          verdicts.NOT_PLAIN: "the result is a Posing, not a plain tensor"}
    assert verdicts.failures("junk") == {}
