"""Counting what an epoch is made of: the data set's statistics and its steps (exercise 1).

Both are things PyTorch usually hides: ``transforms.Normalize`` takes the mean and
standard deviation as given numbers, and ``len(DataLoader)`` counts the steps.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def mean_and_std(batches: Iterable[torch.Tensor]) -> tuple[float, float]:
    """The mean and standard deviation of every pixel in ``batches``, read one batch at a time.

    ``batches`` yields float tensors of any shape (for MNIST ``(N, 1, 28, 28)`` in
    [0, 1]) whose sizes may differ. No more than one batch is held at once, so the
    data set never has to fit in memory: only running sums are kept. The standard
    deviation is the population's (``correction=0``), as ``Normalize``'s 0.3081 is.
    """
    # BEGIN SOLUTION ex1
    count, total, total_of_squares = 0, 0.0, 0.0
    for batch in batches:
        values = batch.double()
        count += values.numel()
        total += values.sum().item()
        total_of_squares += values.square().sum().item()
    mean = total / count
    variance = max(total_of_squares / count - mean**2, 0.0)
    return mean, variance**0.5
    # END SOLUTION


def steps_per_epoch(dataset_size: int, batch_size: int, drop_last: bool = False) -> int:
    """How many optimiser steps one epoch takes: ``len(DataLoader(...))`` for these settings.

    The last batch is smaller when ``batch_size`` does not divide ``dataset_size``;
    it still makes a step unless ``drop_last`` is set.
    """
    # BEGIN SOLUTION ex1
    full_batches, left_over = divmod(dataset_size, batch_size)
    return full_batches + (1 if left_over and not drop_last else 0)
    # END SOLUTION
