"""Hidden test of train_one_epoch: the mean loss it returns and the parameters after the epoch."""
from __future__ import annotations

import torch

from course_lib.exercise_checks import call
from course_lib.grading import assert_close
from course_grader.hidden_tests._cases import randint
from course_grader.hidden_tests.mlp._rebuild import (LOSSES, always, assert_same_state, build, loader,
                                                  optimizer_for, plain_number, probes_saw, random_state)
from course_grader.hidden_test import hidden_test, reference
from course_lib.i18n import _


def respond_train(fn, case: dict) -> dict:
    """The returned loss, the model's state after the epoch, and the modes the probe saw."""
    model = build(case)
    loss = call(fn, model, loader(case), LOSSES[case["loss"]](), optimizer_for(model, case))
    training, _recording = probes_saw(model)
    return {"loss": plain_number(loss), "state": dict(model.state_dict()), "training": training}


def check_train(case: dict, answer: dict) -> None:
    name = "train_one_epoch"
    loss, state, training = answer["loss"], answer["state"], answer["training"]
    if any(kind == "probe" for kind, *_sizes in case["layers"]):
        assert_close(always(training, True), True, name=_("{name}: the model was in training mode for every batch", name=name),
                     hint="call model.train() first: a model may arrive in eval mode (after evaluate_accuracy)")
    model = build(case)
    expected = reference("course_lib.mlp.train_one_epoch")(model, loader(case), LOSSES[case["loss"]](),
                                                            optimizer_for(model, case))
    assert_close(loss, expected, name=_("{name} (the returned mean loss per sample)", name=name), hint=case["hint"])
    assert_same_state(state, dict(model.state_dict()), name=_("{name} (the parameters after the epoch)", name=name),
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
