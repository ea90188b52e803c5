"""Checks of exercise 13, the CNN with your own parts (exercises/own_parts.py), against PyTorch's own layers."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from course.data import make_loaders
from grader.checks import CheckFailed, FollowsFrom, apart, expect, library_use
from grader.diagnosis import agrees
from grader.tracing import borrowed as library_borrowed

pytestmark = pytest.mark.ex13

IMAGES = 32  # test images each comparison runs
TRAINING = {"train_limit": 3000, "test_limit": 1000, "batch_size": 64, "lr": 5e-3, "dropout": 0.1}


class LibraryCNN(nn.Module):
    """Exercise 3's CNN computed by PyTorch's layers: what OwnCNN must equal, weight for weight."""

    def __init__(self, conv_dropout: float = 0.5, fc_dropout: float = 0.5) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 10, 5), nn.Conv2d(10, 20, 5)
        self.conv2_drop, self.fc_drop = nn.Dropout2d(conv_dropout), nn.Dropout(fc_dropout)
        self.fc1, self.fc2 = nn.Linear(320, 50), nn.Linear(50, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        return self.fc2(self.fc_drop(F.relu(self.fc1(torch.flatten(x, 1)))))


def library_cnn(dropout: float = 0.5, seed: int = 0) -> LibraryCNN:
    torch.manual_seed(seed)
    return LibraryCNN(dropout, dropout)


def own_cnn(target, library: LibraryCNN, dropout: float = 0.5) -> nn.Module:
    """``target``'s OwnCNN with ``library``'s weights, loaded by name."""
    with target.running("names"):
        model = target.get("own_parts", "OwnCNN", kind="class")(conv_dropout=dropout, fc_dropout=dropout)
    expect_names(model, library)
    model.load_state_dict(library.state_dict())
    return model


def expect_names(model: nn.Module, library: LibraryCNN) -> None:
    shapes = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    wanted = {name: tuple(tensor.shape) for name, tensor in library.state_dict().items()}
    expect(shapes == wanted, "names", f"exercise 3's weights {wanted}", shapes)


def outputs(target, model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """``model(images)``: an error inside is most likely layers in the wrong order (the shapes no longer fit)."""
    with target.running("layer_order"):
        return model(images)


def output_hint(found, expected: torch.Tensor) -> str:
    """``softmax_before_loss`` when ``found`` are the probabilities of the right scores, else ``forward``."""
    return "softmax_before_loss" if agrees(found, F.softmax(expected, dim=1), atol=1e-5) else "forward"


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_outputs_equal_pytorchs_layers(learner, test_inputs, mode):
    """with the same weights (exercise 3's names and shapes), OwnCNN gives the scores PyTorch's layers give,
    in eval mode and in train mode with dropout at 0"""
    dropout = 0.5 if mode == "eval" else 0.0
    library = library_cnn(dropout).train(mode == "train")
    model = own_cnn(learner, library, dropout).train(mode == "train")
    images = test_inputs[:IMAGES]
    with torch.no_grad():
        expected, found = library(images), outputs(learner, model, images)
        again = outputs(learner, model, images)
    if agrees(found, expected, atol=1e-4):
        return
    changing = mode == "eval" and isinstance(found, torch.Tensor) and not torch.equal(found, again)
    expect(False, "eval_dropout" if changing else output_hint(found, expected),
           f"the scores of exercise 3's CNN in {mode} mode{'' if dropout else ' with dropout 0'}",
           "other scores at every call, as dropout gives" if changing else "other scores")


def test_dropout_is_on_in_training(learner, test_inputs):
    """in train mode OwnCNN drops features at the rates it is given"""
    library = library_cnn()
    model = own_cnn(learner, library).train()
    with torch.no_grad():
        evaluated = library.eval()(test_inputs[:IMAGES])
        trained = outputs(learner, model, test_inputs[:IMAGES])
    expect(not agrees(trained, evaluated, atol=1e-6), "train_dropout", "other scores in train mode than in eval mode, "
           "at dropout 0.5", "the eval-mode scores: no dropout")


def test_loss_and_gradients_equal_pytorchs(learner, test_inputs, test_digits):
    """with the same weights, your loss and the gradients autograd takes through your parts are PyTorch's"""
    library = library_cnn(0.0).train()
    model = own_cnn(learner, library, 0.0).train()
    images, labels = test_inputs[:IMAGES], test_digits[1][:IMAGES]
    expected = F.cross_entropy(library(images), labels)
    expected.backward()
    scores = outputs(learner, model, images)
    with learner.running("loss"):
        found = learner.get("own_parts", "loss")(scores, labels)
        found.backward()
    if not agrees(found, expected, atol=1e-5):
        softmaxed = F.cross_entropy(F.softmax(library(images), dim=1), labels)
        expect(False, "softmax_before_loss" if agrees(found, softmaxed, atol=1e-5) else "loss",
               f"F.cross_entropy's {expected.item():.6g}", found.item() if isinstance(found, torch.Tensor) else found)
    for name, parameter in model.named_parameters():
        wanted = dict(library.named_parameters())[name].grad
        expect(parameter.grad is not None, "gradients", f"a gradient for {name}", "none: autograd never reached it")
        difference = (parameter.grad - wanted).abs().max().item()
        expect(difference <= 1e-5, "gradients", f"PyTorch's gradient of {name}", f"a difference of {difference:.3g}")


def parameters_after(make_step, steps: int = 2) -> list[torch.Tensor]:
    return [torch.cat([parameter.detach().flatten() for parameter in make_step()]) for _ in range(steps)]


def test_optimiser_steps_as_torchs_adam(learner, test_inputs, test_digits):
    """two steps of optimiser(parameters, lr) move the CNN's weights as torch.optim.Adam does"""
    library = library_cnn(0.0).train()
    model = own_cnn(learner, library, 0.0)
    images, labels = test_inputs[:IMAGES], test_digits[1][:IMAGES]
    torch_adam = torch.optim.Adam(library.parameters(), lr=0.01)
    with learner.running("adam_step"):
        adam = learner.get("own_parts", "optimiser")(model.parameters(), 0.01)
    for step in range(1, 3):  # the gradients are PyTorch's, so that only the optimisers differ
        torch_adam.zero_grad()
        F.cross_entropy(library(images), labels).backward()
        for parameter, reference in zip(model.parameters(), library.parameters()):
            parameter.grad = reference.grad.clone()
        torch_adam.step()
        with learner.running("adam_step"):
            adam.step()
        difference = max((mine - theirs).abs().max().item()
                         for mine, theirs in zip(model.parameters(), library.parameters()))
        expect(difference <= 1e-6, "adam_step", f"torch.optim.Adam(lr=0.01)'s weights after step {step}",
               f"a difference of {difference:.3g}")


def test_train_step_is_pytorchs_step(learner, test_inputs, test_digits):
    """train_step clears the gradients, takes your loss, backpropagates, then steps: two steps as PyTorch takes them"""
    library = library_cnn(0.0).train()
    model = own_cnn(learner, library, 0.0).train()
    batches = [(test_inputs[:IMAGES], test_digits[1][:IMAGES]), (test_inputs[IMAGES:2 * IMAGES],
                                                                  test_digits[1][IMAGES:2 * IMAGES])]
    with learner.running("adam_step"):
        adam = learner.get("own_parts", "optimiser")(model.parameters(), 0.01)
    events = []
    model.fc2.bias.register_post_accumulate_grad_hook(lambda parameter: events.append("backward"))
    step = adam.step
    adam.step = lambda: (events.append("step"), step())
    torch_adam = torch.optim.Adam(library.parameters(), lr=0.01)
    for images, labels in batches:
        torch_adam.zero_grad()
        F.cross_entropy(library(images), labels).backward()
        torch_adam.step()
        with learner.running("train_step"):
            learner.get("own_parts", "train_step")(model, images, labels, adam)
    expect(events == ["backward", "step"] * 2, "step_order", "backward, then step, for each batch", ", ".join(events))
    difference = max((mine - theirs).abs().max().item() for mine, theirs in zip(model.parameters(), library.parameters()))
    expect(difference <= 1e-5, "train_step", "PyTorch's weights after each of 2 steps", f"a difference of {difference:.3g}")


class OperationCounter(TorchDispatchMode):
    """Counts the PyTorch operations run inside it: a deterministic measure of how much Python loops."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def conv2d_operations(target, side: int) -> int:
    """How many PyTorch operations ``target``'s conv2d runs for one 2-channel ``side``×``side`` image, 3×3 kernels."""
    generator = torch.Generator().manual_seed(side)
    images, weight = torch.randn(1, 2, side, side, generator=generator), torch.randn(3, 2, 3, 3, generator=generator)
    with OperationCounter() as counter, target.running("pixel_loop"):
        target.get("convolution", "conv2d")(images, weight, torch.zeros(3))
    return counter.count


SPEED_CHECK = "conv2d's work in Python does not grow with the number of output pixels"


def expect_conv2d_vectorised(target) -> None:
    """Fail with the pixel_loop hint when conv2d runs far more operations for a larger image (a loop over pixels)."""
    small, large = conv2d_operations(target, 8), conv2d_operations(target, 16)  # 6×6 and 14×14 output pixels
    expect(large <= 2 * small, "pixel_loop", "about as many PyTorch operations for 14×14 output pixels as for 6×6 "
           "(a loop over the 3×3 kernel positions, or unfold, runs the same number)",
           f"{small} operations for 6×6 and {large} for 14×14: one Python step per output pixel, "
           f"{(large / small if small else large):.1f} times as many for {196 / 36:.1f} times the pixels")


def test_conv2d_is_fast_enough_to_train(learner):
    """conv2d's work in Python does not grow with the number of output pixels"""
    expect_conv2d_vectorised(learner)


def short_training(own_part) -> float:
    """The test accuracy of OwnCNN (``own_part(name)`` gives the parts) after one epoch of 3,000 images with
    its loss, optimiser and train_step, from exercise 3's weights of seed 0."""
    data = make_loaders("tensor", batch_size=TRAINING["batch_size"], train_limit=TRAINING["train_limit"],
                        test_limit=TRAINING["test_limit"], seed=0)
    library = library_cnn(TRAINING["dropout"])
    model = own_part("OwnCNN")(conv_dropout=TRAINING["dropout"], fc_dropout=TRAINING["dropout"])
    model.load_state_dict(library.state_dict())
    adam = own_part("optimiser")(model.parameters(), TRAINING["lr"])
    torch.manual_seed(0)  # the same dropout for learner and reference
    model.train()
    for images, labels in data.train:
        own_part("train_step")(model, images, labels, adam)
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(images).argmax(dim=1) == labels).sum()) for images, labels in data.test)
    return 100.0 * correct / TRAINING["test_limit"]


def test_short_training_reaches_the_references_accuracy(learner, answers):
    """one epoch of 3,000 MNIST images with your parts reaches the reference's accuracy, within one point"""
    try:
        expect_conv2d_vectorised(learner)
    except CheckFailed as error:  # the training would take minutes: the speed check says why
        raise FollowsFrom("pixel_loop", SPEED_CHECK) from error
    wanted = answers.of("accuracy", lambda reference: short_training(
        lambda name: reference.get("own_parts", name)))
    with learner.running("accuracy"):
        found = short_training(lambda name: learner.get("own_parts", name))
    shown, expected = apart(found, wanted)
    expect(abs(found - wanted) <= 1.0, "accuracy", f"{expected}% (the reference's, same data and seed), within one "
           "point", f"{shown}%")


def test_parts_are_your_own(learner, test_inputs, test_digits):
    """OwnCNN, loss and optimiser compute with your conv2d, max_pool2d, cross_entropy and Adam, not PyTorch's"""
    model = own_cnn(learner, library_cnn())
    images, labels = test_inputs[:8], test_digits[1][:8]
    with library_use() as used:
        with learner.running("forward"):
            adam = learner.get("own_parts", "optimiser")(model.parameters(), 0.01)
            learner.get("own_parts", "loss")(outputs(learner, model, images), labels).backward()
            adam.step()
    for part, hint in (("conv2d", "library_conv"), ("max_pool2d", "library_pool"), ("losses", "library_loss"),
                       ("optimisers", "library_optimiser")):
        borrowed = library_borrowed(used, part)
        expect(not borrowed, hint, f"no PyTorch {part} in your network, loss or optimiser",
               f"PyTorch's {', '.join(borrowed)}")
