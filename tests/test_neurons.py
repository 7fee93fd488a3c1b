"""course_lib.neurons: linear against F.linear, perceptrons, gates, the learning rule."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import neurons

DTYPES = [torch.float32, torch.float64]
X_SHAPES = {"vector": (3,), "one_row": (1, 3), "batch": (5, 3), "leading_dims": (2, 4, 3),
            "empty_batch": (0, 3)}
GATE_INPUTS = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
TRUTH_TABLES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "NAND": [1, 1, 1, 0]}


@pytest.mark.parametrize("use_bias", [True, False], ids=["bias", "no_bias"])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("shape", X_SHAPES.values(), ids=X_SHAPES.keys())
def test_linear_matches_F_linear(shape, dtype, use_bias):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g, dtype=dtype)
    weight = torch.randn(2, 3, generator=g, dtype=dtype)
    bias = torch.randn(2, generator=g, dtype=dtype) if use_bias else None
    torch.testing.assert_close(neurons.linear(x, weight, bias), F.linear(x, weight, bias))


def test_linear_is_what_nn_linear_computes():
    layer = torch.nn.Linear(3, 4)
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(neurons.linear(x, layer.weight, layer.bias), layer(x))


def test_linear_gradients_match_autograd_of_F_linear():
    g = torch.Generator().manual_seed(2)
    args = [torch.randn(s, generator=g, dtype=torch.float64, requires_grad=True)
            for s in [(4, 3), (2, 3), (2,)]]
    ours = torch.autograd.grad(neurons.linear(*args).sum(), args)
    theirs = torch.autograd.grad(F.linear(*args).sum(), args)
    torch.testing.assert_close(ours, theirs)


def test_linear_does_not_modify_its_inputs():
    x, weight, bias = torch.ones(2, 3), torch.ones(4, 3), torch.ones(4)
    neurons.linear(x, weight, bias)
    assert torch.equal(x, torch.ones(2, 3)) and torch.equal(weight, torch.ones(4, 3))
    assert torch.equal(bias, torch.ones(4))


def test_linear_mismatched_in_features_names_both_shapes():
    with pytest.raises(ValueError, match=r"x of shape \(4, 5\), weight of shape \(2, 3\)"):
        neurons.linear(torch.zeros(4, 5), torch.zeros(2, 3))


@pytest.mark.parametrize("args, error, pattern", [
    ((torch.zeros(3), torch.zeros(3)), ValueError, r"weight must have 2 dimension"),
    ((torch.zeros(3), torch.zeros(2, 3), torch.zeros(3)), ValueError,
     r"bias must have shape \(2,\) to match weight of shape \(2, 3\), got \(3,\)"),
    ((torch.zeros(()), torch.zeros(2, 3)), ValueError, r"x must have at least 1 dimension"),
    ((torch.zeros(3, dtype=torch.int64), torch.zeros(2, 3)), TypeError, r"x\.float\(\)"),
    ((torch.zeros(3), torch.zeros(2, 3, dtype=torch.float64)), TypeError, "same dtype"),
    (([1.0, 2.0, 3.0], torch.zeros(2, 3)), TypeError, "x must be a torch.Tensor"),
], ids=["1d_weight", "bias_size", "scalar_x", "int_x", "dtype_mix", "list_x"])
def test_linear_bad_input_is_refused(args, error, pattern):
    with pytest.raises(error, match=pattern):
        neurons.linear(*args)


def test_perceptron_outputs_float_zeros_and_ones_with_zero_mapping_to_zero():
    weight, bias = torch.tensor([[1.0, -1.0]]), torch.tensor([0.0])
    out = neurons.perceptron(torch.tensor([[2.0, 1.0], [1.0, 1.0], [0.0, 3.0]]), weight, bias)
    assert out.dtype == torch.float32 and out.shape == (3, 1)
    assert out.squeeze(1).tolist() == [1.0, 0.0, 0.0], "z = 0 is not > 0, so it gives 0"


@pytest.mark.parametrize("gate", ["AND", "OR", "NAND", "and", "Nand"])
def test_logic_gate_weights_compute_the_truth_table(gate):
    weight, bias = neurons.logic_gate_weights(gate)
    assert weight.shape == (1, 2) and bias.shape == (1,)
    out = neurons.perceptron(GATE_INPUTS, weight, bias).squeeze(1)
    assert out.tolist() == TRUTH_TABLES[gate.upper()], f"{gate} gives {out.tolist()}"


@pytest.mark.parametrize("gate", ["XOR", "xor"])
def test_xor_gate_is_refused_because_it_is_not_linearly_separable(gate):
    with pytest.raises(ValueError, match=r"XOR is not linearly separable.*hidden layer"):
        neurons.logic_gate_weights(gate)


def test_unknown_gate_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown gate 'NOR'; expected one of AND, OR, NAND"):
        neurons.logic_gate_weights("NOR")
    with pytest.raises(TypeError, match="gate must be a string"):
        neurons.logic_gate_weights(1)


def test_xor_network_of_two_layers_computes_xor():
    (w1, b1), (w2, b2) = neurons.xor_network()
    assert (w1.shape, b1.shape, w2.shape, b2.shape) == ((2, 2), (2,), (1, 2), (1,))
    out = neurons.perceptron(neurons.perceptron(GATE_INPUTS, w1, b1), w2, b2).squeeze(1)
    assert out.tolist() == [0.0, 1.0, 1.0, 0.0]


@pytest.mark.parametrize("gate", ["AND", "OR", "NAND"])
def test_perceptron_train_learns_each_linearly_separable_gate(gate):
    y = torch.tensor(TRUTH_TABLES[gate])
    weight, bias = neurons.perceptron_train(GATE_INPUTS, y)
    assert weight.shape == (1, 2) and bias.shape == (1,) and weight.dtype == torch.float32
    assert neurons.perceptron(GATE_INPUTS, weight, bias).squeeze(1).tolist() == y.float().tolist()


def test_perceptron_train_cannot_learn_xor():
    y = torch.tensor([0, 1, 1, 0])
    weight, bias = neurons.perceptron_train(GATE_INPUTS, y, epochs=20)
    wrong = (neurons.perceptron(GATE_INPUTS, weight, bias).squeeze(1) != y).sum()
    assert wrong >= 1, "no line separates XOR, so some input must stay misclassified"


def separable_data(seed, n, n_features, dtype=torch.float32):
    """Points with labels from a random hyperplane, minus those within 0.1 of it (a margin)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, n_features, generator=g, dtype=dtype)
    w = torch.randn(n_features, generator=g, dtype=dtype)
    b = torch.randn((), generator=g, dtype=dtype)
    z = (X @ w + b) / w.norm()
    keep = z.abs() > 0.1
    return X[keep], (z[keep] > 0).long()


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4))
def test_perceptron_train_separates_linearly_separable_data(seed, n_features):
    X, y = separable_data(seed, 40, n_features)
    weight, bias = neurons.perceptron_train(X, y, epochs=1000)
    predictions = neurons.perceptron(X, weight, bias).squeeze(1)
    assert torch.equal(predictions, y.float()), f"{(predictions != y).sum()} points misclassified"


def test_perceptron_train_is_deterministic_and_keeps_the_dtype():
    X, y = separable_data(3, 30, 2, dtype=torch.float64)
    first, second = neurons.perceptron_train(X, y), neurons.perceptron_train(X, y)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert first[0].dtype == torch.float64


def test_perceptron_train_follows_the_rule_by_hand():
    # Sample 1: z = 0 -> predict 0, label 1 -> w = x = [1, 2], b = 1.
    # Sample 2: z = 2 - 2 + 1 = 1 -> predict 1, label 0 -> w = [1, 2] - [2, -1] = [-1, 3], b = 0.
    X, y = torch.tensor([[1.0, 2.0], [2.0, -1.0]]), torch.tensor([1, 0])
    weight, bias = neurons.perceptron_train(X, y, epochs=1)
    assert weight.tolist() == [[-1.0, 3.0]] and bias.tolist() == [0.0]
    weight, bias = neurons.perceptron_train(X, y, lr=0.5, epochs=1)
    assert weight.tolist() == [[-0.5, 1.5]] and bias.tolist() == [0.0]


def test_perceptron_train_stops_after_an_epoch_without_mistakes(monkeypatch):
    # Epoch 1 fixes the one mistake, epoch 2 makes none: 2 epochs of 2 predictions, not 50.
    calls = []
    original = neurons.perceptron
    monkeypatch.setattr(neurons, "perceptron", lambda *args: calls.append(1) or original(*args))
    neurons.perceptron_train(torch.tensor([[1.0], [-1.0]]), torch.tensor([1, 0]), epochs=50)
    assert len(calls) == 4, f"{len(calls)} predictions: training went on after a clean epoch"


@pytest.mark.parametrize("X, y, error, pattern", [
    (GATE_INPUTS, torch.tensor([0, 1, 2, 1]), ValueError, r"labels y must be 0 or 1, found \[2\]"),
    (GATE_INPUTS, torch.tensor([-1.0, 1, 1, 1]), ValueError, r"labels y must be 0 or 1"),
    (GATE_INPUTS, torch.tensor([0, 1, 1]), ValueError,
     r"one label per row of X.*\(4,\), got \(3,\)"),
    (GATE_INPUTS[0], torch.tensor([0]), ValueError, r"X must have 2 dimension"),
    (GATE_INPUTS.long(), torch.tensor([0, 1, 1, 1]), TypeError, r"X\.float\(\)"),
], ids=["label_2", "label_minus_1", "length", "1d_X", "int_X"])
def test_perceptron_train_bad_input_is_refused(X, y, error, pattern):
    with pytest.raises(error, match=pattern):
        neurons.perceptron_train(X, y)


def test_perceptron_train_refuses_non_positive_learning_rate():
    with pytest.raises(ValueError, match="lr must be a finite positive number, got 0"):
        neurons.perceptron_train(GATE_INPUTS, torch.tensor([0, 0, 0, 1]), lr=0)
