"""SGD with momentum and Adam written out, step for step as ``torch.optim`` takes them (exercise 6).

An optimiser turns each parameter's gradient into a change of that parameter. SGD
moves against a running sum of gradients (momentum); Adam divides a running mean
of the gradients by the square root of a running mean of their squares, after
correcting both for starting at zero.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


class Optimiser:
    """What both optimisers share: the parameters, their state, and clearing gradients."""

    def __init__(self, params: Iterable[torch.Tensor]) -> None:
        self.params = list(params)
        self.state: list[dict] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Forget the gradients of the last backward pass, as ``optimizer.zero_grad()`` does."""
        for parameter in self.params:
            parameter.grad = None


class SGD(Optimiser):
    """``torch.optim.SGD(params, lr, momentum)``: ``buffer = momentum · buffer + grad``, ``p −= lr · buffer``.

    On the first step the buffer is the gradient itself.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float, momentum: float = 0.0) -> None:
        super().__init__(params)
        self.lr, self.momentum = lr, momentum

    @torch.no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for parameter, state in zip(self.params, self.state):
            if parameter.grad is None:
                continue
            # Exercise 6: your code here (hints: python -m grader hint 6)
            raise NotImplementedError("Exercise 6 (SGD and Adam by hand) is not started yet: write your code here. Read lessons/04-backpropagation-and-optimisers.md, then check it with: pytest exercises/ -m ex6")


class Adam(Optimiser):
    """``torch.optim.Adam(params, lr, betas, eps)``, bias correction included.

    ``m = β1·m + (1 − β1)·g`` and ``v = β2·v + (1 − β2)·g²``; after ``t`` steps
    ``m̂ = m / (1 − β1ᵗ)``, ``v̂ = v / (1 − β2ᵗ)`` and ``p −= lr · m̂ / (√v̂ + eps)``.
    """

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params)
        self.lr, self.betas, self.eps = lr, betas, eps

    @torch.no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient."""
        beta1, beta2 = self.betas
        for parameter, state in zip(self.params, self.state):
            if parameter.grad is None:
                continue
            state["step"] = state.get("step", 0) + 1  # t: how many steps this parameter has taken
            # Exercise 6: your code here (hints: python -m grader hint 6)
            raise NotImplementedError("Exercise 6 (SGD and Adam by hand) is not started yet: write your code here. Read lessons/04-backpropagation-and-optimisers.md, then check it with: pytest exercises/ -m ex6")
