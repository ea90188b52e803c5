"""What PyTorch did for a piece of code: the tracing both trust levels of the grader use.

It imports nothing but torch, so that class grading can copy it into the sandbox beside
the worker, where the grader itself is not mounted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.utils._python_dispatch import TorchDispatchMode


class _OperationRecorder(TorchDispatchMode):
    """Remembers the name of every ATen operation run inside it, however it was reached."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.names.add(func.overloadpacket.__name__)
        return func(*args, **(kwargs or {}))


@contextmanager
def library_use() -> Iterator[set[str]]:
    """What PyTorch did for the code inside: ATen operation names (``convolution``, ``_log_softmax`` ...),
    ``"autograd"`` for a backward pass or ``torch.autograd.grad``, and ``"torch.optim.<Name>"`` for every
    optimiser built. Concept exercises use it to tell a re-implementation from a call of the original,
    whichever route the call took (``F.conv2d``, ``nn.Conv2d``, ``torch.ops.aten`` ...)."""
    names: set[str] = set()
    backward, grad, build_optimizer = torch.autograd.backward, torch.autograd.grad, torch.optim.Optimizer.__init__

    def recorded_backward(*args, **kwargs):
        names.add("autograd")
        return backward(*args, **kwargs)

    def recorded_grad(*args, **kwargs):
        names.add("autograd")
        return grad(*args, **kwargs)

    def recorded_optimizer(optimizer, *args, **kwargs):
        names.add(f"torch.optim.{type(optimizer).__name__}")
        return build_optimizer(optimizer, *args, **kwargs)

    torch.autograd.backward, torch.autograd.grad = recorded_backward, recorded_grad
    torch.optim.Optimizer.__init__ = recorded_optimizer
    try:
        with _OperationRecorder(names):
            yield names
    finally:
        torch.autograd.backward, torch.autograd.grad = backward, grad
        torch.optim.Optimizer.__init__ = build_optimizer


LOSS_OPERATIONS = {"_log_softmax", "log_softmax", "_softmax", "softmax", "nll_loss_forward", "nll_loss",
                   "nll_loss_nd", "nll_loss2d_forward", "cross_entropy_loss"}
#: For each function a learner re-implements, which of :func:`library_use`'s names would do its work for it.
DOES_THE_WORK = {
    "conv2d": lambda name: "conv" in name and not name.startswith("_convert"),
    "max_pool2d": lambda name: "pool" in name,
    "losses": LOSS_OPERATIONS.__contains__,
    "forward_backward": lambda name: name == "autograd",
    "optimisers": lambda name: name.startswith(("torch.optim", "_fused")),
}


def borrowed(used: set[str], function: str) -> list[str]:
    """The names in ``used`` that do the work of ``function`` (a key of :data:`DOES_THE_WORK`), sorted."""
    return sorted(name for name in used if DOES_THE_WORK[function](name))
