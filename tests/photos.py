"""Image files as they really arrive, made from real MNIST test digits.

Each kind writes one digit as a file the way a phone, an editor or a drawing app
would save it: photos of paper in uneven light stored rotated with an EXIF
orientation, photos of thick marker strokes, bold black strokes on a white canvas,
16-bit grayscale, white or black ink on a transparent canvas, a tiny canvas and a
huge one. The tests read them back; ``docs/make_figures.py`` shows one.

    python -m tests.photos OUT_DIR   # write one file of each kind to look at
"""

from __future__ import annotations

import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

PAPER = np.array([238, 232, 220], dtype=np.float32)  # cream paper, in full light
PEN = np.array([28, 30, 70], dtype=np.float32)  # dark blue ballpoint
MARKER = np.array([24, 24, 28], dtype=np.float32)  # black felt-tip marker
# Pillow's transpose that undoes each EXIF orientation, and its inverse, which the "camera" stored.
STORED_AS = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def _stroke(digit: np.ndarray, size: int) -> np.ndarray:
    """The digit's ink as opacity in [0, 1], enlarged to ``size`` pixels a side."""
    return np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32) / 255.0


def _bold_stroke(digit: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """The digit enlarged to ``size`` and thickened as a marker draws it: strokes 1/7 to 1/5 of the digit wide."""
    grown = 2 * int(rng.integers(size // 80, size // 32)) + 1  # widens every stroke by this many pixels, less one
    return np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC)
                      .filter(ImageFilter.MaxFilter(grown)), dtype=np.float32) / 255.0


def lit_photo(digit: np.ndarray, rng: np.random.Generator, size: tuple[int, int] = (640, 480),
              marker: bool = False) -> Image.Image:
    """A phone photo of the digit on paper: light falling off across the page and a soft shadow over part of it.

    With ``marker`` the digit is written with a thick black marker instead of a ballpoint pen.
    """
    width, height = size
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * cols / width + np.sin(angle) * rows / height + 1) / 2  # 0..1 across the page
    light = 1.0 - 0.35 * ramp
    edge = rng.uniform(0.15, 0.4) * width  # a shadow (a hand, a phone) over one side, with a soft edge
    light *= 1.0 - 0.4 / (1.0 + np.exp((cols - edge) / 25.0))
    ink = np.zeros((height, width), dtype=np.float32)
    side = int(rng.integers(160, 260))
    top, left = int(rng.integers(10, height - side - 10)), int(rng.integers(width // 3, width - side - 10))
    ink[top : top + side, left : left + side] = _bold_stroke(digit, side, rng) if marker else _stroke(digit, side)
    pen = MARKER if marker else PEN
    colour = PAPER * (1.0 - ink[..., None]) + pen * ink[..., None]
    photo = colour * light[..., None] + rng.normal(0.0, 3.0, (height, width, 1))
    return Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8), "RGB")


def _exif_photo(orientation: int) -> Callable[[np.ndarray, np.random.Generator, Path], Path]:
    def write(digit: np.ndarray, rng: np.random.Generator, path: Path) -> Path:
        exif = Image.Exif()
        exif[0x0112] = orientation  # Orientation
        path = path.with_suffix(".jpg")
        lit_photo(digit, rng).transpose(STORED_AS[orientation]).save(path, quality=88, exif=exif.tobytes())
        return path

    write.__name__ = f"photo_exif_{orientation}"
    return write


def marker_photo(digit: np.ndarray, rng: np.random.Generator, path: Path) -> Path:
    """A JPEG photo, upright, of the digit written with a thick marker on unevenly lit paper."""
    path = path.with_suffix(".jpg")
    lit_photo(digit, rng, marker=True).save(path, quality=88)
    return path


def bold_on_white(digit: np.ndarray, rng: np.random.Generator, path: Path) -> Path:
    """A 280×280 white canvas with the digit drawn in bold black strokes, as a drawing app saves it."""
    canvas = np.full((280, 280), 255, dtype=np.uint8)
    top, left = rng.integers(0, 280 - 220, size=2)
    canvas[top : top + 220, left : left + 220] = (255 * (1.0 - _bold_stroke(digit, 220, rng))).astype(np.uint8)
    path = path.with_suffix(".png")
    Image.fromarray(canvas).save(path)
    return path


def sixteen_bit(digit: np.ndarray, rng: np.random.Generator, path: Path) -> Path:
    """16-bit grayscale: grey ink at about 2000 of 65535 on paper at about 60000."""
    ink = _stroke(digit, 112)
    values = 60000 * (1.0 - ink) + 2000 * ink + rng.normal(0.0, 300.0, ink.shape)
    path = path.with_suffix(".png")
    Image.fromarray(np.clip(values, 0, 65535).astype(np.uint16)).save(path)
    return path


def _on_transparent(colour: int) -> Callable[[np.ndarray, np.random.Generator, Path], Path]:
    def write(digit: np.ndarray, rng: np.random.Generator, path: Path) -> Path:
        canvas = np.zeros((300, 300, 4), dtype=np.uint8)
        canvas[..., :3] = colour
        top, left = rng.integers(0, 300 - 200, size=2)
        canvas[top : top + 200, left : left + 200, 3] = (_stroke(digit, 200) * 255).astype(np.uint8)
        path = path.with_suffix(".png")
        Image.fromarray(canvas, "RGBA").save(path)
        return path

    write.__name__ = f"{'white' if colour else 'black'}_ink_on_transparent"
    return write


def tiny_canvas(digit: np.ndarray, rng: np.random.Generator, path: Path) -> Path:
    """The whole 28×28 digit shrunk into a 20×20 canvas, dark on light."""
    path = path.with_suffix(".png")
    Image.fromarray(255 - digit).resize((20, 20), Image.Resampling.BOX).save(path)
    return path


def huge_canvas(digit: np.ndarray, rng: np.random.Generator, path: Path) -> Path:
    """A 6000×4500 white canvas with the digit drawn 1500 pixels tall somewhere on it."""
    canvas = Image.new("L", (6000, 4500), 255)
    ink = Image.fromarray((_stroke(digit, 1500) * 255).astype(np.uint8))
    canvas.paste(0, (int(rng.integers(0, 4500)), int(rng.integers(0, 3000))), mask=ink)
    path = path.with_suffix(".png")
    canvas.save(path, compress_level=1)
    return path


KINDS: dict[str, Callable[[np.ndarray, np.random.Generator, Path], Path]] = {
    write.__name__: write
    for write in (_exif_photo(3), _exif_photo(6), _exif_photo(8), marker_photo, bold_on_white, sixteen_bit,
                  _on_transparent(255),
                  _on_transparent(0), tiny_canvas, huge_canvas)
}


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One chunk of a PNG file made by hand: length, kind, data and checksum, for files no editor would write."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_all(kind: str, digits: np.ndarray, folder: Path, seed: int = 0) -> list[Path]:
    """One file of ``kind`` per digit in ``folder``, the same every time for the same seed."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    return [KINDS[kind](digit, rng, folder / f"{kind}-{index:03d}") for index, digit in enumerate(digits)]


def main(out: str) -> None:
    from course.data import load_split

    test_set = load_split(train=False)
    for kind in KINDS:
        for path in write_all(kind, test_set.data[18:19].numpy(), Path(out)):
            print(f"wrote {path} (digit {int(test_set.targets[18])})")


if __name__ == "__main__":
    main(*sys.argv[1:])
