"""What the hidden tests of 05_backprop to 08_overfitting check, and the words that prescribe it."""
from __future__ import annotations

from course_grader.hidden_tests.prescribed.rules import *  # noqa: F403 - the shared sentences and kinds

PRESCRIBED: dict[str, dict[str, str]] = {
    # ---- 05_backprop ----
    "linear_backward": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE,
        "grad_x, grad_weight, grad_bias": "grad_x = grad_out @ weight (*, in) grad_weight = grad_outᵀ @ x, summed "
                                          "over rows (out, in) grad_bias = grad_out summed over rows (out,)",
        "x with leading dimensions: rows summed": "Every row of `x` (every sample, over all leading dimensions) met "
                                                  "the same `weight` and `bias`",
        "1-D x for (*, in)": "A single sample `x` of shape `(in,)` (with `grad_out` of shape `(out,)`) works the "
                             "same way.",
        "returns a tuple of three": "Return the tuple `(grad_x, grad_weight, grad_bias)`.",
    },
    "relu_backward": {
        **EVERY_CALL, **ELEMENTWISE, EXTREME: "`z` may hold any finite values, ±10⁴ included.",
        "grad_out where z > 0, else 0 (0 at z = 0)": "ReLU: the slope is 1 where `z > 0` and 0 elsewhere; at exactly "
                                                     "`z = 0` take 0, as PyTorch does.",
    },
    "sigmoid_backward": {
        **EVERY_CALL, **ELEMENTWISE,
        EXTREME: "the result must stay finite for `|z|` up to 10⁴, negative z included",
        "grad_out * s * (1 - s)": "Sigmoid: the slope is σ(z)(1 − σ(z)).",
    },
    "softmax_cross_entropy_backward": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE, EXTREME: "it is stable for logits up to 10⁴.",
        "(softmax - one_hot) / N": "grad = (softmax(logits) − one_hot(labels)) / N",
        "divided by N, the loss being a mean": "divided by `N` because the loss is a mean over the batch",
        "a one-hot of C columns, classes absent from labels too": "Not every class need appear in `labels`: a "
                                                                  "one-hot has `C` columns all the same",
        "what autograd finds through cross_entropy": "Gradient of mean cross_entropy(logits, labels) w.r.t. the logits.",
    },
    "numerical_gradient": {
        **EVERY_CALL, FLOAT64: "Return a float64 tensor of `x`'s shape",
        ZERO_DIM: "`x` may be 0-dim",
        NON_CONTIGUOUS: "or a transposed matrix, which is not contiguous: `reshape` works on it, `view` does not.",
        "central differences": "grad[i] = (f(x + eps·eᵢ) − f(x − eps·eᵢ)) / (2·eps)",
        "f evaluated on a float64 copy of float32 x": "Evaluate `f` on a float64 copy of `x`",
        "eps used": "Use the `eps` argument.",
        "x of any shape": "x may have any shape: the gradient has the same shape",
    },
    # ---- 06_mlp ----
    "MLP": {
        **EVERY_CALL,
        "an nn.Module": "class MLP(nn.Module):",
        "one nn.Linear per pair of sizes, in order": "one `nn.Linear` per pair of consecutive sizes in "
                                                     "`[in_features, *hidden_sizes, out_features]`",
        "the layers in the order created": "The tests look at your `nn.Linear` layers in the order you create them.",
        "only the nn.Linear layers hold parameters": "`MLP(2, [8, 8], 3)` is `Linear(2, 8) → ReLU → Linear(8, 8) → "
                                                     "ReLU → Linear(8, 3)`",
        "a ReLU between layers, none after the last": "a ReLU between consecutive layers and none after the last, so "
                                                      "the model returns raw logits",
        "no hidden layer": "An empty `hidden_sizes` gives a single `Linear(in_features, out_features)`",
        "hidden sizes as a tuple": "`hidden_sizes` may be a list or a tuple.",
        "x of shape (N, in_features)": "apply them in `forward` to `x` of shape `(N, in_features)`",
    },
    "train_one_epoch": {
        **EVERY_CALL,
        "training mode for every batch": "Put the model in training mode first (`model.train()`: a model may arrive "
                                         "in evaluation mode",
        "old gradients cleared before each backward": "`.grad` may still hold old gradients when you start, so clear "
                                                      "it before each backward",
        "one optimizer step per batch": "loss.backward() optimizer.step()",
        "the mean loss per sample": "Return the average loss per sample over the epoch as a Python float.",
        "batch losses weighted by len(x)": "so weight it by the batch size `len(x)`",
        "any loader, a DataLoader too": LOADER,
        "any loss and optimizer": "zero_grad, forward, loss, backward, step for every batch.",
    },
    "evaluate_accuracy": {
        **EVERY_CALL,
        "argmax along dim 1 against the labels": "the argmax of the logits along dimension 1, equals the label",
        "a Python float": "as a Python float in [0, 1].",
        "counted over all samples": "Count the correct samples and all samples over the whole loader: batches may "
                                    "differ in size.",
        "eval mode for every batch": "Evaluate in evaluation mode (`model.eval()`: dropout off, batch norm uses its "
                                     "running statistics)",
        "no gradients recorded": "under `torch.no_grad()`",
        "the model's state unchanged": "batch norm uses its running statistics",
        "the mode put back": "leave the model in the mode you found it",
        "any loader, a DataLoader too": LOADER,
    },
    # ---- 07_cnn ----
    "conv_output_size": {
        **EVERY_CALL,
        "floor((size + 2 padding - kernel_size) / stride) + 1": "floor((size + 2·padding − kernel_size) / stride) + 1",
        "a Python int": "Return that number as a Python `int`",
        "a kernel as large as the input": "a kernel as large as the input fits exactly once",
        "stride and padding used": "plus `padding` zeros on each side, moving `stride` pixels at a time.",
    },
    "conv2d": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE,
        GRADIENTS: "Build the result from torch operations on `x`, `weight` and `bias` only (no `.item()`, "
                   "`.tolist()` or NumPy), so autograd can differentiate through it.",
        "the cross-correlation": "out[n, o, i, j] = bias[o] + Σ over c, a, b of x[n, c, i·stride + a, j·stride + b] "
                                 "· weight[o, c, a, b]",
        "the kernel not flipped": "the kernel is not flipped",
        "bias=None": "and `bias` `(O,)` or `None`",
        "stride and padding": "After padding `x` with `padding` zeros on each side of H and W",
        "the output size": "the output has `conv_output_size(H, kH, stride, padding)` rows and as many columns for W.",
        "judged with a correct conv_output_size": ON_ITS_OWN,
    },
    "max_pool2d": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE,
        GRADIENTS: "Build it from torch operations on `x`, so autograd can differentiate through it.",
        "the largest value in each window": "The largest value in each `kernel_size × kernel_size` window of every "
                                            "channel, with windows starting every `stride` pixels;",
        "stride=None means kernel_size": "`stride=None` means `stride = kernel_size`",
        "windows past the edge dropped": "windows that would run past the edge are dropped.",
        "all values negative": "Careful: all values in a window may be negative.",
        "judged with a correct conv_output_size": ON_ITS_OWN,
    },
    "SmallCNN": {
        **EVERY_CALL,
        "an nn.Module": "class SmallCNN(nn.Module):",
        "(N, 1, 28, 28) to (N, 10), in eval and train mode": "It maps `(N, 1, 28, 28)` to `(N, 10)` logits",
        "an nn.Conv2d": "has at least one `nn.Conv2d`",
        "at most 100,000 parameters": "at most 100,000 parameters.",
        "logits, not probabilities": "logits rather than probabilities",
        "images independent in a batch": "each image's output independent of the rest of the batch in eval mode",
        "every parameter gets a gradient": "a gradient for every parameter.",
    },
    # ---- 08_overfitting ----
    "l1_penalty": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: "`params` is any iterable of tensors of any shape (0-dim too)",
        GRADIENTS: "so that `(loss + penalty).backward()` reaches the weights.",
        "lam times the sum of |p|": "lam * sum over all parameters of sum |p|.",
        "params a generator, walked once": "a generator that can be walked only once (so no `len()` and no indexing).",
        "a 0-dim tensor": "Return a 0-dim tensor built from the parameters with tensor operations",
    },
    "l2_penalty": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: "`params` is any iterable of tensors of any shape (0-dim too)",
        GRADIENTS: "so that `(loss + penalty).backward()` reaches the weights.",
        "lam times the sum of p², no square root": "(the L2 penalty is the *squared* norm: no square root)",
        "params a generator, walked once": "a generator that can be walked only once (so no `len()` and no indexing).",
        "a 0-dim tensor": "Return a 0-dim tensor built from the parameters with tensor operations",
    },
    "dropout": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE, RAISES: "Raise a `ValueError` saying what `p` was unless 0 ≤ p ≤ 1.",
        "x's shape and dtype": "return a new tensor of `x`'s shape and dtype.",
        "survivors scaled by 1 / (1 - p)": "multiply the survivors by 1 / (1 − p)",
        "each element zeroed independently with probability p": "zero each element of `x` independently with "
                                                               "probability `p`",
        "the generator: alike seeds alike masks, other seeds others": "Draw the random numbers with "
            "`torch.rand(x.shape, generator=generator, dtype=x.dtype)`, so that a seeded generator gives the same "
            "mask every time",
        "p = 0 keeps everything": "`p = 0` keeps everything;",
        "p = 1 zeroes everything, no nan": "`p = 1` zeroes everything (and 1 / (1 − p) would divide by zero: handle "
                                           "it on its own).",
        "training=False returns x": "With `training=False`, return `x` unchanged.",
    },
    "EarlyStopping": {
        **EVERY_CALL,
        "an improvement beats best_loss by more than min_delta": "A loss counts as an improvement only if "
                                                                  "`val_loss < best_loss − min_delta`",
        "a tie is no improvement": "(a loss equal to the best is none)",
        "the count restarts at every new best": "the count of calls without improvement restarts at 0",
        "True after patience calls without improvement": "`step` returns `True` once `patience` calls in a row have "
                                                         "brought no improvement, else `False`.",
        "patience=3 and min_delta=0 by default": "def __init__(self, patience=3, min_delta=0.0):",
        "best_loss": "keeps `best_loss`, the lowest loss so far",
        "best_epoch, 0-based": "`best_epoch`, the 0-based index of the `step` call that saw it.",
        "not built on course_lib's EarlyStopping": BUILD_IT_YOURSELF,
    },
    "train_val_split": {
        **EVERY_CALL,
        "int64 tensors": "Both are int64 tensors",
        "n_val = int(n * val_fraction) indices in val_idx": "the first `n_val = int(n * val_fraction)` indices go to "
                                                           "`val_idx`, the rest to `train_idx`.",
        "every index exactly once": "together they hold every index exactly once.",
        "shuffled, so val_idx comes from everywhere": "Shuffle the indices 0, 1, …, n − 1",
        "the same seed, the same split": "The same seed gives the same split",
        "another seed, another split": "another seed another one",
        "val_fraction 0 and 1": "`val_fraction` may be 0 or 1.",
        "returns (train_idx, val_idx)": "Return `(train_idx, val_idx)`",
        "the global random states unchanged": "Leave the global random state alone: no `torch.manual_seed(seed)` "
                                              "(nor NumPy's or Python's global seeding)",
    },
}
