"""What the benchmarks share: the course's thread settings, the machine line, a warm data cache, FLOP counting.

Every benchmark imports this module before PyTorch, so that it measures the course as a learner runs it.
"""

from __future__ import annotations

import os
import platform

from course.threads import configure_threads

configure_threads()  # before PyTorch loads

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from course.data import prepare_mnist  # noqa: E402
from course.device import select_device  # noqa: E402
from course.errors import CourseError  # noqa: E402
from solutions.model import CNN  # noqa: E402


def describe_machine() -> str:
    """One line: CPU count, threads, torch version, device."""
    return (f"machine: {os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} threads, "
            f"python {platform.python_version()}")


def warm_up_data() -> None:
    """Verify and unpack MNIST once, untimed, so neither side pays the md5 check."""
    prepare_mnist()


def training_flops_per_image() -> int:
    """FLOPs of one forward and backward pass of the CNN, per image (counted by torch)."""
    model, images = CNN(), torch.randn(100, 1, 28, 28)
    with FlopCounterMode(display=False) as counter:
        nn.functional.cross_entropy(model(images), torch.zeros(100, dtype=torch.long)).backward()
    return counter.get_total_flops() // 100


def device_or_exit(name: str) -> torch.device:
    """The device called ``name``, or exit with a one-line error when this machine lacks it (e.g. no GPU)."""
    try:
        return select_device(name)
    except CourseError as error:
        raise SystemExit(f"error: {error}") from None
