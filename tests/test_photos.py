"""Files as phones, editors and drawing apps save them are read like the digits on them.

The files are made by ``tests/photos.py`` from real MNIST test digits, so that the
fast recipe's accuracy on them means something.
"""

import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from course.data import MNIST_STD, load_split
from course.errors import CourseError
from solutions.inference import predict
from solutions.preprocess import WORKING_SIZE, even_out_lighting, grayscale_pixels, load_image, prepare_drawing
from tests.photos import KINDS, STORED_AS, lit_photo, png_chunk, write_all

FIRST = 1000  # digits not used by the other preprocessing tests
SAMPLES = 200
FEWER = {"huge_canvas": 100}  # 27-megapixel files take most of a second each to write and read


@pytest.fixture(scope="module")
def digits():
    test_set = load_split(train=False)
    return test_set.data[FIRST : FIRST + SAMPLES].numpy(), test_set.targets[FIRST : FIRST + SAMPLES]


def difference(first: torch.Tensor, second: torch.Tensor) -> float:
    """Mean absolute difference of two prepared inputs, in pixel units (0 = black, 1 = white)."""
    return float(((first - second) * MNIST_STD).abs().mean())


def upright(digit: np.ndarray) -> torch.Tensor:
    return prepare_drawing(Image.fromarray(255 - digit))


@pytest.mark.parametrize("orientation", sorted(STORED_AS))
def test_photos_are_turned_the_right_way_up(orientation, digits, tmp_path):
    digit = digits[0][2]
    [path] = write_all(f"photo_exif_{orientation}", digit[None], tmp_path)
    stored = (640, 480) if orientation == 3 else (480, 640)
    assert Image.open(path).size == stored, "the file is stored rotated"
    image = load_image(path)
    assert image.size == (640, 480)
    assert difference(prepare_drawing(image), upright(digit)) < 0.08


def test_a_shadow_across_the_paper_is_not_ink(digits):
    digit = digits[0][5]
    photo = lit_photo(digit, np.random.default_rng(3))
    pixels = grayscale_pixels(photo)
    even = even_out_lighting(pixels)
    paper = even[np.asarray(photo.convert("L")) > 120]  # paper, in light and in shadow alike
    assert np.percentile(pixels[np.asarray(photo.convert("L")) > 120], 1) < 0.6, "the photo has a real shadow"
    assert np.percentile(paper, 1) > 0.85
    assert difference(prepare_drawing(photo), upright(digit)) < 0.08


@pytest.mark.parametrize("width", [8, 30, 60, 100])
def test_thick_strokes_under_a_light_gradient_stay_ink(width):
    """The paper's estimate follows the paper, never the ink, whatever the stroke's width (up to 1/4 of the digit)."""
    light = 1.0 - 0.5 * np.mgrid[0:480, 0:640][1] / 640  # half as bright on the right as on the left
    canvas = Image.new("L", (640, 480), 0)
    ImageDraw.Draw(canvas).line([(250, 60), (390, 60), (300, 420)], fill=255, width=width)  # a 7, 360 pixels tall
    ink = np.asarray(canvas, dtype=np.float32) / 255
    even = even_out_lighting(((0.92 * (1 - ink) + 0.1 * ink) * light).astype(np.float32))
    assert even[ink > 0.99].max() < 0.3, "a patch inside the ink came out as paper"
    assert np.percentile(even[ink == 0], 1) > 0.85, "the paper is not even"


def test_bold_strokes_on_white_are_left_as_they_are(digits, tmp_path):
    [path] = write_all("bold_on_white", digits[0][3][None], tmp_path)
    pixels = grayscale_pixels(load_image(path))
    even = even_out_lighting(pixels)
    assert even[pixels < 0.3].max() < 0.35, "a patch inside the ink came out as paper"
    assert np.abs(even - pixels).max() < 0.1


def test_light_ink_on_a_dark_ground_is_left_as_it_is(digits):
    pixels = digits[0][0].astype(np.float32) / 255
    assert np.array_equal(even_out_lighting(pixels), pixels)


def test_sixteen_bit_grey_ink_is_kept(digits, tmp_path):
    digit = digits[0][7]
    [path] = write_all("sixteen_bit", digit[None], tmp_path)
    assert Image.open(path).mode.startswith("I;16")
    assert difference(prepare_drawing(load_image(path)), upright(digit)) < 0.08


def test_white_and_black_ink_on_transparent_read_the_same(digits, tmp_path):
    digit = digits[0][9]
    [white] = write_all("white_ink_on_transparent", digit[None], tmp_path)
    [black] = write_all("black_ink_on_transparent", digit[None], tmp_path)
    from_white, from_black = prepare_drawing(load_image(white)), prepare_drawing(load_image(black))
    assert difference(from_white, from_black) < 0.01
    assert difference(from_white, upright(digit)) < 0.08


@pytest.mark.parametrize("suffix", ["jpg", "png"])
def test_large_images_are_read_reduced_and_turned(suffix, tmp_path):
    path = tmp_path / f"large.{suffix}"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: 4800 wide on file, 3600 wide upright
    Image.new("RGB", (4800, 3600), "white").save(path, exif=exif.tobytes())
    image = load_image(path)
    assert max(image.size) <= WORKING_SIZE and image.size[0] * 4 == image.size[1] * 3


def png_claiming(path, width: int, height: int) -> None:
    """A PNG whose header claims width × height over almost no data: enough for the size check before decoding."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0"))
                     + png_chunk(b"IEND", b""))


def test_an_image_past_the_limit_gives_a_clear_error(tmp_path):
    path = tmp_path / "huge.png"
    png_claiming(path, 20000, 20000)
    with pytest.raises(CourseError, match="has more than 179 megapixels"):
        load_image(path)


def test_an_animation_is_read_from_its_first_frame_and_says_so(digits, tmp_path):
    first, second = (Image.fromarray(255 - digit).convert("P") for digit in digits[0][:2])
    path = tmp_path / "digits.gif"
    first.save(path, save_all=True, append_images=[second])
    notes: list[str] = []
    image = load_image(path, report=notes.append)
    assert notes == [f"note: {path} is animated (2 frames); reading its first frame"]
    assert difference(prepare_drawing(image), upright(digits[0][0])) < 0.08


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_the_fast_recipe_reads_each_kind_of_file(kind, digits, fast_recipe_model, tmp_path):
    count = FEWER.get(kind, SAMPLES)
    pixels, labels = digits[0][:count], digits[1][:count]
    inputs = torch.stack([prepare_drawing(load_image(path)) for path in write_all(kind, pixels, tmp_path)])
    accuracy = int((predict(fast_recipe_model, inputs).digits == labels).sum()) / count  # 190 of 200 is 0.95
    print(f"{kind}: {accuracy:.0%} of {count}")
    assert accuracy >= 0.95, f"{kind}: only {accuracy:.0%} of {count} read correctly"
