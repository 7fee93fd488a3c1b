"""Tests for course_lib.grading: what passes, what fails, and what the failure message tells the learner."""
import linecache
import math
import re
from collections import namedtuple

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.grading import GradingError, assert_close, call_safely, check_raises, describe

NAN, INF = math.nan, math.inf


def failure(fn, *args, **kwargs) -> str:
    """The GradingError message fn raises (the test fails if it raises none)."""
    with pytest.raises(GradingError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_grading_error_is_an_assertion_error():
    assert issubclass(GradingError, AssertionError)


# assert_close: what passes

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.bool],
                         ids=["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("shape", [(), (1,), (0,), (3, 4)], ids=["scalar", "one_element", "empty", "matrix"])
def test_assert_close_passes_for_equal_tensors(shape, dtype):
    x = (torch.randn(shape) * 5).to(dtype)
    assert_close(x.clone(), x, name="f")


@pytest.mark.parametrize("expected", [0.0, 1.0, -250.0])
def test_assert_close_passes_within_atol_plus_rtol_and_fails_just_beyond(expected):
    e = torch.tensor([expected], dtype=torch.float64)
    allowed = 1e-6 + 1e-5 * abs(expected)
    assert_close(e + 0.9 * allowed, e, name="f")
    assert_close(expected + 0.9 * allowed, expected, name="f")
    failure(assert_close, e + 1.1 * allowed, e, name="f")
    failure(assert_close, expected + 1.1 * allowed, expected, name="f")


def test_assert_close_custom_tolerances_are_used_and_reported():
    e = torch.ones(3)
    assert_close(e + 0.05, e, name="f", rtol=0, atol=0.1)
    assert "by more than the allowed 0.01 + 0 × |expected|" in failure(
        assert_close, e + torch.tensor([0.05, 0.0, 0.0]), e, name="f", rtol=0, atol=0.01)


def test_assert_close_states_the_tolerance_in_plain_words():
    message = failure(assert_close, torch.ones(3), torch.zeros(3), name="f")
    assert "by more than the allowed 1e-06 + 1e-05 × |expected|" in message
    assert "atol" not in message and "rtol" not in message


def test_assert_close_ignores_requires_grad():
    x = torch.randn(3, requires_grad=True)
    assert_close(x * 1, x.detach(), name="f")


# assert_close: the value report

def planted_mismatch():
    z = torch.linspace(-1, 1, 12).reshape(4, 3)
    expected = z.clamp(min=0)
    actual = expected.clone()
    actual[0, 1] = 2.0   # expected 0 there: infinite relative error
    actual[2, 2] = 5.0   # the largest absolute error
    actual[3, 0] = NAN
    return z, actual, expected


def test_assert_close_message_reports_every_field():
    z, actual, expected = planted_mismatch()
    message = failure(assert_close, actual, expected, name="relu", inputs={"z": z}, hint="negative inputs map to 0")
    for pattern in [rf"^relu: wrong values: got nan at \[3, 0\] where {expected[3, 0].item():.6g} was expected$",
                    r"^  3 of 12 elements differ \(25%\) by more than the allowed 1e-06 \+ 1e-05 × \|expected\|$",
                    r"input: z=tensor of shape \(4, 3\), float32",
                    r"shape \(4, 3\) and dtype float32 as expected",
                    rf"greatest absolute error {5.0 - expected[2, 2].item():.6g} at \[2, 2\]",
                    r"greatest relative error inf at \[0, 1\]",
                    r"first mismatch at \[0, 1\]: expected 0, got 2",
                    r"nan: actual has 1 at \[3, 0\]; expected has none",
                    r"hint: negative inputs map to 0$"]:
        assert re.search(pattern, message, re.MULTILINE), f"{pattern!r} not in:\n{message}"


def test_assert_close_leads_with_a_nan_and_leaves_out_meaningless_error_sizes():
    message = failure(assert_close, torch.tensor([0.5, 0.5, NAN]), torch.full((3,), 0.5), name="f")
    assert message.startswith("f: wrong values: got nan at [2] where 0.5 was expected\n")
    assert "greatest" not in message and "first mismatch" not in message


def test_assert_close_reports_where_expected_has_inf_and_nan():
    expected = torch.tensor([1.0, INF, NAN, 4.0])
    actual = torch.tensor([1.0, 7.0, 3.0, 4.0])
    message = failure(assert_close, actual, expected, name="f")
    assert "2 of 4 elements differ" in message
    assert "nan: actual has none; expected has 1 at [2]" in message
    assert "inf: actual has none; expected has 1 at [1]" in message


def test_assert_close_without_nan_or_inf_says_so():
    assert "no nan or inf in actual or expected" in failure(assert_close, torch.ones(2), torch.zeros(2), name="f")


def test_assert_close_nan_equals_nan_only_with_equal_nan():
    x = torch.tensor([1.0, NAN])
    message = failure(assert_close, x.clone(), x, name="f")
    assert "1 of 2 elements differ" in message and "nan: actual has 1 at [1]; expected has 1 at [1]" in message
    assert_close(x.clone(), x, name="f", equal_nan=True)
    assert_close(NAN, NAN, name="f", equal_nan=True)
    failure(assert_close, NAN, NAN, name="f")


def test_assert_close_same_infinities_pass_and_opposite_ones_fail():
    x = torch.tensor([INF, -INF, 0.0])
    assert_close(x.clone(), x, name="f")
    message = failure(assert_close, -x, x, name="f")
    assert "2 of 3 elements differ" in message and "inf: actual has 2 at [0]; expected has 2 at [0]" in message
    assert_close(INF, INF, name="f")
    assert "got -inf where inf was expected" in failure(assert_close, -INF, INF, name="f")
    assert "got 1e+300 where inf was expected" in failure(assert_close, 1e300, INF, name="f")


@pytest.mark.parametrize("factor, words", [(-1.0, "every value has the wrong sign"),
                                           (2.0, "every value is 2 times the expected one")],
                         ids=["sign", "factor_two"])
def test_assert_close_names_a_sign_or_constant_factor_slip(factor, words):
    expected = torch.randn(5, 3, dtype=torch.float64)
    assert words in failure(assert_close, factor * expected, expected, name="f")


@pytest.mark.parametrize("actual, expected", [
    (torch.tensor(1.0), torch.tensor(0.5)), (torch.tensor([1.0]), torch.tensor([0.5])), (1.0, 0.5),
    (torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.5])),
], ids=["zero_dim", "one_element", "python_float", "one_nonzero_value"])
def test_assert_close_single_values_get_no_talk_of_factors(actual, expected):
    message = failure(assert_close, actual, expected, name="f")
    assert "times the expected" not in message and "wrong sign" not in message


@pytest.mark.parametrize("actual, expected, first", [
    (torch.tensor(1.0), torch.tensor(0.5), "f: wrong values: expected 0.5, got 1\n"),
    (torch.tensor([1.0]), torch.tensor([0.5]), "f: wrong values: expected 0.5, got 1 at [0]\n"),
    (torch.tensor(NAN), torch.tensor(0.5), "f: wrong values: got nan where 0.5 was expected"),
], ids=["zero_dim", "one_element", "nan"])
def test_assert_close_reports_a_single_value_as_expected_and_got(actual, expected, first):
    message = failure(assert_close, actual, expected, name="f")
    assert message.startswith(first) and "elements differ" not in message


def test_assert_close_does_not_claim_a_factor_when_there_is_none():
    expected = torch.randn(5, 3)
    assert "times the expected" not in failure(assert_close, expected + 1, expected, name="f")


@pytest.mark.parametrize("make_bad", [lambda a: a + 1, lambda a: torch.full_like(a, NAN)],
                         ids=["offset", "all_nan"])
def test_assert_close_message_stays_short_for_huge_tensors(make_bad):
    expected = torch.randn(1000, 1000)
    inputs = {f"x{i}": torch.empty(1000, 1000) for i in range(20)}
    message = failure(assert_close, make_bad(expected), expected, name="f", inputs=inputs, hint="look at it")
    assert len(message.splitlines()) < 25 and len(message) < 2500


# assert_close: shape, dtype and type problems come first

@pytest.mark.parametrize("actual_shape, expected_shape, words", [
    ((3, 4), (4, 3), "expected (4, 3), got (3, 4) — did you transpose?"),
    ((), (5,), "reduced to one number"),
    ((5, 5), (5,), "an (N,) and an (N, 1) tensor broadcast to (N, N)"),
    ((5, 1), (5,), "differs only in dimensions of size 1"),
    ((2, 7), (2, 6), "(dimension 1 has size 7, expected 6)"),
], ids=["transposed", "reduced", "broadcast", "keepdim", "one_dim_off"])
def test_assert_close_shape_mismatch_is_reported_with_a_diagnosis(actual_shape, expected_shape, words):
    message = failure(assert_close, torch.zeros(actual_shape), torch.zeros(expected_shape), name="f")
    assert message.startswith(f"f: wrong shape: expected {expected_shape}, got {actual_shape}")
    assert words in message and "dtype float32 as expected" in message


def test_assert_close_shape_mismatch_also_mentions_a_dtype_mismatch():
    message = failure(assert_close, torch.zeros(3, 4, dtype=torch.float64), torch.zeros(4, 3), name="f")
    assert "did you transpose?" in message and "dtype differs too: expected float32, got float64" in message


@pytest.mark.parametrize("actual_dtype, expected_dtype, words", [
    (torch.float64, torch.float32, "keep the input's dtype: make new tensors with dtype=x.dtype"),
    (torch.int64, torch.float32, "integer results"),
    (torch.float32, torch.int64, "convert with .long()"),
    (torch.float32, torch.bool, "a comparison such as z > 0 gives a bool tensor"),
], ids=["float64_for_float32", "int_for_float", "float_for_int64", "float_for_bool"])
def test_assert_close_dtype_mismatch_is_reported_with_a_diagnosis(actual_dtype, expected_dtype, words):
    expected = torch.tensor([0, 1, 1], dtype=expected_dtype)
    message = failure(assert_close, expected.to(actual_dtype), expected, name="f")
    assert message.startswith(f"f: wrong dtype: expected {str(expected_dtype)[6:]}, got {str(actual_dtype)[6:]}")
    assert words in message and "the values agree once converted" in message


def test_assert_close_dtype_mismatch_says_keep_the_input_dtype_and_leaves_out_the_value_hint():
    expected = torch.tensor([0.5, 1.5])
    hint = "divide by the batch size"
    message = failure(assert_close, expected.double(), expected, name="f", hint=hint)
    assert "keep the input's dtype" in message and hint not in message
    assert hint in failure(assert_close, expected * 2, expected, name="f", hint=hint)


def test_assert_close_dtype_mismatch_with_wrong_values_reports_both():
    actual = torch.tensor([1.0, 5.0], dtype=torch.float64)
    message = failure(assert_close, actual, torch.tensor([1.0, 2.0]), name="f")
    assert "wrong dtype" in message and "first mismatch at [1]: expected 2, got 5" in message


@pytest.mark.parametrize("actual, words", [
    (None, "returned None (NoneType) instead of a tensor of shape (2,): did you forget `return`?"),
    (np.zeros(2), "returned a numpy.ndarray of shape (2,), float64 instead of a tensor"),
    ([0.0, 0.0], "returned a list of length 2 instead of a tensor of shape (2,)"),
    (0.0, "returned float 0.0 instead of a tensor of shape (2,): keep it a tensor"),
    ((torch.zeros(2),), "returned tuple"),
    ("zeros", "returned str"),
], ids=["None", "numpy", "list", "float", "tuple", "str"])
def test_assert_close_non_tensor_actual_is_named(actual, words):
    assert words in failure(assert_close, actual, torch.zeros(2), name="f")


@pytest.mark.parametrize("actual, expected, words", [
    (torch.tensor(0.5), 0.5, "returned a tensor of shape (), float32 instead of a Python float: "
                             "convert with .item()"),
    (13.0, 13, "returned float 13.0 instead of a Python int: use // for integer division"),
    (12, 13, "expected 13, got 12"),
    (0.7, 0.5, "expected 0.5, got 0.7\n  off by 0.2 (relative error 0.4), more than the allowed"),
    (1, True, "returned int 1 instead of a Python bool"),
    (False, True, "expected True, got False"),
    (torch.zeros(1), None, "expected None, got tensor of shape (1,)"),
], ids=["tensor_for_float", "float_for_int", "wrong_int", "wrong_float", "int_for_bool", "wrong_bool", "not_none"])
def test_assert_close_python_values_fail_with_a_clear_message(actual, expected, words):
    assert words in failure(assert_close, actual, expected, name="f")


@pytest.mark.parametrize("actual, expected", [(0.5, 0.5), (1, 1.0), (np.float64(0.25), 0.25), (13, 13),
                                              (True, True), (None, None)],
                         ids=["float", "int_for_float", "numpy_scalar", "int", "bool", "None"])
def test_assert_close_python_values_pass(actual, expected):
    assert_close(actual, expected, name="f")


def test_assert_close_describes_string_inputs():
    message = failure(assert_close, 1.0, 2.0, name="f", inputs="z = linspace(-3, 3, 7)")
    assert "input: z = linspace(-3, 3, 7)" in message


# assert_close: tuples

def grads():
    return torch.ones(4, 3), torch.ones(2, 3), torch.ones(2)


def test_assert_close_tuple_names_the_wrong_element():
    gx, gw, gb = grads()
    message = failure(assert_close, (gx, gw.T, gb), (gx, gw, gb), name="linear_backward",
                      names=("grad_x", "grad_weight", "grad_bias"))
    assert message.startswith("linear_backward (grad_weight): wrong shape: expected (2, 3), got (3, 2)")


def test_assert_close_tuple_lists_the_other_wrong_elements():
    gx, gw, gb = grads()
    message = failure(assert_close, (gx + 1, gw, gb * 2), (gx, gw, gb), name="linear_backward",
                      names=("grad_x", "grad_weight", "grad_bias"))
    assert message.startswith("linear_backward (grad_x): wrong values") and "also wrong: grad_bias" in message


def test_assert_close_tuple_labels_default_to_namedtuple_fields_then_positions():
    Grads = namedtuple("Grads", "grad_x grad_weight grad_bias")
    gx, gw, gb = grads()
    assert "(grad_bias)" in failure(assert_close, (gx, gw, gb + 1), Grads(gx, gw, gb), name="f")
    assert "(element 2)" in failure(assert_close, (gx, gw, gb + 1), (gx, gw, gb), name="f")


def test_assert_close_tuple_passes_and_accepts_none_elements_and_lists():
    gx, gw, _ = grads()
    assert_close([gx.clone(), gw.clone(), None], (gx, gw, None), name="f")


@pytest.mark.parametrize("actual, words", [
    (grads()[:2], "returned a tuple of 2 instead of a tuple of 3 (grad_x, grad_weight, grad_bias)"),
    (grads()[0], "returned a tensor of shape (4, 3), float32 instead of a tuple of 3"),
    (None, "did you forget `return`?"),
], ids=["too_short", "single_tensor", "None"])
def test_assert_close_tuple_of_the_wrong_kind_is_named(actual, words):
    assert words in failure(assert_close, actual, grads(), name="f", names=("grad_x", "grad_weight", "grad_bias"))


def test_assert_close_refuses_bad_use_by_the_test_author():
    with pytest.raises(ValueError, match="rtol must be a number >= 0"):
        assert_close(1.0, 1.0, name="f", rtol=-1)
    with pytest.raises(ValueError, match="2 names for 3 expected values"):
        assert_close(grads(), grads(), name="f", names=("a", "b"))
    with pytest.raises(TypeError, match="expected must be a tensor, a number"):
        assert_close("a", "a", name="f")


def test_assert_close_keeps_working_when_the_learner_rebinds_torch_functions(monkeypatch):
    for fn_name in ["abs", "sub", "le", "isclose", "allclose", "eq", "count_nonzero"]:
        monkeypatch.setattr(torch, fn_name, lambda *args, **kwargs: True)
    failure(assert_close, torch.tensor([1.0, 2.0]), torch.tensor([1.0, 3.0]), name="f")


# describe

@pytest.mark.parametrize("x, text", [
    (torch.tensor([1.0, 2.5]), "tensor of shape (2,), float32: [1, 2.5]"),
    (torch.arange(10), "tensor of shape (10,), int64: [0, 1, 2, 3, ...]"),
    (torch.tensor(0.5, dtype=torch.float64), "tensor of shape (), float64: [0.5]"),
    (torch.zeros(0, 3), "tensor of shape (0, 3), float32, empty"),
    (torch.zeros(1, 2, dtype=torch.float64).T, "tensor of shape (2, 1), float64: [0, 0]"),
    (torch.zeros(2, 2, dtype=torch.float64).T, "tensor of shape (2, 2), float64, non-contiguous (a transposed view): "
                                               "[0, 0, 0, 0]"),
    (torch.zeros(1, 4)[:, ::2], "tensor of shape (1, 2), float32, non-contiguous (a strided view): [0, 0]"),
    (torch.zeros(1, requires_grad=True), "tensor of shape (1,), float32, requires_grad: [0]"),
    (None, "None"),
    (3, "int 3"),
    (np.zeros((2, 2)), "numpy.ndarray of shape (2, 2), float64"),
    ((torch.zeros(2), None), "tuple of length 2: (tensor of shape (2,), float32, None)"),
], ids=["short", "truncated", "scalar", "empty", "transposed_row", "transposed", "strided", "requires_grad", "None", "int", "numpy",
        "tuple"])
def test_describe_is_one_short_line(x, text):
    assert describe(x) == text


def test_an_input_is_described_with_its_layout():
    message = failure(assert_close, torch.zeros(2), torch.ones(2), name="f", inputs={"x": torch.zeros(4, 3).T})
    assert "input: x=tensor of shape (3, 4), float32, non-contiguous (a transposed view)" in message


def test_describe_truncates_long_reprs():
    assert len(describe("x" * 1000)) <= 80


# call_safely

def stub(z):
    raise NotImplementedError()


def calls_stub(z):
    return stub(z) + 1


def buggy(z):
    return z @ z  # shapes (2, 3) @ (2, 3) do not match


def test_call_safely_returns_the_result_and_passes_keyword_arguments():
    assert call_safely(lambda a, b=0: a + b, 2, b=3, name="add") == 5


@pytest.mark.parametrize("fn", [stub, calls_stub], ids=["stub", "calls_a_stub"])
def test_call_safely_reports_not_implemented_yet(fn):
    message = failure(call_safely, fn, torch.zeros(2, 3), name="relu")
    assert message.startswith("relu: not implemented yet: replace `raise NotImplementedError()`")
    assert "in stub, test_grading.py, line" in message and "raise NotImplementedError()" in message


def test_call_safely_reports_the_exception_type_message_and_learner_line():
    message = failure(call_safely, buggy, torch.zeros(2, 3), name="relu")
    lines = message.splitlines()
    assert lines[0].startswith("relu: raised RuntimeError: mat1 and mat2 shapes cannot be multiplied")
    assert lines[1] == "  input: z=tensor of shape (2, 3), float32"
    assert lines[2].startswith("  in buggy, test_grading.py, line")
    assert lines[2].endswith(": return z @ z  # shapes (2, 3) @ (2, 3) do not match")  # source kept verbatim
    assert len(lines) == 3


def test_call_safely_points_at_the_learner_line_not_into_torch():
    def uses_torch(x):
        return nn.functional.dropout(x, p=2.0)  # torch raises from its own Python code
    message = failure(call_safely, uses_torch, torch.ones(2), name="f")
    assert "raised ValueError: dropout probability has to be between 0 and 1" in message
    assert "in uses_torch, test_grading.py" in message and "nn.functional.dropout(x, p=2.0)" in message


def test_call_safely_hides_the_original_traceback():
    with pytest.raises(GradingError) as info:
        call_safely(buggy, torch.zeros(2, 3), name="relu")
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_call_safely_shortens_long_exception_messages():
    def chatty():
        raise ValueError("word " * 1000)
    message = failure(call_safely, chatty, name="f")
    assert len(message) < 600


def test_call_safely_treats_a_not_implemented_error_from_torch_as_an_error():
    message = failure(call_safely, nn.Module(), torch.ones(1), name="model")
    assert "raised NotImplementedError: Module [Module] is missing the required \"forward\" function" in message


def test_call_safely_names_the_notebook_cell_line():
    filename = "/tmp/ipykernel_4242/123456.py"  # what ipykernel names a cell
    source = "def relu(z):\n    return z.clamp(min=0) + undefined_name\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)
    message = failure(call_safely, namespace["relu"], torch.zeros(2), name="relu")
    assert "raised NameError: name 'undefined_name' is not defined" in message
    assert "in relu, line 2 of the cell: return z.clamp(min=0) + undefined_name" in message


# check_raises

def checked_dropout(x, p):
    if not 0 <= p <= 1:
        raise ValueError(f"p must be between 0 and 1, got {p}")
    return x


def test_check_raises_returns_the_expected_exception():
    err = check_raises(checked_dropout, ValueError, torch.ones(2), 1.5, name="dropout", match="between 0 and 1")
    assert isinstance(err, ValueError)
    assert isinstance(check_raises(checked_dropout, (TypeError, ArithmeticError, ValueError), torch.ones(2), -1,
                                   name="dropout"), ValueError)


def test_check_raises_fails_when_nothing_is_raised_and_describes_the_input():
    message = failure(check_raises, checked_dropout, ValueError, torch.ones(2), 0.5, name="dropout",
                      hint="p=0.5 is valid")
    assert message.startswith("dropout: should raise ValueError for this input, but returned tensor of shape (2,)")
    assert "input: x=tensor of shape (2,), float32; p=float 0.5" in message and "hint: p=0.5 is valid" in message


def test_check_raises_fails_on_the_wrong_exception_type():
    message = failure(check_raises, checked_dropout, TypeError, torch.ones(2), 1.5, name="dropout")
    assert message.startswith("dropout: should raise TypeError for this input, but raised ValueError: p must be")
    assert "in checked_dropout, test_grading.py" in message


def test_check_raises_fails_when_the_message_does_not_match():
    message = failure(check_raises, checked_dropout, ValueError, torch.ones(2), 1.5, name="dropout", match="XOR")
    assert ("raised ValueError as it should, but its message 'p must be between 0 and 1, got 1.5' "
            "does not match 'XOR'") in message


def test_check_raises_reports_not_implemented_yet():
    assert "dropout: not implemented yet" in failure(check_raises, stub, ValueError, 1.5, name="dropout")
