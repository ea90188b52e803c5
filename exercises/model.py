"""The tutorial notebook's convolutional network (exercise 3)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

FLATTENED_FEATURES = 320  # 20 channels x 4 x 4 after two conv + pool stages


class CNN(nn.Module):
    """Two convolutions and two fully connected layers: 21,840 parameters.

    ``conv1`` 1→10 (5×5) → max-pool 2 → ReLU → ``conv2`` 10→20 (5×5) with
    ``Dropout2d`` → max-pool 2 → ReLU → flatten to 320 → ``fc1`` 320→50 → ReLU →
    dropout → ``fc2`` 50→10.

    Args:
        conv_dropout: probability of zeroing a whole ``conv2`` feature map in training.
        fc_dropout: probability of zeroing an ``fc1`` activation in training.
        double_softmax: end ``forward`` with ``softmax``, as the notebook did. Only for
            reproducing its pitfall: ``CrossEntropyLoss`` applies log-softmax again.
    """

    def __init__(self, conv_dropout: float = 0.5, fc_dropout: float = 0.5, double_softmax: bool = False) -> None:
        super().__init__()
        self.double_softmax = double_softmax
        # Exercise 3: your code here (hints: python -m grader hint 3)
        raise NotImplementedError("Exercise 3 (Build the CNN) is not started yet: write your code here. Read lessons/02-convolutions-and-pooling.md, then check it with: pytest exercises/ -m ex3")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``(N, 1, 28, 28)`` to class logits ``(N, 10)``."""
        # Leave fc2's scores, shape (N, 10), in a variable named `logits`: the lines
        # after the exercise return them, or their softmax when double_softmax is set.
        # Exercise 3: your code here (hints: python -m grader hint 3)
        raise NotImplementedError("Exercise 3 (Build the CNN) is not started yet: write your code here. Read lessons/02-convolutions-and-pooling.md, then check it with: pytest exercises/ -m ex3")
        if self.double_softmax:
            return F.softmax(logits, dim=1)
        return logits


def count_parameters(model: nn.Module) -> int:
    """The number of trainable parameters of ``model``."""
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
