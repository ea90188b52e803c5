"""A pretend accelerator, so that device placement is checked on a machine without a GPU.

On a CPU-only machine, code that never moves its batches, moves only the images or
hard-codes ``'cpu'`` works exactly like correct code. Inside :class:`PretendDevice`,
``tensor.to(device)`` with the pretend device keeps the tensor on the CPU but remembers
it as moved, so a check can ask whether what reached the model and the loss was moved.
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

PRETEND = torch.device("cuda")


def _is_pretend(device: object) -> bool:
    try:
        return torch.device(device).type == PRETEND.type
    except (TypeError, RuntimeError):
        return False


class PretendDevice(TorchFunctionMode):
    """Plays :data:`PRETEND` on the CPU: tensors sent there stay on the CPU and are remembered."""

    def __init__(self) -> None:
        super().__init__()
        self._moved: list[torch.Tensor] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func is torch.Tensor.to:
            device, dtype, non_blocking, memory_format = torch._C._nn._parse_to(*args[1:], **kwargs)
            if device is not None and device.type == PRETEND.type:
                converted = args[0].to("cpu", dtype=dtype or args[0].dtype, non_blocking=non_blocking,
                                       copy=bool(kwargs.get("copy", False)),
                                       memory_format=memory_format or torch.preserve_format)
                moved = converted.view_as(converted)  # a new tensor object, even where .to() returns self
                self._moved.append(moved)
                return moved
        if _is_pretend(kwargs.get("device")):  # factories such as torch.zeros(..., device=device)
            kwargs["device"] = "cpu"
        return func(*args, **kwargs)

    def was_moved(self, tensor: torch.Tensor) -> bool:
        """Whether ``tensor`` is the result of a ``.to(<pretend device>)`` call."""
        return any(tensor is moved for moved in self._moved)
