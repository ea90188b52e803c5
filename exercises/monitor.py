"""TensorBoard logging with the notebook's tags (exercise 9).

Start TensorBoard with ``tensorboard --logdir runs`` and open the address it prints.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from .errors import CourseError

DEFAULT_LOG_DIR = Path("runs")
DEFAULT_RUN_NAME = "cnn_experiment"
RUN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}")


def check_run_name(name: str) -> str:
    """Return ``name`` if it is a plain run name: letters, digits, ``_ . + -``, no folders.

    Run names become ``<log_dir>/<name>`` and ``checkpoints/<name>.pt``, so a name
    such as ``../escape`` or ``/tmp/x`` would write outside those folders.

    Raises:
        CourseError: the name is empty, has a path separator, starts with a dot or a dash, or is too long.
    """
    if not RUN_NAME.fullmatch(name):
        raise CourseError(
            f"run name {name!r} is not a plain name: use up to 100 letters, digits, '_', '.', '+' or '-', "
            "starting with a letter, digit or '_' (e.g. lr_0.01)"
        )
    return name


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
