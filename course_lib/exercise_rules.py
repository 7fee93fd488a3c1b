"""The rules of the graded exercises, as data: for each graded name its topic, points, forbidden calls
and time limit; the written answers graded by hand. Nothing here runs or imports anything.

Everything else derives from this table: the exercises' guard (course_lib/exercise_checks.py), the
grader's static twin check, sealing and nbgrader configuration (course_grader/), and the tests that
compare it with the notebooks' nbgrader metadata (tests/test_exercises.py).

Forbidden entries: "torch:NAME" is any PyTorch function of that name (torch.x, F.x, x.NAME() and
in-place x.NAME_() alike); a dotted path is Python code: a course_lib function or a whole package.
Every graded name also forbids course_lib's own reference of that name, added below.
"""
from __future__ import annotations

# The lessons' topics in course order: lesson NN_topic, course_lib.topic, exercise NN_topic.
TOPICS = ("neurons", "activations", "losses", "gradient_descent", "backprop", "mlp", "cnn", "overfitting")
LESSONS = tuple(f"{number:02d}_{topic}" for number, topic in enumerate(TOPICS, 1))

# course_lib modules that compute graded answers without being a topic: hidden from grading kernels too.
REFERENCE_HELPERS = ("recipes", "training", "plotting")

_AUTOGRAD = ("torch:grad", "torch:backward")
_SIGMOID = ("torch:sigmoid", "torch:expit", "torch:logsigmoid", "torch:log_sigmoid", "torch:glu")  # glu(1, z) = sigmoid(z)
# with the operators that give the same values exactly: threshold_backward(z, z, 0), hardtanh(z, 0, inf), elu(z, 0)
_RELU = ("torch:relu", "torch:threshold", "torch:threshold_backward", "torch:hardtanh", "torch:elu")
_LEAKY = ("torch:leaky_relu", "torch:rrelu", "torch:prelu", "torch:leaky_relu_backward")
_SOFTMAX = ("torch:softmax", "torch:log_softmax", "torch:masked_softmax", "torch:safe_softmax", "torch:sparse_softmax",
            "torch:sparse_log_softmax", "course_lib.losses.log_softmax")
_BCE = ("torch:binary_cross_entropy", "torch:binary_cross_entropy_with_logits")
# torch.optim, and the fused kernels behind its optimizers (Adam(fused=True) is torch._fused_adam_)
_OPTIM = ("torch.optim", "torch:fused_adam", "torch:fused_adamw", "torch:fused_sgd", "torch:fused_adagrad")
# the backends' own convolutions and poolings, which torch.ops reaches without conv2d or max_pool2d
# (a transposed convolution's gradient is the convolution: convolution_backward is one too)
_CONV = ("torch:conv2d", "torch:convolution", "torch:conv_transpose2d", "torch:slow_conv2d", "torch:slow_conv3d",
         "torch:slow_conv_dilated2d", "torch:slow_conv_dilated3d", "torch:slow_conv_transpose2d",
         "torch:slow_conv_transpose3d", "torch:mkldnn_convolution", "torch:nnpack_spatial_convolution",
         "torch:thnn_conv2d", "torch:conv1d", "torch:conv3d", "torch:conv_depthwise2d", "torch:conv_depthwise3d",
         "torch:conv_tbc", "torch:convolution_backward", "torch:convolution_overrideable",
         "torch:convolution_backward_overrideable", "torch:convolution_mode")
_MAX_POOL = tuple(f"torch:{kind}max_pool{d}" for kind in ("", "adaptive_", "mkldnn_", "quantized_") for d in ("1d", "2d", "3d")
                  if kind + d != "mkldnn_1d") + \
    ("torch:max_pool1d_with_indices", "torch:max_pool2d_with_indices", "torch:max_pool3d_with_indices",
     "torch:fractional_max_pool2d", "torch:fractional_max_pool3d")  # with zero samples: max pooling exactly
# the lessons' own training loops compute the same numbers
_LOOPS = ("course_lib.training", "course_lib.recipes")

# topic -> graded name -> (points, forbidden calls besides course_lib's own name, seconds per call or None)
_TABLE: dict[str, dict[str, tuple[int, tuple[str, ...], float | None]]] = {
    "neurons": {
        "linear": (2, ("torch:linear",), None),
        "perceptron": (1, ("torch:heaviside",), None),
        "logic_gate_weights": (2, (), None),
        "perceptron_train": (3, (), None),
    },
    "activations": {
        "step": (1, ("torch:heaviside",), None),
        "sigmoid": (2, _SIGMOID, None),
        "tanh": (2, ("torch:tanh",), None),
        "relu": (1, _RELU, None),
        "leaky_relu": (1, _LEAKY, None),
        "softmax": (2, _SOFTMAX, None),
        "sigmoid_grad": (1, (*_SIGMOID, *_AUTOGRAD, "course_lib.activations.sigmoid"), None),
        "tanh_grad": (1, ("torch:tanh", *_AUTOGRAD, "course_lib.activations.tanh"), None),
        "relu_grad": (1, (*_RELU, *_AUTOGRAD, "course_lib.activations.relu"), None),
        "leaky_relu_grad": (1, (*_LEAKY, *_AUTOGRAD, "course_lib.activations.leaky_relu"), None),
    },
    "losses": {
        "mse_loss": (1, ("torch:mse_loss",), None),
        "binary_cross_entropy": (2, _BCE, None),
        "binary_cross_entropy_with_logits": (3, (*_BCE, "torch:logsigmoid", "torch:log_sigmoid", "torch:softplus"), None),
        "cross_entropy": (3, (*_SOFTMAX, "torch:cross_entropy", "torch:nll_loss", "torch:nll_loss2d", "torch:logsumexp",
                              "course_lib.activations.softmax"), None),
    },
    "gradient_descent": {
        "gd_step": (1, _OPTIM, None),
        "momentum_step": (2, _OPTIM, None),
        "rmsprop_step": (2, _OPTIM, None),
        "adam_step": (3, _OPTIM, None),
        "fit_line": (2, (*_OPTIM, "torch:lstsq", "torch:pinv", "torch:solve", "torch:inv"), None),
    },
    "backprop": {
        "linear_backward": (3, (*_AUTOGRAD, "torch:linear"), None),
        "relu_backward": (1, (*_AUTOGRAD, "torch:threshold_backward"), None),
        "sigmoid_backward": (1, (*_AUTOGRAD, "torch:sigmoid_backward"), None),
        "softmax_cross_entropy_backward": (2, (*_AUTOGRAD, "torch:cross_entropy"), None),
        "numerical_gradient": (2, (*_AUTOGRAD, "torch.autograd.gradcheck"), None),
    },
    "mlp": {
        "MLP": (2, (), None),
        "train_one_epoch": (3, _LOOPS, 30),
        "evaluate_accuracy": (2, _LOOPS, 30),
    },
    "cnn": {
        "conv_output_size": (1, (), None),
        "conv2d": (4, _CONV, None),
        "max_pool2d": (2, _MAX_POOL, None),
        "SmallCNN": (2, (), None),
    },
    "overfitting": {
        "l1_penalty": (1, (), None),
        "l2_penalty": (1, (), None),
        "dropout": (2, ("torch:dropout", "torch:feature_dropout", "torch:alpha_dropout", "torch:native_dropout"),
                    None),
        "EarlyStopping": (2, (), None),
        "train_val_split": (1, (), None),
    },
}

# Graded names whose solution is built from PyTorch's own layers, the twins of other graded names of
# their exercise (SmallCNN: nn.Conv2d, F.max_pool2d): the grader replays them apart from the names
# whose twins it bans (course_grader/replay.py).
BUILT_ON_TWINS: tuple[str, ...] = ("SmallCNN",)

# graded name -> the topic whose course_lib module holds its reference (COURSE_SPEC.md)
GRADED_TOPIC: dict[str, str] = {name: topic for topic, names in _TABLE.items() for name in names}
# graded name -> points of its test cell
POINTS: dict[str, int] = {name: entry[0] for names in _TABLE.values() for name, entry in names.items()}
# graded name -> what it must not call: the entries above and course_lib's own answer
OWN_TWINS: dict[str, tuple[str, ...]] = {
    name: (*entry[1], f"course_lib.{topic}.{name}") for topic, names in _TABLE.items() for name, entry in names.items()}
# graded name -> everything it must not call: its own twins, and the PyTorch twins of the other names of
# its exercise, which the grader's replay disables for the whole notebook (course_grader/replay.py), so
# that the notebook's guard and the grading agree (torch.tanh inside sigmoid fails in both)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    name: tuple(dict.fromkeys((*OWN_TWINS[name], *(() if name in BUILT_ON_TWINS else (
        e for other in names if other != name and other not in BUILT_ON_TWINS
        for e in OWN_TWINS[other] if e.startswith("torch:"))))))
    for names in _TABLE.values() for name in names}
# graded name -> seconds a call may take when grading, where the usual limit is too short
TIME_LIMITS: dict[str, float] = {
    name: entry[2] for names in _TABLE.values() for name, entry in names.items() if entry[2] is not None}

# For the rules box atop each exercise (exercises/authoring.py's rules): the groups above in words.
# Any other "torch:NAME" reads as `NAME`, every form of PyTorch's function of that name.
IN_WORDS: dict[tuple[str, ...], str] = {
    _AUTOGRAD: "autograd (`.backward()`, `torch.autograd.grad`)",
    _SIGMOID: "any sigmoid of PyTorch (`torch.sigmoid`, `F.logsigmoid`, `torch.special.expit`, `F.glu`)",
    _RELU: "any ReLU of PyTorch (`torch.relu`, `F.relu`, `F.threshold`, `F.hardtanh`, `F.elu`)",
    _LEAKY: "any leaky ReLU of PyTorch (`F.leaky_relu`, `F.rrelu`, `F.prelu`)",
    _SOFTMAX: "any softmax or log-softmax of PyTorch (`torch.softmax`, `F.log_softmax`, ...), course_lib's "
              "`losses.log_softmax`",
    _BCE: "PyTorch's binary cross-entropies (`F.binary_cross_entropy`, `F.binary_cross_entropy_with_logits`)",
    _OPTIM: "anything in `torch.optim`",
    _CONV: "any convolution of PyTorch (`torch.conv2d`, `F.conv2d`, `nn.Conv2d`, `torch.convolution` and the backends' own)",
    _MAX_POOL: "any max pooling of PyTorch (`F.max_pool2d`, `nn.MaxPool2d`, `F.adaptive_max_pool2d`, ... and the backends' own)",
    _LOOPS: "the lessons' training code (`course_lib.training`, `course_lib.recipes`)",
}
# graded names whose result has their tensor inputs' dtype: float32 in, float32 out; float64 in, float64 out
KEEPS_DTYPE = frozenset(GRADED_TOPIC) - {"logic_gate_weights", "fit_line", "numerical_gradient", "MLP", "train_one_epoch",
                                         "evaluate_accuracy", "conv_output_size", "SmallCNN", "EarlyStopping",
                                         "train_val_split"}
# graded names with inputs of shape (*, ...): any number of leading dimensions, none included
STAR_SHAPED = frozenset({"linear", "perceptron", *_TABLE["activations"], "mse_loss", "binary_cross_entropy",
                         "binary_cross_entropy_with_logits", "gd_step", "momentum_step", "rmsprop_step", "adam_step",
                         "linear_backward", "relu_backward", "sigmoid_backward", "numerical_gradient", "dropout"})

# topic -> (grade_id, points) of the written answer its exercise grades by hand
WRITTEN: dict[str, tuple[str, int]] = {
    "neurons": ("explain_xor", 2), "activations": ("explain_vanishing", 2), "losses": ("explain_bce_logits", 2),
    "gradient_descent": ("explain_adam", 2), "backprop": ("explain_gradient_check", 2),
    "mlp": ("explain_eval_mode", 2), "cnn": ("explain_flatten_size", 2), "overfitting": ("explain_test_set", 2),
}
