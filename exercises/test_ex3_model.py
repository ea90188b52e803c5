"""Checks of exercise 3, build the CNN (exercises/model.py)."""

import pytest
import torch
from torch import nn

from grader.checks import CheckFailed, expect
from solutions.model import CNN

pytestmark = pytest.mark.ex3


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


def with_reference_weights(learner, model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """``model`` given the weights of a seeded reference CNN, layer by layer (whatever the learner named them)."""
    torch.manual_seed(0)
    reference = CNN(double_softmax=getattr(model, "double_softmax", False))
    theirs = [module for module in model.modules() if isinstance(module, (nn.Conv2d, nn.Linear))]
    for layer in (reference.conv1, reference.conv2, reference.fc1, reference.fc2):
        twin = next((module for module in theirs if module.weight.shape == layer.weight.shape), None)
        if twin is None or (twin.bias is None) != (layer.bias is None):
            raise CheckFailed("layers", f"a layer like {layer}", "none with the same shape of weights and bias")
        with torch.no_grad():
            twin.weight.copy_(layer.weight)
            if layer.bias is not None:
                twin.bias.copy_(layer.bias)
    return model.eval(), reference.eval()


def test_forward_matches_the_reference(learner, test_inputs):
    """with the reference's weights, forward gives the reference's scores"""
    model, reference = with_reference_weights(learner, build(learner))
    found, wanted = run(learner, model, test_inputs[:64], "forward"), reference(test_inputs[:64]).detach()
    expect(found.shape == wanted.shape, "outputs", f"shape {tuple(wanted.shape)}", tuple(found.shape))
    # log_softmax leaves log-probabilities unchanged, so a forward ending in log_softmax is as good as logits
    difference = float((torch.log_softmax(found, 1) - torch.log_softmax(wanted, 1)).abs().max())
    expect(difference < 1e-4, "forward", "the reference's scores (to 1e-4)",
           f"a largest difference of {difference:.3g}")


def test_conv_dropout_drops_whole_feature_maps(learner, test_inputs):
    """conv2's dropout zeroes whole feature maps (Dropout2d) in train mode"""
    model = build(learner, conv_dropout=0.5, fc_dropout=0.0)
    first_linear = next((module for module in model.modules() if isinstance(module, nn.Linear)), None)
    expect(first_linear is not None, "layers", "fully connected layers (nn.Linear)", "none")
    features = []
    first_linear.register_forward_hook(lambda module, inputs, output: features.append(inputs[0].reshape(-1, 20, 16)))
    torch.manual_seed(0)
    run(learner, model.eval(), test_inputs[:64], "channel_dropout")
    run(learner, model.train(), test_inputs[:64], "channel_dropout")
    expect(len(features) == 2, "flatten", "one call of the first Linear layer per forward", len(features))
    active = features[0] > 0
    zeroed = ((features[1] == 0) & active).sum(dim=2)
    maps = active.sum(dim=2) > 0
    whole = float(((zeroed == active.sum(dim=2)) & maps).sum() / maps.sum())
    partly = float(((zeroed > 0) & (zeroed < active.sum(dim=2))).sum() / maps.sum())
    expect(partly < 0.01, "channel_dropout", "each of conv2's 20 feature maps dropped whole or kept whole",
           f"{partly:.0%} of the maps partly zeroed: element-wise dropout")
    expect(0.3 < whole < 0.7, "channel_dropout", "about half of the feature maps dropped with conv_dropout=0.5",
           f"{whole:.0%} dropped")


def test_double_softmax_returns_probabilities(learner, test_inputs):
    """CNN(double_softmax=True) returns the notebook's probabilities"""
    model, reference = with_reference_weights(learner, build(learner, double_softmax=True))
    found, wanted = run(learner, model, test_inputs[:32], "double_softmax"), reference(test_inputs[:32]).detach()
    expect(torch.allclose(found, wanted, atol=1e-5), "double_softmax",
           "probabilities: softmax of the scores, every row summing to 1",
           f"rows summing to {[round(float(total), 3) for total in found.sum(dim=1)[:3]]} ...")
