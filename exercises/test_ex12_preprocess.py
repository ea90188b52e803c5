"""Checks of exercise 12, preparing your own drawing (exercises/preprocess.py), on synthetic drawings."""

import numpy as np
import pytest
import torch
from PIL import Image

from course.mnist import MNIST_MEAN, MNIST_STD
from grader.checks import FollowsFrom, expect

pytestmark = pytest.mark.ex12

BACKGROUND = -MNIST_MEAN / MNIST_STD  # a black pixel after normalisation


def prepare(target, image, hint):
    with target.running(hint):
        return target.get("preprocess", "prepare_drawing")(image)


def prepared(answers, drawing: Image.Image, hint: str, name: str = "field") -> torch.Tensor:
    """The reference's prepared field for ``drawing``, as stored."""
    return answers.of(name, lambda reference: prepare(reference, drawing, hint))


def ink_box(field: torch.Tensor) -> tuple[int, int]:
    """Height and width of the part of a prepared 28×28 field that holds ink."""
    ink = (field.reshape(28, 28) - BACKGROUND) > 0.5
    rows, cols = np.flatnonzero(ink.any(dim=1)), np.flatnonzero(ink.any(dim=0))
    if not len(rows):
        return 0, 0
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def centre_of_mass(field: torch.Tensor) -> tuple[float, float]:
    ink = (field.reshape(28, 28) - BACKGROUND).clamp(min=0)
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    return float((rows * ink).sum() / ink.sum()), float((cols * ink).sum() / ink.sum())


def brightest_ink(field: torch.Tensor) -> float:
    """The brightest pixel of a prepared field, back in [0, 1]."""
    return float(field.max()) * MNIST_STD + MNIST_MEAN


def border_median(field: torch.Tensor) -> float:
    """The background of a prepared field: the median of its border, which a misplaced digit barely touches."""
    field = field.reshape(28, 28)
    return float(torch.cat([field[0], field[-1], field[:, 0], field[:, -1]]).median())


def expect_like_reference(found: torch.Tensor, wanted: torch.Tensor, hint: str) -> None:
    """Fail with the hint of the first step that differs from the reference, else with ``hint``."""
    background = border_median(found)
    if abs(background) < 0.05 and abs(float(found.max()) - 1) < 0.05:  # black at 0, white at 1: not normalised
        raise FollowsFrom("normalise", "pixels are normalised with MNIST's mean and standard deviation")
    expect(abs(background - BACKGROUND) < 0.1, "invert", f"a black background ({BACKGROUND:.2f})",
           f"a background of {background:.2f}")
    expect(abs(brightest_ink(found) - brightest_ink(wanted)) < 0.1, "contrast",
           f"the brightest ink at {brightest_ink(wanted):.2f} of full white",
           f"{brightest_ink(found):.2f}: the ink was not stretched to full brightness")
    found_box, wanted_box = ink_box(found), ink_box(wanted)
    expect(not (found_box == wanted_box[::-1] != wanted_box), "transposed",
           f"ink {'×'.join(map(str, wanted_box))} pixels (height × width)",
           f"{'×'.join(map(str, found_box))} pixels: the digit lies on its side")
    expect(all(abs(a - b) <= 1 for a, b in zip(found_box, wanted_box)), "scale",
           f"ink {'×'.join(map(str, wanted_box))} pixels", f"{'×'.join(map(str, found_box))} pixels")
    found_centre, wanted_centre = centre_of_mass(found), centre_of_mass(wanted)
    expect(max(abs(a - b) for a, b in zip(found_centre, wanted_centre)) < 0.75, "centre",
           f"the centre of mass at ({wanted_centre[0]:.1f}, {wanted_centre[1]:.1f}), as the reference's",
           f"({found_centre[0]:.1f}, {found_centre[1]:.1f})")
    difference = float((found - wanted).abs().mean())
    expect(difference < 0.05, hint, "the reference's result", f"a mean difference of {difference:.2f} per pixel")


def on_canvas(digit: np.ndarray, size=(300, 400), at=(20, 240), scale=5.0, dark_on_light=False) -> Image.Image:
    """An MNIST digit resized by ``scale`` and placed off centre on a canvas."""
    side = round(28 * scale)
    big = Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR)
    canvas = Image.new("L", (size[1], size[0]), 0)
    canvas.paste(big, (at[1], at[0]))
    return Image.fromarray(255 - np.asarray(canvas)) if dark_on_light else canvas


@pytest.fixture
def seven(test_digits) -> np.ndarray:
    return test_digits[0][0].numpy()


def test_returns_one_28_by_28_channel(learner, seven):
    """prepare_drawing returns a float tensor of shape (1, 28, 28)"""
    field = prepare(learner, Image.fromarray(seven), "shape")
    found = (f"a {field.dtype} tensor of shape {tuple(field.shape)}" if isinstance(field, torch.Tensor)
             else type(field).__name__)
    expect(isinstance(field, torch.Tensor) and field.shape == (1, 28, 28) and field.is_floating_point(), "shape",
           "a float tensor of shape (1, 28, 28)", found)


def test_is_normalised_like_the_training_data(learner, seven):
    """pixels are normalised with MNIST's mean and standard deviation"""
    field = prepare(learner, Image.fromarray(seven), "normalise")
    background = border_median(field)
    expect(abs(background - BACKGROUND) < 1e-3, "normalise", f"black background = {BACKGROUND:.4f}", f"{background:.4f}")
    expect(abs(float(field.max()) - (1 - MNIST_MEAN) / MNIST_STD) < 0.1, "normalise",
           f"brightest ink near {(1 - MNIST_MEAN) / MNIST_STD:.2f}", f"{float(field.max()):.2f}")


def test_dark_ink_on_light_paper_is_inverted(learner, answers, seven):
    """a dark-on-light drawing becomes white on black"""
    drawing = Image.fromarray(255 - seven)
    expect_like_reference(prepare(learner, drawing, "invert"), prepared(answers, drawing, "invert"), "invert")


def test_small_digit_on_large_canvas_fills_the_box(learner, seven):
    """the drawing is cropped to its ink and scaled to fit 20×20"""
    height, width = ink_box(prepare(learner, on_canvas(seven), "crop"))
    expect(max(height, width) in (19, 20, 21), "crop", "the ink's longer side to be 20 pixels",
           f"{height}×{width} pixels of ink")


def test_small_drawing_is_enlarged_to_the_box(learner, seven):
    """a drawing smaller than 20×20 is enlarged to fit the box"""
    height, width = ink_box(prepare(learner, on_canvas(seven, size=(90, 120), at=(30, 70), scale=0.4), "scale"))
    expect(max(height, width) in (19, 20, 21), "scale", "the ink's longer side enlarged to 20 pixels",
           f"{height}×{width} pixels of ink")


def test_faint_ink_is_stretched_to_full_brightness(learner, answers, seven):
    """faint pencil on white paper is stretched to MNIST's full-white ink"""
    drawing = Image.fromarray((255 - 0.4 * seven).astype(np.uint8))
    expect_like_reference(prepare(learner, drawing, "contrast"), prepared(answers, drawing, "contrast"), "contrast")


def test_proportions_are_kept(learner):
    """scaling keeps the drawing's proportions"""
    canvas = np.zeros((400, 400), dtype=np.uint8)
    canvas[50:350, 180:240] = 255  # a stroke five times taller than wide
    height, width = ink_box(prepare(learner, Image.fromarray(canvas), "scale"))
    expect(not (width in (19, 20, 21) and height in (3, 4, 5)), "transposed", "about 20×4 pixels of ink",
           f"{height}×{width} pixels: the stroke lies on its side")
    expect(height in (19, 20, 21) and width in (3, 4, 5), "scale", "about 20×4 pixels of ink",
           f"{height}×{width} pixels")


def test_digit_is_centred_by_its_centre_of_mass(learner, seven):
    """the centre of mass lands in the middle of the 28×28 field"""
    row, col = centre_of_mass(prepare(learner, on_canvas(seven, at=(150, 10)), "centre"))
    expect(abs(row - 13.5) < 1 and abs(col - 13.5) < 1, "centre", "the centre of mass at (13.5, 13.5)",
           f"({row:.1f}, {col:.1f})")


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_colour_drawings_match_the_reference(learner, answers, seven, mode):
    """colour and transparent drawings give the reference's result"""
    if mode == "RGB":
        drawing = Image.fromarray(np.stack([255 - seven, 255 - seven // 2, np.full_like(seven, 255)], -1), "RGB")
    else:
        rgba = np.zeros((28, 28, 4), dtype=np.uint8)
        rgba[..., 3] = seven
        drawing = Image.fromarray(rgba, "RGBA")
    expect_like_reference(prepare(learner, drawing, "invert"), prepared(answers, drawing, "invert"), "invert")


def test_faint_smudges_are_not_ink(learner, answers, seven):
    """a faint smudge far from the digit is not cropped in (ink is above INK_THRESHOLD)"""
    canvas = np.asarray(on_canvas(seven)).copy()
    clean = Image.fromarray(canvas.copy())
    canvas[270:276, 20:26] = 20  # a smudge at 8% of the ink's brightness
    drawing = Image.fromarray(canvas)
    expect_like_reference(prepare(learner, clean, "crop"), prepared(answers, clean, "crop", "clean"), "crop")
    found, wanted = prepare(learner, drawing, "ink_threshold"), prepared(answers, drawing, "ink_threshold", "smudged")
    expect(ink_box(found) == ink_box(wanted), "ink_threshold",
           f"ink {'×'.join(map(str, ink_box(wanted)))} pixels, the digit alone",
           f"{'×'.join(map(str, ink_box(found)))} pixels: the smudge was cropped in with the digit")


def test_thin_strokes_are_averaged_when_shrunk(learner, answers):
    """shrinking averages the pixels it merges (an antialiasing filter), so thin strokes survive"""
    canvas = np.zeros((240, 240), dtype=np.uint8)
    canvas[40:200, 40:200] = 255  # a frame 16 pixels thick (2 once shrunk to the 20×20 box)
    canvas[56:184, 56:184] = 0
    canvas[56:184:2, 56:184] = 255  # inside it, 64 one-pixel lines: 8 times finer than the box
    drawing = Image.fromarray(canvas)
    found, wanted = prepare(learner, drawing, "resize_filter"), prepared(answers, drawing, "resize_filter")
    expect_like_reference(found, wanted, "resize_filter")
