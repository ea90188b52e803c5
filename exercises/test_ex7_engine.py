"""Checks of exercise 7, train and test (exercises/engine.py), on real MNIST with the checks' own small network."""

import contextlib
import math

import pytest
import torch
from torch.overrides import TorchFunctionMode

from grader.checks import CheckFailed, FollowsFrom, apart, expect
from grader.fixtures import checks_network, seeded_network
from grader.pretend import PRETEND, PretendDevice

pytestmark = pytest.mark.ex7


class GradientRecorder(torch.optim.SGD):
    """An optimiser that learns nothing (lr 0) and records the size of the gradients at each step."""

    def __init__(self, params):
        super().__init__(params, lr=0.0)
        self.sizes = []

    def step(self, closure=None):
        grads = [p.grad.abs().sum() for group in self.param_groups for p in group["params"] if p.grad is not None]
        self.sizes.append(float(sum(grads)) if grads else 0.0)
        return super().step(closure)


class EventRecorder(torch.optim.SGD):
    """An optimiser that writes "step" into a shared list of events each time it steps."""

    def __init__(self, params, events):
        super().__init__(params, lr=0.01)
        self.events = events

    def step(self, closure=None):
        self.events.append("step")
        return super().step(closure)


def training_events(target, batches, loss_fn, cpu) -> list[str]:
    """What happens, in order, while ``target`` trains on ``batches``: forward, backward, step, on_step."""
    events = []
    model = seeded_network()
    model.register_forward_hook(lambda module, inputs, output: events.append("forward"))
    model[-1].bias.register_post_accumulate_grad_hook(lambda parameter: events.append("backward"))
    with target.running("same_as_reference"):
        target.get("engine", "train_one_epoch")(model, batches, EventRecorder(model.parameters(), events), loss_fn,
                                                cpu, lambda index, loss: events.append("on_step"))
    return events


def expect_step_after_backward(target, batches, loss_fn, cpu) -> None:
    """Fail with the step_order hint unless every batch goes forward, backward, then step."""
    events = [event for event in training_events(target, batches[:2], loss_fn, cpu) if event != "on_step"]
    expect(events == ["forward", "backward", "step"] * 2, "step_order",
           "forward, backward, step for each batch", ", ".join(events[:6]) or "no forward pass")


class ArgmaxDims(TorchFunctionMode):
    """Remembers the dim of every argmax (or max over a dim) taken of rows of 10 scores inside it."""

    def __init__(self) -> None:
        super().__init__()
        self.dims: list[object] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        scores = args[0] if args and isinstance(args[0], torch.Tensor) else None
        if name in ("argmax", "max") and scores is not None and scores.dim() == 2 and scores.shape[1] == 10:
            dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
            if name == "argmax" or isinstance(dim, int):
                self.dims.append(dim)
        return func(*args, **kwargs)

    def expect_rows(self) -> None:
        """Fail with the argmax hint if a class was taken over anything but each row's 10 scores."""
        wrong = [dim for dim in self.dims if dim not in (1, -1)]
        expect(not wrong, "argmax", "argmax over dim=1, the 10 scores of each image",
               f"argmax over dim={wrong[0] if wrong else None}: across the images of a batch")


ARGMAX_CHECK = "the predicted class is the argmax over the 10 scores of each image (batches of 10)"


def run_evaluate(target, model, batches, loss_fn, device, hint, pretend: PretendDevice | None = None):
    """``target``'s evaluate. An argmax over the wrong dim also breaks what ``hint`` checks (a batch of 128
    has 128 labels but 10 maxima over dim 0): the argmax check names it, the others say they follow from it."""
    dims = ArgmaxDims()
    try:
        with dims, pretend or contextlib.nullcontext(), target.running(hint):
            result = target.get("engine", "evaluate")(model, batches, loss_fn, device)
    except CheckFailed as error:
        if hint == "argmax":
            dims.expect_rows()
        elif any(dim not in (1, -1) for dim in dims.dims):
            raise FollowsFrom("argmax", ARGMAX_CHECK) from error
        raise
    if hint == "argmax":
        dims.expect_rows()
    return result


STEP_CHECK = "the optimiser steps after backpropagation, once per batch"


def expect_steps_in_order(target, batches, loss_fn, cpu) -> None:
    """What the step-order check finds wrong breaks every other training check too: they say so in one line."""
    try:
        expect_step_after_backward(target, batches, loss_fn, cpu)
    except CheckFailed as error:
        raise FollowsFrom(error.hint, STEP_CHECK) from error


def placement(target, batches, loss_fn, train: bool) -> dict[str, int]:
    """How many batches' images and labels met tensors on the device while still on the CPU, whatever
    computed with them (the model, loss_fn, F.cross_entropy, ==)."""
    pretend = PretendDevice()
    model = seeded_network()
    pretend.place(*model.parameters(), *model.buffers())
    for index, (images, labels) in enumerate(batches):
        pretend.watch(f"images {index}", images)
        pretend.watch(f"labels {index}", labels)
    if train:
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        with pretend, target.running("device"):
            target.get("engine", "train_one_epoch")(model, batches, optimizer, loss_fn, PRETEND)
    else:
        run_evaluate(target, model, batches, loss_fn, PRETEND, "device", pretend)
    return {part: sum(name.startswith(part) for name in pretend.mixed) for part in ("images", "labels")}


def expect_moved(stayed: dict[str, int], batches: int) -> None:
    for part, count in stayed.items():
        expect(count == 0, "device",
               f"the {part} of every batch moved with .to(device) before they meet the model or its outputs "
               "(the check pretends device is a GPU)",
               f"the {part} of {count} of {batches} batches still on the CPU where they met tensors on the device")


def train_epoch(target, batches, loss_fn, cpu, optimizer_class=None, model=None, on_step=None, **model_options):
    """One epoch of ``target``'s train_one_epoch on the checks' network (seeded); returns (model, loss, optimizer)."""
    model = model or seeded_network(**model_options)
    torch.manual_seed(0)  # the same dropout for learner and reference
    optimizer = (optimizer_class or (lambda params: torch.optim.Adam(params, lr=1e-3)))(model.parameters())
    train_one_epoch = target.get("engine", "train_one_epoch")
    with target.running("same_as_reference"):
        loss = train_one_epoch(model, batches, optimizer, loss_fn, cpu, on_step)
    return model, loss, optimizer


def evaluate(target, model, batches, loss_fn, cpu, hint):
    return run_evaluate(target, model, batches, loss_fn, cpu, hint)


def evaluation_numbers(target, model, batches, loss_fn, cpu, hint) -> dict[str, float]:
    """``target``'s evaluation as plain numbers, the form the reference's is stored in."""
    result = evaluate(target, model, batches, loss_fn, cpu, hint)
    return {"loss": result.loss, "correct": result.correct, "total": result.total}


def test_train_sets_train_mode(learner, mnist_batches, loss_fn, cpu):
    """train_one_epoch puts the model in train mode"""
    model = checks_network().eval()
    train_epoch(learner, mnist_batches["train"][:2], loss_fn, cpu, model=model)
    expect(model.training, "train_mode", "model.training to be True after train_one_epoch", "eval mode")


GRADIENT_CHECK = "each step's gradients are the reference's (cleared before every backward pass)"


def gradient_sizes(target, batches, loss_fn, cpu) -> list[float]:
    """The size of the gradients at each step of an epoch that learns nothing (lr 0, no dropout)."""
    return train_epoch(target, batches, loss_fn, cpu, GradientRecorder, dropout=0.0)[2].sizes


def same_sizes(found: list[float], wanted: list[float]) -> bool:
    return len(found) == len(wanted) and all(math.isclose(a, b, rel_tol=1e-4) for a, b in zip(found, wanted))


def expect_the_reference_gradients(learner, answers, batches, loss_fn, cpu) -> None:
    """Fail with the likeliest cause first: the order of the steps, a softmax before the loss (gradients about
    ten times smaller at every step), then gradients that pile up (no zero_grad)."""
    def softmax_first(outputs, labels):
        return loss_fn(outputs.softmax(dim=1), labels)

    wanted = answers.of("gradients", lambda reference: gradient_sizes(reference, batches, loss_fn, cpu))
    softmaxed = answers.of("gradients, softmax before the loss",
                           lambda reference: gradient_sizes(reference, batches, softmax_first, cpu))
    expect_steps_in_order(learner, batches, loss_fn, cpu)
    found = gradient_sizes(learner, batches, loss_fn, cpu)
    if same_sizes(found, wanted):
        return
    if same_sizes(found, softmaxed):
        raise CheckFailed("softmax_in_loop", f"gradients of size {wanted[0]:.3g} at the first step, as the reference's",
                          f"{found[0]:.3g}, {wanted[0] / found[0]:.0f} times smaller at every step, exactly as with a "
                          "softmax before the loss")
    expect(len(found) == len(wanted), "step_order", f"one optimiser step per batch: {len(wanted)}", len(found))
    step = next(step for step, (a, b) in enumerate(zip(found, wanted)) if not math.isclose(a, b, rel_tol=1e-4))
    shown, expected = apart(found[step], wanted[step])
    raise CheckFailed("zero_grad", f"gradients of size {expected} at step {step}, as the reference's",
                      f"{shown} at step {step}" + (": they grow from step to step" if found[step] > wanted[step] else ""))


def test_gradients_are_cleared_every_step(learner, answers, mnist_batches, loss_fn, cpu):
    """each step's gradients are the reference's (cleared before every backward pass)"""
    expect_the_reference_gradients(learner, answers, mnist_batches["train"], loss_fn, cpu)


def expect_gradients_first(learner, answers, batches, loss_fn, cpu) -> None:
    """Weights and losses that differ because the gradients do say so in one line."""
    try:
        expect_the_reference_gradients(learner, answers, batches, loss_fn, cpu)
    except FollowsFrom:
        raise
    except CheckFailed as error:
        raise FollowsFrom(error.hint, GRADIENT_CHECK) from error


def test_one_epoch_matches_the_reference(learner, answers, mnist_batches, loss_fn, cpu):
    """one epoch changes the weights exactly as the reference does (same seed)"""
    wanted = answers.of("weights", lambda reference: train_epoch(reference, mnist_batches["train"], loss_fn, cpu)[0]
                        .state_dict())
    expect_gradients_first(learner, answers, mnist_batches["train"], loss_fn, cpu)
    found = train_epoch(learner, mnist_batches["train"], loss_fn, cpu)[0].state_dict()
    difference = max(float((found[name] - wanted[name]).abs().max()) for name in wanted)
    expect(difference < 1e-5, "same_as_reference", "the reference's weights", f"a largest difference of {difference:.3g}")


def test_returns_the_average_training_loss(learner, answers, mnist_batches, loss_fn, cpu):
    """train_one_epoch returns the training loss averaged over samples"""
    wanted = answers.of("loss", lambda reference: train_epoch(reference, mnist_batches["train"], loss_fn, cpu)[1])
    expect_gradients_first(learner, answers, mnist_batches["train"], loss_fn, cpu)
    found = train_epoch(learner, mnist_batches["train"], loss_fn, cpu)[1]
    expect(isinstance(found, (float, int)), "train_loss", "a Python number (use loss.item())", type(found).__name__)
    expect(not math.isnan(found), "nan", "a number", found)
    expect(math.isclose(found, wanted, rel_tol=1e-4), "train_loss", *reversed(apart(found, wanted)))


def test_steps_after_backward(learner, mnist_batches, loss_fn, cpu):
    """the optimiser steps after backpropagation, once per batch"""
    expect_step_after_backward(learner, mnist_batches["train"], loss_fn, cpu)


def test_calls_on_step_after_the_optimiser_step(learner, mnist_batches, loss_fn, cpu):
    """on_step is called after each batch's optimiser step"""
    events = [event for event in training_events(learner, mnist_batches["train"][:2], loss_fn, cpu)
              if event in ("step", "on_step")]
    expect(events == ["step", "on_step"] * 2, "on_step", "step, on_step for each batch", ", ".join(events))


def test_train_moves_every_batch_to_the_device(learner, mnist_batches, loss_fn):
    """train_one_epoch moves the images and labels of every batch to the device"""
    expect_moved(placement(learner, mnist_batches["train"][:3], loss_fn, train=True), 3)


def test_evaluate_moves_every_batch_to_the_device(learner, mnist_batches, loss_fn):
    """evaluate moves the images and labels of every batch to the device"""
    expect_moved(placement(learner, mnist_batches["test"], loss_fn, train=False), len(mnist_batches["test"]))


def test_calls_on_step_after_each_batch(learner, mnist_batches, loss_fn, cpu):
    """on_step(batch_index, loss) is called once per batch"""
    calls = []
    train_epoch(learner, mnist_batches["train"], loss_fn, cpu, on_step=lambda index, loss: calls.append((index, loss)))
    indices = [index for index, _ in calls]
    expect(indices == list(range(len(mnist_batches["train"]))), "on_step",
           f"batch indices 0 to {len(mnist_batches['train']) - 1}", indices)
    expect(all(isinstance(loss, float) for _, loss in calls), "on_step", "losses as Python floats (loss.item())",
           {type(loss).__name__ for _, loss in calls})


def test_evaluate_sets_eval_mode(learner, trained_network, mnist_batches, loss_fn, cpu):
    """evaluate puts the model in eval mode"""
    model = trained_network.train()
    evaluate(learner, model, mnist_batches["test"], loss_fn, cpu, "eval_mode")
    expect(not model.training, "eval_mode", "model.training to be False after evaluate", "train mode: dropout stays on")


def test_evaluate_tracks_no_gradients(learner, trained_network, mnist_batches, loss_fn, cpu):
    """evaluate runs the model without tracking gradients"""
    tracked = []
    trained_network.register_forward_hook(lambda module, inputs, output: tracked.append(torch.is_grad_enabled()))
    evaluate(learner, trained_network, mnist_batches["test"], loss_fn, cpu, "no_grad")
    expect(tracked and not any(tracked), "no_grad", "gradients off in every forward pass (torch.no_grad())",
           f"gradients tracked in {sum(tracked)} of {len(tracked)} passes")


def test_evaluate_returns_an_evaluation(learner, trained_network, mnist_batches, loss_fn, cpu):
    """evaluate returns an Evaluation of plain numbers"""
    result = evaluate(learner, trained_network, mnist_batches["test"], loss_fn, cpu, "result_type")
    fields = {name: getattr(result, name, None) for name in ("loss", "correct", "total")}
    expect(all(isinstance(value, (int, float)) for value in fields.values()), "result_type",
           "loss, correct and total as Python numbers", {name: type(value).__name__ for name, value in fields.items()})


def test_evaluate_averages_the_loss_per_sample(learner, answers, trained_network, mnist_batches, loss_fn, cpu):
    """the test loss is averaged over samples (batches of 128, 128 and 44)"""
    wanted = answers.of("evaluation", lambda reference: evaluation_numbers(
        reference, trained_network, mnist_batches["test"], loss_fn, cpu, "loss_average"))
    found = evaluate(learner, trained_network, mnist_batches["test"], loss_fn, cpu, "loss_average")
    expect(not math.isnan(found.loss), "nan", "a number", found.loss)
    expect(math.isclose(found.loss, wanted["loss"], rel_tol=1e-4), "loss_average",
           *reversed(apart(found.loss, wanted["loss"])))


def test_evaluate_counts_over_the_whole_dataset(learner, answers, trained_network, mnist_batches, loss_fn, cpu):
    """accuracy counts every sample of the dataset"""
    wanted = answers.of("evaluation", lambda reference: evaluation_numbers(
        reference, trained_network, mnist_batches["test"], loss_fn, cpu, "accuracy"))
    found = evaluate(learner, trained_network, mnist_batches["test"], loss_fn, cpu, "accuracy")
    expect(found.total == wanted["total"], "accuracy", f"total = {wanted['total']} samples", found.total)
    expect(found.correct == wanted["correct"], "accuracy", f"{wanted['correct']} correct", found.correct)


def test_predicted_class_is_the_largest_score_per_image(learner, answers, trained_network, mnist_batches,
                                                          loss_fn, cpu):
    """the predicted class is the argmax over the 10 scores of each image (batches of 10)"""
    wanted = answers.of("evaluation", lambda reference: evaluation_numbers(
        reference, trained_network, mnist_batches["test_in_tens"], loss_fn, cpu, "argmax"))
    found = evaluate(learner, trained_network, mnist_batches["test_in_tens"], loss_fn, cpu, "argmax")
    expect(found.correct == wanted["correct"], "argmax", f"{wanted['correct']} correct", found.correct)
