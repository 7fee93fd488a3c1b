"""Tests for course_lib.data: toy sets, TensorLoader, and MNIST from files, cache or download."""
import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from course_lib import data
from course_lib.data import mnist

CLASSIFICATION = [data.xor, data.two_moons, data.spirals, data.blobs]
REGRESSION = [data.noisy_line, data.noisy_polynomial]
TOY = CLASSIFICATION + REGRESSION
SHARED = Path(os.environ.get("COURSE_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data")
HAVE_MNIST = all((SHARED / "MNIST" / "raw" / f"{name}.gz").is_file() for name in data.MNIST_FILES)
needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason=f"the MNIST archives are not in {SHARED}/MNIST/raw "
                                 f"(set COURSE_DATA_DIR to a folder holding MNIST/raw/*.gz)")


def _name(f):
    return f.__name__


# ---- toy data sets ----------------------------------------------------------------------------

@pytest.mark.parametrize("make", CLASSIFICATION, ids=_name)
def test_classification_sets_have_documented_shapes_and_dtypes(make):
    X, y = make(n=60)
    assert X.shape == (60, 2) and X.dtype == torch.float32
    assert y.shape == (60,) and y.dtype == torch.int64


@pytest.mark.parametrize("make", REGRESSION, ids=_name)
def test_regression_sets_return_1d_float32_x_and_y(make):
    x, y = make(n=40)
    assert x.shape == (40,) and y.shape == (40,)
    assert x.dtype == y.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("make", TOY, ids=_name)
def test_same_seed_gives_same_data_and_other_seed_other_data(make):
    a, b, c = make(seed=3), make(seed=3), make(seed=4)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a[0], c[0]), "changing the seed must change the points"


@pytest.mark.parametrize("make", TOY, ids=_name)
def test_toy_sets_leave_the_global_random_state_alone(make):
    before = torch.random.get_rng_state()
    make()
    assert torch.equal(torch.random.get_rng_state(), before)


@pytest.mark.parametrize("make,num_classes", [(data.xor, 2), (data.two_moons, 2), (data.spirals, 3),
                                              (data.blobs, 2)], ids=["xor", "two_moons", "spirals", "blobs"])
@pytest.mark.parametrize("n", [99, 300])
def test_classes_are_balanced_within_one_sample(make, num_classes, n):
    counts = torch.bincount(make(n=n)[1], minlength=num_classes)
    assert len(counts) == num_classes and counts.max() - counts.min() <= 1, counts


def test_spirals_and_blobs_make_the_number_of_classes_asked_for():
    assert set(data.spirals(n=100, classes=5)[1].tolist()) == set(range(5))
    assert set(data.blobs(n=100, centers=4)[1].tolist()) == set(range(4))


def _least_squares_accuracy(X, y):
    """Accuracy of the linear classifier sign([X, 1] w) fitted by least squares to targets -1/+1."""
    A = torch.cat([X.double(), torch.ones(len(X), 1, dtype=torch.float64)], dim=1)
    target = (2 * y - 1).double()
    w = torch.linalg.lstsq(A, target[:, None]).solution
    return ((A @ w).squeeze(1).sign() == target).double().mean().item()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_blobs_are_linearly_separable_at_the_defaults(seed):
    X, y = data.blobs(seed=seed)
    assert _least_squares_accuracy(X, y) == 1.0, "a straight line should separate the two blobs"


def test_xor_is_not_linearly_separable():
    X, y = data.xor(n=400)
    assert _least_squares_accuracy(X, y) < 0.8, "XOR must need a hidden layer"


def test_xor_without_noise_sits_on_the_corners_with_xor_labels():
    X, y = data.xor(n=40, noise=0.0)
    assert set(X.flatten().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(y, (X[:, 0] != X[:, 1]).long())


def test_two_moons_without_noise_lie_on_two_unit_half_circles():
    X, y = data.two_moons(n=100, noise=0.0)
    upper, lower = X[y == 0], X[y == 1]
    torch.testing.assert_close(upper.norm(dim=1), torch.ones(len(upper)))
    assert (upper[:, 1] >= 0).all()
    torch.testing.assert_close((lower - torch.tensor([1.0, 0.5])).norm(dim=1), torch.ones(len(lower)))
    assert (lower[:, 1] <= 0.5).all()


def test_noisy_line_without_noise_is_the_line():
    x, y = data.noisy_line(n=20, slope=-3.0, intercept=0.5, noise=0.0)
    torch.testing.assert_close(y, -3.0 * x + 0.5)


def test_noisy_line_least_squares_recovers_slope_and_intercept():
    x, y = data.noisy_line(n=2000, noise=0.5)
    A = torch.stack([x, torch.ones_like(x)], dim=1).double()
    slope, intercept = torch.linalg.lstsq(A, y.double()[:, None]).solution.squeeze(1).tolist()
    assert abs(slope - 2.0) < 0.1 and abs(intercept + 1.0) < 0.1


def test_noisy_polynomial_without_noise_matches_numpy_polyval():
    coeffs = (0.5, -1.0, 2.0, 0.25)
    x, y = data.noisy_polynomial(n=25, coeffs=coeffs, noise=0.0)
    expected = np.polyval(coeffs[::-1], x.double().numpy())  # polyval wants the highest power first
    torch.testing.assert_close(y, torch.from_numpy(expected).float())


@pytest.mark.parametrize("call,error,match", [
    (lambda: data.xor(n=0), ValueError, "n must be a positive int"),
    (lambda: data.two_moons(n=2.5), TypeError, "n must be an int"),
    (lambda: data.spirals(noise=-0.1), ValueError, "noise must be between 0"),
    (lambda: data.blobs(std=-1.0), ValueError, "std must be between 0"),
    (lambda: data.blobs(centers=0), ValueError, "centers must be a positive int"),
    (lambda: data.spirals(classes=0), ValueError, "classes must be a positive int"),
    (lambda: data.xor(seed=1.5), TypeError, "seed must be an int"),
    (lambda: data.noisy_polynomial(coeffs=()), ValueError, "at least one coefficient"),
], ids=["n_zero", "n_float", "negative_noise", "negative_std", "no_centers", "no_classes",
        "float_seed", "no_coeffs"])
def test_toy_sets_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---- TensorLoader -----------------------------------------------------------------------------

def _xy(n=10):
    return torch.arange(2 * n, dtype=torch.float32).reshape(n, 2), torch.arange(n)


@pytest.mark.parametrize("n,batch_size,drop_last,expected", [
    (10, 3, False, 4), (10, 3, True, 3), (9, 3, False, 3), (2, 5, False, 1), (2, 5, True, 0)])
def test_tensor_loader_len_counts_batches_like_dataloader(n, batch_size, drop_last, expected):
    X, y = _xy(n)
    loader = data.TensorLoader(X, y, batch_size, drop_last=drop_last)
    reference = DataLoader(TensorDataset(X, y), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(reference) == expected == len(list(loader))


def test_tensor_loader_without_shuffle_yields_the_same_batches_as_dataloader():
    X, y = _xy(10)
    ours = list(data.TensorLoader(X, y, batch_size=4))
    theirs = list(DataLoader(TensorDataset(X, y), batch_size=4))
    for (xb, yb), (xt, yt) in zip(ours, theirs, strict=True):
        torch.testing.assert_close(xb, xt)
        torch.testing.assert_close(yb, yt)


def test_tensor_loader_shuffle_keeps_pairs_together_and_covers_every_sample_once():
    X, y = _xy(11)
    batches = list(data.TensorLoader(X, y, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0)))
    xs, ys = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    torch.testing.assert_close(xs, X[ys], msg="x and y of one sample must stay paired")
    assert sorted(ys.tolist()) == list(range(11))
    assert ys.tolist() != list(range(11)), "shuffle=True should change the order"


def test_tensor_loader_shuffle_is_reproducible_by_generator_and_new_each_epoch():
    X, y = _xy(50)
    first = data.TensorLoader(X, y, 8, shuffle=True, generator=torch.Generator().manual_seed(1))
    second = data.TensorLoader(X, y, 8, shuffle=True, generator=torch.Generator().manual_seed(1))
    epoch1 = torch.cat([yb for _, yb in first])
    torch.testing.assert_close(epoch1, torch.cat([yb for _, yb in second]))
    assert not torch.equal(epoch1, torch.cat([yb for _, yb in first])), "each epoch needs a new order"


def test_tensor_loader_exposes_dataset_and_batch_size_like_dataloader():
    X, y = _xy(7)
    loader = data.TensorLoader(X, y, batch_size=3)
    assert len(loader.dataset) == 7 and loader.batch_size == 3


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(X=torch.zeros(10, 2), y=torch.zeros(9)), ValueError, r"X of shape \(10, 2\) and y of shape \(9,\)"),
    (dict(batch_size=0), ValueError, "batch_size must be a positive int"),
    (dict(batch_size=2.0), TypeError, "batch_size must be an int"),
    (dict(X=[[1.0, 2.0]]), TypeError, "X must be a torch.Tensor"),
    (dict(generator=0), TypeError, "generator must be a torch.Generator"),
], ids=["length_mismatch", "zero_batch", "float_batch", "list_X", "int_generator"])
def test_tensor_loader_rejects_bad_arguments(kwargs, error, match):
    args = dict(X=torch.zeros(10, 2), y=torch.zeros(10), batch_size=4) | kwargs
    with pytest.raises(error, match=match):
        data.TensorLoader(**args)


# ---- MNIST from hand-made files (no real data needed) -------------------------------------------

def _write_idx(path: Path, values: torch.Tensor, gz: bool) -> None:
    """Write uint8 values as an IDX file: magic 0x0000 08 ndim, big-endian sizes, then the bytes."""
    header = struct.pack(f">I{values.dim()}I", 0x0800 + values.dim(), *values.shape)
    payload = header + values.to(torch.uint8).numpy().tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        payload = gzip.compress(payload)
    path.write_bytes(payload)


def _fake_mnist(root: Path, n: int = 5, gz: bool = True, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    images = (torch.arange(n * 28 * 28).reshape(n, 28, 28) * 7 + offset) % 256
    labels = (torch.arange(n) + offset) % 10
    for split in ("train", "t10k"):
        _write_idx(root / "MNIST" / "raw" / f"{split}-images-idx3-ubyte", images, gz)
        _write_idx(root / "MNIST" / "raw" / f"{split}-labels-idx1-ubyte", labels, gz)
    return images, labels


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """Empty data and cache folders, pointed to by the environment variables."""
    data_dir, cache = tmp_path / "data", tmp_path / "cache"
    data_dir.mkdir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("COURSE_CACHE_DIR", str(cache))
    return data_dir, cache


@pytest.mark.parametrize("gz", [True, False], ids=["gzipped", "unpacked"])
@pytest.mark.parametrize("train", [True, False], ids=["train", "test"])
def test_load_mnist_reads_gzipped_and_unpacked_idx_files(dirs, gz, train):
    images, labels = _fake_mnist(dirs[0], gz=gz)
    X, y = data.load_mnist(train=train, normalize=False)
    assert X.shape == (5, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64
    torch.testing.assert_close(X, images[:, None].float() / 255)
    torch.testing.assert_close(y, labels)


def test_load_mnist_normalizes_with_the_mnist_mean_and_std(dirs):
    images, _ = _fake_mnist(dirs[0])
    X, _ = data.load_mnist()
    torch.testing.assert_close(X, (images[:, None].float() / 255 - 0.1307) / 0.3081)


def test_load_mnist_prefers_course_data_dir_over_the_cache(dirs):
    from_data_dir, _ = _fake_mnist(dirs[0], offset=0)
    _fake_mnist(dirs[1], offset=1)
    torch.testing.assert_close(data.load_mnist(normalize=False)[0], from_data_dir[:, None].float() / 255)


def test_load_mnist_falls_back_to_the_cache(dirs):
    from_cache, _ = _fake_mnist(dirs[1], offset=1)
    torch.testing.assert_close(data.load_mnist(normalize=False)[0], from_cache[:, None].float() / 255)


def test_load_mnist_parses_each_file_once(dirs):
    _fake_mnist(dirs[0])
    data.load_mnist()
    hits = mnist._read_idx.cache_info().hits
    data.load_mnist(normalize=False)
    assert mnist._read_idx.cache_info().hits == hits + 2, "the second call should reuse both parsed files"


def test_load_mnist_returns_fresh_tensors_so_edits_do_not_leak_into_the_next_call(dirs):
    _fake_mnist(dirs[0])
    X, y = data.load_mnist(normalize=False)
    X.zero_()
    y.zero_()
    assert data.load_mnist(normalize=False)[0].max() > 0 and data.load_mnist()[1].max() > 0


@pytest.mark.parametrize("damage,match", [
    (lambda b: b[:-100], "truncated or corrupt"),
    (lambda b: struct.pack(">I", 2049) + b[4:], "expected magic number 2051, found 2049"),
    (lambda b: b[:6], "not an IDX file"),
], ids=["cut_short", "labels_magic_in_image_file", "header_cut"])
def test_load_mnist_names_a_corrupt_file(dirs, damage, match):
    _fake_mnist(dirs[0], gz=False)
    path = dirs[0] / "MNIST" / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ValueError, match=match) as info:
        data.load_mnist()
    assert str(path) in str(info.value)


@pytest.mark.parametrize("labels", [torch.arange(4), torch.tensor([0, 1, 12, 3, 4])], ids=["too_few", "label_12"])
def test_load_mnist_rejects_labels_that_do_not_fit_the_images(dirs, labels):
    _fake_mnist(dirs[0], gz=False)
    _write_idx(dirs[0] / "MNIST" / "raw" / "train-labels-idx1-ubyte", labels, gz=False)
    with pytest.raises(ValueError, match="are not MNIST"):
        data.load_mnist()


def test_mnist_dataset_names_a_cut_off_file_in_the_cache(dirs):
    _fake_mnist(dirs[1], gz=False)
    path = dirs[1] / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError, match="truncated or corrupt: delete it") as info:
        data.mnist_dataset()
    assert str(path) in str(info.value)


def test_load_mnist_names_a_truncated_gzip_archive(dirs):
    _fake_mnist(dirs[0])
    path = dirs[0] / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="truncated or corrupt") as info:
        data.load_mnist()
    assert str(path) in str(info.value)


@pytest.fixture
def offline(monkeypatch):
    """torchvision's download fails as it does without network."""
    from torchvision.datasets import MNIST

    def no_network(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz: no network")
    monkeypatch.setattr(MNIST, "download", no_network)


def test_missing_mnist_error_names_the_variable_folders_files_and_fix(dirs, offline):
    with pytest.raises(data.DatasetNotFoundError) as info:
        data.load_mnist()
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    for needle in ["COURSE_DATA_DIR", str(dirs[0] / "MNIST" / "raw"), str(dirs[1] / "MNIST" / "raw"),
                   *data.MNIST_FILES, "no network", "allow network"]:
        assert needle in message, f"{needle!r} missing from the error message:\n{message}"


def test_missing_mnist_error_says_when_course_data_dir_is_not_set(dirs, offline, monkeypatch):
    monkeypatch.delenv("COURSE_DATA_DIR")
    with pytest.raises(data.DatasetNotFoundError, match="COURSE_DATA_DIR is not set"):
        data.load_mnist(train=False)


def test_missing_mnist_is_downloaded_into_the_cache(dirs, monkeypatch):
    from torchvision.datasets import MNIST
    monkeypatch.setattr(MNIST, "download", lambda self: _fake_mnist(Path(self.root), gz=False))
    X, y = data.load_mnist()
    assert X.shape == (5, 1, 28, 28)
    assert (dirs[1] / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    assert list(dirs[0].iterdir()) == [], "nothing may be written into COURSE_DATA_DIR"


def test_mnist_dataset_unpacks_into_the_cache_and_matches_load_mnist(dirs):
    images, labels = _fake_mnist(dirs[0])
    dataset = data.mnist_dataset(transform=lambda img: torch.from_numpy(np.array(img)))
    assert len(dataset) == 5
    image, label = dataset[3]
    torch.testing.assert_close(image, images[3].to(torch.uint8))
    assert label == labels[3].item()
    assert sorted(p.name for p in (dirs[1] / "MNIST" / "raw").iterdir()) == sorted(data.MNIST_FILES)


# ---- the real MNIST -----------------------------------------------------------------------------

def _snapshot(root: Path):
    return sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in [root, *root.rglob("*")])


@pytest.fixture(scope="module")
def real_mnist(tmp_path_factory):
    """COURSE_DATA_DIR at the shared archives, a fresh cache; mnist_dataset built once, listings around it."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_DATA_DIR", str(SHARED))
        mp.setenv("COURSE_CACHE_DIR", str(cache))
        before = _snapshot(SHARED)
        train, test = data.load_mnist(normalize=False), data.load_mnist(train=False, normalize=False)
        dataset = data.mnist_dataset()
        cache_files = _snapshot(cache)
        again = data.mnist_dataset(train=False)
        yield dict(train=train, test=test, dataset=dataset, again=again, before=before,
                   after=_snapshot(SHARED), cache_before=cache_files, cache_after=_snapshot(cache))


@needs_mnist
def test_real_mnist_has_60000_training_and_10000_test_samples(real_mnist):
    (X, y), (Xt, yt) = real_mnist["train"], real_mnist["test"]
    assert X.shape == (60000, 1, 28, 28) and y.shape == (60000,)
    assert Xt.shape == (10000, 1, 28, 28) and yt.shape == (10000,)


@needs_mnist
def test_real_mnist_labels_are_digits_with_the_known_first_ten(real_mnist):
    y = real_mnist["train"][1]
    assert y.min() == 0 and y.max() == 9
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]  # as in every MNIST tutorial


@needs_mnist
def test_real_mnist_pixel_mean_and_std_are_the_published_constants(real_mnist):
    X = real_mnist["train"][0]
    assert 0 <= X.min() and X.max() <= 1
    assert abs(X.mean().item() - data.MNIST_MEAN) < 1e-4 and abs(X.std().item() - data.MNIST_STD) < 1e-4


@needs_mnist
def test_real_mnist_normalized_has_zero_mean_unit_std(real_mnist, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(SHARED))
    X, _ = data.load_mnist(train=True)
    assert abs(X.mean().item()) < 1e-3 and abs(X.std().item() - 1) < 1e-3


@needs_mnist
def test_read_only_data_dir_is_never_written(real_mnist):
    assert real_mnist["after"] == real_mnist["before"]


@needs_mnist
def test_mnist_dataset_from_read_only_root_matches_load_mnist(real_mnist):
    dataset, (X, y) = real_mnist["dataset"], real_mnist["train"]
    assert len(dataset) == 60000 and len(real_mnist["again"]) == 10000
    image, label = dataset[0]
    torch.testing.assert_close(torch.from_numpy(np.array(image)).float() / 255, X[0, 0])
    assert label == y[0].item()


@needs_mnist
def test_mnist_dataset_unpacks_only_once(real_mnist):
    assert real_mnist["cache_after"] == real_mnist["cache_before"]
