"""Data and models the checks share, built only from the reference solution."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from course.data import load_split, make_loaders, to_model_input
from course.recipes import FAST
from course.training import fit
from solutions.model import CNN


@pytest.fixture(scope="session")
def mnist_batches() -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Fixed batches of real MNIST in uneven sizes, so that averaging per batch instead of per sample
    shows: 450 training images in batches of 64 and a last one of 2; 300 test images in batches of
    128, 128 and 44; the same 300 in batches of 10."""
    loaders = make_loaders("tensor", batch_size=64, test_batch_size=128, train_limit=450, test_limit=300, seed=0)
    test = list(loaders.test)
    images, labels = torch.cat([batch[0] for batch in test]), torch.cat([batch[1] for batch in test])
    return {
        "train": list(loaders.train),
        "test": test,
        "test_in_tens": list(zip(images.split(10), labels.split(10))),
    }


@pytest.fixture(scope="session")
def _trained_reference() -> CNN:
    recipe = FAST.with_overrides(epochs=1)
    loaders = make_loaders("tensor", batch_size=recipe.batch_size, train_limit=6_000, test_limit=1000, seed=0)
    return fit(recipe, loaders, torch.device("cpu"), seed=0, log_dir=None, progress=False, report=lambda _: None).model


@pytest.fixture
def trained_reference(_trained_reference) -> CNN:
    """A fresh copy of a reference CNN trained briefly (about 94% accurate: one epoch of 6,000 images), in eval mode."""
    return copy.deepcopy(_trained_reference).eval()


@pytest.fixture(scope="session")
def test_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The first 200 test images as uint8 ``(200, 28, 28)`` pixels, and their labels."""
    test_set = load_split(train=False)
    return test_set.data[:200], test_set.targets[:200]


@pytest.fixture
def test_inputs(test_digits) -> torch.Tensor:
    """The same 200 images as normalised model inputs ``(200, 1, 28, 28)``."""
    return to_model_input(test_digits[0], normalize=True)


@pytest.fixture
def loss_fn() -> nn.Module:
    return nn.CrossEntropyLoss()


@pytest.fixture
def cpu() -> torch.device:
    return torch.device("cpu")
