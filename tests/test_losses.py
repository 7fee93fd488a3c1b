"""course_lib.losses against torch.nn.functional: values, gradients, stability, errors."""
import warnings

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import losses

DTYPES = [torch.float32, torch.float64]
SHAPES = {"scalar": (), "one": (1,), "vector": (7,), "matrix": (4, 5)}


def make_inputs(kind, shape, dtype, seed=0):
    """(input, target) for a binary loss: kind is 'pred', 'prob' or 'logits'."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=dtype)
    target = torch.rand(shape, generator=g, dtype=dtype)
    if kind == "prob":
        x = torch.rand(shape, generator=g, dtype=dtype).clamp(0.01, 0.99)
        target = (target > 0.5).to(dtype)
    elif kind == "logits":
        x = 4 * x
    return x, target


BINARY = {  # name: (ours, PyTorch's, kind of first input)
    "mse": (losses.mse_loss, F.mse_loss, "pred"),
    "bce": (losses.binary_cross_entropy, F.binary_cross_entropy, "prob"),
    "bce_logits": (losses.binary_cross_entropy_with_logits,
                   F.binary_cross_entropy_with_logits, "logits"),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("ours, theirs, kind", BINARY.values(), ids=BINARY.keys())
def test_binary_loss_matches_pytorch(ours, theirs, kind, shape, dtype):
    x, target = make_inputs(kind, shape, dtype)
    torch.testing.assert_close(ours(x, target), theirs(x, target))


@pytest.mark.parametrize("ours, theirs, kind", BINARY.values(), ids=BINARY.keys())
def test_binary_loss_gradient_matches_autograd(ours, theirs, kind):
    x, target = make_inputs(kind, (3, 4), torch.float64, seed=1)
    x_ours, x_theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours(x_ours, target).backward()
    theirs(x_theirs, target).backward()
    torch.testing.assert_close(x_ours.grad, x_theirs.grad)


@pytest.mark.parametrize("ours, theirs, kind", BINARY.values(), ids=BINARY.keys())
def test_binary_loss_of_empty_batch_is_nan_like_pytorch(ours, theirs, kind):
    empty = torch.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ours(empty, empty).isnan() and theirs(empty, empty).isnan()


@pytest.mark.parametrize("ours, theirs, kind", BINARY.values(), ids=BINARY.keys())
def test_binary_loss_does_not_modify_its_inputs(ours, theirs, kind):
    x, target = make_inputs(kind, (6,), torch.float32)
    x_before, target_before = x.clone(), target.clone()
    ours(x, target)
    torch.testing.assert_close((x, target), (x_before, target_before))


def test_bce_clamps_log_at_minus_100_like_pytorch():
    # p = 0 with label 1 (and p = 1 with label 0) would cost log(0) = -inf without the clamp.
    prob = torch.tensor([0.0, 1.0, 0.0, 1.0, 1e-50])
    target = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0])
    ours = losses.binary_cross_entropy(prob, target)
    assert torch.isfinite(ours)
    torch.testing.assert_close(ours, F.binary_cross_entropy(prob, target))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_bce_with_logits_is_finite_and_exact_for_huge_logits(dtype):
    logits = torch.tensor([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], dtype=dtype)
    for label in (0.0, 1.0, 0.3):
        target = torch.full_like(logits, label)
        ours = losses.binary_cross_entropy_with_logits(logits, target)
        assert torch.isfinite(ours)
        torch.testing.assert_close(ours, F.binary_cross_entropy_with_logits(logits, target))


def test_bce_with_logits_gradient_at_zero_logit_is_sigmoid_minus_target():
    # The zero logit is where abs and max have kinks; the true slope is sigmoid(0) - y = 0.5 - y.
    x = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0.0, 1.0], dtype=torch.float64)
    losses.binary_cross_entropy_with_logits(x, target).backward()
    torch.testing.assert_close(x.grad, torch.tensor([0.25, -0.25], dtype=torch.float64))


@settings(max_examples=50, deadline=None)
@given(st.floats(-15, 15), st.floats(0, 1))
def test_bce_with_logits_equals_bce_of_sigmoid(x, y):
    # Only for moderate |x|: beyond, 1 - sigmoid(x) rounds off and the sigmoid route loses digits,
    # which is the point of the logits version.
    logits = torch.tensor([x], dtype=torch.float64)
    target = torch.tensor([y], dtype=torch.float64)
    torch.testing.assert_close(losses.binary_cross_entropy_with_logits(logits, target),
                               losses.binary_cross_entropy(torch.sigmoid(logits), target))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("n, c", [(1, 1), (1, 3), (8, 5)], ids=lambda v: str(v))
def test_cross_entropy_matches_pytorch(n, c, dtype):
    g = torch.Generator().manual_seed(n * c)
    logits = 3 * torch.randn(n, c, generator=g, dtype=dtype)
    labels = torch.randint(c, (n,), generator=g)
    torch.testing.assert_close(losses.cross_entropy(logits, labels),
                               F.cross_entropy(logits, labels))


def test_cross_entropy_of_empty_batch_is_nan_like_pytorch():
    logits, labels = torch.empty(0, 3), torch.empty(0, dtype=torch.int64)
    assert losses.cross_entropy(logits, labels).isnan() and F.cross_entropy(logits, labels).isnan()


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_cross_entropy_is_finite_for_logits_up_to_1e4(dtype):
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [0.0, 1e4, 1e4]], dtype=dtype)
    labels = torch.tensor([1, 2, 0])
    ours = losses.cross_entropy(logits, labels)
    assert torch.isfinite(ours), "log-sum-exp without the max shift overflows here"
    torch.testing.assert_close(ours, F.cross_entropy(logits, labels))


def test_cross_entropy_gradient_matches_autograd():
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(4, (6,), generator=g)
    (ours,) = torch.autograd.grad(losses.cross_entropy(logits, labels), logits)
    (theirs,) = torch.autograd.grad(F.cross_entropy(logits, labels), logits)
    torch.testing.assert_close(ours, theirs)
    assert torch.autograd.gradcheck(lambda z: losses.cross_entropy(z, labels), (logits,))


@pytest.mark.parametrize("dim", [0, -1])
def test_log_softmax_matches_pytorch(dim):
    z = torch.tensor([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]])
    torch.testing.assert_close(losses.log_softmax(z, dim), F.log_softmax(z, dim))


def test_cross_entropy_of_uniform_logits_is_log_of_class_count():
    # Knowing nothing (all logits equal) costs log C nats per sample: the loss at initialization.
    loss = losses.cross_entropy(torch.zeros(4, 10), torch.tensor([0, 3, 9, 5]))
    torch.testing.assert_close(loss, torch.log(torch.tensor(10.0)))


# --- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("f", [losses.mse_loss, losses.binary_cross_entropy,
                               losses.binary_cross_entropy_with_logits], ids=lambda f: f.__name__)
def test_integer_target_names_the_pytorch_error_and_the_fix(f):
    with pytest.raises(TypeError, match=r"Found dtype Long but expected Float.*target\.float\(\)"):
        f(torch.full((3,), 0.5), torch.tensor([0, 1, 1]))


def test_integer_prob_is_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"prob must have a floating dtype.*prob\.float\(\)"):
        losses.binary_cross_entropy(torch.tensor([0, 1]), torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan")])
def test_bce_on_values_outside_0_1_suggests_sigmoid_or_logits_version(bad):
    with pytest.raises(ValueError, match=r"prob must lie in \[0, 1\].*sigmoid.*with_logits"):
        losses.binary_cross_entropy(torch.tensor([0.5, bad]), torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("f", [losses.mse_loss, losses.binary_cross_entropy,
                               losses.binary_cross_entropy_with_logits], ids=lambda f: f.__name__)
def test_shape_mismatch_is_refused_instead_of_broadcast(f):
    with pytest.raises(ValueError, match=r"same shape, got \(4, 1\) and \(4,\)"):
        f(torch.full((4, 1), 0.5), torch.ones(4))


def test_dtype_mismatch_is_refused():
    with pytest.raises(TypeError, match="same dtype"):
        losses.mse_loss(torch.zeros(2), torch.zeros(2, dtype=torch.float64))


def test_cross_entropy_refuses_labels_out_of_range():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), found 3"):
        losses.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3]))


def test_cross_entropy_refuses_float_labels():
    with pytest.raises(TypeError, match=r"int64.*labels\.long\(\)"):
        losses.cross_entropy(torch.zeros(2, 3), torch.tensor([0.0, 1.0]))


def test_cross_entropy_refuses_unbatched_logits():
    with pytest.raises(ValueError, match=r"logits must have 2 dimension\(s\), got shape \(3,\)"):
        losses.cross_entropy(torch.zeros(3), torch.tensor(1))


def test_cross_entropy_refuses_labels_of_wrong_length():
    with pytest.raises(ValueError, match=r"labels must have shape \(2,\)"):
        losses.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1, 2]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_binary_cross_entropy_gradient_is_finite_at_probabilities_zero_and_one(dtype):
    # A saturated sigmoid gives exactly 0. or 1.; the loss is capped at 100 and backprop must not turn it into nan.
    prob = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.3], dtype=dtype, requires_grad=True)
    target = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0], dtype=dtype)
    loss = losses.binary_cross_entropy(prob, target)
    torch.testing.assert_close(loss, F.binary_cross_entropy(prob.detach(), target))
    loss.backward()
    assert torch.isfinite(prob.grad).all(), f"gradient {prob.grad} should be finite"
