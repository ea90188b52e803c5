"""The first checks practitioners run on a new setup, before any long training (exercise 8).

Two questions catch most broken setups in seconds. Does an untrained network start
at the loss of a uniform guess, ``ln(number of classes)``? Can the setup drive the
loss of one small batch near zero by training on it alone? A network, loss or
optimiser that fails either will not learn the whole data set either.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def uniform_guess_loss(num_classes: int = 10) -> float:
    """The cross-entropy of answering ``1 / num_classes`` for every class: ``ln(num_classes)``."""
    return math.log(num_classes)


def loss_at_start(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, loss_fn: LossFunction) -> float:
    """The loss of ``model`` on one batch as it is now, measured without training it or changing its weights.

    Dropout is switched off (``model.eval()``) so that the number is the model's own,
    not a random draw; the model is left in eval mode. No computation graph is
    recorded. For an untrained network it should be close to :func:`uniform_guess_loss`.
    """
    # Exercise 8: your code here (hints: python -m grader hint 8)
    raise NotImplementedError("Exercise 8 (Sanity checks before training) is not started yet: write your code here. Read lessons/05-training-loop-and-tensorboard.md, then check it with: pytest exercises/ -m ex8")


def overfit_one_batch(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, loss_fn: LossFunction,
                      optimizer: torch.optim.Optimizer, steps: int) -> list[float]:
    """Train ``model`` on one batch alone for ``steps`` steps; the loss before each step, as floats.

    A healthy setup learns one batch by heart: the last losses should be near 0.
    Training mode, cleared gradients, forward, loss, backward, step: the loop of
    lesson 5, on the same images every time.
    """
    # Exercise 8: your code here (hints: python -m grader hint 8)
    raise NotImplementedError("Exercise 8 (Sanity checks before training) is not started yet: write your code here. Read lessons/05-training-loop-and-tensorboard.md, then check it with: pytest exercises/ -m ex8")
