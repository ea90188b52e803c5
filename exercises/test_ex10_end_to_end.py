"""Checks of exercise 10, end to end: your model, loops and logging train on the full MNIST."""

import pytest
import torch

from course.recipes import FAST
from course.training import train
from grader.checks import expect

pytestmark = pytest.mark.ex10

DEVICES = [
    pytest.param("cpu"),
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")),
    pytest.param("mps", marks=pytest.mark.skipif(
        not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()), reason="no Apple MPS here")),
]


@pytest.mark.parametrize("device", DEVICES)
def test_one_epoch_of_your_code_reads_digits(learner, device, tmp_path):
    """one epoch of your own model and loops reaches over 95% on the test set"""
    parts = learner.parts()  # your model, loops and logging, run by the course's training run
    with learner.running("accuracy"):
        result = train(FAST.with_overrides(epochs=1), torch.device(device), seed=1, log_dir=tmp_path, progress=False,
                       report=lambda line: None, parts=parts)
    accuracy = result.final.test.accuracy
    expect(accuracy >= 95, "accuracy", "at least 95% after one epoch", f"{accuracy:.2f}%")
