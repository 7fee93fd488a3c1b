"""Hidden test of evaluate_accuracy: the accuracy, in eval mode without gradients, changing nothing."""
from __future__ import annotations

import torch

from course_lib.exercise_checks import call
from course_lib.grading import assert_close
from course_grader.hidden_tests._cases import randint
from course_grader.hidden_tests.mlp._rebuild import (always, assert_same_state, build, loader, plain_number,
                                                  probes_saw, random_state)
from course_grader.hidden_test import hidden_test, reference
from course_lib.i18n import N_, _


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
    assert_close(always(training, False), True, name=_("{name}: the model was in eval mode for every batch", name=name),
                 hint="call model.eval() before the loop: dropout off, batch norm on running statistics")
    assert_close(always(recording, False), True, name=_("{name}: no gradients were recorded", name=name),
                 hint="run the loop inside `with torch.no_grad():`")
    assert_same_state(state, case["state"],
                      name=_("{name}: the model's parameters and batch-norm statistics afterwards", name=name),
                      hint="evaluate in eval mode and change nothing: in training mode batch norm updates its "
                           "running statistics with every batch")
    expected = reference("course_lib.mlp.evaluate_accuracy")(build(case), loader(case))
    n, size = len(case["data"][0]), case["batch_size"]
    assert_close(accuracy, expected, name=name, hint=case["hint"],
                 inputs=_("a model in train mode, {n} samples in batches of {size}", n=n, size=size) if mode
                 else _("a model in eval mode, {n} samples in batches of {size}", n=n, size=size))
    assert_close(answer["training_after"], mode,
                 name=_("model.training after evaluate_accuracy on a model in train mode") if mode
                 else _("model.training after evaluate_accuracy on a model in eval mode"),
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
            for data_loader, hint in [(False, N_(f"{n} samples in batches of {size}: count over all samples")),
                                      (True, N_("any iterable of (x, y) batches"))]
            for mode in (True, False)]
