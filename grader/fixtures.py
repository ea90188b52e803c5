"""Data and models the checks share: real MNIST, and a small network of the checks' own.

The checks of exercises 7, 8 and 11 train and run that network rather than a CNN: exercise 3's
answer stays the learner's to write, and no check imports the reference (see :mod:`grader.answers`)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from course.data import load_split, make_loaders, to_model_input
from course.recipes import FAST
from course.training import fit

from .answers import answers_for


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


def checks_network(dropout: float = 0.1, double_softmax: bool = False) -> nn.Sequential:
    """The network the checks train and run: 784 pixels, 16 hidden units with dropout, 10 scores (or, with
    ``double_softmax``, probabilities and the attribute that says so, as the notebook's CNN has)."""
    layers = [nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 10)]
    network = nn.Sequential(*layers, *([nn.Softmax(dim=1)] if double_softmax else []))
    network.double_softmax = double_softmax
    return network


def seeded_network(seed: int = 0, **options) -> nn.Sequential:
    """:func:`checks_network` with the weights ``seed`` draws: the same in every run, for learner and reference."""
    torch.manual_seed(seed)
    return checks_network(**options)


def trained_weights(reference) -> dict[str, torch.Tensor]:
    """The checks' network trained briefly by the reference's loop: one epoch of 6,000 images."""
    recipe = FAST.with_overrides(epochs=1)
    loaders = make_loaders("tensor", batch_size=recipe.batch_size, train_limit=6_000, test_limit=1000, seed=0)
    return fit(recipe, loaders, torch.device("cpu"), seed=0, log_dir=None, progress=False, report=lambda _: None,
               parts=reference.parts(), network=checks_network).model.state_dict()


@pytest.fixture(scope="module")  # a module knows the folder of its checks and stored answers
def _trained_network(request) -> nn.Sequential:
    network = checks_network()
    network.load_state_dict(answers_for(request, "fixtures").of("trained network", trained_weights))
    return network


@pytest.fixture
def trained_network(_trained_network) -> nn.Sequential:
    """A fresh copy of the checks' network, trained by the reference for one epoch of 6,000 images, in eval mode."""
    return copy.deepcopy(_trained_network).eval()


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
