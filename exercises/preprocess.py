"""Turning your own drawing into an MNIST-like input (exercise 5).

MNIST digits are white on black, cropped to their ink, scaled to fit a 20×20
box and placed in a 28×28 field with their centre of mass in the middle. A model
trained on them reads a drawing well only once the drawing looks the same.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from .data import MNIST_MEAN, MNIST_STD
from .errors import CourseError

INK_THRESHOLD = 0.2  # share of the ink's full brightness that counts as ink when cropping
DIGIT_BOX = 20
FIELD = 28


def load_image(path: str | os.PathLike) -> Image.Image:
    """Open an image file (PNG, JPEG, ...) fully, with a clear error for anything else."""
    path = Path(path)
    if path.is_dir():
        raise CourseError(f"image {path} is a folder; give the image files inside it")
    if not path.is_file():
        raise CourseError(f"image {path} does not exist")
    if path.stat().st_size == 0:
        raise CourseError(f"image {path} is an empty file; save your drawing as PNG or JPEG and try again")
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise CourseError(f"{path} is not an image Pillow can read; save it as PNG or JPEG ({error})") from error


def grayscale_pixels(image: Image.Image) -> np.ndarray:
    """Brightness in [0, 1] as a 2-D float array; transparent parts count as white paper."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        paper = Image.new("RGBA", image.size, "white")
        image = Image.alpha_composite(paper, image.convert("RGBA"))
    pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    if pixels.size == 0 or pixels.max() - pixels.min() < 0.1:
        raise CourseError("the image is blank: there is no drawing on it to read")
    return pixels


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
    pixels = grayscale_pixels(image)
    # Exercise 5: your code here (hints: python -m grader hint 5)
    raise NotImplementedError("Exercise 5 (Prepare your own drawing) is not started yet: write your code here. Read lessons/06-inference-and-your-drawings.md, then check it with: pytest exercises/ -m ex5")
