"""course_lib.activations against PyTorch: values, derivatives, stability, errors."""
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import activations as act

INF = float("inf")
DTYPES = [torch.float32, torch.float64]
SHAPES = {"scalar": (), "one": (1,), "matrix": (4, 5), "empty": (0,)}

# (ours, PyTorch's twin); heaviside with value 0 at z == 0 is the step function.
ELEMENTWISE = {
    "step": (act.step, lambda z: torch.heaviside(z, torch.zeros_like(z))),
    "sigmoid": (act.sigmoid, torch.sigmoid),
    "tanh": (act.tanh, torch.tanh),
    "relu": (act.relu, torch.relu),
    "leaky_relu": (act.leaky_relu, F.leaky_relu),
    "leaky_relu_0.2": (lambda z: act.leaky_relu(z, 0.2), lambda z: F.leaky_relu(z, 0.2)),
    "softmax": (act.softmax, lambda z: F.softmax(z, dim=-1)),
}
# (our derivative, the function whose autograd derivative it must equal)
GRADS = {
    "sigmoid": (act.sigmoid_grad, torch.sigmoid),
    "tanh": (act.tanh_grad, torch.tanh),
    "relu": (act.relu_grad, torch.relu),
    "leaky_relu": (act.leaky_relu_grad, F.leaky_relu),
    "leaky_relu_0.2": (lambda z: act.leaky_relu_grad(z, 0.2), lambda z: F.leaky_relu(z, 0.2)),
}
# (our forward, our derivative): autograd through the first must give the second.
OURS_PAIRS = {
    "sigmoid": (act.sigmoid, act.sigmoid_grad),
    "tanh": (act.tanh, act.tanh_grad),
    "relu": (act.relu, act.relu_grad),
    "leaky_relu": (act.leaky_relu, act.leaky_relu_grad),
}
EDGES = [-1e4, -100.0, -20.0, -1.0, -1e-8, 0.0, 1e-8, 1.0, 20.0, 100.0, 1e4]


def autograd_derivative(f, z):
    z = z.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(z).sum(), z)
    return g


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("ours, theirs", ELEMENTWISE.values(), ids=ELEMENTWISE.keys())
def test_activation_matches_pytorch(ours, theirs, shape, dtype):
    z = 5 * torch.randn(shape, generator=torch.Generator().manual_seed(0), dtype=dtype)
    torch.testing.assert_close(ours(z), theirs(z))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("ours, theirs", ELEMENTWISE.values(), ids=ELEMENTWISE.keys())
def test_activation_is_finite_and_matches_pytorch_at_large_inputs(ours, theirs, dtype):
    z = torch.tensor(EDGES, dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ours(z)
    assert torch.isfinite(out).all(), f"{out} has inf or nan: exp overflowed"
    torch.testing.assert_close(out, theirs(z))


@pytest.mark.parametrize("ours, theirs", ELEMENTWISE.values(), ids=ELEMENTWISE.keys())
def test_activation_does_not_modify_its_input(ours, theirs):
    z = torch.tensor(EDGES)
    before = z.clone()
    ours(z)
    torch.testing.assert_close(z, before)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_tanh_keeps_relative_precision_for_tiny_inputs(dtype):
    # (1 - exp(-2z)) / (1 + exp(-2z)) would round 1 - exp(-2e-9) to 0; expm1 does not.
    z = torch.tensor([1e-9, -3e-7, 2e-5], dtype=dtype)
    torch.testing.assert_close(act.tanh(z), torch.tanh(z), rtol=1e-6, atol=0)


def test_step_is_zero_at_zero_and_one_just_above():
    assert act.step(torch.tensor([0.0, -0.0, 1e-30])).tolist() == [0.0, 0.0, 1.0]


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_matches_pytorch_along_any_dim(dim):
    z = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(act.softmax(z, dim=dim), F.softmax(z, dim=dim))


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 4)], ids=str)
def test_softmax_of_empty_tensor_is_empty_like_pytorch(shape):
    z = torch.empty(shape)
    assert act.softmax(z).shape == F.softmax(z, dim=-1).shape


def test_softmax_handles_minus_inf_like_pytorch():
    # Row 0: -inf entries get probability 0. Row 1: all -inf has no answer, nan as in PyTorch.
    z = torch.tensor([[0.0, -INF, 1.0], [-INF, -INF, -INF], [1e4, -1e4, 1e4]])
    torch.testing.assert_close(act.softmax(z), F.softmax(z, dim=-1), equal_nan=True)
    assert act.softmax(z)[0, 1] == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e4, 1e4), min_size=1, max_size=8), st.floats(-1e4, 1e4))
def test_softmax_rows_sum_to_one_and_ignore_a_shift(values, shift):
    z = torch.tensor(values, dtype=torch.float64)
    p = act.softmax(z)
    assert ((p >= 0) & (p <= 1)).all()
    torch.testing.assert_close(p.sum(), torch.tensor(1.0, dtype=torch.float64))
    # Adding the same number to every logit changes nothing (up to rounding of z + shift).
    torch.testing.assert_close(act.softmax(z + shift), p, rtol=1e-6, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.floats(-1e4, 1e4))
def test_sigmoid_and_tanh_symmetries(z):
    z = torch.tensor([z], dtype=torch.float64)
    torch.testing.assert_close(act.sigmoid(-z), 1 - act.sigmoid(z))
    torch.testing.assert_close(act.tanh(-z), -act.tanh(z))
    assert 0 <= act.sigmoid(z).item() <= 1 and -1 <= act.tanh(z).item() <= 1


@pytest.mark.parametrize("ours, twin", GRADS.values(), ids=GRADS.keys())
def test_derivative_matches_autograd_of_pytorch_twin(ours, twin):
    z = torch.cat([torch.randn(20, generator=torch.Generator().manual_seed(2), dtype=torch.float64),
                   torch.tensor(EDGES, dtype=torch.float64)])
    torch.testing.assert_close(ours(z), autograd_derivative(twin, z))


def test_relu_grad_at_zero_is_zero():
    assert act.relu_grad(torch.zeros(3)).tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_leaky_relu_grad_at_zero_is_the_slope_as_autograd_says(slope):
    z = torch.zeros(1, dtype=torch.float64)
    expected = autograd_derivative(lambda t: F.leaky_relu(t, slope), z)
    assert act.leaky_relu_grad(z, slope).item() == expected.item() == slope


def test_sigmoid_grad_peaks_at_a_quarter_and_vanishes_when_saturated():
    g = act.sigmoid_grad(torch.tensor([0.0, 20.0, -20.0]))
    assert g[0] == 0.25, "the sigmoid is steepest at 0, with slope 1/4"
    assert (g[1:] < 1e-8).all(), "far from 0 the sigmoid is flat: gradients vanish"


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("ours, derivative", OURS_PAIRS.values(), ids=OURS_PAIRS.keys())
def test_autograd_through_ours_gives_our_derivative_even_at_zero(ours, derivative, dtype):
    z = torch.tensor(EDGES, dtype=dtype)
    g = autograd_derivative(ours, z)
    assert torch.isfinite(g).all(), f"autograd gave {g}: a discarded branch produced nan"
    torch.testing.assert_close(g, derivative(z))


@pytest.mark.parametrize("dim", [0, -1])
def test_softmax_gradient_matches_autograd_of_pytorch(dim):
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    w = torch.randn(3, 4, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    ours = autograd_derivative(lambda t: act.softmax(t, dim) * w, z)
    torch.testing.assert_close(ours, autograd_derivative(lambda t: F.softmax(t, dim) * w, z))
    assert torch.autograd.gradcheck(lambda t: act.softmax(t, dim), (z.requires_grad_(),))


@pytest.mark.parametrize("f", [act.step, act.sigmoid, act.tanh, act.relu, act.leaky_relu,
                               act.softmax, act.sigmoid_grad, act.tanh_grad, act.relu_grad,
                               act.leaky_relu_grad], ids=lambda f: f.__name__)
def test_integer_input_is_refused_with_a_hint(f):
    with pytest.raises(TypeError, match=r"floating dtype.*torch.int64.*\.float\(\)"):
        f(torch.tensor([1, -2, 3]))


def test_non_tensor_input_is_refused():
    with pytest.raises(TypeError, match="must be a torch.Tensor, got list"):
        act.sigmoid([0.0, 1.0])


def test_leaky_relu_slope_must_be_a_number():
    with pytest.raises(TypeError, match="negative_slope must be a real number"):
        act.leaky_relu(torch.zeros(2), negative_slope="0.1")
