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
    # BEGIN SOLUTION ex5
    hidden = inputs @ w1.T + b1
    activations = hidden.clamp(min=0)
    scores = activations @ w2.T + b2
    loss = F.cross_entropy(scores, targets)

    # ∂loss/∂scores = (softmax − one-hot) / N: the mean spreads 1/N to every row
    d_scores = (torch.softmax(scores, dim=1) - F.one_hot(targets, scores.shape[1]).to(scores.dtype)) / len(targets)
    d_w2, d_b2 = d_scores.T @ activations, d_scores.sum(dim=0)
    d_hidden = (d_scores @ w2) * (hidden > 0)  # ReLU passes gradients only where it passed values
    d_w1, d_b1 = d_hidden.T @ inputs, d_hidden.sum(dim=0)
    return loss, Gradients(w1=d_w1, b1=d_b1, w2=d_w2, b2=d_b2)
    # END SOLUTION


def numerical_gradient(function: Callable[[torch.Tensor], torch.Tensor], input: torch.Tensor,
                       eps: float = 1e-6) -> torch.Tensor:
    """The gradient of a scalar ``function`` at ``input`` by central differences, as ``gradcheck`` estimates it.

    Each entry is nudged by ``±eps`` in turn: ``(f(x + eps) − f(x − eps)) / (2 eps)``,
    and put back exactly as it was. ``input`` is used in the dtype it comes in, not
    converted, and the gradient has its shape and dtype: pass a float64 ``input``, since
    in float32 the difference of two nearly equal losses is mostly rounding error.
    """
    # BEGIN SOLUTION ex5
    gradient = torch.zeros_like(input)
    flat_input, flat_gradient = input.detach().view(-1), gradient.view(-1)
    with torch.no_grad():
        for index in range(flat_input.numel()):
            original = flat_input[index].item()
            flat_input[index] = original + eps
            above = float(function(input))
            flat_input[index] = original - eps
            below = float(function(input))
            flat_input[index] = original
            flat_gradient[index] = (above - below) / (2 * eps)
    return gradient
    # END SOLUTION
