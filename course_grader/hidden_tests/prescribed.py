"""What each hidden test checks, and the released notebook's words that prescribe it.

For every graded name: {what its hidden test checks (a short key): a quote from the released
notebook, exact up to whitespace, that tells the learner so}. A quote comes from the name's own
cells (its markdown section, its solution cell with the docstring, its visible test cell with the
hints) or from the notebook's shared ones (the title cell and the rules box, whose sentences are
the constants below). tests/test_prescribed.py checks that every quote is in its notebook and that
every kind of case the hidden tests draw has its key here, so no hidden check goes unannounced.
Data only: nothing here runs or imports anything.
"""
from __future__ import annotations

# The rules box (exercises/authoring.py's rules), one constant per sentence.
KEEP_DTYPE = "float32 in gives float32 out, float64 in gives float64 out."
INPUTS_UNCHANGED = "**Never change an input tensor**: compute new tensors."
STAR_LEADING = "`(*, in)` allows `(in,)`, `(N, in)` and `(N, T, in)`"
STAR_ANY = "`(*)` allows any shape: a 0-dim tensor (shape `()`, one number) and an empty one (shape `(0,)`) too."
TIME = "**Time**: one call may take at most"
BUILD_IT_YOURSELF = ("a function scores no points if it calls course_lib's function of the same name or what the "
                     "table lists.")
ON_ITS_OWN = "its hidden tests run with a correct version of that other one"

# Keys for the kinds of case tests/test_prescribed.py recognises in what a hidden test draws.
FLOAT64 = "float64 inputs"
ZERO_DIM = "0-dim inputs"
EMPTY = "empty inputs"
EXTREME = "values of ±1e3 and more stay finite"
NON_CONTIGUOUS = "non-contiguous inputs"
GRADIENTS = "gradients reach the inputs"
RAISES = "raises ValueError"

# What the guard checks at every call of learner code (course_lib/_guard.py), whatever the name.
_EVERY_CALL = {"no input changed in place": INPUTS_UNCHANGED, "time limit": TIME,
               "no forbidden call": BUILD_IT_YOURSELF}

_ACTIVATIONS_FINITE = "in forms that stay finite for inputs as large as ±10⁴"  # 02's title cell
_ELEMENTWISE = {FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY, EMPTY: STAR_ANY}
_LOADER = "A *loader* is anything you can iterate over to get `(x, y)` batches"  # 06's title cell

PRESCRIBED: dict[str, dict[str, str]] = {
    # ---- 01_neurons ----
    "linear": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE,
        "x @ weight.T + bias": "x @ weight.T + bias.  (*, in), (out, in), (out,) -> (*, out)",
        "1-D x for (*, in)": "A single sample `x` of shape `(in_features,)` gives shape `(out_features,)`.",
        "x with leading dimensions": STAR_LEADING,
        "bias=None means no bias": "`bias=None` means no bias.",
    },
    "perceptron": {
        **_EVERY_CALL, FLOAT64: "return a float tensor of the input's dtype",
        "1. where the sum is > 0": "A perceptron fires (outputs `1.`) where the weighted sum is strictly positive",
        "a sum of exactly 0 gives 0": "and outputs `0.` elsewhere, including at exactly 0",
        "1-D x and leading dimensions": STAR_LEADING,
    },
    "logic_gate_weights": {
        **_EVERY_CALL,
        "weight (1, 2) and bias (1,)": "Choose a `weight` of shape `(1, 2)` and a `bias` of shape `(1,)`",
        "float32 tensors": "Return them as float32 tensors",
        "truth tables of AND, OR and NAND": 'so that `perceptron` computes the gate `"AND"`, `"OR"` or `"NAND"` on '
                                            "inputs in {0, 1}²",
        "judged with a correct perceptron": ON_ITS_OWN,
        "XOR raises a ValueError that says why": "raise a `ValueError` whose message says why",
    },
    "perceptron_train": {
        **_EVERY_CALL, FLOAT64: "Return tensors of `X`'s dtype",
        "weight (1, F) and bias (1,)": "X (N, F), y (N,) -> weight (1, F), bias (1,)",
        "start from zero": "Start from zero weight `(1, n_features)` and zero bias `(1,)`.",
        "samples in order, an update after each mistake": "Visit the samples in order; for each, predict",
        "the update, with lr": "weight += lr * (y_i - y_hat) * x_i bias += lr * (y_i - y_hat)",
        "stop after a pass without mistakes or after epochs passes":
            "Stop after a pass over the data without mistakes, or after `epochs` passes.",
        "judged with a correct perceptron": ON_ITS_OWN,
    },
    # ---- 02_activations ----
    "step": {
        **_EVERY_CALL, **_ELEMENTWISE, EXTREME: _ACTIVATIONS_FINITE,
        "1. where z > 0, 0. at exactly 0": "`1.` where `z > 0`, else `0.` (at exactly 0 too)",
    },
    "sigmoid": {
        **_EVERY_CALL, **_ELEMENTWISE, EXTREME: "Make it safe for every finite input",
        "1 / (1 + exp(-z))": "1 / (1 + exp(-z)), finite for any z.",
    },
    "tanh": {
        **_EVERY_CALL, **_ELEMENTWISE, EXTREME: "(exp(z) - exp(-z)) / (exp(z) + exp(-z)), finite for any z.",
        "tanh(z)": "tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)).",
    },
    "relu": {
        **_EVERY_CALL, **_ELEMENTWISE, EXTREME: _ACTIVATIONS_FINITE,
        "max(z, 0)": "ReLU keeps positive values and replaces the rest with 0.",
    },
    "leaky_relu": {
        **_EVERY_CALL, **_ELEMENTWISE, EXTREME: _ACTIVATIONS_FINITE,
        "z where z > 0, else negative_slope * z": "`z` where `z > 0`, else `negative_slope * z`.",
        "negative_slope used": "use the negative_slope argument, not a fixed 0.01",
    },
    "softmax": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE,
        EXTREME: "keeps `exp` from overflowing for logits like 10⁴, and from underflowing to 0 / 0 = nan in a row "
                 "of −10⁴s.",
        "exp(z) / sum(exp(z)) along every dim": "softmax turns a vector of scores into probabilities along "
                                               "dimension `dim`",
        "dim=-1 by default": "def softmax(z, dim=-1):",
    },
    "sigmoid_grad": {
        **_EVERY_CALL, **_ELEMENTWISE, EXTREME: "far from 0 the sigmoid is flat: its derivative is 0, not nan",
        "s * (1 - s)": "σ'(z) = σ(z)(1 − σ(z))",
        "judged with a correct sigmoid": ON_ITS_OWN,
    },
    "tanh_grad": {
        **_EVERY_CALL, **_ELEMENTWISE, EXTREME: _ACTIVATIONS_FINITE,
        "1 - tanh(z)²": "tanh'(z) = 1 − tanh(z)²",
        "judged with a correct tanh": ON_ITS_OWN,
    },
    "relu_grad": {
        **_EVERY_CALL, **_ELEMENTWISE, EXTREME: _ACTIVATIONS_FINITE,
        "1 where z > 0, else 0 (0 at z = 0)": "ReLU'(z) = 1 where z > 0, else 0, and at exactly z = 0 take 0",
    },
    "leaky_relu_grad": {
        **_EVERY_CALL, **_ELEMENTWISE, EXTREME: _ACTIVATIONS_FINITE,
        "1 where z > 0, else negative_slope (at 0 too)": "leaky ReLU'(z) = 1 where z > 0, else `negative_slope` "
                                                         "(also at 0).",
        "negative_slope used": "negative_slope=0.3",
    },
    # ---- 03_losses ----
    "mse_loss": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "the mean of the squared differences": "mean((pred - target)^2).  (*), (*) -> ()",
    },
    "binary_cross_entropy": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "the mean of -(y log p + (1 - y) log(1 - p))": "−(y·log p + (1 − y)·log(1 − p)), averaged over all elements.",
        "soft labels": "the label y ∈ [0, 1] (soft labels such as 0.25 too)",
        "logs clamped at -100 for p of 0 and 1": "PyTorch clamps each log at −100, so the loss stays finite. "
                                                "Do the same.",
    },
    "binary_cross_entropy_with_logits": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        EXTREME: "the right-hand side never exponentiates a positive number.",
        "binary_cross_entropy(sigmoid(x), y)": "binary_cross_entropy(sigmoid(logits), target), computed stably.",
        "soft labels": "soft labels: y may be any number in [0, 1], so use - x*y, not a choice by the label",
    },
    "cross_entropy": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE,
        EXTREME: "with m the row's own maximum (the log-sum-exp trick; rows can have very different scales, so not "
                 "the maximum of the whole batch)",
        "the mean over the batch of -log softmax(logits)[label]": "the loss is the mean over the batch of −log "
                                                                  "softmax(logits)[label].",
        "batches of any size N": "For `logits` of shape `(N, C)`",
    },
    # ---- 04_gradient_descent ----
    "gd_step": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "w - lr * grad": "w - lr * grad.  (*), (*) -> (*)",
    },
    "momentum_step": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "v <- momentum * v + grad, then w <- w - lr * v": "v ← μ·v + grad w ← w − α·v",
        "lr and momentum used": "use the momentum argument (here 0.5, not 0.9)",
        "returns (w, velocity)": "Return the pair `(w, velocity)`.",
        "a run of steps from zero velocity": "The first step starts from `velocity = torch.zeros_like(w)`.",
    },
    "rmsprop_step": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "s <- alpha * s + (1 - alpha) * grad², then the step": "s ← α·s + (1 − α)·grad² w ← w − lr · grad / (√s + eps)",
        "eps added after the square root": "note: `eps` is added after the square root",
        "lr, alpha and eps used": "use lr, alpha and eps",
        "returns (w, square_avg)": "Return `(w, square_avg)`",
        "a run of steps from zero square_avg": "the first step starts from `square_avg = torch.zeros_like(w)`.",
    },
    "adam_step": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "m and v updated with betas": "m ← β₁·m + (1 − β₁)·grad v ← β₂·v + (1 − β₂)·grad²",
        "the bias correction at step t, counting from 1": "At step `t` = 1, 2, ... (counting from 1)",
        "each step corrects with its own t": "each step corrects with its own `t`.",
        "eps added to sqrt(v_hat)": "w ← w − lr · m̂ / (√v̂ + eps)",
        "returns (w, m, v) before the correction": "Return `(w, m, v)`, with `m` and `v` before the bias correction;",
        "a run of steps from zero m and v": "the first step starts from zeros",
        "the default lr, betas and eps": "def adam_step(w, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):",
    },
    "fit_line": {
        **_EVERY_CALL, FLOAT64: "`x` and `y` may be float32 or float64.",
        "start from slope = intercept = 0": "starting from `slope = intercept = 0`",
        "the gradients of the mean squared error": "∂J/∂slope = 2 · mean(error · x) ∂J/∂intercept = 2 · mean(error)",
        "both updated from the same error": "Update both from the same `error`",
        "lr and steps used": "for `steps` steps with learning rate `lr`",
        "the defaults lr=0.1 and steps=1000": "def fit_line(x, y, lr=0.1, steps=1000):",
        "two Python floats": "return the two numbers as Python floats (`.item()`)",
    },
    # ---- 05_backprop ----
    "linear_backward": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE,
        "grad_x, grad_weight, grad_bias": "grad_x = grad_out @ weight (*, in) grad_weight = grad_outᵀ @ x, summed "
                                          "over rows (out, in) grad_bias = grad_out summed over rows (out,)",
        "x with leading dimensions: rows summed": "Every row of `x` (every sample, over all leading dimensions) met "
                                                  "the same `weight` and `bias`",
        "1-D x for (*, in)": "A single sample `x` of shape `(in,)` (with `grad_out` of shape `(out,)`) works the "
                             "same way.",
        "returns a tuple of three": "Return the tuple `(grad_x, grad_weight, grad_bias)`.",
    },
    "relu_backward": {
        **_EVERY_CALL, **_ELEMENTWISE, EXTREME: "`z` may hold any finite values, ±10⁴ included.",
        "grad_out where z > 0, else 0 (0 at z = 0)": "ReLU: the slope is 1 where `z > 0` and 0 elsewhere; at exactly "
                                                     "`z = 0` take 0, as PyTorch does.",
    },
    "sigmoid_backward": {
        **_EVERY_CALL, **_ELEMENTWISE,
        EXTREME: "the result must stay finite for `|z|` up to 10⁴, negative z included",
        "grad_out * s * (1 - s)": "Sigmoid: the slope is σ(z)(1 − σ(z)).",
    },
    "softmax_cross_entropy_backward": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE, EXTREME: "it is stable for logits up to 10⁴.",
        "(softmax - one_hot) / N": "grad = (softmax(logits) − one_hot(labels)) / N",
        "divided by N, the loss being a mean": "divided by `N` because the loss is a mean over the batch",
        "what autograd finds through cross_entropy": "Gradient of mean cross_entropy(logits, labels) w.r.t. the logits.",
    },
    "numerical_gradient": {
        **_EVERY_CALL, FLOAT64: "Return a float64 tensor of `x`'s shape",
        ZERO_DIM: "`x` may be 0-dim",
        NON_CONTIGUOUS: "or a transposed matrix, which is not contiguous: `reshape` works on it, `view` does not.",
        "central differences": "grad[i] = (f(x + eps·eᵢ) − f(x − eps·eᵢ)) / (2·eps)",
        "f evaluated on a float64 copy of float32 x": "Evaluate `f` on a float64 copy of `x`",
        "eps used": "Use the `eps` argument.",
        "x of any shape": "x may have any shape: the gradient has the same shape",
    },
    # ---- 06_mlp ----
    "MLP": {
        **_EVERY_CALL,
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
        **_EVERY_CALL,
        "training mode for every batch": "Put the model in training mode first (`model.train()`: a model may arrive "
                                         "in evaluation mode",
        "old gradients cleared before each backward": "`.grad` may still hold old gradients when you start, so clear "
                                                      "it before each backward",
        "one optimizer step per batch": "loss.backward() optimizer.step()",
        "the mean loss per sample": "Return the average loss per sample over the epoch as a Python float.",
        "batch losses weighted by len(x)": "so weight it by the batch size `len(x)`",
        "any loader, a DataLoader too": _LOADER,
        "any loss and optimizer": "zero_grad, forward, loss, backward, step for every batch.",
    },
    "evaluate_accuracy": {
        **_EVERY_CALL,
        "argmax along dim 1 against the labels": "the argmax of the logits along dimension 1, equals the label",
        "a Python float": "as a Python float in [0, 1].",
        "counted over all samples": "Count the correct samples and all samples over the whole loader: batches may "
                                    "differ in size.",
        "eval mode for every batch": "Evaluate in evaluation mode (`model.eval()`: dropout off, batch norm uses its "
                                     "running statistics)",
        "no gradients recorded": "under `torch.no_grad()`",
        "the model's state unchanged": "batch norm uses its running statistics",
        "the mode put back": "leave the model in the mode you found it",
        "any loader, a DataLoader too": _LOADER,
    },
    # ---- 07_cnn ----
    "conv_output_size": {
        **_EVERY_CALL,
        "floor((size + 2 padding - kernel_size) / stride) + 1": "floor((size + 2·padding − kernel_size) / stride) + 1",
        "a Python int": "Return that number as a Python `int`",
        "a kernel as large as the input": "a kernel as large as the input fits exactly once",
        "stride and padding used": "plus `padding` zeros on each side, moving `stride` pixels at a time.",
    },
    "conv2d": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE,
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
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE,
        GRADIENTS: "Build it from torch operations on `x`, so autograd can differentiate through it.",
        "the largest value in each window": "The largest value in each `kernel_size × kernel_size` window of every "
                                            "channel, with windows starting every `stride` pixels;",
        "stride=None means kernel_size": "`stride=None` means `stride = kernel_size`",
        "windows past the edge dropped": "windows that would run past the edge are dropped.",
        "all values negative": "Careful: all values in a window may be negative.",
        "judged with a correct conv_output_size": ON_ITS_OWN,
    },
    "SmallCNN": {
        **_EVERY_CALL,
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
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: "`params` is any iterable of tensors of any shape (0-dim too)",
        GRADIENTS: "so that `(loss + penalty).backward()` reaches the weights.",
        "lam times the sum of |p|": "lam * sum over all parameters of sum |p|.",
        "params a generator, walked once": "a generator that can be walked only once (so no `len()` and no indexing).",
        "a 0-dim tensor": "Return a 0-dim tensor built from the parameters with tensor operations",
    },
    "l2_penalty": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: "`params` is any iterable of tensors of any shape (0-dim too)",
        GRADIENTS: "so that `(loss + penalty).backward()` reaches the weights.",
        "lam times the sum of p², no square root": "(the L2 penalty is the *squared* norm: no square root)",
        "params a generator, walked once": "a generator that can be walked only once (so no `len()` and no indexing).",
        "a 0-dim tensor": "Return a 0-dim tensor built from the parameters with tensor operations",
    },
    "dropout": {
        **_EVERY_CALL, FLOAT64: KEEP_DTYPE, RAISES: "Raise a `ValueError` saying what `p` was unless 0 ≤ p ≤ 1.",
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
        **_EVERY_CALL,
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
        **_EVERY_CALL,
        "int64 tensors": "Both are int64 tensors",
        "n_val = int(n * val_fraction) indices in val_idx": "the first `n_val = int(n * val_fraction)` indices go to "
                                                           "`val_idx`, the rest to `train_idx`.",
        "every index exactly once": "together they hold every index exactly once.",
        "shuffled, so val_idx comes from everywhere": "Shuffle the indices 0, 1, …, n − 1",
        "the same seed, the same split": "The same seed gives the same split",
        "another seed, another split": "another seed another one",
        "val_fraction 0 and 1": "`val_fraction` may be 0 or 1.",
        "returns (train_idx, val_idx)": "Return `(train_idx, val_idx)`",
    },
}
