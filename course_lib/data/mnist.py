"""MNIST read straight from its files, local first, downloaded only when missing.

MNIST is looked for in `$COURSE_DATA_DIR/MNIST/raw/` (read only: nothing is ever written there),
then in a writable cache, `$COURSE_CACHE_DIR` (default `~/.cache/course_lib`), and downloaded
into the cache by torchvision only when neither has it.
"""
from __future__ import annotations

import functools
import gzip
import math
import os
import shutil
import struct
import zlib
from pathlib import Path

import torch
from torch import Tensor

from course_lib.i18n import _

MNIST_MEAN = 0.1307  # mean and std of the training pixels scaled to [0, 1]
MNIST_STD = 0.3081
CLASSES = tuple(str(digit) for digit in range(10))
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class DatasetNotFoundError(RuntimeError):
    """MNIST is neither on disk nor downloadable."""


def cache_dir() -> Path:
    """The writable folder for downloads and unpacked files: $COURSE_CACHE_DIR or ~/.cache/course_lib."""
    return Path(os.environ.get("COURSE_CACHE_DIR") or Path.home() / ".cache" / "course_lib")


def _roots() -> list[Path]:
    data = os.environ.get("COURSE_DATA_DIR")
    return ([Path(data)] if data else []) + [cache_dir()]


def _locate(name: str) -> Path | None:
    """First MNIST/raw/name in the search roots, unpacked (faster to read) before .gz."""
    for root in _roots():
        for candidate in (root / "MNIST" / "raw" / name, root / "MNIST" / "raw" / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _parse_idx_header(data: bytes, path: object, ndim: int) -> tuple[int, ...]:
    """Shape in an IDX header: magic 0x0000 08 <ndim> (08 = unsigned bytes), then ndim big-endian sizes."""
    magic = 0x0800 + ndim  # 2049 for labels, 2051 for images
    if len(data) < 4 + 4 * ndim or struct.unpack(">I", data[:4])[0] != magic:
        found = struct.unpack(">I", data[:4])[0] if len(data) >= 4 else _("nothing")
        raise ValueError(_("{path} is not an IDX file with {ndim} dimension(s): expected magic "
                           "number {magic}, found {found}; delete it and load again", path=path, ndim=ndim,
                           magic=magic, found=found))
    return struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])


@functools.cache
def _read_idx(path: str, ndim: int) -> Tensor:
    """uint8 tensor stored in an IDX file (gzipped or not). Cached: a second call costs nothing."""
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, zlib.error) as err:  # EOFError: gzip stream cut short
        raise ValueError(_("{path} cannot be read ({error}); it is probably truncated or corrupt: "
                           "delete it and load again", path=path, error=err)) from err
    shape = _parse_idx_header(data, path, ndim)
    offset = 4 + 4 * ndim
    if len(data) != offset + math.prod(shape):
        raise ValueError(_("{path} is truncated or corrupt: its header promises shape {shape} "
                           "({promised} bytes), the file holds {held} bytes", path=path, shape=shape,
                           promised=offset + math.prod(shape), held=len(data)))
    # bytearray: torch.frombuffer wants a writable buffer
    return torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=offset).reshape(shape)


def _not_found(err: Exception) -> DatasetNotFoundError:
    data = os.environ.get("COURSE_DATA_DIR")
    searched = "\n".join(f"  {root / 'MNIST' / 'raw'}" for root in _roots())
    return DatasetNotFoundError("\n".join([
        _("MNIST not found. COURSE_DATA_DIR is set to {path}.", path=repr(data)) if data
        else _("MNIST not found. COURSE_DATA_DIR is not set."),
        _("Searched these folders:\n{folders}\nfor the files (each may also end in .gz): {files}.",
          folders=searched, files=", ".join(MNIST_FILES)),
        _("Downloading them into the cache {cache} failed: {error}", cache=cache_dir(), error=err),
        _("Fix: set COURSE_DATA_DIR to a folder holding MNIST/raw/<those files> (torchvision's "
          "layout), or allow network access so torchvision can download them.")]))


def _download(root: Path) -> None:
    """torchvision fetches the four archives into root/MNIST/raw and unpacks them there."""
    try:
        from torchvision.datasets import MNIST  # imported lazily: it takes about a second
        MNIST(root=str(root), download=True)
    except Exception as err:  # no network, a mirror down, a bad checksum: all end the same way
        raise _not_found(err) from err


def load_mnist(train: bool = True, normalize: bool = True,
               device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    """MNIST as two tensors.  -> images (N, 1, 28, 28) float32, labels (N,) int64

    N is 60000 for the training split and 10000 for the test split (`train=False`). Pixels are
    scaled to [0, 1]; with `normalize` they are then standardized with MNIST_MEAN and MNIST_STD,
    the usual input of the lessons' networks. Files are parsed once per process.
    """
    split = "train" if train else "t10k"
    paths = [_locate(f"{split}-images-idx3-ubyte"), _locate(f"{split}-labels-idx1-ubyte")]
    if None in paths:
        _download(cache_dir())
        paths = [_locate(f"{split}-images-idx3-ubyte"), _locate(f"{split}-labels-idx1-ubyte")]
        if None in paths:
            raise _not_found(FileNotFoundError(_("the download left no files")))
    images, labels = _read_idx(str(paths[0]), 3), _read_idx(str(paths[1]), 1)
    largest = labels.max().item() if labels.numel() else 0
    if images.shape[1:] != (28, 28) or images.shape[0] != labels.shape[0] or largest > 9:
        raise ValueError(_("{images_path} and {labels_path} are not MNIST: images of shape "
                           "{images_shape} (expected (N, 28, 28)), labels of shape "
                           "{labels_shape} with largest label {largest}", images_path=paths[0],
                           labels_path=paths[1], images_shape=tuple(images.shape),
                           labels_shape=tuple(labels.shape), largest=largest))
    x = images.unsqueeze(1).float().div_(255)  # (N, 28, 28) -> (N, 1, 28, 28); a new tensor
    if normalize:
        x = x.sub_(MNIST_MEAN).div_(MNIST_STD)
    return x.to(device), labels.long().to(device)


def _idx_complete(path: Path) -> bool:
    """True if an unpacked IDX file is as long as its header says (a cut-off copy is not)."""
    ndim = 3 if "images" in path.name else 1
    try:
        with open(path, "rb") as f:
            shape = _parse_idx_header(f.read(4 + 4 * ndim), path, ndim)
    except (OSError, ValueError):
        return False
    return path.stat().st_size == 4 + 4 * ndim + math.prod(shape)


def _unpacked_root() -> Path:
    """A root whose MNIST/raw holds the four files unpacked, as torchvision needs. Writes only the cache."""
    for root in _roots():
        if all(_idx_complete(root / "MNIST" / "raw" / name) for name in MNIST_FILES):
            return root
    sources = [_locate(name) for name in MNIST_FILES]
    if None in sources:
        _download(cache_dir())
        return cache_dir()
    raw = cache_dir() / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, source in zip(MNIST_FILES, sources):
        target = raw / name
        if _idx_complete(target):
            continue
        if source == target:  # e.g. an unpacking that was interrupted
            raise ValueError(_("{path} is truncated or corrupt: delete it and try again", path=target))
        partial = raw / f"{name}.partial-{os.getpid()}"
        opener = gzip.open if source.suffix == ".gz" else open
        with opener(source, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(partial, target)  # atomic: another process never sees half a file
    return cache_dir()


def mnist_dataset(train: bool = True, transform=None):
    """MNIST as a `torchvision.datasets.MNIST` (PIL images, int labels), for lessons on DataLoader.

    torchvision reads unpacked files only, and unpacks archives next to themselves; so the
    files are unpacked once into the writable cache and the dataset reads them from there.
    `transform` is applied to each PIL image, e.g. `transforms.ToTensor()`.
    """
    from torchvision.datasets import MNIST  # imported lazily: it takes about a second
    return MNIST(root=str(_unpacked_root()), train=train, transform=transform, download=False)
