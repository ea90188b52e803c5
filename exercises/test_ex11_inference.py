"""Checks of exercise 11, inference (exercises/inference.py), with a trained reference model."""

import pytest
import torch

from grader.checks import expect
from grader.pretend import PRETEND, PretendDevice
from solutions.model import CNN

pytestmark = pytest.mark.ex11

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def predict(target, model, images, hint):
    with target.running(hint):
        return target.get("inference", "predict")(model, images, "cpu")


def test_predicts_the_same_digits_as_the_reference(learner, reference, trained_reference, test_inputs):
    """predict gives the most probable digit of each image"""
    found = predict(learner, trained_reference, test_inputs, "digits").digits
    wanted = predict(reference, trained_reference, test_inputs, "digits").digits
    expect(tuple(found.shape) == (200,), "digits", "one digit per image: shape (200,)", tuple(found.shape))
    expect(torch.equal(found.long(), wanted), "digits", "the reference's digits",
           f"{int((found.long() != wanted).sum())} of 200 different")


def test_probabilities_are_the_softmax_of_the_outputs(learner, reference, trained_reference, test_inputs):
    """predict gives probabilities: rows of 10 that add up to 1"""
    found = predict(learner, trained_reference, test_inputs, "probabilities").probabilities
    wanted = predict(reference, trained_reference, test_inputs, "probabilities").probabilities
    expect(tuple(found.shape) == (200, 10), "probabilities", "shape (200, 10)", tuple(found.shape))
    expect(torch.allclose(found, wanted, atol=1e-5), "probabilities", "the softmax of the model's outputs",
           f"rows summing to {found.sum(dim=1)[:3].tolist()} ...")


def test_predictions_do_not_depend_on_dropout(learner, reference, trained_reference, test_inputs):
    """predict puts the model in eval mode"""
    wanted = predict(reference, trained_reference, test_inputs, "eval_mode").digits
    found = predict(learner, trained_reference.train(), test_inputs, "eval_mode").digits
    expect(torch.equal(found.long(), wanted), "eval_mode", "the same digits whatever mode the model was in",
           f"{int((found.long() != wanted).sum())} of 200 different: dropout was on")


def test_double_softmax_models_are_not_softmaxed_again(learner, test_inputs):
    """a double_softmax model's outputs are already probabilities"""
    torch.manual_seed(0)
    model = CNN(double_softmax=True).eval()
    found = predict(learner, model, test_inputs[:20], "probabilities").probabilities
    expect(torch.allclose(found, model(test_inputs[:20]).detach(), atol=1e-6), "probabilities",
           "the model's own probabilities", "softmax applied to probabilities")


def test_predict_moves_the_images_to_the_device(learner, trained_reference, test_inputs):
    """predict moves the images to the device it is given"""
    pretend, moved = PretendDevice(), []
    trained_reference.register_forward_pre_hook(lambda module, inputs: moved.append(pretend.was_moved(inputs[0])))
    with pretend, learner.running("input_device"):
        learner.get("inference", "predict")(trained_reference, test_inputs[:10], PRETEND)
    expect(moved and all(moved), "input_device", "model(images.to(device)) (the check pretends device is a GPU)",
           "images that never reached the device" if moved else "the model was never called")


@pytest.mark.parametrize("with_original", [False, True])
def test_plot_prediction_saves_a_png(learner, test_digits, test_inputs, tmp_path, with_original):
    """plot_prediction saves the figure as a PNG and returns its path"""
    path = tmp_path / "prediction.png"
    probabilities = torch.softmax(torch.arange(10.0), dim=0)
    original = test_digits[0][0] if with_original else None
    with learner.running("figure"):
        returned = learner.get("inference", "plot_prediction")(test_inputs[0], probabilities, path, original=original)
    expect(path.is_file() and path.read_bytes().startswith(PNG_SIGNATURE), "figure", f"a PNG file at {path.name}",
           "no file" if not path.exists() else "a file that is not a PNG")
    expect(str(returned) == str(path), "figure", "the path returned", returned)
