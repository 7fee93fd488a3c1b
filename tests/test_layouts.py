"""course_lib.layouts: Keras's channels-last weights and images in PyTorch's layout.

The references are independent of the code under test: an NHWC convolution written as a sum over
unfolded windows (the formula Keras computes), a Dense layer as x.reshape(N, -1) @ kernel on the
(N, H, W, C) batch, and, when Keras is installed, Keras itself on its PyTorch backend.
Values are compared with torch.testing.assert_close's defaults for the dtype (float32: rtol 1.3e-6,
atol 1e-5; float64: rtol 1e-7, atol 1e-7) unless a comment says otherwise; gradients in float64.
"""
import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.layouts import (conv2d_weight_from_keras, copy_keras_weights, linear_weight_from_keras,
                                nchw_to_nhwc, nhwc_to_nchw)

DTYPES = [torch.float32, torch.float64]
IMAGE_SHAPES = [(1, 5, 5, 1), (2, 7, 6, 3), (4, 9, 9, 8)]  # (N, H, W, C)


def keras_conv2d_reference(x_nhwc, kernel, bias):
    """y[n, i, j, o] = b[o] + sum_{u, v, c} x[n, i + u, j + v, c] * kernel[u, v, c, o] (valid padding)."""
    k_h, k_w = kernel.shape[:2]
    windows = x_nhwc.unfold(1, k_h, 1).unfold(2, k_w, 1)  # (N, H', W', C, kH, kW)
    return torch.einsum("nijcuv,uvco->nijo", windows, kernel) + bias


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", IMAGE_SHAPES, ids=str)
def test_layout_conversions_match_permute_and_invert_each_other(shape, dtype):
    x = torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(0))
    nchw = nhwc_to_nchw(x)
    assert nchw.shape == (shape[0], shape[3], shape[1], shape[2])
    assert torch.equal(nchw, x.permute(0, 3, 1, 2))
    assert torch.equal(nchw_to_nhwc(nchw), x)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape,out", [((1, 5, 5, 1), 2), ((2, 7, 6, 3), 4), ((3, 9, 8, 5), 6)], ids=str)
@pytest.mark.parametrize("k", [1, 3], ids=lambda k: f"k{k}")
def test_conv2d_weight_from_keras_gives_the_keras_convolution(shape, out, k, dtype):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(shape, dtype=dtype, generator=g)
    kernel = torch.randn(k, k, shape[3], out, dtype=dtype, generator=g)  # Keras: (kH, kW, C, O)
    bias = torch.randn(out, dtype=dtype, generator=g)
    ours = nchw_to_nhwc(F.conv2d(nhwc_to_nchw(x), conv2d_weight_from_keras(kernel), bias))
    torch.testing.assert_close(ours, keras_conv2d_reference(x, kernel, bias))


def test_conv2d_weight_gradient_flows_back_to_the_keras_kernel():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 6, 6, 3, dtype=torch.float64, generator=g)
    kernel = torch.randn(3, 3, 3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    bias = torch.zeros(4, dtype=torch.float64)
    upstream = torch.randn(2, 4, 4, 4, dtype=torch.float64, generator=g)
    (nchw_to_nhwc(F.conv2d(nhwc_to_nchw(x), conv2d_weight_from_keras(kernel), bias)) * upstream).sum().backward()
    ours, kernel.grad = kernel.grad, None
    (keras_conv2d_reference(x, kernel, bias) * upstream).sum().backward()
    torch.testing.assert_close(ours, kernel.grad)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("hwc,out", [((1, 1, 4), 3), ((3, 3, 64), 10), ((2, 5, 3), 7)], ids=str)
def test_linear_weight_from_keras_after_flatten_gives_the_keras_dense_layer(hwc, out, dtype):
    g = torch.Generator().manual_seed(3)
    features = torch.randn(5, *hwc, dtype=dtype, generator=g)  # (N, H, W, C), as Keras holds it
    kernel = torch.randn(hwc[0] * hwc[1] * hwc[2], out, dtype=dtype, generator=g)
    keras_dense = features.reshape(5, -1) @ kernel  # Keras: Flatten in (H, W, C) order, then x @ kernel
    torch_linear = F.linear(nhwc_to_nchw(features).flatten(1), linear_weight_from_keras(kernel, hwc))
    # The same products summed in another order (and by another BLAS path, which depends on the
    # threads): each sum may round by a few eps(dtype) of the sum of its terms' magnitudes.
    bound = 8 * torch.finfo(dtype).eps * (features.reshape(5, -1).abs() @ kernel.abs())
    assert ((torch_linear - keras_dense).abs() <= bound).all(), (torch_linear - keras_dense).abs().max()


def test_linear_weight_from_keras_without_flatten_is_the_transpose():
    kernel = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    x = torch.randn(3, 6, dtype=torch.float64)
    torch.testing.assert_close(F.linear(x, linear_weight_from_keras(kernel)), x @ kernel)


def test_linear_weight_gradient_flows_back_to_the_keras_kernel():
    g = torch.Generator().manual_seed(4)
    features = torch.randn(4, 2, 3, 5, dtype=torch.float64, generator=g)
    kernel = torch.randn(30, 7, dtype=torch.float64, generator=g, requires_grad=True)
    F.linear(nhwc_to_nchw(features).flatten(1), linear_weight_from_keras(kernel, (2, 3, 5))).square().sum().backward()
    ours, kernel.grad = kernel.grad, None
    (features.reshape(4, -1) @ kernel).square().sum().backward()
    torch.testing.assert_close(ours, kernel.grad)


@pytest.mark.parametrize("call,message", [
    (lambda: nhwc_to_nchw(torch.zeros(28, 28, 1)), r"x must have 4 dimension\(s\), got shape \(28, 28, 1\)"),
    (lambda: conv2d_weight_from_keras(torch.zeros(3, 3, 1)), r"kernel must have 4 dimension\(s\), got shape"),
    (lambda: linear_weight_from_keras(torch.zeros(576, 64), (3, 3, 32)),
     r"H \* W \* C = the kernel's 576 input rows, got \(3, 3, 32\)"),
    (lambda: linear_weight_from_keras(torch.zeros(2, 3, 4)), r"kernel must have 2 dimension\(s\)"),
], ids=["image-without-batch", "kernel-3d", "hwc-wrong-size", "dense-kernel-3d"])
def test_bad_input_names_expected_and_actual(call, message):
    with pytest.raises(ValueError, match=message):
        call()


class _FakeKerasLayer:
    def __init__(self, name, weights):
        self.name, self._weights = name, weights

    def get_weights(self):
        return self._weights


class _FakeKerasModel:
    def __init__(self, layers):
        self.layers = layers


def test_copy_keras_weights_refuses_models_that_do_not_pair_up():
    keras_model = _FakeKerasModel([_FakeKerasLayer("dense", [torch.zeros(4, 3).numpy(), torch.zeros(3).numpy()])])
    with pytest.raises(ValueError, match="1 layers with weights, the PyTorch model 2 Conv2d/Linear layers"):
        copy_keras_weights(keras_model, nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2)), flatten_hwc=(1, 1, 4))
    with pytest.raises(ValueError, match=r"gives a weight of shape \(3, 4\), but .* expects \(3, 5\)"):
        copy_keras_weights(keras_model, nn.Sequential(nn.Linear(5, 3)), flatten_hwc=(1, 1, 4))


def _keras():
    """Keras on its PyTorch backend (KERAS_BACKEND must be set before the first import)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"Keras runs on the {keras.backend.backend()} backend here, not torch")
    return keras


def _seed_cnns():
    """Seed 004's Keras CNN and its PyTorch twin (logits; softmax inside the loss)."""
    keras = _keras()
    from keras import layers, models
    keras.utils.set_random_seed(0)
    keras_cnn = models.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
        layers.Conv2D(64, (3, 3), activation="relu"),
        layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    torch_cnn = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(), nn.Linear(64 * 3 * 3, 64), nn.ReLU(), nn.Linear(64, 10))
    return keras_cnn, torch_cnn


def test_keras_cnn_and_pytorch_twin_agree_with_the_same_weights():
    keras_cnn, torch_cnn = _seed_cnns()
    copy_keras_weights(keras_cnn, torch_cnn, flatten_hwc=(3, 3, 64))
    images = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(5))
    keras_probs = torch.as_tensor(keras_cnn.predict(nchw_to_nhwc(images).numpy(), verbose=0))
    with torch.no_grad():
        torch_probs = torch_cnn(images).softmax(dim=1)
    # float32 through five layers, sums in a different order: atol 1e-5 on probabilities in [0, 1]
    torch.testing.assert_close(torch_probs, keras_probs, rtol=1e-4, atol=1e-5)


def test_keras_sparse_and_categorical_crossentropy_agree_with_pytorch():
    keras = _keras()
    g = torch.Generator().manual_seed(6)
    logits, labels = torch.randn(6, 10, generator=g), torch.randint(0, 10, (6,), generator=g)
    probs = logits.softmax(dim=1)
    sparse = torch.as_tensor(keras.losses.sparse_categorical_crossentropy(labels.numpy(), probs.numpy()))
    one_hot = F.one_hot(labels, 10).float()
    categorical = torch.as_tensor(keras.losses.categorical_crossentropy(one_hot.numpy(), probs.numpy()))
    expected = F.cross_entropy(logits, labels, reduction="none")
    # Keras clips probabilities to [1e-7, 1 - 1e-7] before the log: float32 rounding, atol 1e-5
    torch.testing.assert_close(sparse, expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(categorical, expected, rtol=1e-5, atol=1e-5)
