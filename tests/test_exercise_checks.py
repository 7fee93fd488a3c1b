"""course_lib.exercise_checks: the guard around every call of a learner's function in a test cell."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import warnings

import pytest
import torch
import torch.nn.functional as F

from course_grader.kernel_extension import ProtocolHooks, cell_key
from course_grader.protocol import GradingDir
from course_lib import _forbidden, _guard, activations, gradient_descent
from course_lib.exercise_rules import FORBIDDEN
from course_lib.exercise_checks import call, expect, expect_raises, expect_shapes, raised_by, random_tensors
from course_lib.grading import GradingError


def sigmoid(z):  # a learner's correct, from-scratch answer
    e = torch.exp(-z.abs())
    return torch.where(z >= 0, 1 / (1 + e), e / (1 + e))


def test_expect_accepts_a_correct_from_scratch_function():
    expect(sigmoid, torch.tensor([-1e4, 0.0, 2.0]), like=activations.sigmoid)
    expect(sigmoid, torch.tensor([0.0]), to_be=torch.tensor([0.5]))


CHEATS = {
    "torch.sigmoid": lambda z: torch.sigmoid(z),
    "Tensor.sigmoid": lambda z: z.sigmoid(),
    "torch.nn.functional.sigmoid": lambda z: F.sigmoid(z),
    "torch.special.expit": lambda z: torch.special.expit(z),
    "Tensor.sigmoid_": lambda z: z.clone().sigmoid_(),
    "nn.Sigmoid": lambda z: torch.nn.Sigmoid()(z),
    "course_lib.activations.sigmoid": lambda z: activations.sigmoid(z),
    # below Python's view of torch: only the dispatcher sees these (course_lib/_forbidden.py)
    "torch.ops.aten.sigmoid": lambda z: torch.ops.aten.sigmoid.default(z),
    "DisableTorchFunction": lambda z: _without_torch_function(torch.sigmoid, z),
    "a twin bound in a loop": lambda z: [f(z) for f in (getattr(torch, "sig" + "moid"),)][0],
}


def _without_torch_function(fn, z):
    with torch._C.DisableTorchFunction():
        return fn(z)


def test_the_dispatcher_watch_leaves_the_learners_own_arithmetic_alone():
    def softmax(z, dim=-1):
        e = (z - z.amax(dim=dim, keepdim=True)).exp()
        return e / e.sum(dim=dim, keepdim=True)
    expect(softmax, torch.randn(3, 4, dtype=torch.float64), like=activations.softmax)
    expect(sigmoid, torch.randn(5, requires_grad=True), like=activations.sigmoid)


@pytest.mark.parametrize("twin", CHEATS, ids=list(CHEATS))
def test_calling_the_pytorch_twin_or_the_reference_fails_and_says_which(twin):
    cheat = CHEATS[twin]
    cheat.__name__ = "sigmoid"
    with pytest.raises(GradingError, match=r"sigmoid: calls .*sigmoid.* scores no points"):
        expect(cheat, torch.tensor([0.0, 1.0]), like=activations.sigmoid)


def test_an_optimizer_from_torch_optim_counts_as_the_twin_of_adam_step():
    def adam_step(w, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        p = torch.nn.Parameter(w.clone())
        p.grad = grad.clone()
        torch.optim.Adam([p], lr=lr, betas=betas, eps=eps).step()
        return p.detach(), m, v

    zeros = torch.zeros(3)
    with pytest.raises(GradingError, match="calls torch.optim"):
        call(adam_step, torch.ones(3), torch.ones(3), zeros, zeros, 1)


def test_the_derivative_may_not_come_from_autograd():
    def sigmoid_grad(z):
        z = z.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(sigmoid(z).sum(), z)
        return grad

    with pytest.raises(GradingError, match="calls torch.autograd.grad"):
        call(sigmoid_grad, torch.tensor([0.0, 1.0]))


def test_a_function_that_loops_is_stopped_and_later_calls_fail_at_once(monkeypatch):
    monkeypatch.setattr(_guard, "TIME_LIMIT", 0.2)
    monkeypatch.setattr(_guard, "timed_out", set())

    def relu(z):
        while True:
            pass

    start = time.perf_counter()
    with pytest.raises(GradingError, match="did not finish within 0.2 s"):
        call(relu, torch.zeros(2))
    with pytest.raises(GradingError, match="not run: an earlier call did not finish"):
        call(relu, torch.zeros(2))
    assert time.perf_counter() - start < 2


def test_a_loop_that_swallows_interrupts_ends_the_grading_kernel_with_a_note(tmp_path):
    script = textwrap.dedent("""
        import time, torch
        from course_grader.kernel_extension import ProtocolHooks
        from course_grader.protocol import GradingDir
        from course_lib import _guard
        from course_lib.exercise_checks import call
        _guard.hooks = ProtocolHooks(GradingDir.from_env())  # as the grading kernel's extension does
        def tanh(z):
            while True:
                try:
                    time.sleep(0.05)
                except BaseException:
                    pass
        call(tanh, torch.zeros(1))
    """)
    env = {"NBGRADER_EXECUTION": "autograde", "COURSE_GRADING_DIR": str(tmp_path),
           "COURSE_CALL_TIME_LIMIT": "0.3", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], env=env, timeout=60, capture_output=True, check=False)
    assert done.returncode == 70, done.stderr.decode()[-500:]
    assert json.loads((tmp_path / "running.json").read_text()) == {
        "cell": None, "call": "tanh", "event": "ignored-interrupt"}


def test_a_changed_input_fails_with_the_name_of_the_argument():
    def gd_step(w, grad, lr):
        w -= lr * grad
        return w

    with pytest.raises(GradingError, match=r"changed its input w in place(.|\n)*`w = w - lr \* grad`"):
        expect(gd_step, torch.ones(2), torch.ones(2), 0.1, like=gradient_descent.gd_step)


def test_the_in_place_hint_of_a_function_that_is_no_update_step_names_its_input():
    def relu(z):
        z[z < 0] = 0
        return z

    with pytest.raises(GradingError) as info:
        expect(relu, torch.tensor([-1.0, 2.0]), like=activations.relu)
    message = str(info.value)
    assert "changed its input z in place" in message and "lr * grad" not in message
    assert "`z[...] = ...`" in message and "work on a copy (z.clone()) or build a new tensor" in message


def test_when_grading_warnings_and_stderr_of_learner_code_stay_out_of_the_cell(monkeypatch, capfd):
    monkeypatch.setattr(_guard, "GRADING", True)

    def relu(z):
        warnings.warn("learner warning")
        print("debug", file=sys.stderr)
        return z.clamp(min=0)

    expect(relu, torch.tensor([-1.0, 2.0]), like=activations.relu)
    out, err = capfd.readouterr()
    assert "learner warning" not in out + err and "debug" not in out + err


def test_a_poisoned_function_fails_at_once_with_the_reason(monkeypatch, tmp_path):
    (tmp_path / "poisoned.json").write_text(json.dumps({"calls": {"relu": "it killed the kernel"}}))
    monkeypatch.setattr(_guard, "hooks", ProtocolHooks(GradingDir(tmp_path)))

    def relu(z):
        raise AssertionError("must not run")

    with pytest.raises(GradingError, match="relu: not run: it killed the kernel, so the grader skips it"):
        call(relu, torch.zeros(1))


def test_the_marker_names_the_function_running_and_is_cleared_after(monkeypatch, tmp_path):
    monkeypatch.setattr(_guard, "hooks", ProtocolHooks(GradingDir(tmp_path)))
    seen = {}

    def step(z):
        seen.update(json.loads((tmp_path / "running.json").read_text()))
        return (z > 0).to(z.dtype)

    call(step, torch.zeros(1))
    assert seen["call"] == "step"
    assert json.loads((tmp_path / "running.json").read_text())["call"] is None


def test_a_poisoned_cell_is_replaced_by_a_raise_that_says_why(monkeypatch, tmp_path):
    source = "import os\nos._exit(1)\n"
    (tmp_path / "poisoned.json").write_text(json.dumps({"cells": {cell_key(source): "it killed the kernel"}}))
    hooks = ProtocolHooks(GradingDir(tmp_path))
    replaced = hooks.skip_poisoned_cells(source.splitlines(keepends=True))
    assert replaced == ["raise RuntimeError('This cell was skipped by the grader: it killed the kernel.')\n"]
    assert hooks.skip_poisoned_cells(["x = 1\n"]) == ["x = 1\n"]


def test_an_unfinished_stub_reads_not_implemented_yet():
    def tanh(z):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="tanh: not implemented yet"):
        expect(tanh, torch.zeros(1), like=activations.tanh)


def test_expect_raises_passes_the_right_error_and_fails_a_missing_one():
    def logic_gate_weights(gate):
        if gate == "XOR":
            raise ValueError("XOR is not linearly separable")
        return torch.zeros(1, 2), torch.zeros(1)

    # None, so that a test cell ending in this call shows no exception, which would read as a failure
    assert expect_raises(logic_gate_weights, ValueError, "XOR", match="separable") is None
    assert isinstance(raised_by(logic_gate_weights, ValueError, "XOR"), ValueError)
    with pytest.raises(GradingError, match="should raise ValueError"):
        expect_raises(logic_gate_weights, ValueError, "AND")


@pytest.mark.parametrize("result, message", [
    ((torch.zeros(1, 2),), "expected a tuple of 2 tensors"),
    ((torch.zeros(2, 1), torch.zeros(1)), r"\(weight\): wrong shape: expected \(1, 2\), got \(2, 1\)"),
    ((torch.zeros(1, 2), 0.0), r"\(bias\): returned float 0.0; expected a tensor"),
    ((torch.zeros(1, 2, dtype=torch.float64), torch.zeros(1)), "wrong dtype"),
], ids=["not-a-pair", "transposed", "float-bias", "float64"])
def test_expect_shapes_names_the_part_that_is_wrong(result, message):
    with pytest.raises(GradingError, match=message):
        expect_shapes("f", result, (1, 2), (1,), dtype=torch.float32, labels=("weight", "bias"))


def test_random_tensors_start_with_a_scalar_alternate_dtypes_and_differ_per_call():
    first, second = random_tensors(count=4), random_tensors(count=4)
    assert first[0].dim() == 0
    assert [t.dtype for t in first] == [torch.float32, torch.float64] * 2
    assert not all(a.shape == b.shape and torch.equal(a, b) for a, b in zip(first, second))


def test_every_forbidden_entry_names_something_that_exists():
    for name, entries in FORBIDDEN.items():
        _, python = _forbidden.compile_forbidden(entries)
        paths = [e for e in entries if not e.startswith("torch:")]
        assert set(python.values()) >= set(paths), f"{name}: cannot find {set(paths) - set(python.values())}"


def run_in_a_kernel(*cells: str) -> list[list[dict]]:
    """The outputs of each cell, run in turn in a real IPython kernel with this checkout's course_lib."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True).execute()
    return [cell.outputs for cell in nb.cells]


def test_in_a_kernel_a_failed_check_shows_its_message_alone_and_a_passed_cell_one_line():
    setup = ("import torch\nfrom course_lib.exercise_checks import expect, expect_raises, uncounted\n"
             "def relu(z):\n    return z.clamp(min=0)\n"
             "def wrong(z):\n    return z\nwrong.__name__ = 'relu'\n"
             "def gate(name):\n    raise ValueError('XOR is not linearly separable')")
    passed = ("expect(relu, torch.tensor([-1.0, 2.0]), to_be=torch.tensor([0.0, 2.0]))\n"
              "expect(relu, torch.tensor([3.0]), to_be=torch.tensor([3.0]))\n"
              "with uncounted():\n    expect(relu, torch.tensor([3.0]), to_be=torch.tensor([3.0]))\n"
              "expect_raises(gate, ValueError, 'XOR')")
    failed = "expect(relu, torch.tensor([1.0]), to_be=torch.tensor([1.0]))\nexpect(wrong, torch.tensor([-1.0]), to_be=torch.tensor([0.0]))"
    outputs = run_in_a_kernel(setup, passed, failed, "1 + 1")
    assert outputs[0] == []
    assert [(o.output_type, o.get("text")) for o in outputs[1]] == [
        ("stream", "✓ relu: 2 checks passed\n✓ gate: 1 check passed\n")]  # no ValueError(...) shown either
    (error,) = outputs[2]  # nbgrader scores a test cell by its error output: one, and nothing printed
    assert error.output_type == "error" and error.ename == "GradingError"
    assert error.traceback == error.evalue.splitlines() and error.evalue.startswith("relu: wrong values")
    assert [o.output_type for o in outputs[3]] == ["execute_result"]  # the next cell starts afresh


def test_expect_shapes_says_how_to_keep_the_dtype_and_spots_a_transpose():
    with pytest.raises(GradingError) as error:
        expect_shapes("perceptron_train", (torch.zeros(1, 2), torch.zeros(1)), (1, 2), (1,), dtype=torch.float64,
                      labels=("weight", "bias"))
    assert "wrong dtype: expected float64, got float32 — keep the input's dtype" in str(error.value)
    with pytest.raises(GradingError, match="did you transpose"):
        expect_shapes("linear", torch.zeros(3, 2), (2, 3))


def test_a_crash_keeps_the_check_s_hint_and_a_helper_s_error_names_the_helper():
    ns: dict = {}
    exec("import torch\n"  # as a notebook defines them: the frames are the learner's, not course_lib's
         "def linear(x, weight, bias=None):\n    return x @ weight + bias\n"
         "def perceptron(x, weight, bias):\n    return (linear(x, weight, bias) > 0).to(x.dtype)\n", ns)
    with pytest.raises(GradingError) as error:
        expect(ns["perceptron"], torch.ones(1, 2), torch.ones(3, 2), torch.zeros(3), to_be=torch.ones(1, 3),
               hint="weight has shape (out, in): x @ weight.T")
    text = str(error.value)
    assert "raised RuntimeError" in text and "hint: weight has shape (out, in)" in text
    assert "the error is in your linear, which perceptron calls" in text and "fix linear first" in text


def test_a_dtype_failure_shows_the_hint_only_where_it_is_about_dtypes():
    def step(z):
        return (z > 0).float()
    z = torch.tensor([1.0, -1.0], dtype=torch.float64)
    with pytest.raises(GradingError) as error:
        expect(step, z, to_be=torch.tensor([1.0, 0.0], dtype=torch.float64), hint="keep z's dtype: .to(z.dtype)")
    assert "hint: keep z's dtype" in str(error.value)
    with pytest.raises(GradingError) as error:
        expect(step, z, to_be=torch.tensor([1.0, 0.0], dtype=torch.float64), hint="divide by the batch size")
    assert "batch size" not in str(error.value)


def test_a_twin_called_inside_another_graded_function_names_that_one():
    ns: dict = {}
    exec("import torch\ndef tanh(z):\n    return torch.tanh(z)\n"
         "def tanh_grad(z):\n    t = tanh(z)\n    return 1 - t * t\n", ns)
    with pytest.raises(GradingError) as error:
        expect(ns["tanh_grad"], torch.tensor([0.0, 1.0]), to_be=torch.tensor([1.0, 0.42]), atol=1e-2)
    text = str(error.value)
    assert "calls your tanh, which calls torch.tanh" in text and "only tanh loses points" in text, text
