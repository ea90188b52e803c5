import gzip
import shutil
from pathlib import Path

import pytest
import torch

from course import data
from course.data import (
    DATA_ENV_VAR,
    RAW_MD5,
    ShiftedBatches,
    TensorBatches,
    load_split,
    make_loaders,
    prepare_mnist,
    resolve_data_dir,
    shift_images,
    to_model_input,
)
from course.errors import CourseError


@pytest.fixture
def shared_dir(mnist_root) -> Path:
    return resolve_data_dir()


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch) -> Path:
    """A fresh unpacking cache and no memory of earlier checks, so each test verifies for real."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "_verified", set())
    return tmp_path / "cache" / "mnist-cnn-course"


def copy_raw(mnist_root: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in RAW_MD5:
        shutil.copy(mnist_root / "MNIST" / "raw" / name, target / name)
    return target


def test_location_order_is_option_then_environment_then_default(monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, "/from/env")
    assert resolve_data_dir("/from/option") == Path("/from/option")
    assert resolve_data_dir() == Path("/from/env")
    monkeypatch.delenv(DATA_ENV_VAR)
    assert resolve_data_dir() == Path("data")


def test_gzipped_folder_is_unpacked_to_the_cache_and_left_untouched(shared_dir, isolated_cache):
    before = sorted(path.name for path in shared_dir.iterdir())
    root = prepare_mnist(shared_dir)
    assert root == isolated_cache
    assert sorted(path.name for path in (root / "MNIST" / "raw").iterdir()) == sorted(RAW_MD5)
    assert sorted(path.name for path in shared_dir.iterdir()) == before


def test_torchvision_layout_is_used_in_place(mnist_root, tmp_path, isolated_cache):
    copy_raw(mnist_root, tmp_path / "MNIST" / "raw")
    assert prepare_mnist(tmp_path) == tmp_path
    assert not isolated_cache.exists()


def test_flat_uncompressed_files_are_accepted(mnist_root, tmp_path, isolated_cache):
    copy_raw(mnist_root, tmp_path)
    assert prepare_mnist(tmp_path) == isolated_cache


def test_corrupted_copy_is_caught_and_never_used(mnist_root, tmp_path, isolated_cache):
    folder = copy_raw(mnist_root, tmp_path / "MNIST" / "raw")
    labels = folder / "t10k-labels-idx1-ubyte"
    content = bytearray(labels.read_bytes())
    content[100] ^= 0xFF
    labels.write_bytes(bytes(content))
    with pytest.raises(CourseError, match="t10k-labels-idx1-ubyte is corrupt.*--data-dir"):
        prepare_mnist(tmp_path)


def test_truncated_gzip_is_caught_and_nothing_half_written(shared_dir, tmp_path, isolated_cache):
    for source in shared_dir.glob("*.gz"):
        shutil.copy(source, tmp_path / source.name)
    truncated = tmp_path / "train-images-idx3-ubyte.gz"
    truncated.write_bytes(truncated.read_bytes()[:100_000])
    with pytest.raises(CourseError, match="train-images-idx3-ubyte.gz is corrupt or truncated"):
        prepare_mnist(tmp_path)
    assert not (isolated_cache / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()


def test_missing_files_offline_name_the_files_and_the_setting(tmp_path, isolated_cache, monkeypatch):
    def offline(name, target):
        raise OSError(f"Error downloading {name}")

    monkeypatch.setattr(data, "_fetch", offline)
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as stream:
        stream.write(b"")
    with pytest.raises(CourseError) as error:
        prepare_mnist(tmp_path)
    message = str(error.value)
    assert "train-images-idx3-ubyte" in message and "t10k-images-idx3-ubyte" in message
    assert DATA_ENV_VAR in message and "--data-dir" in message


def test_both_pipelines_give_the_same_kind_of_batches():
    fast = make_loaders("tensor", batch_size=100, train_limit=300, test_limit=200, normalize=False)
    notebook = make_loaders("dataloader", batch_size=100, train_limit=300, test_limit=200, normalize=False)
    for loaders in (fast, notebook):
        assert len(loaders.train) == 3
        images, labels = next(iter(loaders.train))
        assert images.shape == (100, 1, 28, 28) and images.dtype == torch.float32
        assert labels.shape == (100,) and labels.dtype == torch.int64
        assert 0.0 <= images.min() and images.max() <= 1.0
    test_fast = torch.cat([images for images, _ in fast.test])
    test_notebook = torch.cat([images for images, _ in notebook.test])
    assert torch.allclose(test_fast, test_notebook)


def test_normalised_tensor_batches_have_zero_mean_and_unit_spread():
    images = torch.cat([batch for batch, _ in make_loaders("tensor", train_limit=10_000, test_limit=10).train])
    assert abs(images.mean().item()) < 0.02
    assert abs(images.std().item() - 1) < 0.02


def test_tensor_batches_shuffle_every_sample_once_and_repeatably():
    images, labels = torch.arange(10.0).reshape(10, 1), torch.arange(10)
    first = [batch.tolist() for _, batch in TensorBatches(images, labels, batch_size=4, shuffle=True, seed=3)]
    again = [batch.tolist() for _, batch in TensorBatches(images, labels, batch_size=4, shuffle=True, seed=3)]
    assert first == again
    assert [len(batch) for batch in first] == [4, 4, 2]
    assert sorted(sum(first, [])) == list(range(10)) != sum(first, [])


def offset_of(moved: torch.Tensor, image: torch.Tensor, most: int) -> tuple[int, int] | None:
    """The (rows, columns) shift that turns ``image`` into ``moved`` inside the border the shift can reach."""
    inner = moved[:, most:-most, most:-most]
    side = image.shape[-1] - 2 * most
    for rows in range(-most, most + 1):
        for columns in range(-most, most + 1):
            if torch.equal(inner, image[:, most + rows : most + rows + side, most + columns : most + columns + side]):
                return rows, columns
    return None


def test_shifts_move_each_image_by_its_own_offset_within_the_limit():
    images = to_model_input(load_split(train=False).data[:64], normalize=True)
    moved = shift_images(images, 2, torch.Generator().manual_seed(0))
    assert moved.shape == images.shape and moved.dtype == images.dtype
    offsets = [offset_of(after, before, 2) for after, before in zip(moved, images)]
    assert None not in offsets
    assert len(set(offsets)) > 5, "each image draws its own offset"
    assert moved.amin() == images.amin(), "the space a digit leaves is background"


def test_shifts_are_repeatable_for_a_seed_and_leave_labels_alone():
    batches = TensorBatches(torch.randn(10, 1, 28, 28), torch.arange(10), batch_size=4, shuffle=False)
    def shifted(seed):
        return list(ShiftedBatches(batches, 2, torch.Generator().manual_seed(seed)))

    assert len(ShiftedBatches(batches, 2, torch.Generator())) == len(batches) == 3
    first, again, other = shifted(1), shifted(1), shifted(2)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(first, again))
    assert not all(torch.equal(a[0], b[0]) for a, b in zip(first, other))
    assert torch.equal(torch.cat([labels for _, labels in first]), torch.arange(10))
