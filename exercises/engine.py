"""One epoch of training and an evaluation over a whole dataset (exercise 7)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
StepCallback = Callable[[int, float], None]


@dataclass(frozen=True)
class Evaluation:
    """Average loss per sample and the count of correct predictions over a dataset."""

    loss: float
    correct: int
    total: int

    @property
    def accuracy(self) -> float:
        """Percentage of correctly classified samples."""
        return 100.0 * self.correct / self.total

    def summary(self, name: str = "Test set") -> str:
        """The notebook's summary line, e.g. ``Test set: Average loss: 1.5286, Accuracy: 9346/10000 (93.46%)``."""
        return (
            f"{name}: Average loss: {self.loss:.4f}, "
            f"Accuracy: {self.correct}/{self.total} ({self.accuracy:.2f}%)"
        )


def train_one_epoch(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    loss_fn: LossFunction,
    device: torch.device,
    on_step: StepCallback | None = None,
) -> float:
    """Train ``model`` on every batch once and return the average loss per sample.

    ``on_step(batch_index, loss)`` is called after each optimiser step, for logging,
    progress bars or a learning-rate schedule.
    """
    # Exercise 7: your code here (hints: python -m grader hint 7)
    raise NotImplementedError("Exercise 7 (Write train and test) is not started yet: write your code here. Read lessons/05-training-loop-and-tensorboard.md, then check it with: pytest exercises/ -m ex7")


def evaluate(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    loss_fn: LossFunction,
    device: torch.device,
) -> Evaluation:
    """Measure ``model`` on every batch in eval mode, without tracking gradients."""
    # Exercise 7: your code here (hints: python -m grader hint 7)
    raise NotImplementedError("Exercise 7 (Write train and test) is not started yet: write your code here. Read lessons/05-training-loop-and-tensorboard.md, then check it with: pytest exercises/ -m ex7")
