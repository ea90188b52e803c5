"""A validation split held out of the training set: settings are chosen on it, the test set is read once."""

from __future__ import annotations

import pytest
import torch

from course.data import load_split, make_loaders, to_model_input
from course.errors import CourseError
from course.recipes import FAST
from course.training import fit


def all_labels(batches) -> torch.Tensor:
    return torch.cat([labels for _, labels in batches])


@pytest.mark.parametrize("pipeline", ["tensor", "dataloader"])
def test_the_last_training_images_are_held_out_in_order(pipeline: str) -> None:
    loaders = make_loaders(pipeline, batch_size=100, normalize=False, train_limit=1_000, test_limit=100, val_split=300)
    training = load_split(train=True)
    held_out = torch.cat([images for images, _ in loaders.validation])
    assert torch.allclose(held_out, to_model_input(training.data[700:1_000], normalize=False))
    assert torch.equal(all_labels(loaders.validation), training.targets[700:1_000])
    assert sorted(all_labels(loaders.train).tolist()) == sorted(training.targets[:700].tolist())
    assert len(all_labels(loaders.test)) == 100


def test_without_a_split_there_is_no_validation_set() -> None:
    assert make_loaders("tensor", train_limit=200, test_limit=100).validation is None


@pytest.mark.parametrize("count", [-1, 200, 500])
def test_a_split_that_leaves_nothing_to_train_on_is_refused(count: int) -> None:
    with pytest.raises(CourseError, match="between 1 and 199"):
        make_loaders("tensor", train_limit=200, test_limit=100, val_split=count)


def test_a_run_with_validation_reports_each_epoch_on_it_and_the_test_once(cpu: torch.device) -> None:
    loaders = make_loaders("tensor", batch_size=64, train_limit=2_000, test_limit=500, val_split=500)
    lines: list[str] = []
    result = fit(FAST.with_overrides(epochs=2), loaders, cpu, log_dir=None, progress=False, report=lines.append)
    assert [line.split(":")[1].strip() for line in lines[:2]] == ["Validation set", "Validation set"]
    assert lines[2].startswith("Measured once, after training: Test set:")
    assert result.final.test.total == 500 and result.test is not None and result.test.total == 500
    assert len(lines) == 3
