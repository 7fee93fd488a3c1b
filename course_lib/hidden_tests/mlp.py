"""Hidden tests of 06_mlp.

A model, a loader, a loss or an optimizer cannot cross from the grader to the learner's kernel, so
a case describes them: layers from LAYERS with a state_dict, the data and a batch size, a loss and
an optimizer named from fixed menus. `respond` rebuilds them in the kernel with torch alone, runs
the learner's code and reports plain data: outputs, the state after the call, and what a Probe
layer saw. The grader rebuilds the same model from the case and runs course_lib.mlp's reference.

Training mode is also judged by value: a batch-norm layer normalizes with the batch's statistics
and updates its running statistics only in training mode, so the state after the call tells
whether the model was in the right mode, whatever the probe reports.
"""
from __future__ import annotations

import numbers

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib.exercise_checks import call
from course_lib.grading import GradingError, assert_close
from course_lib.hidden_tests._cases import randint
from course_lib.sealed import hidden_test, reference


class Probe(nn.Module):
    """Passes x through, noting the mode and whether autograd was recording."""

    def __init__(self):
        super().__init__()
        self.seen: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return x


LAYERS = {"linear": nn.Linear, "relu": nn.ReLU, "tanh": nn.Tanh, "batchnorm": nn.BatchNorm1d, "probe": Probe}
LOSSES = {"cross_entropy": nn.CrossEntropyLoss, "mse": nn.MSELoss}
OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}


# ---- rebuilding a case's objects: used by respond (learner's kernel) and check (grader) alike ----

def sequential(layers: list) -> nn.Sequential:
    return nn.Sequential(*(LAYERS[kind](*sizes) for kind, *sizes in layers))


def build(case: dict) -> nn.Sequential:
    """The case's model with its state, in its mode."""
    model = sequential(case["layers"])
    model.load_state_dict(case["state"])
    return model.train(case.get("training", True))


def loader(case: dict):
    """A list of (x, y) batches, or a DataLoader over the same data."""
    (x, y), size = case["data"], case["batch_size"]
    if case.get("data_loader"):
        return DataLoader(TensorDataset(x, y), batch_size=size)
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def optimizer_for(model: nn.Module, case: dict) -> torch.optim.Optimizer:
    if case.get("stale_grads"):  # gradients left over from earlier work, which the first step must not use
        for p in model.parameters():
            p.grad = torch.ones_like(p)
    return OPTIMIZERS[case["optimizer"]](model.parameters(), **case["options"])


def random_state(layers: list, g: torch.Generator) -> dict:
    """A state_dict for these layers, every parameter drawn from g; buffers keep their defaults."""
    model = sequential(layers)
    state = {name: value.clone() for name, value in model.state_dict().items()}
    for name, p in model.named_parameters():
        state[name] = torch.randn(p.shape, generator=g) / p.shape[-1] ** 0.5
    return state


# ---- the learner's kernel side ----

def plain_number(x):
    """A real number of any kind (numpy's too) as a float, which the grader accepts like assert_close
    does (only plain types cross over); anything else as it is, for the check to judge."""
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return float(x)
    return x


def probes_saw(model: nn.Module) -> tuple[list[bool], list[bool]]:
    """(training, autograd recording) at each forward pass through the model's probes."""
    seen = [s for m in model.modules() if isinstance(m, Probe) for s in m.seen]
    return [training for training, _ in seen], [recording for _, recording in seen]


# ---- the grader's side ----

def always(flags: list, value: bool) -> bool:
    """The probe saw at least one batch, and `value` at every one."""
    return len(flags) > 0 and all(flag is value for flag in flags)


def assert_same_state(state: dict, expected: dict, *, name: str, hint: str) -> None:
    keys = tuple(expected)
    assert_close(tuple(state.get(k) for k in keys), tuple(expected.values()), names=keys, name=name, hint=hint)


# ---- MLP ----

def mlp_widths(case: dict) -> list[int]:
    n_in, hidden, n_out = case["args"]
    return [n_in, *hidden, n_out]


def respond_mlp(fn, case: dict) -> dict:
    """The learner's layers, its parameter count, and its output once the case's weights are loaded."""
    n_in, hidden, n_out = case["args"]
    model = call(fn, n_in, hidden, n_out)
    if not isinstance(model, nn.Module):
        raise GradingError(f"MLP({n_in}, {hidden}, {n_out}) is a {type(model).__name__}, not an nn.Module: "
                           "write `class MLP(nn.Module)` and call super().__init__() first")
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    shapes = [(layer.in_features, layer.out_features) for layer in layers]
    widths = mlp_widths(case)
    output = None
    # Weights the grader chose make the output checkable; they fit only layers of the right sizes.
    if shapes == list(zip(widths[:-1], widths[1:])) and all(layer.bias is not None for layer in layers):
        with torch.no_grad():
            for layer, (weight, bias) in zip(layers, case["weights"]):
                layer.weight.copy_(weight)
                layer.bias.copy_(bias)
            output = call(model, case["x"])
    return {"layers": shapes, "n_parameters": sum(p.numel() for p in model.parameters()), "output": output}


def check_mlp(case: dict, answer: dict) -> None:
    n_in, hidden, n_out = case["args"]
    setting, widths = f"MLP({n_in}, {hidden}, {n_out})", mlp_widths(case)
    layers, n_parameters, output = answer["layers"], answer["n_parameters"], answer["output"]
    assert_close(len(layers), len(widths) - 1, name=f"{setting}: number of nn.Linear layers",
                 hint=f"one nn.Linear per pair of consecutive sizes in {widths}")
    for i, layer in enumerate(layers):
        assert_close(layer, (widths[i], widths[i + 1]), names=("in_features", "out_features"),
                     name=f"{setting}: nn.Linear layer {i}")
    assert_close(n_parameters, sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:])),
                 name=f"{setting}: number of parameters", hint="only the nn.Linear layers hold parameters")
    model = reference("course_lib.mlp.MLP")(n_in, hidden, n_out)
    with torch.no_grad():
        for layer, (weight, bias) in zip([m for m in model.modules() if isinstance(m, nn.Linear)], case["weights"]):
            layer.weight.copy_(weight)
            layer.bias.copy_(bias)
        expected = model(case["x"])
    assert_close(output, expected, name=f"{setting}: the output", inputs={"x": case["x"]},
                 hint=f"{setting} is Linear, ReLU, ..., Linear: no ReLU after the last layer")


@hidden_test("MLP", respond=respond_mlp, check=check_mlp)
def mlp_cases(g: torch.Generator) -> list[dict]:
    """No hidden layer, one, three, and hidden sizes given as a tuple; weights and a batch of 1 to 6 from g."""
    cases = []
    for n_in, hidden, n_out in [(3, [], 2), (5, [7], 4), (4, [6, 5, 3], 2), (1, (2,), 1)]:
        widths = [n_in, *hidden, n_out]
        weights = [(torch.randn(b, a, generator=g) / a ** 0.5, torch.randn(b, generator=g))
                   for a, b in zip(widths[:-1], widths[1:])]
        x = 3 * torch.randn(randint(g, 1, 6), n_in, generator=g)
        cases.append({"args": (n_in, hidden, n_out), "weights": weights, "x": x})
    return cases


# ---- train_one_epoch ----

def respond_train(fn, case: dict) -> dict:
    """The returned loss, the model's state after the epoch, and the modes the probe saw."""
    model = build(case)
    loss = call(fn, model, loader(case), LOSSES[case["loss"]](), optimizer_for(model, case))
    training, _ = probes_saw(model)
    return {"loss": plain_number(loss), "state": dict(model.state_dict()), "training": training}


def check_train(case: dict, answer: dict) -> None:
    name = "train_one_epoch"
    loss, state, training = answer["loss"], answer["state"], answer["training"]
    if any(kind == "probe" for kind, *_ in case["layers"]):
        assert_close(always(training, True), True, name=f"{name}: the model was in training mode for every batch",
                     hint="call model.train() first: a model may arrive in eval mode (after evaluate_accuracy)")
    model = build(case)
    expected = reference("course_lib.mlp.train_one_epoch")(model, loader(case), LOSSES[case["loss"]](),
                                                            optimizer_for(model, case))
    assert_close(loss, expected, name=f"{name} (the returned mean loss per sample)", hint=case["hint"])
    assert_same_state(state, dict(model.state_dict()), name=f"{name} (the parameters after the epoch)",
                      hint=case["hint"])


@hidden_test("train_one_epoch", respond=respond_train, check=check_train)
def train_cases(g: torch.Generator) -> list[dict]:
    """A last batch of one sample, old gradients in .grad, a DataLoader with Adam, a model in eval mode."""
    size = randint(g, 2, 5)
    n = size * randint(g, 2, 4) + 1  # the last batch holds one sample
    x, y = torch.randn(n, 3, generator=g), torch.randint(0, 4, (n,), generator=g)
    classifier = [["linear", 3, 6], ["relu"], ["linear", 6, 4]]
    classes = {"layers": classifier, "state": random_state(classifier, g), "data": (x, y), "batch_size": size,
               "loss": "cross_entropy", "optimizer": "sgd"}
    regression = [["linear", 2, 5], ["tanh"], ["linear", 5, 2]]
    # Batch norm tells training mode from eval mode by value; it refuses a batch of one in training.
    probed = [["linear", 3, 6], ["batchnorm", 6], ["probe"], ["relu"], ["linear", 6, 4]]
    return [
        {**classes, "options": {"lr": 0.1, "momentum": 0.9},
         "hint": f"{n} samples in batches of {size}: weight each batch loss by len(x)"},
        {**classes, "options": {"lr": 0.1}, "stale_grads": True,
         "hint": "call optimizer.zero_grad() before each backward: .grad may hold old gradients when "
                 "train_one_epoch starts"},
        {"layers": regression, "state": random_state(regression, g),
         "data": (torch.randn(11, 2, generator=g), torch.randn(11, 2, generator=g)), "batch_size": 4,
         "data_loader": True, "loss": "mse", "optimizer": "adam", "options": {"lr": 0.01},
         "hint": "a DataLoader with batch_size=4 over 11 samples gives batches of 4, 4 and 3"},
        {**classes, "layers": probed, "state": random_state(probed, g), "training": False,
         "data": (x[:-1], y[:-1]), "options": {"lr": 0.1},
         "hint": "call model.train() first: a model may arrive in eval mode (after evaluate_accuracy)"},
    ]


# ---- evaluate_accuracy ----

def respond_accuracy(fn, case: dict) -> dict:
    """The accuracy, what the probe saw, and the model's mode and state afterwards."""
    model = build(case)
    accuracy = call(fn, model, loader(case))
    training, recording = probes_saw(model)
    return {"accuracy": plain_number(accuracy), "training": training, "recording": recording,
            "training_after": model.training, "state": dict(model.state_dict())}


def check_accuracy(case: dict, answer: dict) -> None:
    name, mode = "evaluate_accuracy", case["training"]
    accuracy, training, recording, state = answer["accuracy"], answer["training"], answer["recording"], answer["state"]
    assert_close(always(training, False), True, name=f"{name}: the model was in eval mode for every batch",
                 hint="call model.eval() before the loop: dropout off, batch norm on running statistics")
    assert_close(always(recording, False), True, name=f"{name}: no gradients were recorded",
                 hint="run the loop inside `with torch.no_grad():`")
    assert_same_state(state, case["state"], name=f"{name}: the model's parameters and batch-norm statistics afterwards",
                      hint="evaluate in eval mode and change nothing: in training mode batch norm updates its "
                           "running statistics with every batch")
    expected = reference("course_lib.mlp.evaluate_accuracy")(build(case), loader(case))
    n, size = len(case["data"][0]), case["batch_size"]
    assert_close(accuracy, expected, name=name, hint=case["hint"],
                 inputs=f"a model in {'train' if mode else 'eval'} mode, {n} samples in batches of {size}")
    assert_close(answer["training_after"], mode,
                 name=f"model.training after evaluate_accuracy on a model in {'train' if mode else 'eval'} mode",
                 hint="put the mode back at the end: model.train(was_training), noted before model.eval()")


@hidden_test("evaluate_accuracy", respond=respond_accuracy, check=check_accuracy)
def accuracy_cases(g: torch.Generator) -> list[dict]:
    """A list of batches and a DataLoader, each on a model in train mode and in eval mode."""
    # A last batch smaller than the others, where the mean of the batch accuracies goes wrong, but of
    # at least two samples: batch norm refuses a batch of one in training mode, a learner's slip.
    size = randint(g, 3, 5)
    n = size * randint(g, 2, 5) + randint(g, 2, size - 1)
    layers = [["linear", 4, 8], ["batchnorm", 8], ["probe"], ["relu"], ["linear", 8, 3]]
    state = random_state(layers, g)
    # Running statistics unlike the batches' own, so that train mode changes the predictions too.
    state["1.running_mean"], state["1.running_var"] = torch.randn(8, generator=g), 0.5 + torch.rand(8, generator=g)
    common = {"layers": layers, "state": state, "batch_size": size,
              "data": (2 * torch.randn(n, 4, generator=g), torch.randint(0, 3, (n,), generator=g))}
    return [{**common, "data_loader": data_loader, "training": mode, "hint": hint}
            for data_loader, hint in [(False, f"{n} samples in batches of {size}: count over all samples"),
                                      (True, "any iterable of (x, y) batches")]
            for mode in (True, False)]
