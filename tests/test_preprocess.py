"""Own drawings, simulated from real test digits, must be read like the digits themselves."""

import io
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

from course.data import MNIST_STD, load_split, to_model_input
from course.errors import CourseError
from solutions.inference import predict
from solutions.preprocess import load_image, prepare_drawing
from tests.photos import png_chunk

SAMPLES = 100


@pytest.fixture(scope="module")
def digits():
    test_set = load_split(train=False)
    return test_set.data[:SAMPLES].numpy(), test_set.targets[:SAMPLES]


def off_centre(digit):
    canvas = np.zeros((90, 120), dtype=np.uint8)
    canvas[5:33, 70:98] = digit
    return Image.fromarray(canvas)


def dark_on_light(digit):
    return Image.fromarray(255 - digit)


def rgb_pen(digit):
    rgb = np.stack([255 - digit, 255 - digit // 2, np.full_like(digit, 255)], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def transparent(digit):
    rgba = np.zeros((28, 28, 4), dtype=np.uint8)
    rgba[..., 3] = digit  # black ink whose opacity is the stroke
    return Image.fromarray(rgba, "RGBA")


def large_canvas(digit):
    big = Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BILINEAR)
    canvas = Image.new("L", (900, 700), 255)
    canvas.paste(big, (500, 80))
    return canvas


DRAWINGS = [off_centre, dark_on_light, rgb_pen, transparent, large_canvas]


@pytest.mark.parametrize("draw", DRAWINGS, ids=lambda draw: draw.__name__)
def test_drawings_are_classified_like_the_originals(draw, digits, trained_model):
    pixels, labels = digits
    originals = predict(trained_model, to_model_input(torch.from_numpy(pixels), normalize=True)).digits
    drawings = torch.stack([prepare_drawing(draw(digit)) for digit in pixels])
    assert drawings.shape == (SAMPLES, 1, 28, 28)
    agreement = (predict(trained_model, drawings).digits == originals).float().mean().item()
    assert agreement >= 0.95, f"{draw.__name__}: only {agreement:.0%} read like the original"


def test_an_mnist_digit_comes_back_almost_unchanged(digits):
    pixels, _ = digits
    original = to_model_input(torch.from_numpy(pixels[:20]), normalize=True)
    prepared = torch.stack([prepare_drawing(Image.fromarray(digit)) for digit in pixels[:20]])
    # In pixel units; for scale, shifting the digits by 3 pixels differs by 0.15.
    assert ((prepared - original) * MNIST_STD).abs().mean() < 0.08


def test_drawing_is_centred_by_its_centre_of_mass(digits):
    field = prepare_drawing(off_centre(digits[0][3]))[0]
    ink = field - field.min()
    rows, cols = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    centre = ((rows * ink).sum() / ink.sum(), (cols * ink).sum() / ink.sum())
    assert abs(centre[0] - 13.5) < 1 and abs(centre[1] - 13.5) < 1


def test_files_in_png_and_jpeg_load(digits, tmp_path):
    for suffix in ("png", "jpg"):
        path = tmp_path / f"digit.{suffix}"
        large_canvas(digits[0][0]).save(path)
        assert prepare_drawing(load_image(path)).shape == (1, 28, 28)


def shuffled_palette(image: Image.Image) -> Image.Image:
    """A grey image as a palette image whose indices are not its grey levels: averaging indices gives noise."""
    order = np.random.default_rng(0).permutation(256)
    indexed = Image.fromarray(np.argsort(order)[np.asarray(image)].astype(np.uint8), mode="P")
    indexed.putpalette(np.repeat(order, 3).astype(np.uint8).tobytes())
    return indexed


@pytest.mark.parametrize("mode", ["1", "P"])
def test_bits_and_palettes_larger_than_the_working_size_are_read_by_their_colours(digits, tmp_path, mode):
    """Reducing a large image averages its pixels: grey levels, not bits or a palette's indices."""
    canvas = large_canvas(digits[0][0]).resize((2700, 2100))  # reduced 3 times, back to 900 x 700
    path = tmp_path / f"digit-{mode}.png"
    (canvas.convert("1") if mode == "1" else shuffled_palette(canvas)).save(path)
    expected, read = prepare_drawing(large_canvas(digits[0][0])), prepare_drawing(load_image(path))
    assert (read - expected).abs().mean() < 0.05 * (expected.max() - expected.min())


def test_a_png_whose_text_inflates_past_pillows_limit_is_refused_in_words(tmp_path):
    """Pillow refuses such a text chunk with a ValueError; the course says, in one line, that it cannot read it."""
    text = b"Comment\0\0" + zlib.compress(bytes(64 * 2**20), 9)  # 64 MiB of text, far over Pillow's limit
    image = io.BytesIO()
    Image.new("L", (32, 32), 255).save(image, format="PNG")
    path = tmp_path / "drawing.png"
    # after the 8-byte signature and the IHDR chunk
    path.write_bytes(image.getvalue()[:33] + png_chunk(b"zTXt", text) + image.getvalue()[33:])
    with pytest.raises(CourseError, match="not an image Pillow can read"):
        load_image(path)


@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty file"), (b"%PDF-1.4 not a picture", "not an image"), (b"\x89PNG\r\n\x1a\ntruncated", "not an image")],
)
def test_non_images_give_a_clear_error(tmp_path, content, message):
    path = tmp_path / "drawing.png"
    path.write_bytes(content)
    with pytest.raises(CourseError, match=message):
        load_image(path)


@pytest.mark.parametrize("colour", [0, 255, 128])
def test_blank_images_give_a_clear_error(colour):
    with pytest.raises(CourseError, match="blank"):
        prepare_drawing(Image.new("L", (64, 64), colour))
