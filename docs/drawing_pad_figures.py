"""Lesson 6's figures of the drawing pad: a screenshot of the real page, and its preprocessing steps.

    python docs/drawing_pad_figures.py --checkpoint checkpoints/cnn_experiment.pt

``docs/make_figures.py`` calls :func:`make` with the fast recipe's model. The step
strip shows a photo made by ``tests/photos.py`` (a 3 on unevenly lit paper, stored
rotated by a phone) exactly as the drawing pad shows it; the screenshot is of
``python -m solutions draw`` in headless Chromium after a 7 was drawn with the mouse.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/ holds the photo maker and the browser helpers

from course.checkpoint import save_checkpoint  # noqa: E402
from course.data import load_split  # noqa: E402
from course.drawing_pad import DigitReader, step_strip  # noqa: E402
from solutions.preprocess import load_image  # noqa: E402
from tests.drawing_pad_browser import CHROMIUM_ARGS, DIGITS, draw, open_pad, running_pad  # noqa: E402
from tests.photos import write_all  # noqa: E402

OUT = ROOT / "lessons" / "figures"
PHOTO_DIGIT = 18  # the test set's 3 that lesson 6's other figure uses
PHONE_WIDTH = 390  # the page as a phone shows it, for the lesson's narrow variant


def make(checkpoint: Path, out: Path = OUT) -> dict[str, int]:
    """Write ``drawing_pad_steps.png``, ``drawing_pad.png`` and its phone variant; return the photo's true and read digit."""
    test_set = load_split(train=False)
    with tempfile.TemporaryDirectory() as folder:
        [photo] = write_all("photo_exif_6", test_set.data[PHOTO_DIGIT : PHOTO_DIGIT + 1].numpy(), Path(folder))
        reading = DigitReader(checkpoint).read(load_image(photo))
    step_strip(reading.steps).save(out / "drawing_pad_steps.png")  # three to a row: readable on a phone
    print(f"wrote {out / 'drawing_pad_steps.png'}")
    screenshot(checkpoint, out / "drawing_pad.png")
    screenshot(checkpoint, out / "drawing_pad_phone.png", width=PHONE_WIDTH)
    return {"true": int(test_set.targets[PHOTO_DIGIT]), "read": reading.digit}


def screenshot(checkpoint: Path, path: Path, width: int = 1280) -> None:
    """The page after drawing a 7, as a learner sees it in a browser ``width`` pixels wide."""
    from playwright.sync_api import sync_playwright

    with running_pad(checkpoint) as (url, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page, problems = open_pad(browser, url)
        page.set_viewport_size({"width": width, "height": 900})
        draw(page, DIGITS[7])
        page.wait_for_function("() => document.querySelector('#steps img')?.complete")
        page.screenshot(path=str(path), full_page=True)
        browser.close()
    if problems:
        raise RuntimeError(f"the drawing pad's page had problems: {problems}")
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="the fast recipe's checkpoint")
    parser.add_argument("--width", type=int, help="only take a screenshot this wide, to /tmp/drawing_pad-WIDTH.png")
    args = parser.parse_args()
    if args.width:
        screenshot(Path(args.checkpoint), Path(tempfile.gettempdir()) / f"drawing_pad-{args.width}.png", args.width)
    else:
        print(make(Path(args.checkpoint)))


def make_with_model(model, out: Path = OUT) -> dict[str, int]:
    """:func:`make` for a model in memory, as ``docs/make_figures.py`` has it."""
    with tempfile.TemporaryDirectory() as folder:
        return make(save_checkpoint(Path(folder) / "fast.pt", model, normalize=True), out)


if __name__ == "__main__":
    main()
