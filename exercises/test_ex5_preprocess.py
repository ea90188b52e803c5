"""Checks of exercise 5, preparing your own drawing (exercises/preprocess.py), on synthetic drawings."""

import numpy as np
import pytest
import torch
from PIL import Image

from grader.checks import expect
from solutions.data import MNIST_MEAN, MNIST_STD

pytestmark = pytest.mark.ex5

BACKGROUND = -MNIST_MEAN / MNIST_STD  # a black pixel after normalisation


def prepare(target, image, hint):
    with target.running(hint):
        return target.get("preprocess", "prepare_drawing")(image)


def ink_box(field: torch.Tensor) -> tuple[int, int]:
    """Height and width of the part of a prepared 28×28 field that holds ink."""
    ink = (field.reshape(28, 28) - BACKGROUND) > 0.5
    rows, cols = np.flatnonzero(ink.any(dim=1)), np.flatnonzero(ink.any(dim=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def centre_of_mass(field: torch.Tensor) -> tuple[float, float]:
    ink = (field.reshape(28, 28) - BACKGROUND).clamp(min=0)
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    return float((rows * ink).sum() / ink.sum()), float((cols * ink).sum() / ink.sum())


def on_canvas(digit: np.ndarray, size=(300, 400), at=(20, 240), scale=5, dark_on_light=False) -> Image.Image:
    """An MNIST digit enlarged and placed off centre on a big canvas."""
    big = Image.fromarray(digit).resize((28 * scale, 28 * scale), Image.Resampling.BILINEAR)
    canvas = Image.new("L", (size[1], size[0]), 0)
    canvas.paste(big, (at[1], at[0]))
    return Image.fromarray(255 - np.asarray(canvas)) if dark_on_light else canvas


@pytest.fixture
def seven(test_digits) -> np.ndarray:
    return test_digits[0][0].numpy()


def test_returns_one_28_by_28_channel(learner, seven):
    """prepare_drawing returns a float tensor of shape (1, 28, 28)"""
    field = prepare(learner, Image.fromarray(seven), "shape")
    expect(isinstance(field, torch.Tensor) and field.shape == (1, 28, 28) and field.is_floating_point(), "shape",
           "a float tensor (1, 28, 28)", getattr(field, "shape", type(field).__name__))


def test_is_normalised_like_the_training_data(learner, seven):
    """pixels are normalised with MNIST's mean and standard deviation"""
    field = prepare(learner, Image.fromarray(seven), "normalise")
    corner = float(field.reshape(28, 28)[0, 0])
    expect(abs(corner - BACKGROUND) < 1e-3, "normalise", f"black background = {BACKGROUND:.4f}", f"{corner:.4f}")
    expect(abs(float(field.max()) - (1 - MNIST_MEAN) / MNIST_STD) < 0.1, "normalise",
           f"brightest ink near {(1 - MNIST_MEAN) / MNIST_STD:.2f}", f"{float(field.max()):.2f}")


def test_dark_ink_on_light_paper_is_inverted(learner, reference, seven):
    """a dark-on-light drawing becomes white on black"""
    drawing = Image.fromarray(255 - seven)
    found, wanted = prepare(learner, drawing, "invert"), prepare(reference, drawing, "invert")
    corner = float(found.reshape(28, 28)[0, 0])
    expect(abs(corner - BACKGROUND) < 0.1, "invert", "a black background", f"a background of {corner:.2f}")
    expect(float((found - wanted).abs().mean()) < 0.05, "invert", "the reference's result", "a different image")


def test_small_digit_on_large_canvas_fills_the_box(learner, seven):
    """the drawing is cropped to its ink and scaled to fit 20×20"""
    height, width = ink_box(prepare(learner, on_canvas(seven), "crop"))
    expect(max(height, width) in (19, 20, 21), "crop", "the ink's longer side to be 20 pixels",
           f"{height}×{width} pixels of ink")


def test_proportions_are_kept(learner):
    """scaling keeps the drawing's proportions"""
    canvas = np.zeros((400, 400), dtype=np.uint8)
    canvas[50:350, 180:240] = 255  # a stroke five times taller than wide
    height, width = ink_box(prepare(learner, Image.fromarray(canvas), "scale"))
    expect(height in (19, 20, 21) and width in (3, 4, 5), "scale", "about 20×4 pixels of ink",
           f"{height}×{width} pixels")


def test_digit_is_centred_by_its_centre_of_mass(learner, seven):
    """the centre of mass lands in the middle of the 28×28 field"""
    row, col = centre_of_mass(prepare(learner, on_canvas(seven, at=(150, 10)), "centre"))
    expect(abs(row - 13.5) < 1 and abs(col - 13.5) < 1, "centre", "the centre of mass at (13.5, 13.5)",
           f"({row:.1f}, {col:.1f})")


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_colour_drawings_match_the_reference(learner, reference, seven, mode):
    """colour and transparent drawings give the reference's result"""
    if mode == "RGB":
        drawing = Image.fromarray(np.stack([255 - seven, 255 - seven // 2, np.full_like(seven, 255)], -1), "RGB")
    else:
        rgba = np.zeros((28, 28, 4), dtype=np.uint8)
        rgba[..., 3] = seven
        drawing = Image.fromarray(rgba, "RGBA")
    found, wanted = prepare(learner, drawing, "invert"), prepare(reference, drawing, "invert")
    expect(float((found - wanted).abs().mean()) < 0.05, "invert", "the reference's result",
           f"a mean difference of {float((found - wanted).abs().mean()):.2f}")
