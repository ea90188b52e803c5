"""Finding, checking and loading MNIST, and the two ways of batching it.

The data location is, in order: an explicit ``data_dir`` (the ``--data-dir``
option), the environment variable ``MNIST_COURSE_DATA``, else ``./data``. It may
hold the four IDX files, gzipped or not, either directly or in torchvision's
``MNIST/raw/`` layout. Every file is checked against the md5 of its uncompressed
content before it is used, and read straight into tensors: only the notebook's own
pipeline imports torchvision, which takes seconds to load.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Union

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from course.options import DATA_ENV_VAR

from .errors import CourseError
from .mnist import MNIST_MEAN, MNIST_STD

DEFAULT_DATA_DIR = Path("data")
RAW_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")  # torchvision's
DOWNLOAD_SECONDS = 60

Pipeline = Literal["dataloader", "tensor"]
Batches = Union[DataLoader, "TensorBatches"]

# Files already verified in this process, keyed by (path, size, mtime), so that
# a test suite or a multi-command session does not hash 55 MB over and over.
_verified: set[tuple[str, int, int]] = set()


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder to read MNIST from: ``data_dir``, else ``$MNIST_COURSE_DATA``, else ``./data``."""
    if data_dir:
        return Path(data_dir).expanduser()
    from_env = os.environ.get(DATA_ENV_VAR)
    return Path(from_env).expanduser() if from_env else DEFAULT_DATA_DIR


def md5_of(path: Path) -> str:
    """The md5 hex digest of a file's uncompressed content (``.gz`` files are decompressed)."""
    digest = hashlib.md5()
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise CourseError(f"{_corrupt_message(path)} (reading it failed: {error})") from error
    return digest.hexdigest()


def _raw_name(path: Path) -> str:
    return path.name.removesuffix(".gz")


def _check(path: Path) -> None:
    """Raise unless ``path`` holds the known content; each file is hashed once per process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _verified:
        return
    if md5_of(path) != RAW_MD5[_raw_name(path)]:
        raise CourseError(_corrupt_message(path))
    _verified.add(key)


def _corrupt_message(path: Path) -> str:
    return (
        f"MNIST file {path} is corrupt or truncated: the md5 of its uncompressed content is not "
        "the known one. Delete it and download it again, or point --data-dir / "
        f"{DATA_ENV_VAR} at a good copy."
    )


def _find_source(data_dir: Path, name: str) -> Path | None:
    raw = data_dir / "MNIST" / "raw"
    candidates = [raw / name, data_dir / name, raw / f"{name}.gz", data_dir / f"{name}.gz"]
    return next((path for path in candidates if path.is_file()), None)


def cache_root() -> Path:
    """Where files that need unpacking go, so that the data folder itself is never written to."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "mnist-cnn-course"


def _unpack(source: Path, target: Path) -> None:
    """Write ``source`` uncompressed to ``target``, all or nothing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if source.suffix == ".gz" else open
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as out, opener(source, "rb") as stream:
            shutil.copyfileobj(stream, out)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _download(data_dir: Path, missing: list[str]) -> None:
    """Download the ``missing`` files, gzipped, into ``data_dir/MNIST/raw``; on failure, remove what was created."""
    raw = data_dir / "MNIST" / "raw"
    created = [folder for folder in (data_dir, data_dir / "MNIST", raw) if not folder.exists()]
    try:
        raw.mkdir(parents=True, exist_ok=True)
        for name in missing:
            _fetch(f"{name}.gz", raw / f"{name}.gz")
    except OSError as error:  # any network or disk failure means the same to the user
        if created:
            shutil.rmtree(created[0], ignore_errors=True)
        reason = " ".join(str(getattr(error, "reason", None) or error).split())
        raise CourseError(
            f"MNIST files missing from {data_dir}: {', '.join(missing)} (gzipped or not), "
            f"and downloading them failed ({reason}). Point --data-dir or the environment variable "
            f"{DATA_ENV_VAR} at a folder that holds them, e.g. export {DATA_ENV_VAR}=../shared/data/mnist"
        ) from error


def _fetch(name: str, target: Path) -> None:
    """Download ``name`` from the first mirror that has it to ``target``, all or nothing."""
    failure: OSError | None = None
    for mirror in MIRRORS:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(handle, "wb") as out, urllib.request.urlopen(mirror + name, timeout=DOWNLOAD_SECONDS) as stream:
                shutil.copyfileobj(stream, out)
            os.replace(temporary, target)
            return
        except OSError as error:
            failure = error
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    raise failure or OSError(f"no mirror has {name}")


def prepare_mnist(data_dir: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Make sure verified, uncompressed MNIST files exist and return torchvision's root for them.

    Files are looked for in ``data_dir`` (see :func:`resolve_data_dir`) and checked
    against the md5 of their uncompressed content. Unless they already sit there
    uncompressed in torchvision's ``MNIST/raw/`` layout, they are unpacked into
    :func:`cache_root`. Missing files are downloaded into ``data_dir`` when
    ``download`` is true and a network exists.

    Raises:
        CourseError: a file is missing and cannot be downloaded, or a file is corrupt.
    """
    data_dir = resolve_data_dir(data_dir)
    sources = {name: _find_source(data_dir, name) for name in RAW_MD5}
    missing = [name for name, source in sources.items() if source is None]
    if missing:
        if not download:
            raise CourseError(
                f"MNIST files missing from {data_dir}: {', '.join(missing)}. Point --data-dir or "
                f"{DATA_ENV_VAR} at a folder that holds them."
            )
        _download(data_dir, missing)
        return prepare_mnist(data_dir, download=False)
    for source in sources.values():
        _check(source)
    if all(source == data_dir / "MNIST" / "raw" / name for name, source in sources.items()):
        return data_dir
    root = cache_root()
    for name, source in sources.items():
        target = root / "MNIST" / "raw" / name
        try:
            _check(target)
        except (CourseError, OSError):
            _unpack_into_cache(source, target, data_dir)
            _check(target)
    return root


def _unpack_into_cache(source: Path, target: Path, data_dir: Path) -> None:
    try:
        _unpack(source, target)
    except OSError as error:
        reason = error.strerror or str(error)
        raise CourseError(
            f"cannot unpack {source.name} into the cache folder {cache_root()} ({reason}). Set XDG_CACHE_HOME "
            f"to a folder you can write to, or put the four unpacked files in {data_dir / 'MNIST' / 'raw'}"
        ) from None


def read_idx(path: Path) -> torch.Tensor:
    """The array in an uncompressed IDX file (MNIST's format: a magic number, the sizes, then the values)."""
    content = path.read_bytes()
    dimensions = content[3]
    shape = [int.from_bytes(content[4 + 4 * axis : 8 + 4 * axis], "big") for axis in range(dimensions)]
    return torch.frombuffer(bytearray(content[4 + 4 * dimensions :]), dtype=torch.uint8).view(shape)


class MNISTSplit:
    """The training or test split: ``data`` as uint8 ``(N, 28, 28)``, ``targets`` as int64 ``(N,)``, the
    names torchvision's MNIST gives them."""

    def __init__(self, root: Path, train: bool) -> None:
        prefix = "train" if train else "t10k"
        raw = root / "MNIST" / "raw"
        self.data = read_idx(raw / f"{prefix}-images-idx3-ubyte")
        self.targets = read_idx(raw / f"{prefix}-labels-idx1-ubyte").long()

    def __len__(self) -> int:
        return len(self.targets)


def load_split(train: bool, data_dir: str | os.PathLike | None = None) -> MNISTSplit:
    """The training (``train=True``) or test split, verified."""
    return MNISTSplit(prepare_mnist(data_dir), train=train)


def to_model_input(pixels: torch.Tensor, normalize: bool) -> torch.Tensor:
    """uint8 images ``(N, 28, 28)`` to float ``(N, 1, 28, 28)`` in [0, 1], normalised if asked."""
    images = pixels.unsqueeze(1).float().div_(255)
    return images.sub_(MNIST_MEAN).div_(MNIST_STD) if normalize else images


def match_input_scale(images: torch.Tensor, normalized: bool) -> torch.Tensor:
    """Undo the normalisation of ``images`` for a model that was trained on plain [0, 1] pixels."""
    return images if normalized else images * MNIST_STD + MNIST_MEAN


class TensorBatches:
    """Mini-batches sliced from two tensors that already live on the training device.

    Iterating gives ``(images, labels)`` like a ``DataLoader``, but with no per-sample
    transform and no copy between host and device: the only transfer per epoch is
    the shuffled index.
    """

    def __init__(
        self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, shuffle: bool, seed: int = 0
    ) -> None:
        self.images = images
        self.labels = labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.labels)
        if self.shuffle:
            order = torch.randperm(count, generator=self.generator).to(self.labels.device)
            for start in range(0, count, self.batch_size):
                batch = order[start : start + self.batch_size]
                yield self.images.index_select(0, batch), self.labels.index_select(0, batch)
        else:
            for start in range(0, count, self.batch_size):
                yield self.images[start : start + self.batch_size], self.labels[start : start + self.batch_size]


def shift_images(images: torch.Tensor, most: int, generator: torch.Generator) -> torch.Tensor:
    """A batch ``(N, C, H, W)`` with each image moved by its own random whole-pixel offset, up to ``most``
    pixels along each axis.

    The whole batch moves at once, where it lives: one padded copy, whose border repeats the
    edge pixels (MNIST's edges are background), seen as all its ``H × W`` windows without a
    copy (``unfold``), from which each image takes the window at its offset. The offsets are
    drawn on the CPU from ``generator``, so that a seeded run draws the same ones on any device.
    """
    count, _, height, width = images.shape
    padded = F.pad(images, (most, most, most, most), mode="replicate")
    windows = padded.unfold(2, height, 1).unfold(3, width, 1)  # (N, C, 2·most + 1, 2·most + 1, H, W)
    rows, columns = torch.randint(0, 2 * most + 1, (2, count), generator=generator).to(images.device)
    return windows[torch.arange(count, device=images.device), :, rows, columns]


class ShiftedBatches:
    """Training batches whose images are moved by :func:`shift_images`, batch by batch, as they are drawn."""

    def __init__(self, batches: Batches, most: int, generator: torch.Generator) -> None:
        self.batches = batches
        self.most = most
        self.generator = generator

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for images, labels in self.batches:
            yield shift_images(images, self.most, self.generator), labels


@dataclass
class Loaders:
    """The training and test batches of one run, and the validation batches if it holds some out."""

    train: Batches
    test: Batches
    validation: Batches | None = None


def tensor_batches(
    train: bool,
    data_dir: str | os.PathLike | None,
    device: torch.device,
    normalize: bool,
    batch_size: int,
    seed: int = 0,
    limit: int | None = None,
) -> TensorBatches:
    """One split as a :class:`TensorBatches` on ``device``; only the training split is shuffled."""
    split = load_split(train, data_dir)
    pixels, labels = split.data[:limit], split.targets[:limit]
    images = to_model_input(pixels, normalize).to(device)
    return TensorBatches(images, labels.to(device), batch_size, shuffle=train, seed=seed)


def _dataloader(
    train: bool, data_dir, device: torch.device, normalize: bool, batch_size: int, seed: int, limit: int | None
) -> DataLoader:
    # The tutorial's own pipeline, one PIL image at a time through ToTensor: the anchor every speed-up is
    # measured against. Only this pipeline imports torchvision, which takes seconds to load.
    from torchvision import datasets, transforms

    steps = [transforms.ToTensor()] + ([transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))] if normalize else [])
    split = datasets.MNIST(str(prepare_mnist(data_dir)), train=train, transform=transforms.Compose(steps))
    dataset = Subset(split, range(min(limit, len(split)))) if limit is not None else split
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train,
        num_workers=1,
        generator=torch.Generator().manual_seed(seed),
        pin_memory=device.type == "cuda",
    )


def make_loaders(
    pipeline: Pipeline = "tensor",
    *,
    batch_size: int = 100,
    test_batch_size: int = 1000,
    normalize: bool = True,
    device: torch.device | str = "cpu",
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    train_limit: int | None = None,
    test_limit: int | None = None,
    val_split: int = 0,
) -> Loaders:
    """Training and test batches through one of two pipelines.

    Args:
        pipeline: ``"dataloader"`` is the notebook's ``DataLoader`` + ``ToTensor`` with one
            worker; ``"tensor"`` keeps each split as one tensor on ``device`` and slices
            shuffled batches from it.
        batch_size: training batch size; the test set is read in ``test_batch_size``.
        normalize: subtract MNIST's mean and divide by its standard deviation.
        device: where the tensor pipeline keeps the data (the DataLoader pipeline yields
            CPU batches that the training loop moves).
        seed: seeds the training shuffle.
        train_limit: use only the first N training samples (for quick runs).
        test_limit: use only the first N test samples.
        val_split: hold out the last N training samples (after ``train_limit``) as
            validation batches, read in ``test_batch_size``, to choose settings on.
    """
    if pipeline not in ("dataloader", "tensor"):
        raise CourseError(f"unknown data pipeline {pipeline!r}; choose 'dataloader' or 'tensor'")
    build = tensor_batches if pipeline == "tensor" else _dataloader
    device = torch.device(device)
    train = build(True, data_dir, device, normalize, batch_size, seed, train_limit)
    test = build(False, data_dir, device, normalize, test_batch_size, seed, test_limit)
    if not val_split:
        return Loaders(train, test)
    train, validation = _hold_out(train, val_split, test_batch_size)
    return Loaders(train, test, validation)


def _hold_out(train: Batches, count: int, batch_size: int) -> tuple[Batches, Batches]:
    """Split the last ``count`` samples off ``train``: (the rest, shuffled, and them, in order)."""
    total = len(train.labels) if isinstance(train, TensorBatches) else len(train.dataset)
    if not 0 < count < total:
        raise CourseError(f"the validation split must be between 1 and {total - 1} images, not {count}")
    if isinstance(train, TensorBatches):
        seed = train.generator.initial_seed()
        return (
            TensorBatches(train.images[:-count], train.labels[:-count], train.batch_size, shuffle=True, seed=seed),
            TensorBatches(train.images[-count:], train.labels[-count:], batch_size, shuffle=False),
        )
    rest, held_out = Subset(train.dataset, range(total - count)), Subset(train.dataset, range(total - count, total))
    options = {"num_workers": train.num_workers, "pin_memory": train.pin_memory}
    return (
        DataLoader(rest, train.batch_size, shuffle=True, generator=train.generator, **options),
        DataLoader(held_out, batch_size, shuffle=False, **options),
    )
