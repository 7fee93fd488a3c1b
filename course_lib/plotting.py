"""Figures the lessons draw again and again, with matplotlib only.

Every function takes tensors (detached and moved to the CPU here, so `model.conv1.weight` works
as is) and returns what it drew on: a Figure for grids, the Axes when given one to draw on.
`use_course_style()` (the lessons' setup cell) makes every figure legible: 100 dpi, 11 pt text,
and in Jupyter PNGs drawn at twice that resolution for HiDPI ("retina") screens.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor, nn

from course_lib._checks import check_positive_int, check_tensor
from course_lib.i18n import _
from course_lib.training import predict

from course_lib.style import COURSE_STYLE, DPI, FONT_SIZE, use_course_style  # noqa: F401 - the course's look

MAX_IMAGES = 100  # more panels than this is slow and unreadable; pass a slice


def _cpu(name: str, x: Tensor, ndim=None) -> Tensor:
    return check_tensor(name, x, ndim=ndim).detach().cpu()


def _grid(n: int, ncols: int, cell: float = 1.1) -> tuple[Figure, list[Axes]]:
    """n image panels, ncols per row, no ticks; unused cells removed so the figure has exactly n axes."""
    check_positive_int("ncols", ncols)
    if not 1 <= n <= MAX_IMAGES:
        raise ValueError(_("can show between 1 and {max_images} images, got {n}; pass a slice such as images[:16]",
                           max_images=MAX_IMAGES, n=n))
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows), dpi=DPI,
                             squeeze=False, layout="constrained")
    axes = list(axes.flat)
    for ax in axes[n:]:
        fig.delaxes(ax)
    for ax in axes[:n]:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, axes[:n]


def plot_history(history, axes: tuple[Axes, Axes] | None = None) -> Figure:
    """Loss (left) and accuracy (right) per epoch, training and validation.  History -> Figure

    A gap that opens between the training and validation curves is overfitting.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(8, 3), dpi=DPI, layout="constrained")
    fig = axes[0].figure
    for ax, metric, label in zip(axes, ("loss", "acc"), ("loss per sample", "accuracy")):
        for split in ("train", "val"):
            values = list(getattr(history, f"{split}_{metric}"))
            if values:
                ax.plot(range(1, len(values) + 1), values, marker="o", label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        if ax.lines:  # a legend without lines only warns
            ax.legend()
    return fig


def plot_decision_boundary(model_or_fn, X: Tensor, y: Tensor, ax: Axes | None = None,
                           resolution: int = 200) -> Axes:
    """The predicted class over the plane, with the data on top.  X (N, 2), y (N,) -> Axes

    `model_or_fn` maps (M, 2) points to logits or class labels; it is evaluated on a
    resolution x resolution grid covering X with a margin.
    """
    X, y = _cpu("X", X, ndim=2), _cpu("y", y, ndim=1)
    if X.shape[1] != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(_("X must have shape (N, 2) and y shape (N,), got {x_shape} and {y_shape}",
                           x_shape=tuple(X.shape), y_shape=tuple(y.shape)))
    check_positive_int("resolution", resolution)
    if ax is None:
        ax = plt.subplots(figsize=(4, 4), dpi=DPI)[1]
    low, high = X.amin(dim=0), X.amax(dim=0)
    margin = 0.1 * (high - low) + 1e-3
    dtype = X.dtype
    if isinstance(model_or_fn, nn.Module):  # the grid takes the weights' dtype: float64 data works too
        dtype = next((p.dtype for p in model_or_fn.parameters()), dtype)
    xs = torch.linspace(low[0] - margin[0], high[0] + margin[0], resolution, dtype=dtype)
    ys = torch.linspace(low[1] - margin[1], high[1] + margin[1], resolution, dtype=dtype)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")  # (resolution, resolution) each
    grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
    classes = predict(model_or_fn, grid, batch_size=len(grid)).cpu().reshape(resolution, resolution)
    num_classes = int(max(classes.max().item(), y.max().item())) + 1
    levels = torch.arange(num_classes + 1) - 0.5  # one colour band per class
    colours = dict(cmap=plt.colormaps["coolwarm" if num_classes <= 2 else "tab10"], vmin=0,
                   vmax=1 if num_classes <= 2 else 9)  # tab10 has ten colours: pin them to classes 0..9
    ax.contourf(gx.numpy(), gy.numpy(), classes.numpy(), levels=levels.numpy(), alpha=0.35, **colours)
    ax.scatter(X[:, 0].numpy(), X[:, 1].numpy(), c=y.numpy(), s=12, edgecolors="k", linewidths=0.4,
               **colours)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def show_images(images: Tensor, labels: Tensor | None = None, predictions: Tensor | None = None,
                ncols: int = 8) -> Figure:
    """A grid of images titled by their labels.  (N, H, W) or (N, 1 or 3, H, W) -> Figure

    With predictions, each title is the prediction, and 'prediction (label)' in red where it is wrong.
    """
    images = _cpu("images", images, ndim=(3, 4))
    if images.dim() == 4:
        if images.shape[1] not in (1, 3):
            raise ValueError(_("images must have 1 or 3 channels, got shape {shape}", shape=tuple(images.shape)))
        images = images.permute(0, 2, 3, 1)  # (N, C, H, W) -> (N, H, W, C), as imshow wants
        images = images[..., 0] if images.shape[-1] == 1 else images
    n = images.shape[0]
    for name, t in (("labels", labels), ("predictions", predictions)):
        if t is not None and _cpu(name, t, ndim=1).shape[0] != n:
            raise ValueError(_("{name} must have shape ({n},), one per image, got {shape}",
                               name=name, n=n, shape=tuple(t.shape)))
    fig, axes = _grid(n, ncols)
    for i, ax in enumerate(axes):
        image = images[i]
        if image.dim() == 3:  # colour: imshow needs values in [0, 1]
            image = (image - image.min()) / (image.max() - image.min() + 1e-12)
        ax.imshow(image.numpy(), cmap="gray")
        if predictions is not None:
            wrong = labels is not None and int(predictions[i]) != int(labels[i])
            title = f"{int(predictions[i])} ({int(labels[i])})" if wrong else f"{int(predictions[i])}"
            ax.set_title(title, color="red" if wrong else "black")
        elif labels is not None:
            ax.set_title(f"{int(labels[i])}")
    return fig


def plot_confusion_matrix(cm: Tensor, class_names=None, ax: Axes | None = None) -> Axes:
    """Counts as a heat map, the number written in each cell.  (C, C) -> Axes

    Rows are the true class, columns the predicted one: off-diagonal cells are the mistakes.
    """
    cm = _cpu("cm", cm, ndim=2)
    C = cm.shape[0]
    if cm.shape[1] != C:
        raise ValueError(_("cm must be square (C, C), got shape {shape}", shape=tuple(cm.shape)))
    names = [str(c) for c in (class_names if class_names is not None else range(C))]
    if len(names) != C:
        raise ValueError(_("class_names must name all {C} classes, got {got}", C=C, got=len(names)))
    if ax is None:
        ax = plt.subplots(figsize=(0.5 * C + 1.5, 0.5 * C + 1.2), dpi=DPI)[1]
    ax.imshow(cm.numpy(), cmap="Blues")
    threshold = cm.max().item() / 2  # white text on dark cells
    for i in range(C):
        for j in range(C):
            value = cm[i, j].item()
            ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=9,
                    color="white" if value > threshold else "black")
    ax.set_xticks(range(C), names)
    ax.set_yticks(range(C), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    return ax


def show_filters(weight: Tensor, in_channel: int = 0, ncols: int = 8) -> Figure:
    """Each convolution kernel as a small image, for one input channel.  (out, in, kh, kw) -> Figure

    Blue is negative, red positive, white zero, on one scale shared by all kernels so they compare.
    """
    weight = _cpu("weight", weight, ndim=4)
    if not 0 <= in_channel < weight.shape[1]:
        raise ValueError(_("in_channel must be in [0, {channels}), got {in_channel}",
                           channels=weight.shape[1], in_channel=in_channel))
    kernels = weight[:, in_channel]  # (out, kh, kw)
    limit = kernels.abs().max().item() or 1.0
    fig, axes = _grid(kernels.shape[0], ncols, cell=0.8)
    for ax, kernel in zip(axes, kernels):
        ax.imshow(kernel.numpy(), cmap="bwr", vmin=-limit, vmax=limit)
    return fig


def show_feature_maps(maps: Tensor, ncols: int = 8) -> Figure:
    """Each channel of one sample's activations as an image.  (C, H, W) or (1, C, H, W) -> Figure"""
    maps = _cpu("maps", maps, ndim=(3, 4))
    if maps.dim() == 4:
        if maps.shape[0] != 1:
            raise ValueError(_("maps must hold one sample, (1, C, H, W), got shape {shape}; pick one with maps[:1]",
                               shape=tuple(maps.shape)))
        maps = maps[0]
    fig, axes = _grid(maps.shape[0], ncols, cell=0.9)
    for ax, fmap in zip(axes, maps):
        ax.imshow(fmap.numpy(), cmap="viridis")
    return fig
