"""Reading digits with a trained model and showing what it saw (exercise 11)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn


@dataclass(frozen=True)
class Prediction:
    """The predicted digit of each image and the probability of every class."""

    digits: torch.Tensor
    probabilities: torch.Tensor

    def top(self, index: int = 0, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` most probable ``(digit, probability)`` pairs of image ``index``."""
        values, digits = self.probabilities[index].topk(k)
        return [(int(digit), float(value)) for digit, value in zip(digits, values)]


def predict(model: nn.Module, images: torch.Tensor, device: torch.device | str = "cpu") -> Prediction:
    """Classify a batch of model inputs ``(N, 1, 28, 28)``.

    The model may return logits or log-probabilities (softmax gives the same
    probabilities from both); a notebook model with ``double_softmax`` already
    returns probabilities.
    """
    # Exercise 11: your code here (hints: python -m grader hint 11)
    raise NotImplementedError("Exercise 11 (Run inference) is not started yet: write your code here. Read lessons/06-inference-and-your-drawings.md, then check it with: pytest exercises/ -m ex11")


def plot_prediction(
    model_input: torch.Tensor,
    probabilities: torch.Tensor,
    path: str | os.PathLike,
    original: torch.Tensor | None = None,
) -> Path:
    """Save one figure: the original image (if given), the 28×28 input and the class probabilities."""
    # Exercise 11: your code here (hints: python -m grader hint 11)
    raise NotImplementedError("Exercise 11 (Run inference) is not started yet: write your code here. Read lessons/06-inference-and-your-drawings.md, then check it with: pytest exercises/ -m ex11")
