"""Checks of exercise 6, SGD and Adam by hand (exercises/optimisers.py)."""

import pytest
import torch

from grader.checks import expect, library_use
from grader.diagnosis import agrees, likeliest
from grader.tracing import borrowed as library_borrowed

pytestmark = pytest.mark.ex6

STEPS = 8


def parameters(seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(4, 3, generator=generator).requires_grad_(), torch.randn(3, generator=generator).requires_grad_()]


def loss_of(params: list[torch.Tensor], step: int) -> torch.Tensor:
    """A loss whose gradients change size and sign from step to step, some of them tiny."""
    weight, bias = params
    return ((weight.sin() * (step - 3.5)).sum() + (bias - 0.1 * step).square().sum() * 1e-3
            + (weight[0] * 1e-4).sum() * (-1) ** step)


def run(make_optimizer, params: list[torch.Tensor], steps: int = STEPS) -> list[list[torch.Tensor]]:
    """The parameters after each step of ``steps`` steps on :func:`loss_of`."""
    optimizer = make_optimizer(params)
    history = []
    for step in range(steps):
        optimizer.zero_grad()
        loss_of(params, step).backward()
        optimizer.step()
        history.append([parameter.detach().clone() for parameter in params])
    return history


def first_difference(found, expected) -> tuple[int, float] | None:
    """The first step (from 1) at which the parameters differ, and by how much; ``None`` when they agree."""
    for step, (mine, theirs) in enumerate(zip(found, expected), start=1):
        difference = max((a - b).abs().max().item() for a, b in zip(mine, theirs))
        if not difference <= 1e-5:  # NaN compares false both ways: a NaN parameter is a difference
            return step, difference
    return None


def never_moved(found, seed: int) -> bool:
    """Whether the parameters are still where they started after every step."""
    start = parameters(seed)
    return all(all(torch.equal(a, b.detach()) for a, b in zip(step, start)) for step in found)


def learner_run(learner, name: str, hint: str, seed: int, **settings):
    optimizer = learner.get("optimisers", name, kind="class")
    with learner.running(hint):
        return run(lambda params: optimizer(params, **settings), parameters(seed))


def reference_run(optimizer, seed: int, **settings):
    return run(lambda params: optimizer(params, **settings), parameters(seed))


@pytest.mark.parametrize("lr", [0.1, 0.01])
def test_sgd_equals_torchs(learner, lr):
    """SGD without momentum takes torch.optim.SGD's steps"""
    found = learner_run(learner, "SGD", "sgd", seed=0, lr=lr)
    differs = first_difference(found, reference_run(torch.optim.SGD, seed=0, lr=lr))
    expect(differs is None, "in_place" if never_moved(found, seed=0) else "sgd", f"torch.optim.SGD(lr={lr})'s parameters after each of {STEPS} steps",
           differs and f"a difference of {differs[1]:.3g} after step {differs[0]}")


def like(found, make_optimizer, seed: int) -> bool:
    """Whether ``found`` is the history of ``make_optimizer``'s steps from the same start (NaNs where it has them)."""
    return agrees(found, run(make_optimizer, parameters(seed)))


@pytest.mark.parametrize("momentum", [0.9, 0.5])
def test_sgd_with_momentum_equals_torchs(learner, momentum):
    """SGD with momentum keeps torch.optim.SGD's running buffer"""
    found = learner_run(learner, "SGD", "momentum", seed=1, lr=0.05, momentum=momentum)
    differs = first_difference(found, reference_run(torch.optim.SGD, seed=1, lr=0.05, momentum=momentum))
    if differs is None:
        return
    mistakes = [("momentum_first_step", {"first": "damped"}), ("momentum_first_step", {"first": "zero", "damped": True}),
                ("nesterov", {"nesterov": True}), ("momentum", {"moved_by": "gradient"})]
    hint = "in_place" if never_moved(found, seed=1) else likeliest(
        found, [(hint, lambda variant=variant: lambda params: SGDVariant(params, 0.05, momentum, **variant))
                for hint, variant in mistakes], "momentum", same=lambda found, make: like(found, make, seed=1))
    expect(False, hint, f"torch.optim.SGD(lr=0.05, momentum={momentum})'s parameters after each step",
           f"a difference of {differs[1]:.3g} after step {differs[0]}")


@pytest.mark.parametrize("settings", [{"lr": 0.01}, {"lr": 0.1, "betas": (0.8, 0.99)}, {"lr": 0.01, "eps": 1e-3}],
                         ids=["defaults", "betas", "eps"])
def test_adam_equals_torchs(learner, settings):
    """Adam takes torch.optim.Adam's steps, bias correction included"""
    found = learner_run(learner, "Adam", "adam", seed=2, **settings)
    differs = first_difference(found, reference_run(torch.optim.Adam, seed=2, **settings))
    if differs is None:
        return
    mistakes = [("bias_correction", {"corrected": ()}), ("bias_correction", {"corrected": ("v",)}),
                ("bias_correction", {"corrected": ("m",)}), ("adam_eps", {"eps_inside": True}),
                ("adam_square", {"squared": False})]
    hint = "in_place" if never_moved(found, seed=2) else likeliest(
        found, [(hint, lambda variant=variant: lambda params: AdamVariant(params, **settings, **variant))
                for hint, variant in mistakes], "adam", same=lambda found, make: like(found, make, seed=2))
    expect(False, hint, f"torch.optim.Adam({', '.join(f'{k}={v}' for k, v in settings.items())})'s parameters "
           "after each step", f"a difference of {differs[1]:.3g} after step {differs[0]}")


class Variant:
    """An optimiser written with one of the likeliest mistakes, to recognise a learner's steps by it."""

    def __init__(self, params) -> None:
        self.params = params
        self.state = [{} for _ in params]

    def zero_grad(self) -> None:
        for parameter in self.params:
            parameter.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for parameter, state in zip(self.params, self.state):
            state["step"] = state.get("step", 0) + 1
            parameter.sub_(self.change(parameter.grad, state))


class SGDVariant(Variant):
    """SGD with momentum whose buffer starts at the gradient, at (1 − momentum)·gradient (``first="damped"``) or
    at zero; ``damped`` adds (1 − momentum)·gradient each step; Nesterov's look-ahead; moved by the gradient."""

    def __init__(self, params, lr, momentum, first="gradient", damped=False, nesterov=False, moved_by="buffer"):
        super().__init__(params)
        self.lr, self.momentum, self.first, self.damped, self.nesterov = lr, momentum, first, damped, nesterov
        self.moved_by = moved_by

    def change(self, gradient, state):
        added = (1 - self.momentum) * gradient if self.damped else gradient
        if "buffer" in state:
            state["buffer"] = self.momentum * state["buffer"] + added
        else:
            state["buffer"] = {"gradient": gradient.clone(), "damped": (1 - self.momentum) * gradient,
                               "zero": added}[self.first]
        direction = gradient + self.momentum * state["buffer"] if self.nesterov else state["buffer"]
        return self.lr * (gradient if self.moved_by == "gradient" else direction)


class AdamVariant(Variant):
    """Adam correcting only the running means named in ``corrected``, with eps under the square root
    (``eps_inside``), or averaging the gradients instead of their squares (``squared=False``)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, corrected=("m", "v"), eps_inside=False,
                 squared=True):
        super().__init__(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.corrected, self.eps_inside, self.squared = corrected, eps_inside, squared

    def change(self, gradient, state):
        beta1, beta2, t = *self.betas, state["step"]
        m = state["m"] = beta1 * state.get("m", 0) + (1 - beta1) * gradient
        v = state["v"] = beta2 * state.get("v", 0) + (1 - beta2) * (gradient.square() if self.squared else gradient)
        m = m / (1 - beta1**t) if "m" in self.corrected else m
        v = v / (1 - beta2**t) if "v" in self.corrected else v
        denominator = (v + self.eps).sqrt() if self.eps_inside else v.sqrt() + self.eps
        return self.lr * m / denominator


def test_parameters_without_gradients_stay(learner):
    """a parameter that got no gradient is left alone"""
    for name in ("SGD", "Adam"):
        used, unused = torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
        with learner.running("no_grad_skipped"):
            optimizer = learner.get("optimisers", name, kind="class")([used, unused], lr=0.1)
            optimizer.zero_grad()
            (used * torch.arange(3.0)).sum().backward()
            optimizer.step()
        expect(torch.equal(unused.detach(), torch.ones(3)), "no_grad_skipped",
               f"{name}: a parameter with no gradient unchanged", unused.detach().tolist())


def test_steps_are_written_by_hand(learner):
    """SGD and Adam update the parameters themselves, without torch.optim"""
    with library_use() as used:
        learner_run(learner, "SGD", "sgd", seed=0, lr=0.1, momentum=0.9)
        learner_run(learner, "Adam", "adam", seed=0, lr=0.1)
    borrowed = library_borrowed(used, "optimisers")
    expect(not borrowed, "own_optimiser", "no torch.optim optimiser inside SGD or Adam", ", ".join(borrowed))
