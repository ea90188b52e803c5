"""Shared fixtures: real MNIST from MNIST_COURSE_DATA, small slices of it, a quickly trained model, the built website."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from course.threads import configure_threads

configure_threads()  # before PyTorch loads: the suite's programs share 2 cores

import torch  # noqa: E402

from course.data import make_loaders, prepare_mnist
from course.recipes import FAST
from course.training import fit, train


RUN_SLOW_ENV_VAR = "MNIST_COURSE_RUN_SLOW"


def pytest_configure(config: pytest.Config) -> None:
    # A shell without job control starts background jobs (`nohup pytest &`) with Ctrl-C ignored, and
    # every program the tests start would inherit that: the tests that press Ctrl-C would find it
    # ignored. A handler, unlike "ignored", is reset by exec, so the programs start as from a terminal.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true",
                     help=f"also run the full training runs marked slow (or set {RUN_SLOW_ENV_VAR}=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow") or os.environ.get(RUN_SLOW_ENV_VAR) == "1":
        return
    skip = pytest.mark.skip(reason=f"full training run: use --run-slow or {RUN_SLOW_ENV_VAR}=1 (CI does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The course website, built once for the run by ``mkdocs build --strict``: any warning fails the build."""
    pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
    from tests.look_inside_browser import build_site

    return build_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session", autouse=True)
def mnist_root():
    """Fail early, with the data module's own advice, when MNIST cannot be found."""
    return prepare_mnist(download=False)


@pytest.fixture
def cpu() -> torch.device:
    return torch.device("cpu")


@pytest.fixture(scope="session")
def small_loaders():
    """2,000 training and 1,000 test images of the real data, normalised, on the CPU."""
    return make_loaders("tensor", batch_size=100, train_limit=2000, test_limit=1000, seed=0)


@pytest.fixture(scope="session")
def trained_model():
    """The fast recipe trained for 2 epochs on 20,000 images: about 97% accurate in seconds."""
    recipe = FAST.with_overrides(epochs=2)
    loaders = make_loaders("tensor", batch_size=recipe.batch_size, train_limit=20_000, test_limit=2000, seed=0)
    result = fit(recipe, loaders, torch.device("cpu"), seed=0, log_dir=None, progress=False, report=lambda _: None)
    assert result.final.test.accuracy > 94, "the fixture model should be good enough to compare predictions"
    return result.model.eval()


@pytest.fixture(scope="session")
def fast_recipe_model():
    """The fast recipe's full run (about 15 s on 2 cores), for the slow tests that need a 99% model."""
    result = train(FAST, torch.device("cpu"), seed=1, log_dir=None, progress=False, report=lambda _: None)
    return result.model.eval()
