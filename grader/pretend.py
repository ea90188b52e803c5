"""A pretend accelerator, so that device placement is checked on a machine without a GPU.

On a CPU-only machine, code that never moves its batches, moves only the images or
hard-codes ``'cpu'`` works exactly like correct code. Inside :class:`PretendDevice`,
``tensor.to(device)`` with the pretend device keeps the tensor on the CPU but remembers
it as being on the device, and so does everything computed from it, the tensors
:meth:`PretendDevice.place` puts there (a model's weights) and whatever a factory makes
with ``device=``; ``tensor.device`` answers the pretend device for all of them. An
operation that meets a tensor on the device and a batch still on the CPU is what a GPU
refuses: the check asks :attr:`PretendDevice.mixed` which batches did, whichever
function computed it (the model, ``loss_fn``, ``F.cross_entropy``, ``==`` ...).
"""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten
from torch.utils.weak import WeakIdKeyDictionary

PRETEND = torch.device("cuda")


def _is_pretend(device: object) -> bool:
    try:
        return torch.device(device).type == PRETEND.type
    except (TypeError, RuntimeError):
        return False


def _tensors(*values: object) -> list[torch.Tensor]:
    return [value for value in tree_flatten(values)[0] if isinstance(value, torch.Tensor)]


class PretendDevice(TorchFunctionMode):
    """Plays :data:`PRETEND` on the CPU and remembers which watched CPU tensors met tensors on it."""

    def __init__(self) -> None:
        super().__init__()
        self._on_device = WeakIdKeyDictionary()  # tensor -> True: on the pretend device
        self._origins = WeakIdKeyDictionary()  # CPU tensor -> names of the watched tensors it was computed from
        self.mixed: set[str] = set()

    def place(self, *tensors: torch.Tensor) -> None:
        """Treat ``tensors`` as living on the pretend device (e.g. ``model.parameters()``)."""
        for tensor in tensors:
            self._on_device[tensor] = True

    def watch(self, name: str, tensor: torch.Tensor) -> None:
        """Remember ``name`` in :attr:`mixed` if ``tensor``, or anything computed from it on the CPU, meets
        a tensor on the device."""
        self._origins[tensor] = frozenset({name})

    def _moved(self, func, args, kwargs) -> bool:
        if func is torch.Tensor.cuda:
            return True
        if func is not torch.Tensor.to:
            return False
        device = torch._C._nn._parse_to(*args[1:], **kwargs)[0]
        return device is not None and device.type == PRETEND.type

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func == torch.Tensor.device.__get__:
            return PRETEND if args[0] in self._on_device else func(*args)
        if self._moved(func, args, kwargs):
            return self._to_device(func, args, kwargs)
        made_on_device = _is_pretend(kwargs.get("device"))
        if made_on_device:  # factories such as torch.zeros(..., device=device)
            kwargs["device"] = "cpu"
        inputs = _tensors(args, kwargs)
        on_device = made_on_device or any(tensor in self._on_device for tensor in inputs)
        origins = frozenset().union(*(self._origins.get(tensor, frozenset()) for tensor in inputs
                                      if tensor not in self._on_device))
        leaves = func is torch.Tensor.cpu or (func is torch.Tensor.to and torch._C._nn._parse_to(*args[1:], **kwargs)[0]
                                               is not None)  # .cpu(), .to("cpu"): back on the CPU
        on_device = on_device and not leaves
        if on_device:
            self.mixed |= {name for tensor in inputs if tensor.dim() > 0 and tensor not in self._on_device
                           for name in self._origins.get(tensor, ())}
        result = func(*args, **kwargs)
        for output in _tensors(result):
            if on_device:
                self._on_device[output] = True
            elif origins:
                self._origins[output] = origins
        return result

    def _to_device(self, func, args, kwargs) -> torch.Tensor:
        tensor = args[0]
        if func is torch.Tensor.cuda:
            converted = tensor.clone()
        else:
            device, dtype, non_blocking, memory_format = torch._C._nn._parse_to(*args[1:], **kwargs)
            converted = tensor.to("cpu", dtype=dtype or tensor.dtype, non_blocking=non_blocking,
                                  copy=bool(kwargs.get("copy", False)),
                                  memory_format=memory_format or torch.preserve_format)
        moved = converted.view_as(converted)  # a new tensor object, even where .to() returns self
        self._on_device[moved] = True
        return moved
