"""Checks of exercise 3, build the CNN (exercises/model.py)."""

import pytest
import torch
from torch import nn

from grader.checks import CheckFailed, FollowsFrom, expect

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


def are_probabilities(output: torch.Tensor) -> bool:
    """Whether every row of ``output`` is in [0, 1] and sums to 1."""
    return bool(((output >= 0) & (output <= 1)).all()) and torch.allclose(output.sum(dim=1), torch.ones(len(output)))


def test_returns_logits_not_probabilities(learner):
    """forward returns logits or log-probabilities, never probabilities"""
    torch.manual_seed(0)
    output = run(learner, build(learner).eval(), torch.randn(32, 1, 28, 28), "outputs")
    expect(not are_probabilities(output), "logits", "logits (any real numbers)",
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


LAYER_SHAPES = [(10, 1, 5, 5), (20, 10, 5, 5), (50, 320), (10, 50)]  # conv1, conv2, fc1, fc2: the notebook's


def seeded_weights() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """A weight and a bias for each of the four layers, the same in every run."""
    generator = torch.Generator().manual_seed(0)
    return [(torch.randn(shape, generator=generator) * 0.1, torch.randn(shape[0], generator=generator) * 0.1)
            for shape in LAYER_SHAPES]


def with_seeded_weights(model: nn.Module) -> nn.Module:
    """``model`` given the seeded weights, layer by layer (whatever the learner named them), in eval mode."""
    theirs = [module for module in model.modules() if isinstance(module, (nn.Conv2d, nn.Linear))]
    for weight, bias in seeded_weights():
        twin = next((module for module in theirs if module.weight.shape == weight.shape), None)
        if twin is None or twin.bias is None:
            raise CheckFailed("layers", f"a layer with weights of shape {tuple(weight.shape)} and a bias", "none")
        with torch.no_grad():
            twin.weight.copy_(weight)
            twin.bias.copy_(bias)
    return model.eval()


def seeded_outputs(target, images: torch.Tensor, hint: str, **options) -> torch.Tensor:
    """What ``target``'s CNN (built with ``options``) gives for ``images`` with the seeded weights."""
    return run(target, with_seeded_weights(build(target, **options)), images, hint)


def test_forward_matches_the_reference(learner, answers, test_inputs):
    """with the same weights, forward gives the reference's scores"""
    wanted = answers.of("scores", lambda reference: seeded_outputs(reference, test_inputs[:64], "forward"))
    model = with_seeded_weights(build(learner))
    found = run(learner, model, test_inputs[:64], "forward")
    expect(found.shape == wanted.shape, "outputs", f"shape {tuple(wanted.shape)}", tuple(found.shape))
    if not torch.equal(found, run(learner, model, test_inputs[:64], "forward")):
        raise FollowsFrom("dropout", "dropout is on in train mode and off in eval mode")
    if are_probabilities(found):
        raise FollowsFrom("logits", "forward returns logits or log-probabilities, never probabilities")
    # log_softmax leaves log-probabilities unchanged, so a forward ending in log_softmax is as good as logits
    difference = float((torch.log_softmax(found, 1) - torch.log_softmax(wanted, 1)).abs().max())
    expect(difference < 1e-4, "forward", "the reference's scores (to 1e-4)",
           f"a largest difference of {difference:.3g}")


def layers_of(model: nn.Module, kind: type, **sizes: int) -> nn.Module:
    """The first layer of ``kind`` whose attributes are ``sizes``, e.g. ``in_features=320``."""
    found = next((module for module in model.modules() if isinstance(module, kind)
                  and all(getattr(module, name) == size for name, size in sizes.items())), None)
    expect(found is not None, "layers", f"a {kind.__name__} with {sizes}", "none")
    return found


def dropped_shares(learner, inputs: torch.Tensor, conv_dropout: float, fc_dropout: float) -> dict[str, float]:
    """What one seeded train-mode forward drops: the shares of conv2's active feature maps zeroed whole
    (``maps``) and partly (``partly``), of fc1's active units (``units``); ``before_conv2`` is True when
    conv2's input differs from eval mode's, i.e. something is dropped before conv2."""
    model = build(learner, conv_dropout=conv_dropout, fc_dropout=fc_dropout)
    conv2, fc1, fc2 = (layers_of(model, nn.Conv2d, in_channels=10), layers_of(model, nn.Linear, in_features=320),
                       layers_of(model, nn.Linear, in_features=50))
    seen: dict[str, list[torch.Tensor]] = {"conv2_in": [], "conv2": [], "fc1_in": [], "fc1": [], "fc2_in": []}
    conv2.register_forward_pre_hook(lambda module, args: seen["conv2_in"].append(args[0]))
    conv2.register_forward_hook(lambda module, args, output: seen["conv2"].append(output))
    fc1.register_forward_pre_hook(lambda module, args: seen["fc1_in"].append(args[0]))
    fc1.register_forward_hook(lambda module, args, output: seen["fc1"].append(output))
    fc2.register_forward_pre_hook(lambda module, args: seen["fc2_in"].append(args[0]))
    run(learner, model.eval(), inputs, "channel_dropout")
    torch.manual_seed(0)
    run(learner, model.train(), inputs, "channel_dropout")
    expect(all(len(calls) == 2 for calls in seen.values()), "flatten", "one call of each layer per forward",
           {name: len(calls) for name, calls in seen.items()})
    maps = torch.relu(torch.nn.functional.max_pool2d(seen["conv2"][1], 2)).reshape(-1, 20, 16) > 0
    kept = seen["fc1_in"][1].reshape(-1, 20, 16) != 0
    zeroed, active = (maps & ~kept).sum(dim=2), maps.sum(dim=2)
    having_ink = active > 0
    units, units_kept = torch.relu(seen["fc1"][1]) > 0, seen["fc2_in"][1] != 0
    return {
        "before_conv2": not torch.equal(seen["conv2_in"][0], seen["conv2_in"][1]),
        "maps": float(((zeroed == active) & having_ink).sum() / having_ink.sum()),
        "partly": float(((zeroed > 0) & (zeroed < active)).sum() / having_ink.sum()),
        "units": float((units & ~units_kept).sum() / units.sum()),
    }


def expect_dropout_rates(shares: dict[str, float], conv_dropout: float, fc_dropout: float) -> None:
    """Fail with the likeliest cause when the shares dropped are not the rates asked for."""
    def near(share: float, rate: float) -> bool:
        return abs(share - rate) < 0.05

    found = f"{shares['maps']:.0%} of conv2's maps and {shares['units']:.0%} of fc1's units dropped"
    expected = f"{conv_dropout:.0%} of conv2's maps and {fc_dropout:.0%} of fc1's units dropped"
    conv_right, fc_right = near(shares["maps"], conv_dropout), near(shares["units"], fc_dropout)
    if conv_right and fc_right:
        return
    conv_kept, fc_kept = near(shares["maps"], 1 - conv_dropout), near(shares["units"], 1 - fc_dropout)
    if (conv_right or conv_kept) and (fc_right or fc_kept):
        raise CheckFailed("dropout_keep", expected, f"{found}: the probabilities of keeping")
    if near(shares["maps"], fc_dropout) and near(shares["units"], conv_dropout):
        raise CheckFailed("dropout_swapped", expected, f"{found}: the two rates swapped")
    expect(shares["maps"] > 0, "channel_dropout", expected, f"{found}: no feature map of conv2 is dropped")
    raise CheckFailed("dropout_rates", expected, found)


CONV_DROPOUT_CHECK = "conv2's dropout zeroes whole feature maps (Dropout2d) in train mode"


def test_conv_dropout_drops_whole_feature_maps(learner, test_inputs):
    """conv2's dropout zeroes whole feature maps (Dropout2d) in train mode"""
    shares = dropped_shares(learner, test_inputs, conv_dropout=0.5, fc_dropout=0.1)
    expect(not shares["before_conv2"], "dropout_place", "conv2's input unchanged in train mode (dropout after conv2)",
           "conv2's input differs between train and eval mode: something before conv2 drops values")
    expect(shares["partly"] < 0.01, "channel_dropout", "each of conv2's 20 feature maps dropped whole or kept whole",
           f"{shares['partly']:.0%} of the maps partly zeroed: element-wise dropout")
    expect_dropout_rates(shares, conv_dropout=0.5, fc_dropout=0.1)


def test_dropout_rates_are_the_course_rates(learner, test_inputs):
    """at the course's rates (0.1) dropout drops 10% of conv2's maps and 10% of fc1's units"""
    shares = dropped_shares(learner, test_inputs, conv_dropout=0.1, fc_dropout=0.1)
    if shares["before_conv2"] or shares["partly"] >= 0.01:
        raise FollowsFrom("dropout_place" if shares["before_conv2"] else "channel_dropout", CONV_DROPOUT_CHECK)
    expect_dropout_rates(shares, 0.1, 0.1)


def test_double_softmax_returns_probabilities(learner, answers, test_inputs):
    """CNN(double_softmax=True) returns the notebook's probabilities"""
    wanted = answers.of("probabilities", lambda reference: seeded_outputs(
        reference, test_inputs[:32], "double_softmax", double_softmax=True))
    found = seeded_outputs(learner, test_inputs[:32], "double_softmax", double_softmax=True)
    probabilities = are_probabilities(found)
    if probabilities and not torch.allclose(found, wanted, atol=1e-5):
        raise FollowsFrom("forward", "with the same weights, forward gives the reference's scores")
    off = float((found.sum(dim=1) - 1).abs().max())
    expect(probabilities, "double_softmax", "probabilities: softmax of the scores, every row summing to 1",
           f"rows whose sums are off 1 by up to {off:.3g}" if off > 1e-5 else "values outside [0, 1]")
