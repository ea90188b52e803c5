"""TensorBoard logging with the notebook's tags (exercise 9).

Start TensorBoard with ``tensorboard --logdir runs`` and open the address it prints.
"""

from __future__ import annotations

import os
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from course.options import DEFAULT_LOG_DIR, DEFAULT_RUN_NAME


def open_writer(run_name: str = DEFAULT_RUN_NAME, log_dir: str | os.PathLike = DEFAULT_LOG_DIR) -> SummaryWriter:
    """A ``SummaryWriter`` that writes to ``<log_dir>/<run_name>``, as the notebook's ``runs/cnn_experiment``."""
    return SummaryWriter(str(Path(log_dir) / run_name))


def log_train_step(writer: SummaryWriter, loss: float, epoch: int, batch_index: int, batches_per_epoch: int) -> None:
    """Log one training batch's loss as ``Loss/Train``.

    The x-axis is the global step, counted over all epochs, so that the curves
    of successive epochs follow each other instead of overlapping.
    """
    # Exercise 9: your code here (hints: python -m grader hint 9)
    raise NotImplementedError("Exercise 9 (Add TensorBoard) is not started yet: write your code here. Read lessons/05-training-loop-and-tensorboard.md, then check it with: pytest exercises/ -m ex9")


def log_test_epoch(writer: SummaryWriter, loss: float, accuracy: float, epoch: int) -> None:
    """Log an epoch's test loss as ``Loss/Test`` and accuracy (in percent) as ``Accuracy/Test``."""
    # Exercise 9: your code here (hints: python -m grader hint 9)
    raise NotImplementedError("Exercise 9 (Add TensorBoard) is not started yet: write your code here. Read lessons/05-training-loop-and-tensorboard.md, then check it with: pytest exercises/ -m ex9")
