"""course_lib.initialization against torch.nn.init: same numbers from the same seed, and statistics."""
import math

import pytest
import torch
from torch import nn

from course_lib import initialization as init
from course_lib.activations import relu, sigmoid, tanh

DTYPES = [torch.float32, torch.float64]
# linear (out, in), conv (C_out, C_in, kH, kW), conv1d, and a wide-short matrix
SHAPES = [(3, 4), (64, 32), (16, 8, 3, 3), (5, 2, 7), (1, 300)]


def seeded(seed=0):
    return torch.Generator().manual_seed(seed)


def torch_init(fn, shape, dtype, **kwargs):
    return fn(torch.empty(shape, dtype=dtype), generator=seeded(), **kwargs)


# id: (ours, torch.nn.init's in-place twin, keyword arguments for both)
CASES = {
    "xavier_uniform": (init.xavier_uniform, nn.init.xavier_uniform_, {}),
    "xavier_uniform_gain": (init.xavier_uniform, nn.init.xavier_uniform_, dict(gain=5 / 3)),
    "xavier_normal": (init.xavier_normal, nn.init.xavier_normal_, {}),
    "kaiming_uniform": (init.kaiming_uniform, nn.init.kaiming_uniform_, {}),
    "kaiming_uniform_sqrt5": (init.kaiming_uniform, nn.init.kaiming_uniform_, dict(a=math.sqrt(5))),
    "kaiming_normal_relu": (init.kaiming_normal, nn.init.kaiming_normal_, dict(nonlinearity="relu")),
    "kaiming_normal_fan_out": (init.kaiming_normal, nn.init.kaiming_normal_,
                               dict(mode="fan_out", nonlinearity="relu")),
    "kaiming_normal_tanh": (init.kaiming_normal, nn.init.kaiming_normal_, dict(nonlinearity="tanh")),
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", CASES)
def test_same_seed_gives_torch_nn_inits_numbers(name, shape, dtype):
    ours_fn, theirs_fn, kwargs = CASES[name]
    ours = ours_fn(shape, generator=seeded(), dtype=dtype, **kwargs)
    assert ours.dtype == dtype and ours.shape == shape
    torch.testing.assert_close(ours, torch_init(theirs_fn, shape, dtype, **kwargs))


@pytest.mark.parametrize("shape", [(3, 4), (16, 8, 3, 3)], ids=str)
def test_fans_match_torch(shape):
    assert init.fan_in_and_fan_out(shape) == nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("nonlinearity, slope", [("linear", None), ("sigmoid", None), ("tanh", None),
                                                  ("relu", None), ("leaky_relu", None),
                                                  ("leaky_relu", 0.2), ("conv2d", None)])
def test_gain_matches_torch(nonlinearity, slope):
    assert init.calculate_gain(nonlinearity, slope) == pytest.approx(nn.init.calculate_gain(nonlinearity, slope))


# id: (our sample, expected standard deviation); 256 x 1024 = 262,144 draws, so the sample std is
# within about 0.3 % of the true one (relative standard error 1/sqrt(2n)); we allow 1 %.
FAN_IN, FAN_OUT = 1024, 256
STATISTICS = {
    "xavier_uniform": (lambda g: init.xavier_uniform((FAN_OUT, FAN_IN), generator=g),
                       math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "xavier_normal": (lambda g: init.xavier_normal((FAN_OUT, FAN_IN), generator=g),
                      math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "he_normal": (lambda g: init.kaiming_normal((FAN_OUT, FAN_IN), nonlinearity="relu", generator=g),
                  math.sqrt(2 / FAN_IN)),
    "he_uniform": (lambda g: init.kaiming_uniform((FAN_OUT, FAN_IN), nonlinearity="relu", generator=g),
                   math.sqrt(2 / FAN_IN)),
    "linear_default": (lambda g: init.linear_default(FAN_IN, FAN_OUT, generator=g)[0],
                       math.sqrt(1 / (3 * FAN_IN))),
}


@pytest.mark.parametrize("name", STATISTICS)
def test_sample_std_is_the_documented_one(name):
    sample, expected = STATISTICS[name]
    w = sample(seeded(1))
    assert abs(w.mean().item()) < 0.01 * expected, f"{name}: mean {w.mean().item():.2e} is not about 0"
    assert w.std().item() == pytest.approx(expected, rel=0.01), f"{name}: std differs from {expected:.4g}"


def test_linear_default_is_nn_linears_distribution():
    """nn.Linear draws the weight then the bias from the global generator: same seed, same numbers."""
    torch.manual_seed(3)
    layer = nn.Linear(20, 7)
    weight, bias = init.linear_default(20, 7, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(weight, layer.weight.detach())
    torch.testing.assert_close(bias, layer.bias.detach())
    assert weight.abs().max() <= 1 / math.sqrt(20)


def test_he_keeps_relu_activations_the_same_size_and_default_shrinks_them():
    g = seeded(2)
    x = torch.randn(512, 128, generator=g)
    he = [init.kaiming_normal((128, 128), nonlinearity="relu", generator=g) for _ in range(20)]
    default = [init.linear_default(128, 128, generator=g)[0] for _ in range(20)]
    he_rms, _ = init.norms_through_depth(x, he, relu)
    default_rms, _ = init.norms_through_depth(x, default, relu)
    assert 0.3 < he_rms[-1] / he_rms[0] < 3, "He's 2/fan_in should keep ReLU activations at one size"
    assert default_rms[-1] / default_rms[0] < 1e-5, "nn.Linear's default shrinks them by ~sqrt(6) a layer"


@pytest.mark.parametrize("activation", [relu, sigmoid, tanh], ids=["relu", "sigmoid", "tanh"])
def test_norms_through_depth_gradients_match_autograd(activation):
    g = seeded(4)
    x = torch.randn(6, 5, generator=g, dtype=torch.float64)
    weights = [torch.randn(5, 5, generator=g, dtype=torch.float64) for _ in range(3)]
    rms, grad_norms = init.norms_through_depth(x, weights, activation)
    h, outputs = x.clone().requires_grad_(), []
    for W in weights:
        h = torch.nn.functional.linear(h, W)
        h = {relu: torch.relu, sigmoid: torch.sigmoid, tanh: torch.tanh}[activation](h)
        outputs.append(h)
    expected = torch.autograd.grad(h.sum(), outputs)
    assert rms == pytest.approx([o.pow(2).mean().sqrt().item() for o in outputs], rel=1e-12)
    assert grad_norms == pytest.approx([e.norm().item() for e in expected], rel=1e-12)
    assert grad_norms[-1] == pytest.approx(math.sqrt(x.numel()), rel=1e-12), "d sum(h) / d h is all ones"


@pytest.mark.parametrize("call, error, message", [
    (lambda: init.xavier_uniform((5,)), ValueError, "at least 2 positive sizes"),
    (lambda: init.kaiming_normal((4, 0)), ValueError, "at least 2 positive sizes"),
    (lambda: init.kaiming_normal((4, 3), mode="fan_middle"), ValueError, "'fan_in' or 'fan_out'"),
    (lambda: init.kaiming_normal((4, 3), nonlinearity="swish"), ValueError, "unknown nonlinearity 'swish'"),
    (lambda: init.xavier_normal((4, 3), dtype=torch.int64), TypeError, "floating dtype"),
    (lambda: init.xavier_normal((4, 3), gain=-1.0), ValueError, "gain must be"),
    (lambda: init.norms_through_depth(torch.randn(2, 3), [torch.randn(3, 4)], relu), ValueError,
     r"weights\[0\] has shape \(3, 4\), but its input has 3 features"),
    (lambda: init.norms_through_depth(torch.randn(2, 3), [], relu), ValueError, "weights is empty"),
], ids=["1d", "zero-size", "mode", "nonlinearity", "int-dtype", "negative-gain", "width", "no-layers"])
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
