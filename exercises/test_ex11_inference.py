"""Checks of exercise 11, inference (exercises/inference.py), with the checks' own network, trained briefly."""

import pytest
import torch

from grader.checks import FollowsFrom, expect
from grader.fixtures import seeded_network
from grader.pretend import PRETEND, PretendDevice

pytestmark = pytest.mark.ex11

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


DIGITS_CHECK = "predict gives the most probable digit of each image"


def predict(target, model, images, hint):
    """``target``'s prediction; digits of the wrong shape break every check: the digits check names it."""
    with target.running(hint):
        prediction = target.get("inference", "predict")(model, images, "cpu")
    digits = getattr(prediction, "digits", None)
    if hint != "digits" and isinstance(digits, torch.Tensor) and tuple(digits.shape) != (len(images),):
        raise FollowsFrom("digits", DIGITS_CHECK)
    return prediction


def test_predicts_the_same_digits_as_the_reference(learner, answers, trained_network, test_inputs):
    """predict gives the most probable digit of each image"""
    wanted = answers.of("digits", lambda reference: predict(reference, trained_network, test_inputs, "digits").digits)
    found = predict(learner, trained_network, test_inputs, "digits").digits
    expect(tuple(found.shape) == (200,), "digits", "one digit per image: shape (200,)", tuple(found.shape))
    expect(torch.equal(found.long(), wanted), "digits", "the reference's digits",
           f"{int((found.long() != wanted).sum())} of 200 different")


def test_probabilities_are_the_softmax_of_the_outputs(learner, answers, trained_network, test_inputs):
    """predict gives probabilities: rows of 10 that add up to 1"""
    wanted = answers.of("probabilities", lambda reference: predict(
        reference, trained_network, test_inputs, "probabilities").probabilities)
    found = predict(learner, trained_network, test_inputs, "probabilities").probabilities
    expect(tuple(found.shape) == (200, 10), "probabilities", "shape (200, 10)", tuple(found.shape))
    expect_softmax_once(found, wanted)


def expect_softmax_once(found: torch.Tensor, wanted: torch.Tensor) -> None:
    """Fail unless ``found`` are the probabilities ``wanted``, naming a softmax applied twice or not at all."""
    if torch.allclose(found, wanted, atol=1e-5):
        return
    difference = f"a largest difference of {float((found - wanted).abs().max()):.3g} from the reference's"
    expect(not torch.allclose(found, torch.softmax(wanted, dim=1), atol=1e-5), "softmax_twice",
           "the probabilities the model gives, softmax taken once", f"{difference}: softmax taken of probabilities")
    expect(False, "probabilities", "the softmax of the model's outputs", difference)


def test_predictions_do_not_depend_on_dropout(learner, answers, trained_network, test_inputs):
    """predict puts the model in eval mode"""
    wanted = answers.of("digits", lambda reference: predict(
        reference, trained_network, test_inputs, "eval_mode").digits)
    found = predict(learner, trained_network.train(), test_inputs, "eval_mode").digits
    expect(torch.equal(found.long(), wanted), "eval_mode", "the same digits whatever mode the model was in",
           f"{int((found.long() != wanted).sum())} of 200 different: dropout was on")


def test_double_softmax_models_are_not_softmaxed_again(learner, test_inputs):
    """a double_softmax model's outputs are already probabilities"""
    model = seeded_network(double_softmax=True).eval()
    found = predict(learner, model, test_inputs[:20], "probabilities").probabilities
    expect_softmax_once(found, model(test_inputs[:20]).detach())


def test_predict_moves_the_images_to_the_device(learner, trained_network, test_inputs):
    """predict moves the images to the device it is given"""
    pretend, images = PretendDevice(), test_inputs[:10]
    pretend.place(*trained_network.parameters(), *trained_network.buffers())
    pretend.watch("images", images)
    with pretend, learner.running("input_device"):
        learner.get("inference", "predict")(trained_network, images, PRETEND)
    expect(not pretend.mixed, "input_device",
           "model(images.to(device)) (the check pretends device is a GPU and the model is on it)",
           "images still on the CPU where they met the model's weights")


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
