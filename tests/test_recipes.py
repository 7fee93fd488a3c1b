"""The training-recipe loop of course_lib.recipes, on a tiny data set (the MNIST recipes run in
lessons 06 and 07 and in benchmarks/bench_lessons.py)."""
import pytest
import torch
from torch import nn

from course_lib import data
from course_lib.recipes import TrainResult, sgd_one_cycle, train_with_checkpoints


def _setup(lr=0.1):
    torch.manual_seed(0)
    X, y = data.blobs(n=100, seed=0)
    loader = data.TensorLoader(X, y, batch_size=10, shuffle=True, generator=torch.Generator().manual_seed(0))
    model = nn.Linear(2, 2)
    return model, loader, torch.optim.SGD(model.parameters(), lr=lr)


def test_checkpoints_every_eval_every_batches_across_epochs():
    model, loader, optimizer = _setup()
    result = train_with_checkpoints(model, loader, optimizer, None, epochs=2, test_loader=loader, eval_every=5)
    assert [batches for _, batches, _ in result.checkpoints] == [5, 10, 15, 20]
    seconds = [s for s, _, _ in result.checkpoints]
    assert seconds == sorted(seconds) and seconds[-1] <= result.train_seconds
    assert result.test_accuracy == result.checkpoints[-1][2] >= 0.95  # blobs are linearly separable


def test_without_eval_every_only_the_end_is_evaluated():
    model, loader, optimizer = _setup()
    result = train_with_checkpoints(model, loader, optimizer, None, epochs=3, test_loader=loader)
    assert [batches for _, batches, _ in result.checkpoints] == [30]


def test_stop_at_ends_training_at_the_first_checkpoint_reaching_it():
    model, loader, optimizer = _setup()
    result = train_with_checkpoints(model, loader, optimizer, None, epochs=5, test_loader=loader,
                                    eval_every=5, stop_at=0.0)
    assert len(result.checkpoints) == 1 and result.checkpoints[0][1] == 5


def test_epoch_scheduler_steps_once_per_epoch_and_batch_scheduler_once_per_batch():
    model, loader, optimizer = _setup(lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    train_with_checkpoints(model, loader, optimizer, scheduler, epochs=3, test_loader=loader, scheduler_step="epoch")
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.125)

    model, loader, _ = _setup()
    optimizer, scheduler = sgd_one_cycle(model, total_steps=20, max_lr=0.1)
    train_with_checkpoints(model, loader, optimizer, scheduler, epochs=2, test_loader=loader)
    assert scheduler.last_epoch == 20  # OneCycleLR raises if stepped past total_steps


def test_scheduler_step_must_be_batch_or_epoch():
    model, loader, optimizer = _setup()
    with pytest.raises(ValueError, match="scheduler_step"):
        train_with_checkpoints(model, loader, optimizer, None, epochs=1, test_loader=loader, scheduler_step="step")


def test_seconds_to_is_the_first_checkpoint_at_or_above_the_target():
    result = TrainResult(nn.Linear(1, 1), 3.0, 0.95, [(1.0, 50, 0.9), (2.0, 100, 0.99), (3.0, 150, 0.95)])
    assert result.seconds_to(0.99) == 2.0
    assert result.seconds_to(0.9) == 1.0
    assert result.seconds_to(0.995) is None


def test_progress_bar_counts_every_batch_when_asked(capsys):
    model, loader, optimizer = _setup()
    train_with_checkpoints(model, loader, optimizer, None, epochs=2, test_loader=loader, progress=True)
    err = capsys.readouterr().err
    assert f"{2 * len(loader)}/{2 * len(loader)}" in err, f"the bar should reach all batches:\n{err}"


def test_no_progress_bar_by_default_under_pytest(capsys):
    model, loader, optimizer = _setup()
    train_with_checkpoints(model, loader, optimizer, None, epochs=1, test_loader=loader)
    assert capsys.readouterr() == ("", "")
