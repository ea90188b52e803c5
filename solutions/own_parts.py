"""The course's CNN trained with your own parts (exercise 13).

Exercises 2, 4 and 6 wrote convolution, pooling, cross-entropy and Adam by hand and
checked each against PyTorch's on its own. Here they work together: the notebook's
network computes with your ``conv2d`` and ``max_pool2d``, learns from your
``cross_entropy`` and moves with your ``Adam``. Autograd differentiates through your
functions, because they are made of tensor operations it knows. The network keeps the
parameter names and shapes of exercise 3's CNN, so its checkpoints load there:
``predict``, ``draw`` and the Look inside page read them. ``python -m exercises train
--own-parts`` trains it.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from .convolution import conv2d, max_pool2d
from .losses import cross_entropy, softmax
from .optimisers import Adam


class OwnCNN(nn.Module):
    """Exercise 3's CNN, computed with your own convolution and pooling.

    The layers below only hold the weights, under the names and shapes of exercise 3's
    ``CNN`` (``conv1.weight``, ``conv1.bias``, ... ``fc2.bias``), drawn in the same order,
    so that the same seed gives both networks the same start; ``forward`` never calls
    ``conv1`` or ``conv2`` themselves. Dropout is PyTorch's: it is not one of your parts.
    """

    def __init__(self, conv_dropout: float = 0.5, fc_dropout: float = 0.5, double_softmax: bool = False) -> None:
        super().__init__()
        self.conv_dropout, self.fc_dropout, self.double_softmax = conv_dropout, fc_dropout, double_softmax
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.fc1 = nn.Linear(20 * 4 * 4, 50)  # 20 maps of 4×4 after two stages (not imported from
        # model.py, so that exercise 13 stands on its own when exercise 3 is broken)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``(N, 1, 28, 28)`` to class logits ``(N, 10)``, as exercise 3's CNN does."""
        # Leave fc2's scores in a variable named `logits`, as in exercise 3.
        # BEGIN SOLUTION ex13
        x = F.relu(max_pool2d(conv2d(x, self.conv1.weight, self.conv1.bias), 2))
        x = F.dropout2d(conv2d(x, self.conv2.weight, self.conv2.bias), self.conv_dropout, training=self.training)
        x = F.relu(max_pool2d(x, 2))
        x = torch.flatten(x, 1)
        x = F.dropout(F.relu(self.fc1(x)), self.fc_dropout, training=self.training)
        logits = self.fc2(x)
        # END SOLUTION
        if self.double_softmax:
            return softmax(logits, dim=1)
        return logits


def loss(outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The training loss of the network's ``outputs`` (logits ``(N, 10)``), with your own cross-entropy."""
    # BEGIN SOLUTION ex13
    return cross_entropy(outputs, labels)
    # END SOLUTION


def optimiser(parameters: Iterable[torch.Tensor], lr: float) -> Adam:
    """Your own Adam, moving ``parameters`` with learning rate ``lr`` (PyTorch's default betas and eps)."""
    # BEGIN SOLUTION ex13
    return Adam(parameters, lr=lr)
    # END SOLUTION


def train_step(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, adam: Adam) -> float:
    """One step of training with your parts: clear the gradients, compute :func:`loss`, backpropagate
    through your functions, and let ``adam`` move the weights. Returns the loss, as a float."""
    # BEGIN SOLUTION ex13
    adam.zero_grad()
    batch_loss = loss(model(images), labels)
    batch_loss.backward()
    adam.step()
    return batch_loss.item()
    # END SOLUTION
