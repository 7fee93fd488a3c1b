"""A case's model, loader, loss and optimizer, rebuilt from the plain data that describes them.

Used on both sides: by respond in the learner's kernel and by check in the grader.
"""
from __future__ import annotations

import numbers

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib.grading import assert_close


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

