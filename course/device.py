"""Choosing the device every tensor of a run lives on."""

from __future__ import annotations

import torch

from course.options import DEVICE_CHOICES

from .errors import CourseError


def mps_available() -> bool:
    """Whether Apple's Metal backend can be used in this process."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def select_device(name: str = "auto") -> torch.device:
    """Return the device called ``name``; ``"auto"`` prefers cuda, then mps, then cpu.

    Raises:
        CourseError: the device was named explicitly but this machine lacks it.
    """
    if name not in DEVICE_CHOICES:
        raise CourseError(f"unknown device {name!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_available() else torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise CourseError("--device cuda was asked for, but no CUDA GPU is available; use --device cpu or auto")
    if name == "mps" and not mps_available():
        raise CourseError("--device mps was asked for, but Apple's MPS backend is not available; use --device cpu or auto")
    return torch.device(name)
