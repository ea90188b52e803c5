"""Driving the website's Look inside page in headless Chromium: serve the built site, draw, read the answer.

Shared by the browser tests (``tests/test_look_inside.py``) and the stroke-to-answer
benchmark (``benchmarks/look_inside_latency.py``).
"""

from __future__ import annotations

import base64
import io
import functools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from tests.drawing_pad_browser import DIGITS as PAD_DIGITS, Stroke
from tests.test_site import CHROMIUM_ARGS, ROOT, watched_page

__all__ = ["CHROMIUM_ARGS", "DIGITS", "TEST_IMAGES", "build_site", "canvas_rgba", "draw", "drawn_from_test_digit",
           "open_look_inside", "page_forward", "page_prepare", "serve", "touch_draw"]

# The drawing pad's digits, and more, as mouse strokes across the canvas from (0, 0) to (1, 1).
DIGITS: dict[int, list[Stroke]] = {
    **PAD_DIGITS,
    2: [[(0.28, 0.3), (0.36, 0.17), (0.5, 0.13), (0.64, 0.18), (0.69, 0.3), (0.64, 0.45), (0.3, 0.85), (0.76, 0.85)]],
    3: [[(0.3, 0.18), (0.5, 0.12), (0.67, 0.2), (0.67, 0.34), (0.48, 0.47), (0.69, 0.6), (0.69, 0.78), (0.5, 0.88),
         (0.28, 0.82)]],
    5: [[(0.7, 0.15), (0.36, 0.15), (0.32, 0.46), (0.55, 0.42), (0.7, 0.55), (0.7, 0.75), (0.55, 0.88), (0.3, 0.83)]],
    6: [[(0.64, 0.12), (0.45, 0.3), (0.34, 0.55), (0.36, 0.8), (0.5, 0.88), (0.65, 0.8), (0.67, 0.62), (0.52, 0.52),
         (0.36, 0.62)]],
    9: [[(0.66, 0.3), (0.58, 0.15), (0.45, 0.13), (0.34, 0.24), (0.38, 0.42), (0.55, 0.44), (0.66, 0.3), (0.64, 0.88)]],
}

TEST_IMAGES = 200  # MNIST test images the page is compared with PyTorch on
READY = "() => window.lookInside && window.lookInside.page.network !== null"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """A plain static file server for ``folder`` on 127.0.0.1; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        thread.join()


def build_site(out: Path) -> Path:
    """``mkdocs build --strict`` into ``out``; raises with mkdocs' output if it fails."""
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                           cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    if build.returncode != 0 or "WARNING" in build.stderr:
        raise RuntimeError(build.stdout + build.stderr)
    return out


def open_look_inside(context, base_url: str):
    """Open the page in ``context``; return it once the network is loaded, and the list of its problems,
    requests that leave the site's host among them (see :func:`tests.test_site.watched_page`)."""
    page, problems = watched_page(context, base_url)
    page.goto(base_url + "look-inside/", wait_until="load")
    page.wait_for_function(READY)
    return page, problems


def _points(page, stroke: Stroke) -> list[tuple[float, float]]:
    box = page.locator("#li-canvas").bounding_box()
    return [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]


def draw(page, strokes: list[Stroke]) -> int:
    """Clear the canvas, draw ``strokes`` with the mouse, and return the digit the page shows."""
    page.click("#li-clear")
    for stroke in strokes:
        points = _points(page, stroke)
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=4)
        page.mouse.up()
    return int(page.inner_text("#li-digit"))


def touch_draw(page, strokes: list[Stroke]) -> int:
    """:func:`draw` with a finger: touch events sent through the DevTools protocol, as a phone's screen sends them."""
    page.wait_for_timeout(600)  # a person's pause: a tap at once after a stroke is taken as part of its gesture
    page.locator("#li-clear").tap()
    session = page.context.new_cdp_session(page)
    for stroke in strokes:
        points = _points(page, stroke)
        # The finger moves at a finger's pace and rests on the last point before it lifts, as on a phone.
        kinds = ["touchStart"] + ["touchMove"] * len(points)
        for kind, (x, y) in zip(kinds, [*points, points[-1]]):
            session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
            page.wait_for_timeout(30)
        session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()
    return int(page.inner_text("#li-digit"))


def canvas_rgba(page) -> np.ndarray:
    """The drawing on the canvas as an ``(H, W, 4)`` array of bytes (its PNG, lossless: the canvas is opaque)."""
    url = page.evaluate("document.querySelector('#li-canvas').toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))


def drawn_from_test_digit(digit: np.ndarray, index: int) -> np.ndarray:
    """An MNIST test digit as the page's canvas holds a drawing: black ink on white, 280 x 280 RGBA, anywhere."""
    side = 150 + (index * 37) % 110
    ink = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC), dtype=np.float32) / 255
    canvas = np.full((280, 280), 255, dtype=np.uint8)
    top, left = (index * 13) % (280 - side), (index * 29) % (280 - side)
    canvas[top : top + side, left : left + side] = np.clip(np.rint(255 * (1 - ink)), 0, 255).astype(np.uint8)
    return np.dstack([canvas] * 3 + [np.full_like(canvas, 255)])


def page_prepare(page, rgba: np.ndarray) -> np.ndarray:
    """The page's preparation of a 280 x 280 RGBA drawing: the network's ``(1, 28, 28)`` input."""
    pixels = base64.b64encode(rgba.tobytes()).decode()  # a string crosses to the page far faster than a list
    return np.array(page.evaluate("""px => {
        const rgba = Uint8ClampedArray.from(atob(px), c => c.charCodeAt(0));
        return Array.from(lookInside.prepare(rgba, 280, 280, lookInside.page.network).input);
    }""", pixels)).reshape(1, 28, 28)


def page_forward(page, images: torch.Tensor) -> np.ndarray:
    """The page's probabilities for a batch of model inputs ``(N, 1, 28, 28)``."""
    return np.array(page.evaluate(
        "inputs => inputs.map(x => lookInside.forward(lookInside.page.network, Float32Array.from(x)).probabilities)",
        images.reshape(len(images), -1).tolist()))
