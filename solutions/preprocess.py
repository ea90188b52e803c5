"""Turning your own drawing into an MNIST-like input (exercise 12).

MNIST digits are white on black, cropped to their ink, scaled to fit a 20×20
box and placed in a 28×28 field with their centre of mass in the middle. A model
trained on them reads a drawing well only once the drawing looks the same.

Files arrive as phones and editors save them: rotated by an EXIF tag, in 16 bits,
with transparency, as photos of unevenly lit paper, or very large. The given code
(:func:`load_image`, :func:`grayscale_pixels`, :func:`even_out_lighting`) turns all
of them into plain brightness in [0, 1] before exercise 12 begins.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter, ImageOps

from course.errors import CourseError
from course.mnist import MNIST_MEAN, MNIST_STD
from course.writes import refuse_special_file

INK_THRESHOLD = 0.2  # share of the ink's full brightness that counts as ink when cropping
DIGIT_BOX = 20
FIELD = 28
WORKING_SIZE = 1024  # longest side an image is reduced to before any arithmetic on its pixels
DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")  # more than 8 bits per pixel
LIGHTING_SIDE = 32  # the paper's brightness is estimated on the image reduced to this many pixels a side
LIGHTING_WINDOW = 0.3  # share of that side the estimate looks across: wider than any stroke of a digit


def load_image(path: str | os.PathLike, report: Callable[[str], None] = print,
               max_pixels: int | None = None) -> Image.Image:
    """Open an image file (PNG, JPEG, ...) the right way up, reduced to a working size.

    The EXIF orientation a phone stores is applied, JPEGs are decoded at a reduced
    scale when large, an animation is read from its first frame (``report`` says so),
    and images larger than Pillow's limit (``2 * Image.MAX_IMAGE_PIXELS``, 179
    megapixels by default) or than ``max_pixels`` once reduced are refused before
    decoding, with a clear error.
    """
    path = Path(path)
    if path.is_dir():
        raise CourseError(f"image {path} is a folder; give the image files inside it")
    refuse_special_file(path, "image")
    if not path.is_file():
        raise CourseError(f"image {path} does not exist")
    if path.stat().st_size == 0:
        raise CourseError(f"image {path} is an empty file; save your drawing as PNG or JPEG and try again")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # large images are read reduced
            with Image.open(path) as image:
                if getattr(image, "n_frames", 1) > 1:
                    report(f"note: {path} is animated ({image.n_frames} frames); reading its first frame")
                image.draft(image.mode, (WORKING_SIZE, WORKING_SIZE))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
                check_pixels(image, max_pixels, str(path))
                image.load()
                reduced = reduce_to_working_size(image)
                reduced.info = image.info  # its EXIF orientation, applied to the small image: no full-size copy
                return ImageOps.exif_transpose(reduced)
    except Image.DecompressionBombError as error:
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6
        raise CourseError(f"{path} has more than {limit:.0f} megapixels, more than this course reads; "
                          "scale it down (a digit needs far fewer pixels) and try again") from error
    except CourseError:
        raise
    except Exception as error:  # a damaged or hostile file fails in Pillow in many ways: OSError, ValueError, ...
        raise CourseError(f"{path} is not an image Pillow can read; save it as PNG or JPEG ({error})") from error


def check_pixels(image: Image.Image, max_pixels: int | None, name: str) -> None:
    """Refuse an opened image that would decode to more than ``max_pixels``, before it is decoded.

    Raises:
        CourseError: the image has more pixels than ``max_pixels`` (``None``: no limit).
    """
    if max_pixels is not None and image.width * image.height > max_pixels:
        raise CourseError(f"{name} is {image.width}×{image.height} pixels, more than the {max_pixels / 1e6:g} "
                          "megapixels read here; scale it down (a digit needs far fewer pixels) and try again")


def reduce_to_working_size(image: Image.Image) -> Image.Image:
    """The image with its longest side at most :data:`WORKING_SIZE`, averaging the pixels it merges."""
    if image.mode.startswith("I;16"):
        image = image.convert("I")  # Pillow resizes 32-bit integers, not 16-bit ones
    factor = -(-max(image.size) // WORKING_SIZE)  # ceiling division
    if factor == 1:
        return image
    if image.mode == "1":
        image = image.convert("L")  # Pillow averages grey levels, not bits
    elif image.mode in ("P", "PA"):  # average the palette's colours, not its indices
        image = image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    return image.reduce(factor)


def grayscale_pixels(image: Image.Image) -> np.ndarray:
    """Brightness in [0, 1] as a 2-D float array, whatever the image's mode.

    Images deeper than 8 bits are scaled by the range their pixels really use. In a
    transparent image the drawn (opaque) part is the ink: it is laid on black paper
    if it is light and on white paper if it is dark, so that white ink on a
    transparent canvas stays visible.
    """
    image = reduce_to_working_size(image)
    if image.mode in DEEP_MODES:
        values = np.asarray(image, dtype=np.float32)
        low, high = float(values.min()), float(values.max())
        pixels = (values - low) / (high - low) if high > low else np.zeros_like(values)
    else:
        pixels = _composited(image)
    if pixels.size == 0 or pixels.max() - pixels.min() < 0.1:
        raise CourseError("the image is blank: there is no drawing on it to read")
    return pixels


def _composited(image: Image.Image) -> np.ndarray:
    """Brightness of an 8-bit image, its transparent parts filled with paper that contrasts with the ink."""
    if image.mode not in ("RGBA", "LA", "PA", "RGBa", "La") and "transparency" not in image.info:
        return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    rgba = image.convert("RGBA")
    colour = np.asarray(rgba.convert("L"), dtype=np.float32) / 255.0
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
    if alpha.max() - alpha.min() < 0.1:  # evenly opaque: the colours alone tell ink from paper
        return colour
    ink_brightness = float((alpha * colour).sum() / alpha.sum())
    paper = 0.0 if ink_brightness > 0.5 else 1.0
    return alpha * colour + (1.0 - alpha) * paper


def even_out_lighting(pixels: np.ndarray) -> np.ndarray:
    """Divide a photo of dark ink on light paper by the paper's brightness, estimated across the image.

    A shadow or a lamp's fall-off makes parts of the paper darker than others; left
    as they are, they would look like ink. Light ink on a dark ground (a screen,
    MNIST itself) is returned unchanged.
    """
    low, middle, high = np.percentile(pixels, [0.5, 50, 99.5])
    if middle - low <= high - middle:  # the far tail is bright: light ink on a dark ground
        return pixels
    return np.clip(pixels / np.maximum(paper_brightness(pixels), 0.05), 0.0, 1.0).astype(np.float32)


def paper_brightness(pixels: np.ndarray) -> np.ndarray:
    """The brightness the paper would have at each pixel without the ink on it.

    On the image reduced to :data:`LIGHTING_SIDE` pixels a side, a closing (Pillow's
    maximum filter, then its minimum filter) over a window wider than any stroke
    replaces the ink, however thick, by the paper around it, and keeps the light's
    gradients and shadow edges as they are; the result is enlarged back smoothly. The
    edges are extended first, so that the closing also holds along the image's border.
    """
    height, width = pixels.shape
    scale = LIGHTING_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = Image.fromarray(pixels.astype(np.float32), "F").resize(size, Image.Resampling.BOX)
    window = 2 * round(LIGHTING_SIDE * LIGHTING_WINDOW / 2) + 1
    extended = Image.fromarray(np.pad(np.asarray(small), window, mode="edge"), "F")
    closed = extended.filter(ImageFilter.MaxFilter(window)).filter(ImageFilter.MinFilter(window))
    paper = closed.crop((window, window, window + size[0], window + size[1]))
    return np.asarray(paper.resize((width, height), Image.Resampling.BILINEAR))


def place_in_field(digit: np.ndarray) -> np.ndarray:
    """Paste a digit no larger than 20×20 into a black 28×28 field, centre of mass in the middle."""
    rows, cols = np.indices(digit.shape)
    mass = digit.sum()
    centre_row = (rows * digit).sum() / mass
    centre_col = (cols * digit).sum() / mass
    # Pixel i spans [i, i+1), so the field's centre 14 lies at index 13.5.
    top = int(np.clip(round(13.5 - centre_row), 0, FIELD - digit.shape[0]))
    left = int(np.clip(round(13.5 - centre_col), 0, FIELD - digit.shape[1]))
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return field


def prepare_drawing(image: Image.Image) -> torch.Tensor:
    """Preprocess a drawing of any size and colour mode into a normalised ``(1, 28, 28)`` tensor."""
    pixels = even_out_lighting(grayscale_pixels(image))
    # BEGIN SOLUTION ex12
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    paper = float(np.median(border))
    if paper > 0.5:  # dark ink on light paper: MNIST is white ink on black
        pixels, paper = 1.0 - pixels, 1.0 - paper
    ink = np.clip(pixels - paper, 0.0, None)
    ink /= ink.max()
    rows = np.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = DIGIT_BOX / max(ink.shape)
    size = (max(1, round(ink.shape[1] * scale)), max(1, round(ink.shape[0] * scale)))
    resized = Image.fromarray(ink).resize(size, Image.Resampling.LANCZOS)
    digit = np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)
    field = place_in_field(digit)
    return torch.from_numpy((field - MNIST_MEAN) / MNIST_STD).unsqueeze(0)
    # END SOLUTION
