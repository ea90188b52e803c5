"""Checks of exercise 8, sanity checks before training (exercises/sanity.py)."""

import copy
import math

import pytest
import torch
from torch import nn

from grader.checks import expect
from grader.diagnosis import likeliest
from grader.fixtures import seeded_network


@pytest.fixture(scope="module")
def one_batch(mnist_batches):
    """16 real training images and their labels."""
    images, labels = mnist_batches["train"][0]
    return images[:16], labels[:16]


pytestmark = pytest.mark.ex8


def test_loss_at_start_is_the_models_loss_without_dropout(learner, answers, one_batch, loss_fn):
    """loss_at_start measures the untrained model with dropout off: close to ln 10"""
    images, labels = one_batch
    model = seeded_network(dropout=0.5)
    expected = answers.of("loss", lambda reference: reference.get("sanity", "loss_at_start")(
        copy.deepcopy(model), images, labels, loss_fn))
    loss_at_start = learner.get("sanity", "loss_at_start")
    with learner.running("start"):
        found = [loss_at_start(copy.deepcopy(model).train(), images, labels, loss_fn) for _ in range(2)]
    expect(all(isinstance(value, float) for value in found), "start_float", "a Python float (loss.item())",
           type(found[0]).__name__)
    hint = "start_eval" if found[0] != found[1] else "start"
    expect(all(math.isclose(value, expected, rel_tol=1e-5) for value in found), hint,
           f"{expected:.4f} (ln 10 = {math.log(10):.4f}), the same every time",
           " and then ".join(f"{value:.4f}" for value in found))


def test_loss_at_start_changes_and_records_nothing(learner, one_batch, loss_fn):
    """loss_at_start leaves the weights alone and records no graph"""
    images, labels = one_batch
    model = seeded_network()
    before = copy.deepcopy(model.state_dict())
    recording = []
    model.register_forward_hook(lambda module, inputs, output: recording.append(torch.is_grad_enabled()))
    with learner.running("start"):
        learner.get("sanity", "loss_at_start")(model, images, labels, loss_fn)
    changed = [name for name, value in model.state_dict().items() if not torch.equal(value, before[name])]
    expect(not changed, "start_changes", "the weights unchanged", f"changed: {', '.join(changed)}")
    expect(recording and not any(recording), "start_no_grad", "the forward pass run under torch.no_grad()",
           "a computation graph recorded" if recording else "the model never called")


def overfit(target, model, one_batch, loss_fn, steps: int = 12, lr: float = 3e-3):
    images, labels = one_batch
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    torch.manual_seed(1)
    return target.get("sanity", "overfit_one_batch")(model, images, labels, loss_fn, optimizer, steps)


def overfit_mistaken(model, one_batch, loss_fn, train: bool = True, zero_grad: bool = True, one_optimizer: bool = True,
                     steps: int = 12, lr: float = 3e-3) -> list[float]:
    """The losses :func:`overfit` records when the loop leaves out model.train() or zero_grad, or makes a new
    optimiser at every step: the likeliest mistakes, to recognise a learner's losses by them."""
    images, labels = one_batch
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    torch.manual_seed(1)
    model.train(train or model.training)
    losses = []
    for _ in range(steps):
        optimizer = optimizer if one_optimizer else torch.optim.Adam(model.parameters(), lr=lr)
        if zero_grad:
            optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def test_overfit_one_batch_trains_like_lesson_5s_loop(learner, answers, one_batch, loss_fn):
    """overfit_one_batch trains on the batch and returns the loss before each step"""
    model = seeded_network(dropout=0.2).eval()
    start = copy.deepcopy(model)
    expected = answers.of("losses", lambda reference: overfit(reference, copy.deepcopy(model), one_batch, loss_fn))
    with learner.running("overfit"):
        found = overfit(learner, model, one_batch, loss_fn)
    expect(isinstance(found, list) and len(found) == len(expected), "overfit_steps",
           f"a list of {len(expected)} losses, one per step",
           f"{len(found)} values" if isinstance(found, (list, tuple)) else type(found).__name__)
    expect(all(isinstance(loss, float) for loss in found), "start_float", "Python floats (loss.item())",
           sorted({type(loss).__name__ for loss in found}))
    if all(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6) for a, b in zip(found, expected)):
        return
    mistakes = [(hint, lambda mistake=mistake: overfit_mistaken(copy.deepcopy(start), one_batch, loss_fn, **mistake))
                for hint, mistake in (("overfit_train_mode", {"train": False}), ("overfit_loop", {"zero_grad": False}),
                                      ("overfit_one_optimiser", {"one_optimizer": False}))]
    otherwise = "overfit_first" if not math.isclose(found[0], expected[0], rel_tol=1e-4) else "overfit"
    hint = likeliest(found, mistakes, otherwise,
                     same=lambda mine, theirs: all(math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6)
                                                   for a, b in zip(mine, theirs)))
    parting = next(step for step, (a, b) in enumerate(zip(found, expected), start=1)
                   if not math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6))
    shown = ", ".join(f"{loss:.3f}" for loss in expected[:4])
    expect(False, hint, f"the losses {shown}, …",
           ", ".join(f"{loss:.3f}" for loss in found[:4]) + f", … (first different at step {parting})")


def test_overfitting_one_batch_reaches_near_zero(learner, one_batch, loss_fn):
    """a healthy network overfits 16 images: its loss falls below 0.05 within 30 steps"""
    model = seeded_network(dropout=0.0)
    with learner.running("overfit"):
        losses = overfit(learner, model, one_batch, loss_fn, steps=30, lr=1e-2)
    final = losses[-1] if isinstance(losses, list) and losses else float("nan")
    expect(final < 0.05, "overfit_loop", "a loss below 0.05 after 30 steps", f"{final:.3f}")
