"""Hand-written backward passes against torch.autograd (float64), and the numerical gradient."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.testing import assert_close

from course_lib.backprop import (linear_backward, numerical_gradient, relu_backward,
                                 sigmoid_backward, softmax_cross_entropy_backward)

SEEDS = [0, 1, 2]


def randn(*shape, seed=0, dtype=torch.float64, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(shape, generator=g, dtype=dtype)


def autograd_grads(fn, *inputs, grad_out=None):
    """Gradients of fn(*inputs) by torch.autograd, seeded with grad_out (or 1 for a scalar)."""
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    out = fn(*leaves)
    out.backward(grad_out)
    return [leaf.grad for leaf in leaves]


LINEAR_SHAPES = [((4, 3), 2), ((1, 5), 1), ((2, 3, 4), 5), ((3,), 2), ((0, 3), 2)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("x_shape,out", LINEAR_SHAPES, ids=lambda v: str(v).replace(" ", ""))
def test_linear_backward_matches_autograd(x_shape, out, seed):
    x = randn(*x_shape, seed=seed)
    weight, bias = randn(out, x_shape[-1], seed=seed + 10), randn(out, seed=seed + 20)
    grad_out = randn(*x_shape[:-1], out, seed=seed + 30)
    expected = autograd_grads(F.linear, x, weight, bias, grad_out=grad_out)
    for ours, theirs in zip(linear_backward(grad_out, x, weight), expected):
        assert_close(ours, theirs)


def test_linear_backward_float32_matches_autograd():
    x, weight = randn(8, 6, dtype=torch.float32), randn(4, 6, seed=1, dtype=torch.float32)
    bias, grad_out = randn(4, seed=2, dtype=torch.float32), randn(8, 4, seed=3, dtype=torch.float32)
    expected = autograd_grads(F.linear, x, weight, bias, grad_out=grad_out)
    for ours, theirs in zip(linear_backward(grad_out, x, weight), expected):
        assert_close(ours, theirs)


ELEMENTWISE_SHAPES = [(), (1,), (7,), (3, 4), (2, 3, 5), (0, 4)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("shape", ELEMENTWISE_SHAPES, ids=str)
@pytest.mark.parametrize("ours,twin", [(relu_backward, torch.relu), (sigmoid_backward, torch.sigmoid)],
                         ids=["relu", "sigmoid"])
def test_elementwise_backward_matches_autograd(ours, twin, shape, dtype):
    z, grad_out = randn(*shape, dtype=dtype, scale=3.0), randn(*shape, seed=1, dtype=dtype)
    (expected,) = autograd_grads(twin, z, grad_out=grad_out)
    assert_close(ours(grad_out, z), expected)


def test_relu_backward_at_zero_is_zero():
    z = torch.tensor([-1.0, 0.0, 0.0, 2.0])
    assert_close(relu_backward(torch.ones(4), z), torch.tensor([0.0, 0.0, 0.0, 1.0]))


def test_sigmoid_backward_is_finite_and_matches_autograd_for_huge_inputs():
    z = torch.tensor([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], dtype=torch.float64)
    grad_out = torch.ones_like(z)
    ours = sigmoid_backward(grad_out, z)
    assert torch.isfinite(ours).all(), f"sigmoid_backward overflowed: {ours}"
    assert_close(ours, autograd_grads(torch.sigmoid, z, grad_out=grad_out)[0])


def test_sigmoid_backward_peaks_at_one_quarter():
    assert sigmoid_backward(torch.ones(1), torch.zeros(1)).item() == pytest.approx(0.25)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n,c,scale", [(1, 1, 1.0), (1, 3, 1.0), (4, 3, 1.0), (16, 10, 5.0), (5, 4, 1e4)],
                         ids=["1x1", "1x3", "4x3", "16x10", "huge-logits"])
def test_softmax_cross_entropy_backward_matches_autograd(n, c, scale, seed):
    logits = randn(n, c, seed=seed, scale=scale)
    labels = torch.randint(0, c, (n,), generator=torch.Generator().manual_seed(seed))
    (expected,) = autograd_grads(lambda z: F.cross_entropy(z, labels), logits)
    ours = softmax_cross_entropy_backward(logits, labels)
    assert torch.isfinite(ours).all()
    assert_close(ours, expected)


def test_softmax_cross_entropy_backward_does_not_modify_logits():
    logits = randn(3, 4)
    before = logits.clone()
    softmax_cross_entropy_backward(logits, torch.tensor([0, 1, 3]))
    assert torch.equal(logits, before)


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 6), c=st.integers(1, 6), seed=st.integers(0, 2**31 - 1),
       scale=st.sampled_from([1e-3, 1.0, 30.0, 1e4]))
def test_softmax_cross_entropy_grad_rows_sum_to_zero(n, c, seed, scale):
    # Softmax rows and one-hot rows both sum to one, so each gradient row sums to zero.
    logits = randn(n, c, seed=seed, scale=scale)
    labels = torch.randint(0, c, (n,), generator=torch.Generator().manual_seed(seed))
    row_sums = softmax_cross_entropy_backward(logits, labels).sum(dim=1)
    assert_close(row_sums, torch.zeros(n, dtype=torch.float64), atol=1e-12, rtol=0)


FUNCTIONS = {
    "sum-of-squares": lambda x: (x ** 2).sum(),
    "sin-times-x": lambda x: (x.sin() * x).sum(),
    "logsumexp": lambda x: torch.logsumexp(x.reshape(-1), dim=0),
    "cross-entropy-one-row": lambda x: F.cross_entropy(x.reshape(1, -1), torch.tensor([0])),
    "product-of-tanh": lambda x: x.tanh().prod(),
}


@pytest.mark.parametrize("shape", [(), (1,), (5,), (2, 3)], ids=str)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_numerical_gradient_matches_autograd(name, shape):
    f = FUNCTIONS[name]
    x = randn(*shape, seed=len(name))
    (expected,) = autograd_grads(f, x)
    # Central differences carry O(eps**2) truncation and O(1e-16 / eps) rounding error,
    # about 1e-9 relative here, so the float64 default rtol=1e-7 is kept but atol is 1e-8.
    assert_close(numerical_gradient(f, x), expected, rtol=1e-6, atol=1e-8)


def test_numerical_gradient_accepts_a_python_float_result():
    x = randn(4)
    grad = numerical_gradient(lambda t: float((t ** 3).sum()), x)
    assert_close(grad, 3 * x ** 2, rtol=1e-6, atol=1e-8)


def test_numerical_gradient_returns_float64_copy_and_leaves_x_alone():
    x = randn(2, 3, dtype=torch.float32).t()  # non-contiguous on purpose
    before = x.clone()
    grad = numerical_gradient(lambda t: (2 * t).sum(), x)
    assert grad.dtype == torch.float64 and grad.shape == x.shape
    assert torch.equal(x, before)
    assert_close(grad, torch.full((3, 2), 2.0, dtype=torch.float64))


def test_numerical_gradient_catches_a_wrong_hand_gradient():
    # The point of a gradient check: a planted bug (forgetting the factor 1/N) is visible.
    logits, labels = randn(4, 3), torch.tensor([0, 2, 1, 1])
    numeric = numerical_gradient(lambda z: F.cross_entropy(z, labels), logits)
    assert_close(softmax_cross_entropy_backward(logits, labels), numeric, rtol=1e-6, atol=1e-8)
    assert not torch.allclose(4 * softmax_cross_entropy_backward(logits, labels), numeric)


ERRORS = {
    "linear-in-features-mismatch": (lambda: linear_backward(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(3, 5)),
        ValueError, r"x must end in in_features=5"),
    "linear-grad-out-shape": (lambda: linear_backward(torch.zeros(2, 2), torch.zeros(2, 4), torch.zeros(3, 4)),
        ValueError, r"grad_out must have the shape of the layer output \(2, 3\)"),
    "linear-weight-1d": (lambda: linear_backward(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(12)),
        ValueError, r"weight must have 2 dimension"),
    "linear-int-x": (lambda: linear_backward(torch.zeros(2, 3), torch.zeros(2, 4, dtype=torch.long), torch.zeros(3, 4)),
        TypeError, r"x must have a floating dtype"),
    "linear-dtype-mismatch": (lambda: linear_backward(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(3, 4, dtype=torch.float64)),
        TypeError, r"x and weight must have the same dtype"),
    "relu-shape-mismatch": (lambda: relu_backward(torch.zeros(3), torch.zeros(4)),
        ValueError, r"grad_out and z must have the same shape, got \(3,\) and \(4,\)"),
    "sigmoid-shape-mismatch": (lambda: sigmoid_backward(torch.zeros(2, 3), torch.zeros(3, 2)),
        ValueError, r"grad_out and z must have the same shape"),
    "sigmoid-list": (lambda: sigmoid_backward([0.0], torch.zeros(1)), TypeError, r"grad_out must be a torch.Tensor"),
    "ce-label-out-of-range": (lambda: softmax_cross_entropy_backward(torch.zeros(2, 3), torch.tensor([0, 3])),
        ValueError, r"labels must lie in \[0, 3\), found 3"),
    "ce-float-labels": (lambda: softmax_cross_entropy_backward(torch.zeros(2, 3), torch.tensor([0.0, 1.0])),
        TypeError, r"labels must be class indices of dtype torch.int64"),
    "ce-label-count": (lambda: softmax_cross_entropy_backward(torch.zeros(2, 3), torch.tensor([0, 1, 2])),
        ValueError, r"labels must have shape \(2,\)"),
    "ce-logits-1d": (lambda: softmax_cross_entropy_backward(torch.zeros(3), torch.tensor([0])),
        ValueError, r"logits must have 2 dimension"),
    "numgrad-non-scalar-f": (lambda: numerical_gradient(lambda t: t * 2, torch.zeros(3)),
        ValueError, r"f must return a scalar, got a tensor of shape \(3,\)"),
    "numgrad-f-returns-str": (lambda: numerical_gradient(lambda t: "loss", torch.zeros(3)), TypeError, r"f must return a scalar"),
    "numgrad-f-not-callable": (lambda: numerical_gradient("f", torch.zeros(3)), TypeError, r"f must be callable"),
    "numgrad-eps-zero": (lambda: numerical_gradient(lambda t: t.sum(), torch.zeros(3), eps=0.0),
        ValueError, r"eps must be positive, got 0.0"),
    "numgrad-int-x": (lambda: numerical_gradient(lambda t: t.sum(), torch.arange(3)),
        TypeError, r"x must have a floating dtype"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_bad_input_raises_clear_error(name):
    call, error, match = ERRORS[name]
    with pytest.raises(error, match=match):
        call()
