"""Hidden tests of 07_cnn. conv2d and max_pool2d are compared with course_lib.cnn, values and the
gradients autograd finds through them; SmallCNN is the learner's own design, so it is judged by
behaviour: shapes, logits rather than probabilities, batch independence, a gradient for every parameter."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.exercise_checks import call, expect_shapes
from course_lib.grading import GradingError, assert_close, call_safely
from course_lib.grading.messages import hint_line
from course_grader.hidden_tests._cases import check_with_grads, randint, respond_with_grads
from course_grader.hidden_test import hidden_test, sums_of_products
from course_lib.i18n import N_, _, fill

NOT_DETACHED = N_("build it from torch operations on {inputs}: no .item(), .tolist(), NumPy or torch.tensor(list)")


@hidden_test("conv_output_size", like="course_lib.cnn.conv_output_size")
def conv_output_size_cases(g: torch.Generator) -> list[dict]:
    """Kernels from 1 pixel to the whole padded input; a kernel as large as the input fits once."""
    cases = []
    for _k in range(20):
        size, padding, stride = randint(g, 1, 39), randint(g, 0, 3), randint(g, 1, 4)
        kernel_size = randint(g, 1, size + 2 * padding)
        cases.append({"args": (size, kernel_size), "kwargs": {"stride": stride, "padding": padding}})
    return cases + [{"args": (5, 5)}, {"args": (1, 3), "kwargs": {"padding": 1}}]


@hidden_test("conv2d", respond=respond_with_grads,
             check=check_with_grads("course_lib.cnn.conv2d", sums_of_products("course_lib.cnn.conv2d")))
def conv2d_cases(g: torch.Generator) -> list[dict]:
    """An MNIST-sized image, then random shapes, strides and paddings in float32 and float64, with and
    without bias; last, the gradients through a strided, padded convolution."""
    shapes = [(1, 1, 28, 28, 4, 5, 5, 1, 2), (2, 3, 4, 5, 2, 4, 5, 1, 0)]  # N, C, H, W, O, kH, kW, stride, padding
    for _k in range(6):
        kh, kw = randint(g, 1, 4), randint(g, 1, 4)
        shapes.append((randint(g, 1, 3), randint(g, 1, 3), kh + randint(g, 0, 6), kw + randint(g, 0, 6),
                       randint(g, 1, 4), kh, kw, randint(g, 1, 3), randint(g, 0, 2)))
    cases = []
    for k, (n, c, h, w, o, kh, kw, stride, padding) in enumerate(shapes):
        dtype = (torch.float32, torch.float64)[k % 2]
        x = torch.randn(n, c, h, w, generator=g, dtype=dtype)
        weight = torch.randn(o, c, kh, kw, generator=g, dtype=dtype)
        bias = torch.randn(o, generator=g, dtype=dtype) if k % 3 else None
        cases.append({"args": (x, weight, bias), "kwargs": {"stride": stride, "padding": padding},
                      "hint": f"stride={stride}, padding={padding}, a {kh}x{kw} kernel on {h}x{w} images "
                              f"with {c} channel(s)"})
    f64 = {"generator": g, "dtype": torch.float64}
    return cases + [{"args": (torch.randn(2, 2, 5, 6, **f64), torch.randn(3, 2, 3, 2, **f64), torch.randn(3, **f64)),
                     "kwargs": {"stride": 2, "padding": 1}, "wrt": [0, 1, 2],
                     "upstream": torch.randn(2, 3, 3, 4, **f64), "connect_hint": fill(NOT_DETACHED, {"inputs": "x, weight and bias"})}]


@hidden_test("max_pool2d", respond=respond_with_grads, check=check_with_grads("course_lib.cnn.max_pool2d"))
def max_pool2d_cases(g: torch.Generator) -> list[dict]:
    """Every kind of stride, windows that overlap or leave pixels out, all-negative inputs; last, the
    gradient through overlapping windows."""
    cases = []
    for k in range(8):
        kernel_size, stride = randint(g, 1, 3), (None, 1, 2, 3)[k % 4]
        shape = (randint(g, 1, 3), randint(g, 1, 3), kernel_size + randint(g, 0, 7), kernel_size + randint(g, 0, 7))
        x = torch.randn(shape, generator=g, dtype=(torch.float32, torch.float64)[k % 2]) - 5 * (k % 3 == 0)
        cases.append({"args": (x, kernel_size), "kwargs": {"stride": stride},
                      "hint": f"kernel_size={kernel_size}, stride={stride}" if stride is not None
                      else f"kernel_size={kernel_size}, stride=None (None: stride = kernel_size)"})
    f64 = {"generator": g, "dtype": torch.float64}
    return cases + [{"args": (torch.randn(2, 3, 7, 6, **f64), 3), "kwargs": {"stride": 2}, "wrt": [0],
                     "upstream": torch.randn(2, 3, 3, 2, **f64), "connect_hint": fill(NOT_DETACHED, {"inputs": "x"})}]


def respond_small_cnn(cls, case: dict) -> dict:
    """What a fresh cls() does with the case's images in eval mode (one by one and as a batch), and in
    train mode the gradients of the cross-entropy loss with respect to each parameter."""
    images, labels = case["images"], case["labels"]
    model = call(cls)
    if not isinstance(model, nn.Module):
        return {"module": False, "type": type(model).__name__}
    model.eval()
    answer = {"module": True, "single": call(model, images[:1]), "batch": call(model, images),
              "one_by_one": [call(model, images[i:i + 1]) for i in range(len(images))],
              "convolutions": sum(isinstance(m, nn.Conv2d) for m in model.modules()),
              "parameters": sum(p.numel() for p in model.parameters())}
    model.train()
    logits = answer["train"] = call(model, images)
    answer["grads"] = None  # the check says why: a wrong output, or no autograd graph
    if type(logits) is torch.Tensor and logits.shape == (len(labels), 10) and logits.requires_grad:
        named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        grads = call_safely(torch.autograd.grad, F.cross_entropy(logits, labels), [p for _name, p in named],
                            allow_unused=True, name=_("autograd through SmallCNN"))
        answer["grads"] = {name: grad for (name, _p), grad in zip(named, grads)}
    return answer


def check_small_cnn(case: dict, answer) -> None:
    n = len(case["labels"])
    if answer["module"] is not True:
        raise GradingError(_("{call} is a {type}, not an nn.Module: write `class {cls}(nn.Module)` and call "
                             "super().__init__() first", call="SmallCNN()", type=answer["type"], cls="SmallCNN"))
    batch, one_by_one, n_parameters, grads = answer["batch"], answer["one_by_one"], answer["parameters"], answer["grads"]
    expect_shapes(_("SmallCNN in eval mode, on one image of shape {shape}", shape=(1, 1, 28, 28)), answer["single"],
                  (1, 10), dtype=torch.float32)
    expect_shapes(_("SmallCNN in eval mode, on a batch of shape {shape}", shape=(n, 1, 28, 28)), batch, (n, 10),
                  dtype=torch.float32)
    expect_shapes(_("SmallCNN in eval mode, on each of {n} images on its own", n=n), tuple(one_by_one),
                  *[(1, 10)] * n, dtype=torch.float32, labels=tuple(_("image {i}", i=i) for i in range(n)))
    assert_close(batch, torch.cat(one_by_one), atol=1e-4, rtol=1e-4,
                 name=_("SmallCNN in eval mode: the logits of a batch of {n} against those of each image on its own",
                        n=n),
                 hint="each image's output must depend on that image alone: flatten with x.flatten(1), not "
                 "view(-1, size) with a wrong size, which mixes images")
    probabilities = bool((batch >= 0).all()) and bool(torch.allclose(batch.sum(dim=1), torch.ones(n), atol=1e-3))
    assert_close(probabilities, False, name=_("SmallCNN returns probabilities (rows >= 0 that sum to 1)"),
                 hint="return raw logits: leave out the softmax, nn.CrossEntropyLoss applies it")
    assert_close(answer["convolutions"] > 0, True, name=_("SmallCNN has an nn.Conv2d layer"),
                 hint="a convolutional network starts with convolutions")
    assert_close(n_parameters <= 100_000, True,
                 name=_("SmallCNN has at most 100,000 parameters (it has {count})", count=f"{n_parameters:,}"),
                 hint="the suggested design has 29,290; a wide Linear layer on many pixels is what costs most")
    expect_shapes(_("SmallCNN in train mode, on a batch of shape {shape}", shape=(n, 1, 28, 28)), answer["train"],
                  (n, 10), dtype=torch.float32)
    if grads is None:
        raise GradingError(_("SmallCNN in train mode: autograd finds no path from the logits back to the parameters")
                           + "\n" + hint_line(N_("compute forward with the layers themselves: no torch.no_grad(), "
                                                 ".detach() or .item() on the way")), hinted=True)
    missing = [name for name, grad in grads.items() if grad is None]
    assert_close(not missing, True,
                 name=_("SmallCNN: every parameter gets a gradient (none reaches {names})", names=", ".join(missing)),
                 hint="is a layer created in __init__ but never used in forward?")


@hidden_test("SmallCNN", respond=respond_small_cnn, check=check_small_cnn)
def small_cnn_cases(g: torch.Generator) -> list[dict]:
    return [{"images": torch.randn(4, 1, 28, 28, generator=g), "labels": torch.randint(0, 10, (4,), generator=g)}]
