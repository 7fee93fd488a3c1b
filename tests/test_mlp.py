"""Tests for course_lib.mlp: the MLP against a hand-built nn.Sequential, the loops against manual sums."""
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_lib.mlp import MLP, evaluate_accuracy, train_one_epoch

ARCHS = [(3, [], 2), (3, [5], 2), (4, [8, 6], 3), (2, [16, 16, 16], 1)]
ARCH_IDS = ["no_hidden", "one_hidden", "two_hidden", "three_hidden_one_output"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny tensors: a second thread only adds contention on the shared 2-core CI machines."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def xor_data(n, generator):
    """Four Gaussian blobs around the corners of the unit square, labelled by XOR of the corner."""
    corners = torch.randint(0, 2, (n, 2), generator=generator)
    x = corners.float() + 0.1 * torch.randn(n, 2, generator=generator)
    return x, (corners[:, 0] ^ corners[:, 1]).long()


def batches(x, y, sizes):
    """Split (x, y) into consecutive batches of the given sizes, as a list of tuples."""
    return list(zip(x.split(sizes), y.split(sizes)))


@pytest.mark.parametrize("in_f, hidden, out_f", ARCHS, ids=ARCH_IDS)
def test_mlp_linear_layers_follow_the_listed_sizes(in_f, hidden, out_f):
    linears = [m for m in MLP(in_f, hidden, out_f).modules() if isinstance(m, nn.Linear)]
    sizes = [in_f, *hidden, out_f]
    assert [(m.in_features, m.out_features) for m in linears] == list(zip(sizes[:-1], sizes[1:]))


@pytest.mark.parametrize("in_f, hidden, out_f", ARCHS, ids=ARCH_IDS)
def test_mlp_has_a_relu_between_linears_and_none_after_the_last(in_f, hidden, out_f):
    kinds = [type(m) for m in MLP(in_f, hidden, out_f).layers]
    assert kinds == [nn.Linear] + [nn.ReLU, nn.Linear] * len(hidden)


@pytest.mark.parametrize("in_f, hidden, out_f", ARCHS, ids=ARCH_IDS)
def test_mlp_parameter_count_is_sum_of_weights_and_biases(in_f, hidden, out_f):
    sizes = [in_f, *hidden, out_f]
    expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    assert sum(p.numel() for p in MLP(in_f, hidden, out_f).parameters()) == expected


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("in_f, hidden, out_f", ARCHS, ids=ARCH_IDS)
def test_mlp_matches_hand_built_sequential_with_copied_weights(in_f, hidden, out_f, dtype):
    torch.manual_seed(0)
    ours = MLP(in_f, hidden, out_f).to(dtype)
    sizes = [in_f, *hidden, out_f]
    parts = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        parts += ([nn.ReLU()] if i else []) + [nn.Linear(a, b)]
    theirs = nn.Sequential(*parts).to(dtype)
    theirs.load_state_dict({k.removeprefix("layers."): v for k, v in ours.state_dict().items()})
    x = torch.randn(7, in_f, dtype=dtype)
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-6)


def test_mlp_output_has_negative_values_so_no_activation_after_last_layer():
    torch.manual_seed(0)
    assert (MLP(4, [8], 3)(torch.randn(200, 4)) < 0).any()


def test_mlp_on_images_asks_to_flatten_first():
    with pytest.raises(ValueError, match=r"\(N, 784\).*\(5, 1, 28, 28\).*x\.flatten\(1\)"):
        MLP(784, [32], 10)(torch.randn(5, 1, 28, 28))


@pytest.mark.parametrize("shape, match", [((5, 3), r"in_features=4.*\(5, 3\)"),
                                          ((4,), r"x\.unsqueeze\(0\)"),
                                          ((0, 2, 2), r"x\.flatten\(1\)")],
                         ids=["wrong_width", "single_example", "empty_image_batch"])
def test_mlp_wrong_input_shape_raises_value_error_naming_expected_and_actual(shape, match):
    with pytest.raises(ValueError, match=match):
        MLP(4, [3], 2)(torch.randn(shape))


def test_mlp_integer_input_raises_type_error():
    with pytest.raises(TypeError, match="floating dtype.*torch.uint8"):
        MLP(4, [3], 2)(torch.zeros(2, 4, dtype=torch.uint8))


def test_mlp_input_dtype_different_from_weights_raises_type_error():
    with pytest.raises(TypeError, match="float64.*float32"):
        MLP(4, [3], 2)(torch.zeros(2, 4, dtype=torch.float64))


@pytest.mark.parametrize("args, error, match", [
    ((4, 8, 2), TypeError, r"hidden_sizes must be a list.*int 8"),
    ((4, "8", 2), TypeError, r"hidden_sizes must be a list"),
    ((4, [8, 0], 2), ValueError, r"hidden_sizes\[1\] must be a positive int, got 0"),
    ((4, [8.0], 2), TypeError, r"hidden_sizes\[0\] must be an int"),
    ((0, [8], 2), ValueError, r"in_features must be a positive int"),
    ((4, [8], -1), ValueError, r"out_features must be a positive int"),
], ids=["int_hidden", "str_hidden", "zero_width", "float_width", "zero_in", "negative_out"])
def test_mlp_bad_sizes_raise(args, error, match):
    with pytest.raises(error, match=match):
        MLP(*args)


def test_train_one_epoch_weights_batch_losses_by_batch_size():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(10, 3, generator=g), torch.randint(0, 2, (10,), generator=g)
    model = MLP(3, [4], 2)
    loader = batches(x, y, [6, 3, 1])  # unequal sizes, smaller last batch
    loss_fn = nn.CrossEntropyLoss()
    with torch.no_grad():
        batch_losses = [loss_fn(model(xb), yb).item() for xb, yb in loader]
    expected = (6 * batch_losses[0] + 3 * batch_losses[1] + 1 * batch_losses[2]) / 10
    naive = sum(batch_losses) / 3
    assert abs(expected - naive) > 1e-3  # otherwise the test could not tell the two apart
    # lr=0: the weights never change, so every batch loss is the one computed above
    got = train_one_epoch(model, loader, loss_fn, torch.optim.SGD(model.parameters(), lr=0.0))
    assert isinstance(got, float)
    assert got == pytest.approx(expected, rel=1e-6)


def test_train_one_epoch_clears_gradients_before_each_batch():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(9, 3, generator=g), torch.randint(0, 2, (9,), generator=g)
    model, loss_fn = MLP(3, [4], 2), nn.CrossEntropyLoss()
    loader = batches(x, y, [4, 4, 1])
    train_one_epoch(model, loader, loss_fn, torch.optim.SGD(model.parameters(), lr=0.0))
    # after the epoch .grad must hold the last batch's gradient only, not a sum over batches
    reference = MLP(3, [4], 2)
    reference.load_state_dict(model.state_dict())
    loss_fn(reference(loader[-1][0]), loader[-1][1]).backward()
    for ours, theirs in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(ours.grad, theirs.grad)


def test_train_one_epoch_loss_decreases_and_solves_xor():
    g = torch.Generator().manual_seed(0)
    x, y = xor_data(256, g)
    torch.manual_seed(0)
    model = MLP(2, [16], 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(x, y), batch_size=50, shuffle=True,
                        generator=torch.Generator().manual_seed(0))  # 256 = 5 * 50 + 6
    losses = [train_one_epoch(model, loader, nn.CrossEntropyLoss(), optimizer) for _ in range(30)]
    assert losses[-1] < 0.25 * losses[0]
    assert evaluate_accuracy(model, loader) > 0.95


def test_train_one_epoch_puts_model_in_train_mode():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).eval()
    seen = []
    model[1].register_forward_hook(lambda m, i, o: seen.append(m.training))
    x, y = torch.randn(4, 2), torch.tensor([0, 1, 0, 1])
    train_one_epoch(model, [(x, y)], nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1))
    assert seen == [True] and model.training and model[1].training


@pytest.mark.parametrize("loader", [[], iter([])], ids=["empty_list", "exhausted_iterator"])
def test_train_one_epoch_empty_loader_raises(loader):
    model = MLP(2, [], 2)
    with pytest.raises(ValueError, match="no samples"):
        train_one_epoch(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1))


def test_train_one_epoch_unreduced_loss_raises():
    model = MLP(2, [], 2)
    with pytest.raises(ValueError, match=r"scalar.*\(3,\).*reduction='mean'"):
        train_one_epoch(model, [(torch.randn(3, 2), torch.tensor([0, 1, 1]))],
                        nn.CrossEntropyLoss(reduction="none"), torch.optim.SGD(model.parameters(), lr=0.1))


def test_train_one_epoch_batch_that_is_not_a_pair_raises():
    model = MLP(2, [], 2)
    with pytest.raises(TypeError, match=r"pair \(x, y\), got tuple of length 3"):
        train_one_epoch(model, [(torch.randn(3, 2),) * 3], nn.CrossEntropyLoss(),
                        torch.optim.SGD(model.parameters(), lr=0.1))


def test_evaluate_accuracy_counts_correct_argmax_over_all_batches():
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(23, 5, generator=g), torch.randint(0, 3, (23,), generator=g)
    model = MLP(5, [7], 3)
    with torch.no_grad():
        expected = (model(x).argmax(dim=1) == y).float().mean().item()
    got = evaluate_accuracy(model, batches(x, y, [10, 10, 3]))
    assert isinstance(got, float)
    assert got == pytest.approx(expected)
    assert 0 < got < 1  # so a planted off-by-one in counting shows


def test_evaluate_accuracy_single_logit_is_read_as_binary():
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(1.0)
        model.bias.zero_()
    x = torch.tensor([[-2.0], [-1.0], [1.0], [2.0]])
    assert evaluate_accuracy(model, [(x, torch.tensor([0, 1, 1, 1]))]) == 0.75
    assert evaluate_accuracy(model, [(x, torch.tensor([[0.0], [0.0], [1.0], [1.0]]))]) == 1.0


@pytest.mark.parametrize("start_in_train", [True, False], ids=["from_train", "from_eval"])
def test_evaluate_accuracy_runs_in_eval_mode_and_restores_the_mode(start_in_train):
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model.train(start_in_train)
    seen = []
    model[1].register_forward_hook(lambda m, i, o: seen.append(m.training))
    evaluate_accuracy(model, [(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))])
    assert seen == [False]
    assert all(m.training == start_in_train for m in model.modules())


def test_evaluate_accuracy_restores_mixed_submodule_modes():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Linear(2, 2)).train()
    model[1].eval()  # e.g. dropout switched off on purpose while the rest trains
    evaluate_accuracy(model, [(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))])
    assert [m.training for m in model] == [True, False, True]


def test_evaluate_accuracy_restores_train_mode_after_an_exception():
    model = MLP(2, [3], 2).train()

    def broken_loader():
        yield torch.randn(4, 2), torch.tensor([0, 1, 0, 1])
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        evaluate_accuracy(model, broken_loader())
    assert all(m.training for m in model.modules())


def test_evaluate_accuracy_builds_no_graph():
    model = MLP(2, [3], 2)
    seen = []
    model.layers[-1].register_forward_hook(
        lambda m, i, o: seen.append((torch.is_grad_enabled(), o.requires_grad)))
    evaluate_accuracy(model, [(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))])
    assert seen == [(False, False)]
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("loader", [[], iter([])], ids=["empty_list", "exhausted_iterator"])
def test_evaluate_accuracy_empty_loader_raises(loader):
    with pytest.raises(ValueError, match="no samples.*accuracy is undefined"):
        evaluate_accuracy(MLP(2, [], 2), loader)


def test_evaluate_accuracy_label_count_mismatch_raises():
    with pytest.raises(ValueError, match=r"one label per sample, shape \(4,\), got shape \(3,\)"):
        evaluate_accuracy(MLP(2, [], 2), [(torch.randn(4, 2), torch.tensor([0, 1, 0]))])


def test_loops_accept_course_lib_tensor_loader():
    from course_lib.data import TensorLoader
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(10, 3, generator=g), torch.randint(0, 2, (10,), generator=g)
    model = MLP(3, [4], 2)
    loader = TensorLoader(x, y, batch_size=4)  # batches of 4, 4, 2
    with torch.no_grad():
        expected_loss = nn.functional.cross_entropy(model(x), y).item()
        expected_acc = (model(x).argmax(dim=1) == y).float().mean().item()
    got = train_one_epoch(model, loader, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.0))
    assert got == pytest.approx(expected_loss, rel=1e-6)
    assert evaluate_accuracy(model, loader) == pytest.approx(expected_acc)
