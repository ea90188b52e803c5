"""Checks of exercise 5, backpropagation by hand (exercises/backprop.py)."""

import math

import pytest
import torch
import torch.nn.functional as F

from grader.checks import expect, library_use

pytestmark = pytest.mark.ex5

NAMES = ("w1", "b1", "w2", "b2")


def network(seed: int, batch: int = 6, features: int = 5, hidden: int = 4, classes: int = 3):
    """Inputs, targets and float64 weights of a small Linear → ReLU → Linear network."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(batch, features, generator=generator, dtype=torch.float64)
    targets = torch.randint(0, classes, (batch,), generator=generator)
    weights = [torch.randn(*shape, generator=generator, dtype=torch.float64)
               for shape in ((hidden, features), (hidden,), (classes, hidden), (classes,))]
    return inputs, targets, weights


def autograd_gradients(inputs, targets, weights, relu_mask: bool = True):
    """The loss and gradients autograd finds (or, for diagnosis, those of a network whose ReLU passes everything)."""
    leaves = [weight.clone().requires_grad_() for weight in weights]
    w1, b1, w2, b2 = leaves
    hidden = inputs @ w1.T + b1
    if relu_mask:
        scores = F.relu(hidden) @ w2.T + b2
    else:  # the forward as it is, the backward as if the ReLU let every gradient through
        scores = (hidden + (F.relu(hidden) - hidden).detach()) @ w2.T + b2
    loss = F.cross_entropy(scores, targets)
    loss.backward()
    return loss.detach(), {name: leaf.grad for name, leaf in zip(NAMES, leaves)}


def learner_gradients(learner, inputs, targets, weights):
    with learner.running("bp_runs"):
        loss, gradients = learner.get("backprop", "forward_backward")(inputs, targets, *weights)
        return loss, dict(gradients) if isinstance(gradients, dict) else dict(zip(NAMES, gradients))


def check_gradients(found: dict, expected: dict, names: tuple[str, ...], hint_for) -> None:
    for name in names:
        gradient = found.get(name)
        if not isinstance(gradient, torch.Tensor) or gradient.shape != expected[name].shape:
            shape = tuple(gradient.shape) if isinstance(gradient, torch.Tensor) else type(gradient).__name__
            shaped_like = [other for other in NAMES if isinstance(gradient, torch.Tensor) and other != name
                           and gradient.shape == expected[other].shape]
            expect(False, "gradient_order" if shaped_like else "bias_axis" if name.startswith("b") else "shapes",
                   f"the gradient of {name} shaped like {name}, {tuple(expected[name].shape)}", shape)
        expect(torch.allclose(gradient.double(), expected[name], atol=1e-8), hint_for(name, gradient),
               f"autograd's gradient of {name}",
               f"a largest difference of {(gradient.double() - expected[name]).abs().max().item():.3g}")


@pytest.mark.parametrize("seed", [0, 1])
def test_the_loss_is_cross_entropy(learner, seed):
    """forward_backward returns the network's cross-entropy loss"""
    inputs, targets, weights = network(seed)
    expected, _ = autograd_gradients(inputs, targets, weights)
    loss, _ = learner_gradients(learner, inputs, targets, weights)
    value = float(loss) if isinstance(loss, (int, float)) or isinstance(loss, torch.Tensor) and loss.numel() == 1 else None
    expect(value is not None and math.isclose(value, expected.item(), rel_tol=1e-9, abs_tol=1e-12), "bp_loss",
           f"loss {expected.item():.6f}", f"{value:.6f}" if value is not None else type(loss).__name__)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_output_layer_gradients(learner, seed):
    """the gradients of w2 and b2 equal autograd's: (p − y) / N times the activations"""
    inputs, targets, weights = network(seed)
    _, expected = autograd_gradients(inputs, targets, weights)
    _, found = learner_gradients(learner, inputs, targets, weights)

    def hint_for(name, gradient):
        if torch.allclose(gradient.double(), expected[name] * len(targets), atol=1e-8):
            return "batch_mean"
        return "p_minus_y"

    check_gradients(found, expected, ("w2", "b2"), hint_for)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_layer_gradients(learner, seed):
    """the gradients of w1 and b1 equal autograd's, through the ReLU's mask"""
    inputs, targets, weights = network(seed, batch=8, hidden=6)
    _, expected = autograd_gradients(inputs, targets, weights)
    _, unmasked = autograd_gradients(inputs, targets, weights, relu_mask=False)
    _, found = learner_gradients(learner, inputs, targets, weights)

    def hint_for(name, gradient):
        if torch.allclose(gradient.double(), unmasked[name], atol=1e-8):
            return "relu_mask"
        if torch.allclose(gradient.double(), expected[name] * len(targets), atol=1e-8):
            return "batch_mean"
        return "hidden_gradients"

    check_gradients(found, expected, ("w1", "b1"), hint_for)


def test_gradients_are_computed_by_hand(learner):
    """forward_backward computes the gradients itself, without autograd"""
    inputs, targets, weights = network(3)
    with library_use() as used:
        learner_gradients(learner, inputs, targets, weights)
    expect("autograd" not in used, "no_autograd", "no backward() or torch.autograd.grad inside forward_backward",
           "autograd was used")


def smooth_function(point: torch.Tensor) -> torch.Tensor:
    """A curved scalar function, where a one-sided difference is visibly less accurate than a central one."""
    return (point.sin() * point.square()).sum() + point.prod().exp()


@pytest.mark.parametrize("shape", [(3,), (2, 3)], ids=str)
def test_numerical_gradient_equals_autograds(learner, shape):
    """numerical_gradient estimates the gradient by central differences"""
    point = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(len(shape))) / 2
    leaf, before = point.clone().requires_grad_(), point.clone()
    smooth_function(leaf).backward()
    with learner.running("numerical"):
        found = learner.get("backprop", "numerical_gradient")(smooth_function, point, eps=1e-5)
    expect(torch.equal(point, before), "restore", "the input unchanged after the call",
           f"entries moved by up to {(point - before).abs().max().item():.3g}")
    if not (isinstance(found, torch.Tensor) and found.shape == point.shape):
        expect(False, "numerical", f"a gradient shaped like the input, {tuple(point.shape)}",
               tuple(found.shape) if isinstance(found, torch.Tensor) else type(found).__name__)
    error = (found.double() - leaf.grad).abs().max().item()
    tolerance = 1e-7 if found.dtype == torch.float64 else 2e-6  # float32 holds about 7 digits
    if error <= tolerance:
        return
    if torch.allclose(found.double(), leaf.grad / 2, atol=1e-6) or torch.allclose(found.double(), 2 * leaf.grad, atol=1e-6):
        hint = "two_eps"
    elif error < 1e-3 and found.dtype == torch.float64:
        hint = "central"
    elif found.dtype != torch.float64:
        hint = "numerical_dtype"
    else:
        hint = "numerical"
    expect(False, hint, f"autograd's gradient within {tolerance:g} (central differences, eps 1e-5)",
           f"a largest difference of {error:.3g}")


def test_numerical_gradient_puts_the_input_back(learner):
    """numerical_gradient leaves its input exactly as it was"""
    point = torch.randn(2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    before = point.clone()
    with learner.running("numerical"):
        learner.get("backprop", "numerical_gradient")(smooth_function, point, eps=1e-5)
    expect(torch.equal(point, before), "restore", "the input unchanged after the call",
           f"entries moved by up to {(point - before).abs().max().item():.3g}")
