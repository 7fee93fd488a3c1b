"""Tests for course_lib.overfitting against PyTorch, numpy and hand-worked sequences."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_lib.overfitting import (EarlyStopping, augment_shift, dropout, fit_polynomial, l1_penalty,
                                    l2_penalty, polynomial_features, train_val_split)

DTYPES = [torch.float32, torch.float64]
DTYPE_IDS = ["float32", "float64"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: a second thread only adds contention on the shared 2-core CI machines."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def some_params(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=dtype, requires_grad=True)
            for shape in [(3, 4), (4,), (), (0, 2)]]  # matrix, vector, scalar, empty


# penalties

@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("lam", [0.0, 0.01, 3])
@pytest.mark.parametrize("ours, order", [(l1_penalty, 1), (l2_penalty, 2)], ids=["l1", "l2"])
def test_penalty_is_lam_times_sum_of_norms(ours, order, lam, dtype):
    params = some_params(dtype)
    expected = lam * sum(torch.linalg.vector_norm(p.detach(), ord=order) ** order for p in params)
    got = ours(params, lam)
    assert got.dim() == 0 and got.dtype == dtype
    torch.testing.assert_close(got, torch.as_tensor(expected, dtype=dtype), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("ours, grad_rule", [(l1_penalty, lambda p, lam: lam * p.sign()),
                                             (l2_penalty, lambda p, lam: 2 * lam * p)], ids=["l1", "l2"])
def test_penalty_gradient_matches_its_formula(ours, grad_rule):
    params = some_params(torch.float64)
    ours(params, 0.3).backward()
    for p in params:
        torch.testing.assert_close(p.grad, grad_rule(p.detach(), 0.3))


@pytest.mark.parametrize("ours", [l1_penalty, l2_penalty], ids=["l1", "l2"])
def test_penalty_accepts_model_parameters_generator(ours):
    model = nn.Linear(3, 2)
    torch.testing.assert_close(ours(model.parameters(), 0.5), ours(list(model.parameters()), 0.5))


def test_l2_penalty_with_lam_half_weight_decay_equals_sgd_weight_decay():
    torch.manual_seed(0)
    a, b = nn.Linear(3, 2).double(), nn.Linear(3, 2).double()
    b.load_state_dict(a.state_dict())
    l2_penalty(a.parameters(), 0.1 / 2).backward()
    torch.optim.SGD(a.parameters(), lr=0.5).step()
    for p in b.parameters():
        p.grad = torch.zeros_like(p)  # no data loss: only the decay acts
    torch.optim.SGD(b.parameters(), lr=0.5, weight_decay=0.1).step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)


@pytest.mark.parametrize("ours", [l1_penalty, l2_penalty], ids=["l1", "l2"])
@pytest.mark.parametrize("lam, error, match", [(-0.1, ValueError, r"lam must be a finite non-negative .*-0.1"),
                                               (math.nan, ValueError, r"lam must be a finite non-negative .*nan"),
                                               ("0.1", TypeError, r"lam must be a real number")],
                         ids=["negative", "nan", "string"])
def test_penalty_bad_lam_raises(ours, lam, error, match):
    with pytest.raises(error, match=match):
        ours([torch.ones(2)], lam)


@pytest.mark.parametrize("ours", [l1_penalty, l2_penalty], ids=["l1", "l2"])
def test_penalty_on_used_up_generator_explains_why(ours):
    params = nn.Linear(2, 2).parameters()
    list(params)  # e.g. an optimizer already consumed it
    with pytest.raises(ValueError, match=r"params is empty.*model.parameters\(\) again"):
        ours(params, 0.1)


@pytest.mark.parametrize("ours", [l1_penalty, l2_penalty], ids=["l1", "l2"])
def test_penalty_integer_param_raises_type_error(ours):
    with pytest.raises(TypeError, match=r"params\[1\] must have a floating dtype.*torch.int64"):
        ours([torch.ones(2), torch.ones(2, dtype=torch.int64)], 0.1)


# dropout

@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("p", [0.0, 1.0], ids=["p0", "p1"])
def test_dropout_matches_torch_at_p_0_and_1(p, dtype):
    x = torch.tensor([1.5, -2.0, 0.0, math.inf, math.nan], dtype=dtype)
    torch.testing.assert_close(dropout(x, p), F.dropout(x, p, training=True), equal_nan=True)


@pytest.mark.parametrize("p", [0.0, 0.5, 1.0])
def test_dropout_not_training_returns_x_itself(p):
    x = torch.randn(4, 3)
    assert dropout(x, p, training=False) is x


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_zero_rate_is_p_and_matches_torch_rate(p):
    x = torch.ones(1_000_000)
    ours = (dropout(x, p, generator=torch.Generator().manual_seed(0)) == 0).float().mean().item()
    torch.manual_seed(0)
    theirs = (F.dropout(x, p) == 0).float().mean().item()
    five_sigma = 5 * math.sqrt(p * (1 - p) / x.numel())
    assert abs(ours - p) < five_sigma
    assert abs(ours - theirs) < 2 * five_sigma


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("p", [0.2, 0.75])
def test_dropout_survivors_are_scaled_like_torch(p, dtype):
    x = torch.rand(10_000, dtype=dtype) + 0.5  # no exact zeros, so zeros in the output are dropped
    out = dropout(x, p, generator=torch.Generator().manual_seed(1))
    theirs = F.dropout(x, p)
    kept, kept_theirs = out != 0, theirs != 0
    torch.testing.assert_close(out[kept], x[kept] / (1 - p))
    torch.testing.assert_close(theirs[kept_theirs], x[kept_theirs] / (1 - p))  # the same rule


@pytest.mark.parametrize("p", [0.3, 0.8])
def test_dropout_preserves_the_expectation(p):
    x = torch.full((1_000_000,), 2.0, dtype=torch.float64)
    mean = dropout(x, p, generator=torch.Generator().manual_seed(2)).mean().item()
    std_of_mean = 2.0 * math.sqrt(p / (1 - p) / x.numel())
    assert abs(mean - 2.0) < 5 * std_of_mean


def test_dropout_is_deterministic_given_a_generator():
    x = torch.randn(100)
    a = dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    b = dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    c = dropout(x, 0.5, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_dropout_gradient_flows_to_survivors_only():
    x = (torch.rand(1000, dtype=torch.float64) + 0.5).requires_grad_()
    out = dropout(x, 0.4, generator=torch.Generator().manual_seed(3))
    out.sum().backward()
    kept = (out != 0).double()
    torch.testing.assert_close(x.grad, kept / 0.6)


def test_dropout_does_not_modify_its_input():
    x = torch.randn(50)
    before = x.clone()
    dropout(x, 0.5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, before)


@settings(max_examples=50, deadline=None)
@given(p=st.floats(0.0, 0.99), seed=st.integers(0, 2**31))
def test_dropout_each_element_is_zero_or_scaled_input(p, seed):
    x = torch.randn(64, dtype=torch.float64)
    out = dropout(x, p, generator=torch.Generator().manual_seed(seed))
    assert ((out == 0) | torch.isclose(out, x / (1 - p))).all()


@pytest.mark.parametrize("p, error, match", [(-0.1, ValueError, r"p must be between 0.0 and 1.0.*-0.1"),
                                             (1.5, ValueError, r"p must be between 0.0 and 1.0.*1.5"),
                                             (math.nan, ValueError, r"got nan"),
                                             ("0.5", TypeError, r"p must be a real number")],
                         ids=["negative", "above_one", "nan", "string"])
def test_dropout_bad_p_raises(p, error, match):
    with pytest.raises(error, match=match):
        dropout(torch.ones(3), p)


def test_dropout_integer_input_raises_type_error():
    with pytest.raises(TypeError, match="floating dtype"):
        dropout(torch.ones(3, dtype=torch.int64), 0.5)


# early stopping

NAN, INF = math.nan, math.inf
STOPPING_CASES = [
    # (patience, min_delta, losses, expected step results, best_loss, best_epoch)
    (2, 0.0, [5, 4, 3, 2], [False] * 4, 2, 3),
    (2, 0.0, [1, 1, 1], [False, False, True], 1, 0),  # a plateau is not an improvement
    (2, 0.0, [1, 2, 3, 0.5, 0.6, 0.7], [False, False, True, False, False, True], 0.5, 3),
    (3, 0.0, [1, 2, 3, 0.5, 0.6, 0.7], [False] * 6, 0.5, 3),  # the counter resets on improvement
    (2, 0.1, [1.0, 0.95, 0.9, 0.85], [False, False, True, False], 0.85, 3),  # 0.9 is not < 1.0 - 0.1
    (1, 0.0, [3, 2, 2], [False, False, True], 2, 1),
    (2, 0.0, [1.0, NAN, NAN], [False, False, True], 1.0, 0),  # nan never improves
    (2, 0.0, [1.0, 2.0, 3.0, 4.0], [False, False, True, True], 1.0, 0),  # stays True
]


@pytest.mark.parametrize("patience, min_delta, losses, expected, best_loss, best_epoch", STOPPING_CASES,
                         ids=["decreasing", "plateau", "patience2", "patience3", "min_delta", "patience1",
                              "nan", "keeps_saying_stop"])
def test_early_stopping_sequences(patience, min_delta, losses, expected, best_loss, best_epoch):
    stopper = EarlyStopping(patience=patience, min_delta=min_delta)
    assert [stopper.step(loss) for loss in losses] == expected
    assert isinstance(stopper.best_loss, float)
    assert stopper.best_loss == best_loss and stopper.best_epoch == best_epoch


def test_early_stopping_defaults_are_patience_3_and_no_min_delta():
    stopper = EarlyStopping()
    assert [stopper.step(x) for x in [1.0, 1.0, 1.0, 1.0]] == [False, False, False, True]


def test_early_stopping_accepts_a_scalar_tensor_and_stores_a_float():
    stopper = EarlyStopping()
    stopper.step(torch.tensor(0.25))
    assert stopper.best_loss == 0.25 and type(stopper.best_loss) is float


def test_early_stopping_inf_loss_is_never_best():
    stopper = EarlyStopping()
    stopper.step(INF)
    assert (stopper.best_loss, stopper.best_epoch) == (INF, -1)
    stopper.step(10.0)
    assert (stopper.best_loss, stopper.best_epoch) == (10.0, 1)


@pytest.mark.parametrize("kwargs, error, match", [({"patience": 0}, ValueError, "patience must be a positive int"),
                                                  ({"patience": 2.0}, TypeError, "patience must be an int"),
                                                  ({"min_delta": -0.1}, ValueError, "min_delta must be a finite non-")],
                         ids=["zero_patience", "float_patience", "negative_min_delta"])
def test_early_stopping_bad_settings_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        EarlyStopping(**kwargs)


@pytest.mark.parametrize("loss, error, match", [(torch.ones(2), ValueError, r"single number.*\(2,\)"),
                                                ("0.5", TypeError, "val_loss must be a real number")],
                         ids=["vector_tensor", "string"])
def test_early_stopping_bad_loss_raises(loss, error, match):
    with pytest.raises(error, match=match):
        EarlyStopping().step(loss)


# train/validation split

@pytest.mark.parametrize("n, fraction, n_val", [(10, 0.3, 3), (100, 0.29, 28), (7, 0.5, 3),
                                                (0, 0.5, 0), (5, 0.0, 0), (5, 1.0, 5)],
                         ids=["10x0.3", "float_rounding_100x0.29", "7x0.5", "empty", "no_val", "all_val"])
def test_train_val_split_is_a_disjoint_cover_with_int_n_times_fraction_val(n, fraction, n_val):
    train_idx, val_idx = train_val_split(n, fraction)
    assert train_idx.dtype == val_idx.dtype == torch.int64
    assert len(val_idx) == n_val == int(n * fraction) and len(train_idx) == n - n_val
    assert torch.equal(torch.cat([train_idx, val_idx]).sort().values, torch.arange(n))


def test_train_val_split_is_shuffled_and_determined_by_seed():
    a, b = train_val_split(100, 0.2, seed=1), train_val_split(100, 0.2, seed=1)
    c = train_val_split(100, 0.2, seed=2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])
    assert not torch.equal(a[1], a[1].sort().values)  # not just the last 20 in order


@pytest.mark.parametrize("args, error, match", [((-1, 0.2), ValueError, "n must be a non-negative int"),
                                                ((10, 1.5), ValueError, "val_fraction must be between 0.0 and 1.0"),
                                                ((10, -0.1), ValueError, "val_fraction must be between"),
                                                ((10.0, 0.2), TypeError, "n must be an int"),
                                                ((10, 0.2, 1.5), TypeError, "seed must be an int")],
                         ids=["negative_n", "fraction_above_one", "negative_fraction", "float_n", "float_seed"])
def test_train_val_split_bad_arguments_raise(args, error, match):
    with pytest.raises(error, match=match):
        train_val_split(*args)


# polynomial fits

@pytest.mark.parametrize("degree", [0, 1, 5])
def test_polynomial_features_match_numpy_vander(degree):
    x = torch.linspace(-1, 1, 9, dtype=torch.float64)
    expected = torch.from_numpy(np.vander(x.numpy(), degree + 1, increasing=True))
    torch.testing.assert_close(polynomial_features(x, degree), expected)


def test_polynomial_features_bad_input_raises():
    with pytest.raises(ValueError, match="x must have 1 dimension"):
        polynomial_features(torch.ones(3, 1), 2)
    with pytest.raises(ValueError, match="degree must be a non-negative int"):
        polynomial_features(torch.ones(3), -1)


def noisy_cubic(n=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=g, dtype=torch.float64) * 2 - 1
    return x, 1 - 2 * x + 0.5 * x**3 + 0.1 * torch.randn(n, generator=g, dtype=torch.float64)


def test_fit_polynomial_without_penalty_matches_numpy_lstsq():
    x, y = noisy_cubic()
    X = np.vander(x.numpy(), 6, increasing=True)
    expected = torch.from_numpy(np.linalg.lstsq(X, y.numpy(), rcond=None)[0])
    torch.testing.assert_close(fit_polynomial(x, y, 5), expected)


@pytest.mark.parametrize("l2", [1e-3, 0.1, 10.0])
def test_fit_polynomial_with_penalty_solves_the_ridge_normal_equations(l2):
    x, y = noisy_cubic()
    X = np.vander(x.numpy(), 8, increasing=True)
    D = np.diag([0.0] + [1.0] * 7)  # the constant term is not penalised
    expected = torch.from_numpy(np.linalg.solve(X.T @ X + l2 * D, X.T @ y.numpy()))
    torch.testing.assert_close(fit_polynomial(x.float(), y.float(), 7, l2=l2), expected, rtol=1e-4, atol=1e-5)
    # tolerance: x and y were rounded to float32 before the fit


def test_fit_polynomial_recovers_an_exact_polynomial():
    x = torch.linspace(-1, 1, 20, dtype=torch.float64)
    got = fit_polynomial(x, 0.5 - x + 2 * x**2 - 3 * x**3, 3)
    assert got.dtype == torch.float64 and got.shape == (4,)
    torch.testing.assert_close(got, torch.tensor([0.5, -1.0, 2.0, -3.0], dtype=torch.float64))


def test_fit_polynomial_penalty_shrinks_the_coefficients():
    x, y = noisy_cubic(n=12)
    norms = [fit_polynomial(x, y, 9, l2=l2)[1:].norm().item() for l2 in [0.0, 1e-4, 1e-2, 1.0, 100.0]]
    assert all(a > b for a, b in zip(norms, norms[1:]))


def test_fit_polynomial_huge_penalty_gives_the_flat_line_at_the_mean():
    x, y = noisy_cubic()
    got = fit_polynomial(x, y, 4, l2=1e12)
    torch.testing.assert_close(got, torch.cat([y.mean().reshape(1), torch.zeros(4, dtype=torch.float64)]),
                               rtol=1e-5, atol=1e-6)


def test_fit_polynomial_with_more_coefficients_than_points_interpolates():
    x, y = noisy_cubic(n=10)
    w = fit_polynomial(x, y, 15)
    assert torch.isfinite(w).all()
    torch.testing.assert_close(polynomial_features(x, 15) @ w, y, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("args, error, match", [((torch.ones(3), torch.ones(4), 2), ValueError, "same shape"),
                                                ((torch.ones(3), torch.ones(3), 2, -1.0), ValueError, "l2 must be a finite non-"),
                                                ((torch.ones(3), torch.ones(3, dtype=torch.int64), 2), TypeError,
                                                 "y must have a floating dtype")],
                         ids=["length_mismatch", "negative_l2", "integer_y"])
def test_fit_polynomial_bad_input_raises(args, error, match):
    with pytest.raises(error, match=match):
        fit_polynomial(*args)


# augmentation by shifting

def shifted(image, dy, dx):
    """Independent reference: roll, then zero the rows/columns that wrapped around.  (C, H, W)"""
    out = torch.roll(image, shifts=(dy, dx), dims=(1, 2))
    if dy > 0:
        out[:, :dy] = 0
    elif dy < 0:
        out[:, dy:] = 0
    if dx > 0:
        out[:, :, :dx] = 0
    elif dx < 0:
        out[:, :, dx:] = 0
    return out


def test_augment_shift_moves_each_image_by_one_allowed_shift_and_uses_them_all():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(200, 2, 6, 7, generator=g) + 0.1  # no zero pixels, so every shift is distinguishable
    out = augment_shift(images, 1, generator=g)
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    used = []
    for image, result in zip(images, out):
        matches = [s for s in shifts if torch.equal(result, shifted(image, *s))]
        assert len(matches) == 1
        used.append(matches[0])
    assert set(used) == set(shifts)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.uint8], ids=["float32", "float64", "uint8"])
def test_augment_shift_keeps_shape_and_dtype_and_leaves_input_alone(dtype):
    images = (torch.rand(5, 1, 28, 28) * 255).to(dtype)
    before = images.clone()
    out = augment_shift(images, 2, generator=torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == dtype
    assert torch.equal(images, before)


def test_augment_shift_zero_is_a_copy():
    images = torch.rand(3, 1, 4, 4)
    out = augment_shift(images, 0)
    assert torch.equal(out, images) and out.data_ptr() != images.data_ptr()


def test_augment_shift_is_deterministic_given_a_generator():
    images = torch.rand(10, 1, 8, 8)
    a = augment_shift(images, 2, generator=torch.Generator().manual_seed(5))
    b = augment_shift(images, 2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_augment_shift_bad_input_raises():
    with pytest.raises(ValueError, match=r"images must have 4 dimension\(s\), got shape \(28, 28\)"):
        augment_shift(torch.rand(28, 28), 1)
    with pytest.raises(ValueError, match="max_shift must be a non-negative int"):
        augment_shift(torch.rand(1, 1, 28, 28), -1)
