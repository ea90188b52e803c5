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
            # BEGIN SOLUTION ex6
            if self.momentum:
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = parameter.grad.clone()
                else:
                    state["momentum_buffer"].mul_(self.momentum).add_(parameter.grad)
                direction = state["momentum_buffer"]
            else:
                direction = parameter.grad
            parameter.sub_(self.lr * direction)
            # END SOLUTION


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
            # BEGIN SOLUTION ex6
            gradient = parameter.grad
            mean = state.setdefault("exp_avg", torch.zeros_like(parameter))
            mean_of_squares = state.setdefault("exp_avg_sq", torch.zeros_like(parameter))
            mean.mul_(beta1).add_((1 - beta1) * gradient)
            mean_of_squares.mul_(beta2).add_((1 - beta2) * gradient.square())
            corrected_mean = mean / (1 - beta1 ** state["step"])
            corrected_mean_of_squares = mean_of_squares / (1 - beta2 ** state["step"])
            parameter.sub_(self.lr * corrected_mean / (corrected_mean_of_squares.sqrt() + self.eps))
            # END SOLUTION
