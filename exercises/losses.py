"""Softmax, log-softmax and cross-entropy written out, and the double softmax's floor (exercise 4).

``nn.CrossEntropyLoss`` is log-softmax followed by picking the right class's
log-probability, negated and averaged over the batch. Written out, each step shows:
why the largest score is subtracted first, and why the notebook's softmax before
``CrossEntropyLoss`` can never bring the loss near 0.
"""

from __future__ import annotations

import torch


def log_softmax(input: torch.Tensor, dim: int) -> torch.Tensor:
    """``F.log_softmax``: ``input - log(sum(exp(input)))`` along ``dim``, finite for any finite scores.

    ``exp(1000)`` overflows to infinity, so the largest score along ``dim`` is
    subtracted first: it changes nothing mathematically and keeps every ``exp``
    at most 1.
    """
    # Exercise 4: your code here (hints: python -m grader hint 4)
    raise NotImplementedError("Exercise 4 (Softmax and cross-entropy by hand) is not started yet: write your code here. Read lessons/03-loss-and-softmax.md, then check it with: pytest exercises/ -m ex4")


def softmax(input: torch.Tensor, dim: int) -> torch.Tensor:
    """``F.softmax``: probabilities along ``dim``, from :func:`log_softmax`."""
    return log_softmax(input, dim).exp()


def cross_entropy(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``F.cross_entropy`` with its defaults: the mean over the batch of ``-log p(right class)``.

    Args:
        input: scores (logits) ``(N, C)``.
        target: the right class of each row, ``(N,)`` integers in ``[0, C)``.

    Returns:
        A scalar tensor.
    """
    # Exercise 4: your code here (hints: python -m grader hint 4)
    raise NotImplementedError("Exercise 4 (Softmax and cross-entropy by hand) is not started yet: write your code here. Read lessons/03-loss-and-softmax.md, then check it with: pytest exercises/ -m ex4")


def double_softmax_floor(num_classes: int = 10) -> float:
    """The lowest loss the notebook's double softmax can ever reach with ``num_classes`` classes.

    The network's softmax gives probabilities in [0, 1]; ``CrossEntropyLoss`` then
    takes their softmax again. The best the network can do is answer 1 for the
    right class and 0 for the others: compute the loss of that answer, with the
    functions above (about 1.4612 for 10 classes).
    """
    # Exercise 4: your code here (hints: python -m grader hint 4)
    raise NotImplementedError("Exercise 4 (Softmax and cross-entropy by hand) is not started yet: write your code here. Read lessons/03-loss-and-softmax.md, then check it with: pytest exercises/ -m ex4")
