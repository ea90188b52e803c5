"""Hidden checks: the public checks' questions asked again on other data slices, seeds and sizes.

Learners never see these; ``python -m grader grade`` runs them beside the public checks
and reports them apart. A solution that only fits the public checks' numbers fails here.
"""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from grader.checks import expect
from solutions.data import load_split, make_loaders, to_model_input
from solutions.model import CNN


@pytest.fixture(scope="session")
def other_batches():
    """Training images from another shuffle (seed 7, batches of 32); test images 1000-1299 in batches of 96."""
    loaders = make_loaders("tensor", batch_size=32, test_batch_size=96, train_limit=320, test_limit=1300, seed=7)
    test = list(loaders.test)
    images, labels = torch.cat([images for images, _ in test])[1000:], torch.cat([labels for _, labels in test])[1000:]
    return {"train": list(loaders.train), "test": list(zip(images.split(96), labels.split(96)))}


@pytest.fixture(scope="session")
def other_digits():
    """Test images 5000-5099 as uint8 pixels."""
    return load_split(train=False).data[5000:5100]


@pytest.mark.ex3
@pytest.mark.parametrize("batch", [3, 7])
def test_every_parameter_learns(learner, batch):
    """a backward pass reaches every parameter (batches of 3 and 7)"""
    torch.manual_seed(11)
    with learner.running("construct"):
        model = learner.get("model", "CNN", kind="class")().train()
    with learner.running("outputs"):
        output = model(torch.randn(batch, 1, 28, 28))
    expect(tuple(output.shape) == (batch, 10), "outputs", f"shape ({batch}, 10)", tuple(output.shape))
    output.square().sum().backward()
    unused = [name for name, parameter in model.named_parameters() if parameter.grad is None]
    expect(not unused, "layers", "every layer to be used in forward", f"unused: {', '.join(unused)}")


@pytest.mark.ex7
def test_an_epoch_with_sgd_matches_the_reference(learner, reference, other_batches, loss_fn, cpu):
    """one epoch with SGD and momentum changes the weights as the reference does (seed 7)"""
    def train(target):
        torch.manual_seed(7)
        model = CNN()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        with target.running("same_as_reference"):
            loss = target.get("engine", "train_one_epoch")(model, other_batches["train"], optimizer, loss_fn, cpu)
        return model.state_dict(), loss

    (found, found_loss), (wanted, wanted_loss) = train(learner), train(reference)
    difference = max(float((found[name] - wanted[name]).abs().max()) for name in wanted)
    expect(difference < 1e-5, "same_as_reference", "the reference's weights", f"a largest difference of {difference:.3g}")
    expect(math.isclose(found_loss, wanted_loss, rel_tol=1e-4), "train_loss", f"{wanted_loss:.4f}", f"{found_loss:.4f}")


@pytest.mark.ex7
def test_evaluate_on_other_test_images(learner, reference, trained_reference, other_batches, loss_fn, cpu):
    """evaluate gives the reference's loss and accuracy on test images 1000-1299"""
    def evaluate(target):
        with target.running("accuracy"):
            return target.get("engine", "evaluate")(trained_reference, other_batches["test"], loss_fn, cpu)

    found, wanted = evaluate(learner), evaluate(reference)
    expect((found.correct, found.total) == (wanted.correct, wanted.total), "accuracy",
           f"{wanted.correct} of {wanted.total} correct", f"{found.correct} of {found.total}")
    expect(math.isclose(found.loss, wanted.loss, rel_tol=1e-4), "loss_average", f"{wanted.loss:.4f}",
           f"{found.loss:.4f}")


@pytest.mark.ex9
def test_logging_with_other_numbers(learner, tmp_path):
    """logging works for epoch 4, batch 17 of 250, and a test epoch 9"""
    class Recording:
        def __init__(self):
            self.scalars = []

        def add_scalar(self, tag, scalar_value, global_step=None, **_):
            self.scalars.append((tag, float(scalar_value), global_step))

    writer = Recording()
    monitor = learner.module("monitor")
    with learner.running("train_tag"):
        monitor.log_train_step(writer, 0.5, 4, 17, 250)
        monitor.log_test_epoch(writer, 0.125, 91.25, 9)
    expect(writer.scalars[:1] == [("Loss/Train", 0.5, 1017)], "global_step", "('Loss/Train', 0.5, 1017)",
           writer.scalars[:1])
    expect(sorted(writer.scalars[1:]) == [("Accuracy/Test", 91.25, 9), ("Loss/Test", 0.125, 9)], "test_tags",
           "Loss/Test 0.125 and Accuracy/Test 91.25 at step 9", writer.scalars[1:])


@pytest.mark.ex11
@pytest.mark.parametrize("count", [1, 100])
def test_predict_on_other_images(learner, reference, trained_reference, other_digits, count):
    """predict gives the reference's digits and probabilities on test images 5000-5099 (1 and 100 at a time)"""
    images = to_model_input(other_digits[:count], normalize=True)

    def predict(target):
        with target.running("digits"):
            return target.get("inference", "predict")(trained_reference, images, "cpu")

    found, wanted = predict(learner), predict(reference)
    expect(tuple(found.digits.shape) == (count,) and torch.equal(found.digits.long(), wanted.digits), "digits",
           f"the reference's {count} digit(s)", found.digits.tolist()[:10])
    expect(torch.allclose(found.probabilities, wanted.probabilities, atol=1e-5), "probabilities",
           "the reference's probabilities", "different probabilities")


@pytest.mark.ex12
@pytest.mark.parametrize("index", [3, 42])
def test_prepare_other_drawings(learner, reference, other_digits, index):
    """other digits, dark on light paper and off centre on a wide canvas, give the reference's result"""
    digit = Image.fromarray(other_digits[index].numpy()).resize((84, 84), Image.Resampling.BILINEAR)
    canvas = Image.new("L", (500, 160), 0)
    canvas.paste(digit, (380, 50))
    drawing = Image.fromarray(255 - np.asarray(canvas))

    def prepare(target):
        with target.running("invert"):
            return target.get("preprocess", "prepare_drawing")(drawing)

    found, wanted = prepare(learner), prepare(reference)
    expect(getattr(found, "shape", None) == (1, 28, 28), "shape", "a tensor (1, 28, 28)", getattr(found, "shape", found))
    difference = float((found - wanted).abs().mean())
    expect(difference < 0.05, "centre", "the reference's result", f"a mean difference of {difference:.2f}")
