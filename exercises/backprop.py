"""Backpropagation by hand through Linear → ReLU → Linear → cross-entropy, and a numerical check (exercise 5).

Autograd records every operation of the forward pass and walks them backwards with
the chain rule. Here the same walk is written out for a two-layer network, so that
each gradient is a formula you can read: ``p − y`` at the scores, a matrix product
per layer, and the ReLU's mask.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F


class Gradients(NamedTuple):
    """The loss's gradient with respect to each weight and bias, shaped like them."""

    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor


def forward_backward(inputs: torch.Tensor, targets: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor,
                     w2: torch.Tensor, b2: torch.Tensor) -> tuple[torch.Tensor, Gradients]:
    """The loss of a two-layer network and its gradients, without autograd.

    The network is ``nn.Linear`` → ReLU → ``nn.Linear`` with ``nn.CrossEntropyLoss``
    (mean over the batch); weights are stored as ``nn.Linear`` stores them.

    Args:
        inputs: ``(N, D)`` features.
        targets: ``(N,)`` classes in ``[0, C)``.
        w1: the first layer's weights, ``(H, D)``.
        b1: the first layer's biases, ``(H,)``.
        w2: the second layer's weights, ``(C, H)``.
        b2: the second layer's biases, ``(C,)``.

    Returns:
        The loss (a scalar tensor) and its :class:`Gradients`.
    """
    # Exercise 5: your code here (hints: python -m grader hint 5)
    raise NotImplementedError("Exercise 5 (Backpropagation by hand) is not started yet: write your code here. Read lessons/04-backpropagation-and-optimisers.md, then check it with: pytest exercises/ -m ex5")


def numerical_gradient(function: Callable[[torch.Tensor], torch.Tensor], input: torch.Tensor,
                       eps: float = 1e-6) -> torch.Tensor:
    """The gradient of a scalar ``function`` at ``input`` by central differences, as ``gradcheck`` estimates it.

    Each entry is nudged by ``±eps`` in turn: ``(f(x + eps) − f(x − eps)) / (2 eps)``,
    and put back exactly as it was. ``input`` is used in the dtype it comes in, not
    converted, and the gradient has its shape and dtype: pass a float64 ``input``, since
    in float32 the difference of two nearly equal losses is mostly rounding error.
    """
    # Exercise 5: your code here (hints: python -m grader hint 5)
    raise NotImplementedError("Exercise 5 (Backpropagation by hand) is not started yet: write your code here. Read lessons/04-backpropagation-and-optimisers.md, then check it with: pytest exercises/ -m ex5")
