import pytest
import torch

from solutions.model import CNN, FLATTENED_FEATURES, count_parameters


@pytest.mark.parametrize("batch", [1, 100])
def test_flattens_to_320_and_returns_10_logits(batch):
    model = CNN().eval()
    flattened = {}

    def remember_input_shape(module, inputs, output):
        flattened["shape"] = inputs[0].shape

    model.fc1.register_forward_hook(remember_input_shape)
    logits = model(torch.randn(batch, 1, 28, 28))
    assert flattened["shape"] == (batch, FLATTENED_FEATURES) == (batch, 320)
    assert logits.shape == (batch, 10)


def test_layers_and_parameter_count_match_the_notebook():
    model = CNN()
    assert count_parameters(model) == 21_840
    assert (model.conv1.in_channels, model.conv1.out_channels, model.conv1.kernel_size) == (1, 10, (5, 5))
    assert (model.conv2.in_channels, model.conv2.out_channels, model.conv2.kernel_size) == (10, 20, (5, 5))
    assert (model.fc1.in_features, model.fc1.out_features) == (320, 50)
    assert (model.fc2.in_features, model.fc2.out_features) == (50, 10)
    assert isinstance(model.conv2_drop, torch.nn.Dropout2d)


def test_forward_returns_logits_by_default_and_probabilities_with_double_softmax():
    images = torch.randn(8, 1, 28, 28)
    torch.manual_seed(0)
    logits = CNN().eval()(images)
    assert not torch.allclose(logits.sum(dim=1), torch.ones(8))
    assert (logits < 0).any()
    torch.manual_seed(0)
    probabilities = CNN(double_softmax=True).eval()(images)
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(8))
    assert torch.allclose(probabilities, logits.softmax(dim=1))


def test_dropout_acts_only_in_training():
    torch.manual_seed(0)
    model = CNN()
    images = torch.randn(16, 1, 28, 28)
    model.eval()
    assert torch.equal(model(images), model(images))
    model.train()
    assert not torch.equal(model(images), model(images))
