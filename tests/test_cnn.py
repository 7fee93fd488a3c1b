"""conv2d and max_pool2d from scratch against F.conv2d / F.max_pool2d, and the SmallCNN model."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.testing import assert_close

from course_lib.cnn import SmallCNN, conv2d, conv_output_size, count_parameters, max_pool2d

DTYPES = [torch.float32, torch.float64]


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def grads(fn, *inputs):
    """Output of fn and the gradients of (output * fixed random weights).sum() w.r.t. each input."""
    leaves = [t.detach().clone().requires_grad_(True) for t in inputs]
    out = fn(*leaves)
    out.backward(randn(*out.shape, seed=99, dtype=out.dtype))
    return out.detach(), [leaf.grad for leaf in leaves]


@pytest.mark.parametrize("size,kernel,stride,padding", [
    (28, 3, 1, 1), (28, 3, 1, 0), (28, 5, 2, 2), (7, 7, 1, 0), (10, 3, 3, 0), (5, 4, 2, 1), (1, 3, 1, 1),
])
def test_conv_output_size_matches_the_shape_f_conv2d_produces(size, kernel, stride, padding):
    out = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel, kernel),
                   stride=stride, padding=padding)
    assert conv_output_size(size, kernel, stride, padding) == out.shape[-1]


def test_two_unpadded_convs_and_pools_leave_5x5_not_6x6():
    # The classic "64*6*6" bug: 28 -conv3-> 26 -pool2-> 13 -conv3-> 11 -pool2-> 5.
    size = 28
    for _ in range(2):
        size = conv_output_size(conv_output_size(size, 3), 2, stride=2)
    assert size == 5


# (N, C, H, W), (O, kH, kW), stride, padding
CONV_CASES = {
    "3x3-pad1": ((2, 3, 8, 8), (4, 3, 3), 1, 1),
    "batch1": ((1, 1, 6, 6), (2, 3, 3), 1, 0),
    "non-square-kernel": ((2, 2, 7, 9), (3, 2, 4), 1, 1),
    "non-square-input-stride2": ((2, 3, 9, 6), (2, 3, 3), 2, 1),
    "stride3-pad2": ((1, 2, 10, 11), (3, 5, 3), 3, 2),
    "1x1-kernel": ((3, 4, 5, 5), (6, 1, 1), 1, 0),
    "kernel-covers-input": ((2, 2, 4, 5), (3, 4, 5), 1, 0),
    "kernel-only-fits-padding": ((1, 1, 2, 2), (1, 4, 4), 1, 1),
    "empty-batch": ((0, 2, 5, 5), (3, 3, 3), 1, 1),
}


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_matches_f_conv2d(case, dtype, with_bias):
    x_shape, (out, kh, kw), stride, padding = CONV_CASES[case]
    x, w = randn(*x_shape, dtype=dtype), randn(out, x_shape[1], kh, kw, seed=1, dtype=dtype)
    b = randn(out, seed=2, dtype=dtype) if with_bias else None
    ours = conv2d(x, w, b, stride=stride, padding=padding)
    assert ours.is_contiguous()
    assert_close(ours, F.conv2d(x, w, b, stride=stride, padding=padding), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradients_match_autograd_of_f_conv2d(case):
    x_shape, (out, kh, kw), stride, padding = CONV_CASES[case]
    inputs = randn(*x_shape), randn(out, x_shape[1], kh, kw, seed=1), randn(out, seed=2)
    ours, our_grads = grads(lambda x, w, b: conv2d(x, w, b, stride, padding), *inputs)
    theirs, their_grads = grads(lambda x, w, b: F.conv2d(x, w, b, stride, padding), *inputs)
    assert_close(ours, theirs)
    for name, g_ours, g_theirs in zip(["x", "weight", "bias"], our_grads, their_grads):
        assert_close(g_ours, g_theirs, msg=lambda m, name=name: f"grad of {name} differs\n{m}")


def test_conv2d_passes_gradcheck():
    x, w, b = (t.requires_grad_() for t in (randn(1, 2, 5, 4), randn(2, 2, 2, 3, seed=1), randn(2, seed=2)))
    assert torch.autograd.gradcheck(lambda x, w, b: conv2d(x, w, b, stride=2, padding=1), (x, w, b))


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 2), c=st.integers(1, 3), o=st.integers(1, 3), h=st.integers(1, 9),
       w=st.integers(1, 9), kh=st.integers(1, 4), kw=st.integers(1, 4), stride=st.integers(1, 3),
       padding=st.integers(0, 2))
def test_conv2d_matches_f_conv2d_for_any_geometry_that_fits(n, c, o, h, w, kh, kw, stride, padding):
    if kh > h + 2 * padding or kw > w + 2 * padding:
        return  # F.conv2d refuses these too; the error test below covers them
    x, weight, bias = randn(n, c, h, w), randn(o, c, kh, kw, seed=1), randn(o, seed=2)
    assert_close(conv2d(x, weight, bias, stride, padding), F.conv2d(x, weight, bias, stride, padding))


def test_conv2d_accepts_channels_last_input():
    x, w = randn(2, 3, 6, 6).to(memory_format=torch.channels_last), randn(4, 3, 3, 3, seed=1)
    assert_close(conv2d(x, w, padding=1), F.conv2d(x, w, padding=1))


# (input shape, kernel_size, stride)
POOL_CASES = {
    "2x2": ((2, 3, 8, 8), 2, None),
    "batch1-odd-size-floors": ((1, 1, 5, 7), 2, None),
    "3x3-stride2-overlap": ((2, 2, 9, 9), 3, 2),
    "3x3-stride1": ((1, 2, 6, 6), 3, 1),
    "stride-larger-than-kernel": ((1, 1, 9, 9), 2, 3),
    "kernel1": ((1, 2, 3, 3), 1, None),
    "kernel-covers-input": ((2, 1, 4, 4), 4, None),
    "3d-input": ((3, 6, 6), 2, None),
}


def tie_free(shape, dtype, seed=0):
    """Distinct values in random order, so every window has a unique maximum."""
    n = torch.Size(shape).numel()
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed)).to(dtype).reshape(shape) / n


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_matches_f_max_pool2d(case, dtype):
    shape, k, s = POOL_CASES[case]
    x = randn(*shape, dtype=dtype)
    assert_close(max_pool2d(x, k, s), F.max_pool2d(x, k, s))


@pytest.mark.parametrize("case", POOL_CASES)
def test_max_pool2d_gradient_goes_to_the_window_maximum_like_f_max_pool2d(case):
    shape, k, s = POOL_CASES[case]
    x = tie_free(shape, torch.float64)
    ours, (g_ours,) = grads(lambda t: max_pool2d(t, k, s), x)
    theirs, (g_theirs,) = grads(lambda t: F.max_pool2d(t, k, s), x)
    assert_close(ours, theirs)
    assert_close(g_ours, g_theirs)


@pytest.mark.parametrize("x", [torch.zeros(2, 3, 6, 6, dtype=torch.float64),
                               torch.relu(randn(2, 3, 6, 6)).round()],
                         ids=["all-equal", "relu-rounded"])
@pytest.mark.parametrize("k,s", [(2, None), (3, 1)], ids=["k2", "k3s1"])
def test_max_pool2d_ties_send_gradient_to_first_maximum_like_f_max_pool2d_on_cpu(x, k, s):
    _, (g_ours,) = grads(lambda t: max_pool2d(t, k, s), x)
    _, (g_theirs,) = grads(lambda t: F.max_pool2d(t, k, s), x)
    assert_close(g_ours, g_theirs)


def test_max_pool2d_propagates_nan_like_f_max_pool2d():
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 1, 1] = float("nan")
    assert_close(max_pool2d(x, 2), F.max_pool2d(x, 2), equal_nan=True)


def test_small_cnn_maps_mnist_batches_to_ten_logits():
    model = SmallCNN()
    for n in (1, 5):
        assert model(torch.zeros(n, 1, 28, 28)).shape == (n, 10)
    model.eval()
    assert model(randn(3, 1, 28, 28, dtype=torch.float32)).shape == (3, 10)


def test_small_cnn_parameter_count_matches_its_architecture_and_docstring():
    def conv_bn(c_in, c_out):  # 3x3 conv weights + bias, batch-norm scale + shift
        return c_out * c_in * 9 + c_out + 2 * c_out
    expected = conv_bn(1, 16) + conv_bn(16, 32) + conv_bn(32, 64) + (64 * 3 * 3 * 10 + 10)
    assert count_parameters(SmallCNN()) == expected
    assert f"{expected:,} parameters" in SmallCNN.__doc__, "the docstring states a stale count"


def test_small_cnn_gradient_reaches_every_parameter():
    model = SmallCNN()
    F.cross_entropy(model(randn(4, 1, 28, 28, dtype=torch.float32)), torch.tensor([0, 1, 2, 3])).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient reached {missing}"


def test_small_cnn_gives_the_same_logits_in_channels_last():
    model = SmallCNN().eval()
    x = randn(2, 1, 28, 28, dtype=torch.float32)
    expected = model(x)
    model = model.to(memory_format=torch.channels_last)
    assert_close(model(x.to(memory_format=torch.channels_last)), expected, rtol=1e-4, atol=1e-5)


def test_count_parameters_skips_frozen_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    model[0].requires_grad_(False)
    assert count_parameters(model) == 4 * 2 + 2


X, K = torch.zeros(1, 1, 5, 5), torch.zeros(1, 1, 3, 3)  # a valid image and filter
ERRORS = {
    "conv-x-3d": (lambda: conv2d(torch.zeros(1, 5, 5), K),
                  ValueError, r"x must have 4 dimension\(s\), got shape \(1, 5, 5\)"),
    "conv-channel-mismatch": (lambda: conv2d(torch.zeros(1, 3, 5, 5), torch.zeros(2, 1, 3, 3)),
                              ValueError, (r"weight expects 1 input channel\(s\) but x has 3: x of shape "
                                           r"\(1, 3, 5, 5\), weight of shape \(2, 1, 3, 3\)")),
    "conv-int-x": (lambda: conv2d(X.long(), K), TypeError, r"x must have a floating dtype"),
    "conv-dtype-mismatch": (lambda: conv2d(X, K.double()),
                            TypeError, r"x and weight must have the same dtype"),
    "conv-kernel-too-large": (lambda: conv2d(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 7, 3), padding=1),
                              ValueError, r"kernel of size \(7, 3\) is larger than the padded input \(6, 6\)"),
    "conv-bias-shape": (lambda: conv2d(X, torch.zeros(2, 1, 3, 3), torch.zeros(3)),
                        ValueError, r"bias must have shape \(2,\)"),
    "conv-stride-0": (lambda: conv2d(X, K, stride=0), ValueError, r"stride must be a positive int, got 0"),
    "conv-stride-tuple": (lambda: conv2d(X, K, stride=(1, 1)), TypeError, r"stride must be an int"),
    "conv-negative-padding": (lambda: conv2d(X, K, padding=-1),
                              ValueError, r"padding must be a non-negative int"),
    "pool-int-x": (lambda: max_pool2d(X.int(), 2), TypeError, r"x must have a floating dtype"),
    "pool-x-2d": (lambda: max_pool2d(torch.zeros(4, 4), 2), ValueError, r"x must have 3 or 4 dimension"),
    "pool-kernel-too-large": (lambda: max_pool2d(torch.zeros(1, 1, 3, 5), 4),
                              ValueError, r"kernel of size \(4, 4\) is larger than the padded input \(3, 5\)"),
    "pool-stride-0": (lambda: max_pool2d(X, 2, 0), ValueError, r"stride must be a positive"),
    "size-kernel-too-large": (lambda: conv_output_size(4, 7, padding=1),
                              ValueError, r"kernel_size 7 does not fit in size 4 with padding 1"),
    "size-stride-0": (lambda: conv_output_size(28, 3, stride=0), ValueError, r"stride must be a positive int"),
    "count-not-a-module": (lambda: count_parameters([torch.zeros(3)]),
                           TypeError, r"model must be a torch.nn.Module"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_bad_input_raises_clear_error(name):
    call, error, match = ERRORS[name]
    with pytest.raises(error, match=match):
        call()
