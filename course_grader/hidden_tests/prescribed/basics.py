"""What the hidden tests of 01_neurons to 04_gradient_descent check, and the words that prescribe it."""
from __future__ import annotations

from course_grader.hidden_tests.prescribed.rules import *  # noqa: F403 - the shared sentences and kinds

PRESCRIBED: dict[str, dict[str, str]] = {
    # ---- 01_neurons ----
    "linear": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE,
        "x @ weight.T + bias": "x @ weight.T + bias.  (*, in), (out, in), (out,) -> (*, out)",
        "1-D x for (*, in)": "A single sample `x` of shape `(in_features,)` gives shape `(out_features,)`.",
        "x with leading dimensions": STAR_LEADING,
        "bias=None means no bias": "`bias=None` means no bias.",
    },
    "perceptron": {
        **EVERY_CALL, FLOAT64: "return a float tensor of the input's dtype",
        "1. where the sum is > 0": "A perceptron fires (outputs `1.`) where the weighted sum is strictly positive",
        "a sum of exactly 0 gives 0": "and outputs `0.` elsewhere, including at exactly 0",
        "1-D x and leading dimensions": STAR_LEADING,
    },
    "logic_gate_weights": {
        **EVERY_CALL,
        "weight (1, 2) and bias (1,)": "Choose a `weight` of shape `(1, 2)` and a `bias` of shape `(1,)`",
        "float32 tensors": "Return them as float32 tensors",
        "truth tables of AND, OR and NAND": 'so that `perceptron` computes the gate `"AND"`, `"OR"` or `"NAND"` on '
                                            "inputs in {0, 1}²",
        "judged with a correct perceptron": ON_ITS_OWN,
        "XOR raises a ValueError that says why": "raise a `ValueError` whose message says why",
    },
    "perceptron_train": {
        **EVERY_CALL, FLOAT64: "Return tensors of `X`'s dtype",
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
        **EVERY_CALL, **ELEMENTWISE, EXTREME: ACTIVATIONS_FINITE,
        "1. where z > 0, 0. at exactly 0": "`1.` where `z > 0`, else `0.` (at exactly 0 too)",
    },
    "sigmoid": {
        **EVERY_CALL, **ELEMENTWISE, EXTREME: "Make it safe for every finite input",
        "1 / (1 + exp(-z))": "1 / (1 + exp(-z)), finite for any z.",
    },
    "tanh": {
        **EVERY_CALL, **ELEMENTWISE, EXTREME: "(exp(z) - exp(-z)) / (exp(z) + exp(-z)), finite for any z.",
        "tanh(z)": "tanh(z) = (e^z − e^(−z)) / (e^z + e^(−z)).",
    },
    "relu": {
        **EVERY_CALL, **ELEMENTWISE, EXTREME: ACTIVATIONS_FINITE,
        "max(z, 0)": "ReLU keeps positive values and replaces the rest with 0.",
    },
    "leaky_relu": {
        **EVERY_CALL, **ELEMENTWISE, EXTREME: ACTIVATIONS_FINITE,
        "z where z > 0, else negative_slope * z": "`z` where `z > 0`, else `negative_slope * z`.",
        "negative_slope used": "use the negative_slope argument, not a fixed 0.01",
        "negative_slope above 1 too": "`negative_slope` may be any positive number, 1.5 too.",
    },
    "softmax": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE,
        EXTREME: "keeps `exp` from overflowing for logits like 10⁴, and from underflowing to 0 / 0 = nan in a row "
                 "of −10⁴s.",
        "exp(z) / sum(exp(z)) along every dim": "softmax turns a vector of scores into probabilities along "
                                               "dimension `dim`",
        "dim=-1 by default": "def softmax(z, dim=-1):",
    },
    "sigmoid_grad": {
        **EVERY_CALL, **ELEMENTWISE, EXTREME: "far from 0 the sigmoid is flat: its derivative is 0, not nan",
        "s * (1 - s)": "σ'(z) = σ(z)(1 − σ(z))",
        "judged with a correct sigmoid": ON_ITS_OWN,
    },
    "tanh_grad": {
        **EVERY_CALL, **ELEMENTWISE, EXTREME: ACTIVATIONS_FINITE,
        "1 - tanh(z)²": "tanh'(z) = 1 − tanh(z)²",
        "judged with a correct tanh": ON_ITS_OWN,
    },
    "relu_grad": {
        **EVERY_CALL, **ELEMENTWISE, EXTREME: ACTIVATIONS_FINITE,
        "1 where z > 0, else 0 (0 at z = 0)": "ReLU'(z) = 1 where z > 0, else 0, and at exactly z = 0 take 0",
    },
    "leaky_relu_grad": {
        **EVERY_CALL, **ELEMENTWISE, EXTREME: ACTIVATIONS_FINITE,
        "1 where z > 0, else negative_slope (at 0 too)": "leaky ReLU'(z) = 1 where z > 0, else `negative_slope` "
                                                         "(also at 0).",
        "negative_slope used": "negative_slope=0.3",
        "negative_slope above 1 too": "`negative_slope` may be any positive number, 1.5 too.",
    },
    # ---- 03_losses ----
    "mse_loss": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "the mean of the squared differences": "mean((pred - target)^2).  (*), (*) -> ()",
    },
    "binary_cross_entropy": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "the mean of -(y log p + (1 - y) log(1 - p))": "−(y·log p + (1 − y)·log(1 − p)), averaged over all elements.",
        "soft labels": "the label y ∈ [0, 1] (soft labels such as 0.25 too)",
        "logs clamped at -100 for p of 0 and 1": "PyTorch clamps each log at −100, so the loss stays finite. "
                                                "Do the same.",
    },
    "binary_cross_entropy_with_logits": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        EXTREME: "the right-hand side never exponentiates a positive number.",
        "binary_cross_entropy(sigmoid(x), y)": "binary_cross_entropy(sigmoid(logits), target), computed stably.",
        "soft labels": "soft labels: y may be any number in [0, 1], so use - x*y, not a choice by the label",
    },
    "cross_entropy": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE,
        EXTREME: "with m the row's own maximum (the log-sum-exp trick; rows can have very different scales, so not "
                 "the maximum of the whole batch)",
        "the mean over the batch of -log softmax(logits)[label]": "the loss is the mean over the batch of −log "
                                                                  "softmax(logits)[label].",
        "batches of any size N": "For `logits` of shape `(N, C)`",
    },
    # ---- 04_gradient_descent ----
    "gd_step": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "w - lr * grad": "w - lr * grad.  (*), (*) -> (*)",
    },
    "momentum_step": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "v <- momentum * v + grad, then w <- w - lr * v": "v ← μ·v + grad w ← w − α·v",
        "lr and momentum used": "use the momentum argument (here 0.5, not 0.9)",
        "returns (w, velocity)": "Return the pair `(w, velocity)`.",
        "a run of steps from zero velocity": "The first step starts from `velocity = torch.zeros_like(w)`.",
    },
    "rmsprop_step": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "s <- alpha * s + (1 - alpha) * grad², then the step": "s ← α·s + (1 − α)·grad² w ← w − lr · grad / (√s + eps)",
        "eps added after the square root": "note: `eps` is added after the square root",
        "lr, alpha and eps used": "use lr, alpha and eps",
        "returns (w, square_avg)": "Return `(w, square_avg)`",
        "a run of steps from zero square_avg": "the first step starts from `square_avg = torch.zeros_like(w)`.",
    },
    "adam_step": {
        **EVERY_CALL, FLOAT64: KEEP_DTYPE, ZERO_DIM: STAR_ANY,
        "m and v updated with betas": "m ← β₁·m + (1 − β₁)·grad v ← β₂·v + (1 − β₂)·grad²",
        "the bias correction at step t, counting from 1": "At step `t` = 1, 2, ... (counting from 1)",
        "each step corrects with its own t": "each step corrects with its own `t`.",
        "eps added to sqrt(v_hat)": "w ← w − lr · m̂ / (√v̂ + eps)",
        "returns (w, m, v) before the correction": "Return `(w, m, v)`, with `m` and `v` before the bias correction;",
        "a run of steps from zero m and v": "the first step starts from zeros",
        "the default lr, betas and eps": "def adam_step(w, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):",
    },
    "fit_line": {
        **EVERY_CALL, FLOAT64: "`x` and `y` may be float32 or float64.",
        "start from slope = intercept = 0": "starting from `slope = intercept = 0`",
        "the gradients of the mean squared error": "∂J/∂slope = 2 · mean(error · x) ∂J/∂intercept = 2 · mean(error)",
        "both updated from the same error": "Update both from the same `error`",
        "lr and steps used": "for `steps` steps with learning rate `lr`",
        "the defaults lr=0.1 and steps=1000": "def fit_line(x, y, lr=0.1, steps=1000):",
        "two Python floats": "return the two numbers as Python floats (`.item()`)",
    },
}
