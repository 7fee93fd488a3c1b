"""Keras's channels-last layout beside PyTorch's channels-first one, and weights moved between them.

Keras (and TensorFlow) store a batch of images as (N, H, W, C) and a Conv2D kernel as (kH, kW, C, O);
PyTorch stores them as (N, C, H, W) and (O, C, kH, kW). A Dense kernel is (in, out), an nn.Linear
weight (out, in). After a Flatten the two frameworks also list the features in a different order,
(H, W, C) against (C, H, W), so the first Dense layer after the convolutions needs its rows reordered.
Nothing here imports Keras: `copy_keras_weights` only calls the layers' `get_weights()`.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from course_lib._checks import check_tensor
from course_lib.i18n import _

__all__ = ["nhwc_to_nchw", "nchw_to_nhwc", "conv2d_weight_from_keras", "linear_weight_from_keras",
           "copy_keras_weights"]


def nhwc_to_nchw(x: Tensor) -> Tensor:
    """Keras's image layout to PyTorch's.  (N, H, W, C) -> (N, C, H, W)"""
    return check_tensor("x", x, ndim=4).permute(0, 3, 1, 2)


def nchw_to_nhwc(x: Tensor) -> Tensor:
    """PyTorch's image layout to Keras's.  (N, C, H, W) -> (N, H, W, C)"""
    return check_tensor("x", x, ndim=4).permute(0, 2, 3, 1)


def conv2d_weight_from_keras(kernel: Tensor) -> Tensor:
    """A Keras Conv2D kernel as an nn.Conv2d weight.  (kH, kW, C, O) -> (O, C, kH, kW)"""
    return check_tensor("kernel", kernel, ndim=4).permute(3, 2, 0, 1)


def linear_weight_from_keras(kernel: Tensor, hwc: Sequence[int] | None = None) -> Tensor:
    """A Keras Dense kernel as an nn.Linear weight.  (in, out) -> (out, in)

    With hwc = (H, W, C) the layer follows a Flatten of an (H, W, C) feature map: Keras lists its
    inputs in (H, W, C) order, PyTorch's flatten(1) in (C, H, W) order, so the rows are reordered too.
    """
    check_tensor("kernel", kernel, ndim=2)
    if hwc is None:
        return kernel.T
    hwc = tuple(int(n) for n in hwc)
    if len(hwc) != 3 or hwc[0] * hwc[1] * hwc[2] != kernel.shape[0]:
        raise ValueError(_("hwc must be (H, W, C) with H * W * C = the kernel's {rows} input rows, got {hwc}",
                           rows=kernel.shape[0], hwc=hwc))
    height, width, channels = hwc
    out = kernel.shape[1]
    # rows in Keras order (h, w, c) -> (c, h, w), the order of PyTorch's flatten(1) of (N, C, H, W)
    return kernel.reshape(height, width, channels, out).permute(2, 0, 1, 3).reshape(-1, out).T


def copy_keras_weights(keras_model: object, torch_model: nn.Module, flatten_hwc: Sequence[int]) -> None:
    """Copy a Keras model's Conv2D and Dense weights into the same layers of a PyTorch model.

    The layers with weights are paired in order: the i-th Keras layer that has weights goes to the
    i-th nn.Conv2d or nn.Linear of torch_model. flatten_hwc = (H, W, C) is the shape Keras flattens
    before its first Dense layer; that layer's rows are reordered for PyTorch's flatten(1).
    """
    keras_layers = [layer for layer in keras_model.layers if layer.get_weights()]
    torch_layers = [m for m in torch_model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if len(keras_layers) != len(torch_layers):
        raise ValueError(_("the Keras model has {keras} layers with weights, the PyTorch model "
                           "{torch} Conv2d/Linear layers: they must match one to one",
                           keras=len(keras_layers), torch=len(torch_layers)))
    first_linear = True
    with torch.no_grad():
        for keras_layer, layer in zip(keras_layers, torch_layers):
            kernel, bias = (torch.as_tensor(w) for w in keras_layer.get_weights())
            if isinstance(layer, nn.Conv2d):
                weight = conv2d_weight_from_keras(kernel)
            else:
                weight = linear_weight_from_keras(kernel, flatten_hwc if first_linear else None)
                first_linear = False
            if weight.shape != layer.weight.shape:
                raise ValueError(_("Keras layer {name} gives a weight of shape {shape}, but {layer} expects {expected}",
                                   name=repr(keras_layer.name), shape=tuple(weight.shape), layer=layer,
                                   expected=tuple(layer.weight.shape)))
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
