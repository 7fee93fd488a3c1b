"""Tests for course_lib.training: fit, evaluate, predict and confusion_matrix."""
import math
from collections import Counter

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn
from torch.nn import functional as F

from course_lib.data import TensorLoader, two_moons
from course_lib.training import History, confusion_matrix, evaluate, fit, predict, show_progress


def _model(seed=0, hidden=16, out=2, dropout=0.0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, out))


def _moons(n=200, batch_size=32, seed=0):
    X, y = two_moons(n=n, noise=0.1, seed=seed)
    return X, y, TensorLoader(X, y, batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed))


class RecordMode(nn.Module):
    """Identity-like linear layer that notes the train flag and grad mode each forward saw."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 2)
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return self.linear(x)


# ---- fit -----------------------------------------------------------------------------------------

def test_fit_learns_two_moons_with_a_tiny_mlp():
    X, y, loader = _moons()
    model = _model()
    history = fit(model, loader, nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), lr=0.05),
                  epochs=15, progress=False)
    assert history.train_loss[-1] < history.train_loss[0] / 3, history.train_loss
    assert history.train_acc[-1] > 0.95, "a 16-unit MLP should fit two moons"


@pytest.mark.parametrize("with_val", [True, False], ids=["with_val", "no_val"])
def test_fit_history_has_one_entry_per_epoch(with_val):
    X, y, loader = _moons(n=40)
    model = _model()
    history = fit(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                  epochs=3, val_loader=loader if with_val else None, progress=False)
    assert isinstance(history, History)
    assert len(history.train_loss) == len(history.train_acc) == len(history.epoch_time) == 3
    assert len(history.val_loss) == len(history.val_acc) == (3 if with_val else 0)
    assert all(t > 0 for t in history.epoch_time)


def test_fit_reports_loss_and_accuracy_per_sample_not_per_batch():
    # lr=0 leaves the model as it is, so the epoch's numbers must equal one pass over all the data;
    # 10 samples in batches of 4 make the last batch smaller, where a mean of batch means would differ
    X, y = two_moons(n=10, seed=1)
    model = _model()
    history = fit(model, TensorLoader(X, y, 4), nn.CrossEntropyLoss(),
                  torch.optim.SGD(model.parameters(), lr=0.0), progress=False)
    with torch.no_grad():
        logits = model(X)
    torch.testing.assert_close(history.train_loss[0], F.cross_entropy(logits, y).item())
    torch.testing.assert_close(history.train_acc[0], (logits.argmax(1) == y).float().mean().item())


def test_fit_trains_in_train_mode_with_gradients_even_if_the_model_was_in_eval_mode():
    X, y, loader = _moons(n=20, batch_size=10)
    model = RecordMode().eval()
    fit(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), progress=False)
    assert model.seen == [(True, True), (True, True)]


def test_fit_steps_the_scheduler_once_per_batch():
    X, y, loader = _moons(n=40, batch_size=16)  # 3 batches
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    # OneCycleLR raises if stepped more than total_steps times, and must end at its final lr
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=2 * len(loader))
    fit(model, loader, nn.CrossEntropyLoss(), optimizer, epochs=2, scheduler=scheduler, progress=False)
    assert scheduler.last_epoch == 2 * len(loader)


def test_fit_shows_a_progress_bar_with_loss_and_accuracy(capsys):
    X, y, loader = _moons(n=40)
    model = _model()
    fit(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), epochs=2,
        val_loader=loader, progress=True)
    err = capsys.readouterr().err
    for needle in ["epoch 1/2", "epoch 2/2", "loss=", "acc=", "val_loss=", "val_acc="]:
        assert needle in err, f"{needle!r} missing from the progress bar:\n{err}"


def test_fit_with_progress_false_prints_nothing(capsys):
    X, y, loader = _moons(n=40)
    model = _model()
    fit(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1), progress=False)
    assert capsys.readouterr() == ("", "")


def test_fit_shows_no_progress_bar_by_default_outside_a_notebook(capsys):
    X, y, loader = _moons(n=40)
    model = _model()
    fit(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1))
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("progress,expected", [(True, True), (False, False), (None, False)],
                         ids=["forced_on", "forced_off", "auto_under_pytest"])
def test_show_progress_follows_the_argument_and_is_off_under_pytest(progress, expected):
    assert show_progress(progress) is expected


def test_fit_binary_single_logit_accuracy_thresholds_at_zero():
    X, y = two_moons(n=30, seed=2)
    target = y.float()[:, None]  # BCEWithLogitsLoss wants float targets shaped like the output
    model = _model(out=1)
    history = fit(model, TensorLoader(X, target, 8), nn.BCEWithLogitsLoss(),
                  torch.optim.SGD(model.parameters(), lr=0.0), progress=False)
    with torch.no_grad():
        logits = model(X)
    torch.testing.assert_close(history.train_acc[0], ((logits > 0).float() == target).float().mean().item())
    torch.testing.assert_close(history.train_loss[0], F.binary_cross_entropy_with_logits(logits, target).item())


def test_fit_regression_reports_nan_accuracy_and_a_falling_loss():
    x = torch.linspace(-1, 1, 64)[:, None]
    target = 3 * x - 0.5
    model = nn.Linear(1, 1)
    history = fit(model, TensorLoader(x, target, 16), nn.MSELoss(),
                  torch.optim.SGD(model.parameters(), lr=0.1), epochs=5, progress=False)
    assert all(math.isnan(a) for a in history.train_acc)
    assert history.train_loss[-1] < history.train_loss[0]


def test_evaluate_multi_output_regression_reports_nan_accuracy():
    x = torch.randn(8, 2)
    loss, acc = evaluate(nn.Linear(2, 3), [(x, torch.randn(8, 3))], nn.MSELoss())
    assert math.isnan(acc) and loss > 0


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(epochs=0), ValueError, "epochs must be a positive int"),
    (dict(model=lambda x: x), TypeError, "model must be an nn.Module"),
    (dict(optimizer="adam"), TypeError, "optimizer must be a torch.optim.Optimizer"),
    (dict(loss_fn=nn.CrossEntropyLoss(reduction="none")), ValueError, "scalar tensor"),
    (dict(train_loader=[]), ValueError, "yielded no samples"),
    (dict(train_loader=[torch.zeros(4, 2)]), TypeError, r"pair \(x, y\)"),
], ids=["zero_epochs", "function_model", "string_optimizer", "unreduced_loss", "empty_loader", "x_only"])
def test_fit_rejects_bad_arguments(kwargs, error, match):
    X, y, loader = _moons(n=20)
    model = _model()
    args = dict(model=model, train_loader=loader, loss_fn=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(model.parameters(), lr=0.1), progress=False) | kwargs
    with pytest.raises(error, match=match):
        fit(**args)


# ---- evaluate ------------------------------------------------------------------------------------

def test_evaluate_matches_one_pass_over_all_data_in_eval_mode():
    X, y = two_moons(n=50, seed=3)
    model = _model(dropout=0.5).train()
    loss, acc = evaluate(model, TensorLoader(X, y, 16), nn.CrossEntropyLoss())
    with torch.no_grad():
        logits = model.eval()(X)  # dropout off, as evaluate must have it
    torch.testing.assert_close(loss, F.cross_entropy(logits, y).item())
    torch.testing.assert_close(acc, (logits.argmax(1) == y).float().mean().item())


def test_evaluate_without_loss_fn_returns_nan_loss():
    X, y = two_moons(n=20)
    loss, acc = evaluate(_model(), TensorLoader(X, y, 8))
    assert math.isnan(loss) and 0 <= acc <= 1


def test_evaluate_runs_in_eval_mode_without_gradients():
    X, y = two_moons(n=20)
    model = RecordMode().train()
    evaluate(model, TensorLoader(X, y, 10))
    assert model.seen == [(False, False), (False, False)]


@pytest.mark.parametrize("start", ["train", "eval", "mixed"])
def test_evaluate_restores_every_submodules_mode(start):
    X, y = two_moons(n=20)
    model = _model(dropout=0.5).train(start != "eval")
    if start == "mixed":
        model[2].eval()  # e.g. a frozen part of the network
    modes = [m.training for m in model.modules()]
    evaluate(model, TensorLoader(X, y, 8))
    assert [m.training for m in model.modules()] == modes


def test_evaluate_restores_the_mode_even_when_it_raises():
    model = _model().train()
    with pytest.raises(ValueError):
        evaluate(model, [(torch.zeros(3, 2), torch.zeros(4, dtype=torch.int64))])
    assert model.training


@pytest.mark.parametrize("out_features,y,error,match", [
    (2, torch.zeros(4, dtype=torch.int64), ValueError, "batch size"),
    (2, torch.zeros(3), TypeError, "torch.int64"),
    (2, torch.tensor([0, 1, 2]), ValueError, r"must lie in \[0, 2\)"),
    (1, torch.zeros(3, 2), ValueError, "one target per sample"),
], ids=["batch_mismatch", "float_labels", "label_out_of_range", "binary_target_too_wide"])
def test_evaluate_rejects_mismatched_outputs_and_targets(out_features, y, error, match):
    with pytest.raises(error, match=match):
        evaluate(_model(out=out_features), [(torch.zeros(3, 2), y)])


def test_evaluate_rejects_outputs_of_rank_three():
    with pytest.raises(ValueError, match=r"\(N, C\), \(N, 1\) or \(N,\)"):
        predict(lambda x: torch.zeros(len(x), 2, 2), torch.zeros(3, 2))


# ---- predict -------------------------------------------------------------------------------------

def test_predict_on_a_tensor_and_on_a_loader_is_the_argmax_of_the_logits():
    X, y = two_moons(n=37)
    model = _model()
    with torch.no_grad():
        expected = model(X).argmax(dim=1)
    torch.testing.assert_close(predict(model, X, batch_size=5), expected)  # uneven chunks
    torch.testing.assert_close(predict(model, TensorLoader(X, y, 10)), expected)
    assert predict(model, X).dtype == torch.int64


def test_predict_single_logit_is_one_where_positive_and_labels_pass_through():
    z = torch.tensor([[-2.0], [0.0], [3.0]])
    torch.testing.assert_close(predict(lambda x: x, z), torch.tensor([0, 0, 1]))
    torch.testing.assert_close(predict(lambda x: x[:, 0].long(), z), torch.tensor([-2, 0, 3]))


def test_predict_restores_train_mode():
    model = _model(dropout=0.5).train()
    predict(model, torch.zeros(4, 2))
    assert all(m.training for m in model.modules())


# ---- confusion_matrix ----------------------------------------------------------------------------

def test_confusion_matrix_matches_a_count_of_pairs():
    y_true = torch.tensor([0, 1, 2, 2, 1, 0, 2, 2])
    y_pred = torch.tensor([0, 2, 2, 1, 1, 0, 0, 2])
    counts = Counter(zip(y_true.tolist(), y_pred.tolist()))
    expected = torch.tensor([[counts[(i, j)] for j in range(4)] for i in range(4)])
    cm = confusion_matrix(y_true, y_pred, num_classes=4)
    assert cm.dtype == torch.int64
    torch.testing.assert_close(cm, expected)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6).flatmap(lambda c: st.tuples(
    st.just(c), st.lists(st.tuples(st.integers(0, c - 1), st.integers(0, c - 1)), max_size=40))))
def test_confusion_matrix_rows_columns_and_diagonal_add_up(case):
    num_classes, pairs = case
    y_true = torch.tensor([t for t, _ in pairs], dtype=torch.int64)
    y_pred = torch.tensor([p for _, p in pairs], dtype=torch.int64)
    cm = confusion_matrix(y_true, y_pred, num_classes)
    assert cm.shape == (num_classes, num_classes) and cm.sum() == len(pairs)
    torch.testing.assert_close(cm.sum(dim=1), torch.bincount(y_true, minlength=num_classes))
    torch.testing.assert_close(cm.sum(dim=0), torch.bincount(y_pred, minlength=num_classes))
    assert cm.trace() == (y_true == y_pred).sum()


@pytest.mark.parametrize("y_true,y_pred,num_classes,error,match", [
    (torch.tensor([0, 1]), torch.tensor([0, 3]), 3, ValueError, r"y_pred must lie in \[0, 3\), found 3"),
    (torch.tensor([0.0, 1.0]), torch.tensor([0, 1]), 2, TypeError, "y_true must be class indices"),
    (torch.tensor([0, 1]), torch.tensor([0, 1, 1]), 2, ValueError, r"y_pred must have shape \(2,\)"),
    (torch.zeros(2, 2, dtype=torch.int64), torch.zeros(2, dtype=torch.int64), 2, ValueError, "y_true must have 1"),
    (torch.tensor([0, 1]), torch.tensor([0, 1]), 0, ValueError, "num_classes must be a positive int"),
], ids=["label_too_big", "float_labels", "length_mismatch", "two_dimensional", "zero_classes"])
def test_confusion_matrix_rejects_bad_labels(y_true, y_pred, num_classes, error, match):
    with pytest.raises(error, match=match):
        confusion_matrix(y_true, y_pred, num_classes)
