"""Checks of exercise 5, backpropagation by hand (exercises/backprop.py)."""

import math

import pytest
import torch
import torch.nn.functional as F

from grader.checks import expect, library_use
from grader.diagnosis import agrees, likeliest

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
        return likeliest(gradient.double(), [("batch_mean", lambda: expected[name] * len(targets))], "p_minus_y",
                         same=lambda mine, theirs: torch.allclose(mine, theirs, atol=1e-8))

    check_gradients(found, expected, ("w2", "b2"), hint_for)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_layer_gradients(learner, seed):
    """the gradients of w1 and b1 equal autograd's, through the ReLU's mask"""
    inputs, targets, weights = network(seed, batch=8, hidden=6)
    _, expected = autograd_gradients(inputs, targets, weights)
    _, unmasked = autograd_gradients(inputs, targets, weights, relu_mask=False)
    _, found = learner_gradients(learner, inputs, targets, weights)

    def hint_for(name, gradient):
        mistakes = [("relu_mask", lambda: unmasked[name]), ("batch_mean", lambda: expected[name] * len(targets))]
        return likeliest(gradient.double(), mistakes, "hidden_gradients",
                         same=lambda mine, theirs: torch.allclose(mine, theirs, atol=1e-8))

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


def differences(function, point: torch.Tensor, eps: float, forward: float = 1.0, backward: float = 1.0,
                divisor: float = 2.0) -> torch.Tensor:
    """(f(x + forward·eps) - f(x - backward·eps)) / (divisor·eps) for each entry in turn: central differences
    by default, and with other settings the likeliest mistakes (one-sided, divided by eps)."""
    gradient = torch.zeros_like(point)
    for index in range(point.numel()):
        nudge = torch.zeros_like(point)
        nudge.view(-1)[index] = eps
        above, below = function(point + forward * nudge), function(point - backward * nudge)
        gradient.view(-1)[index] = (float(above) - float(below)) / (divisor * eps)
    return gradient


EPS_TRIED = [10.0**-power for power in range(1, 10)]  # the eps a learner may have typed in instead of the one given


def numerical_mistakes(point: torch.Tensor, eps: float) -> list:
    """The likeliest wrong numerical gradients at ``point`` for this ``eps``, each as the answer it gives."""
    return [("central", lambda: differences(smooth_function, point, eps, backward=0.0, divisor=1.0)),
            ("central", lambda: differences(smooth_function, point, eps, forward=0.0, divisor=1.0)),
            ("two_eps", lambda: differences(smooth_function, point, eps, divisor=1.0)),
            ("two_eps", lambda: differences(smooth_function, point, eps, divisor=4.0)),
            *[("eps_given", lambda other=other: differences(smooth_function, point, other))
              for other in EPS_TRIED if other != eps]]


def same_differences(found, expected) -> bool:
    return isinstance(found, torch.Tensor) and agrees(found.double(), expected, atol=1e-9, rtol=1e-7)


def eps_used(found, point: torch.Tensor) -> str:
    """``"what eps=0.01 gives"`` when ``found`` is central differences of :func:`smooth_function` at a typed-in eps."""
    for eps in EPS_TRIED:
        if same_differences(found, differences(smooth_function, point, eps)):
            return f"what eps={eps:g} gives"
    return "other values"


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
    otherwise = "numerical_dtype" if found.dtype != torch.float64 else "numerical"
    hint = likeliest(found, numerical_mistakes(point, 1e-5), otherwise, same=same_differences)
    typed_in = f", {eps_used(found, point)}" if hint == "eps_given" else ""
    expect(False, hint, f"autograd's gradient within {tolerance:g} (central differences, eps 1e-5)",
           f"a largest difference of {error:.3g}{typed_in}")


def test_numerical_gradient_uses_the_eps_it_is_given(learner):
    """numerical_gradient nudges by the eps it is given, and by 1e-6 when given none"""
    point = torch.randn(2, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(4)) / 2
    numerical_gradient = learner.get("backprop", "numerical_gradient")
    with learner.running("numerical"):
        large = numerical_gradient(smooth_function, point.clone(), eps=1e-2)
        by_default, spelled_out = numerical_gradient(smooth_function, point.clone()), \
            numerical_gradient(smooth_function, point.clone(), eps=1e-6)
    if not same_differences(large, differences(smooth_function, point, 1e-2)):
        expect(False, likeliest(large, numerical_mistakes(point, 1e-2), "numerical", same=same_differences),
               "with eps=0.01, the central differences 0.01 apart on each side", eps_used(large, point))
    expect(agrees(by_default, spelled_out, atol=0, rtol=0), "default_eps",
           "without eps, what eps=1e-06 gives (the signature's default)", eps_used(by_default, point))


def test_numerical_gradient_puts_the_input_back(learner):
    """numerical_gradient leaves its input exactly as it was"""
    point = torch.randn(2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(9))
    before = point.clone()
    with learner.running("numerical"):
        learner.get("backprop", "numerical_gradient")(smooth_function, point, eps=1e-5)
    expect(torch.equal(point, before), "restore", "the input unchanged after the call",
           f"entries moved by up to {(point - before).abs().max().item():.3g}")
