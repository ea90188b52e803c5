"""Checks of exercise 1, build the CNN (exercises/model.py)."""

import pytest
import torch
from torch import nn

from grader.checks import expect

pytestmark = pytest.mark.ex1


def build(learner, **options) -> nn.Module:
    cnn = learner.get("model", "CNN", kind="class")
    with learner.running("construct"):
        return cnn(**options)


def run(learner, model: nn.Module, images: torch.Tensor, hint: str) -> torch.Tensor:
    with learner.running(hint), torch.no_grad():
        return model(images)


def test_builds(learner):
    """CNN() builds a torch module"""
    model = build(learner)
    expect(isinstance(model, nn.Module), "construct", "an nn.Module", type(model).__name__)


def test_layers(learner):
    """the convolutional and linear layers are the notebook's"""
    model = build(learner)
    convs = [(m.in_channels, m.out_channels, m.kernel_size) for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    expect(convs == [(1, 10, (5, 5)), (10, 20, (5, 5))], "layers",
           "Conv2d 1→10 and 10→20, 5×5 kernels", convs or "no Conv2d layers")
    expect(linears == [(320, 50), (50, 10)], "layers", "Linear 320→50 and 50→10", linears or "no Linear layers")


def test_parameter_count(learner):
    """the model has 21,840 parameters"""
    count = sum(parameter.numel() for parameter in build(learner).parameters())
    expect(count == 21_840, "parameters", "21,840 parameters", f"{count:,}")


@pytest.mark.parametrize("batch", [1, 100])
def test_flattens_to_320(learner, batch):
    """the features are flattened to 320 per image"""
    model = build(learner).eval()
    first_linear = next((module for module in model.modules() if isinstance(module, nn.Linear)), None)
    expect(first_linear is not None, "layers", "fully connected layers (nn.Linear)", "none")
    shapes = []

    def remember(module, inputs, output):
        shapes.append(tuple(inputs[0].shape))

    first_linear.register_forward_hook(remember)
    run(learner, model, torch.randn(batch, 1, 28, 28), "flatten")
    expect(shapes and shapes[0] == (batch, 320), "flatten",
           f"the first Linear layer to receive shape ({batch}, 320)", shapes[0] if shapes else "it is never called")


@pytest.mark.parametrize("batch", [1, 100])
def test_ten_outputs(learner, batch):
    """forward gives 10 scores per image"""
    output = run(learner, build(learner).eval(), torch.randn(batch, 1, 28, 28), "outputs")
    expect(tuple(output.shape) == (batch, 10), "outputs", f"shape ({batch}, 10)", tuple(output.shape))


def test_returns_logits_not_probabilities(learner):
    """forward returns logits or log-probabilities, never probabilities"""
    torch.manual_seed(0)
    output = run(learner, build(learner).eval(), torch.randn(32, 1, 28, 28), "outputs")
    probabilities = bool(((output >= 0) & (output <= 1)).all()) and torch.allclose(output.sum(dim=1), torch.ones(32))
    expect(not probabilities, "logits", "logits (any real numbers)",
           "probabilities: every row is in [0, 1] and sums to 1 (the double-softmax pitfall)")


def test_dropout_only_in_training(learner):
    """dropout is on in train mode and off in eval mode"""
    torch.manual_seed(0)
    model, images = build(learner), torch.randn(16, 1, 28, 28)
    model.eval()
    first, second = run(learner, model, images, "dropout"), run(learner, model, images, "dropout")
    expect(torch.equal(first, second), "dropout", "the same output twice in eval mode",
           "different outputs: dropout is still active in eval mode")
    model.train()
    first, second = run(learner, model, images, "dropout"), run(learner, model, images, "dropout")
    expect(not torch.equal(first, second), "dropout", "dropout to change the output in train mode",
           "identical outputs: no dropout while training")


def test_dropout_rates_are_the_options(learner):
    """conv_dropout and fc_dropout set the dropout rates"""
    torch.manual_seed(0)
    model, images = build(learner, conv_dropout=0.0, fc_dropout=0.0).train(), torch.randn(16, 1, 28, 28)
    same = torch.equal(run(learner, model, images, "dropout_rates"), run(learner, model, images, "dropout_rates"))
    expect(same, "dropout_rates", "no randomness in train mode when both rates are 0", "outputs that still vary")
