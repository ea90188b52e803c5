"""Time from the end of a stroke to the answer on the website's Look inside page, in headless Chromium.

    python benchmarks/look_inside_latency.py [--rounds 5] [--width 1280]

Builds the site (``mkdocs build``, with the course's network from ``docs/site_network.py``),
serves it with a plain static file server, draws the digits of ``tests/look_inside_browser.py``
as mouse strokes again and again, and times in the page itself, for every stroke, its
end (the ``pointerup`` event's time stamp) to the answer in the page (every layer and
the probabilities redrawn), and to the next frame. Then it measures how far the page is
from Python: probabilities on 200 MNIST test images against PyTorch, and prepared inputs
on 200 test digits drawn as canvases and on the drawn strokes against ``prepare_drawing``.
Needs Debian's Chromium, Playwright and the docs extra.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the browser helpers live with the tests
sys.path.insert(0, str(ROOT / "docs"))

from _common import describe_machine  # noqa: E402
from site_network import site_checkpoint  # noqa: E402
from course.checkpoint import load_checkpoint  # noqa: E402
from course.data import load_split, to_model_input  # noqa: E402
from solutions.inference import predict  # noqa: E402
from solutions.preprocess import prepare_drawing  # noqa: E402
from tests.look_inside_browser import (  # noqa: E402
    CHROMIUM_ARGS, DIGITS, TEST_IMAGES, build_site, canvas_rgba, draw, drawn_from_test_digit, open_look_inside,
    page_forward, page_prepare, serve,
)

# Each stroke's end, and the moment its answer is in the page (the page reads the drawing in its own
# pointerup handler, on the canvas; this listener, on the window, runs after it) and the next frame.
INSTRUMENT = """() => {
    window.strokes = [];
    window.addEventListener('pointerup', (event) => {
        if (event.target.id !== 'li-canvas') return;  // a press of Clear is no stroke
        const stroke = {end: event.timeStamp, answered: performance.now()};
        window.strokes.push(stroke);
        requestAnimationFrame(() => { const channel = new MessageChannel();
            channel.port1.onmessage = () => { stroke.painted = performance.now(); };
            channel.port2.postMessage(null); });
    });
}"""


def summary(values: list[float]) -> str:
    return (f"median {statistics.median(values):.1f} ms, p90 {statistics.quantiles(values, n=10)[-1]:.1f} ms, "
            f"max {max(values):.1f} ms")


def stroke_timings(page, rounds: int) -> tuple[list[float], list[float], float]:
    """Answer and next-frame times of every stroke, and the worst prepared-input difference on the drawings."""
    page.evaluate(INSTRUMENT)
    worst_input = 0.0
    for round_ in range(rounds + 1):
        for digit, strokes in DIGITS.items():
            read = draw(page, strokes)
            shown = np.array(page.evaluate("Array.from(lookInside.page.reading.input)")).reshape(1, 28, 28)
            expected = prepare_drawing(Image.fromarray(canvas_rgba(page), "RGBA")).numpy()
            worst_input = max(worst_input, float(np.abs(shown - expected).max()))
            print(f"round {round_}: drew {digit}, read {read}", flush=True)
        if round_ == 0:  # the first round warms the page's code up: not counted
            page.evaluate("window.strokes = []")
    page.wait_for_function("() => window.strokes.every(s => s.painted)")
    strokes = page.evaluate("window.strokes")
    return ([s["answered"] - s["end"] for s in strokes], [s["painted"] - s["end"] for s in strokes], worst_input)


def agreement(page) -> tuple[float, float]:
    """The largest difference from PyTorch's probabilities on test images and from prepare_drawing's inputs."""
    model, metadata = load_checkpoint(site_checkpoint())
    test_set = load_split(train=False)
    images = to_model_input(test_set.data[:TEST_IMAGES], metadata["normalize"])
    probabilities = np.abs(page_forward(page, images) - predict(model, images).probabilities.numpy()).max()
    worst_input = 0.0
    for index in range(TEST_IMAGES):
        rgba = drawn_from_test_digit(test_set.data[index].numpy(), index)
        expected = prepare_drawing(Image.fromarray(rgba, "RGBA")).numpy()
        worst_input = max(worst_input, float(np.abs(page_prepare(page, rgba) - expected).max()))
    return float(probabilities), worst_input


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="times each digit is drawn, after one warm-up (default: 5)")
    parser.add_argument("--width", type=int, default=1280, help="the browser window's width in pixels (default: 1280)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(describe_machine(), "browser: headless Chromium, software rendering")
    with tempfile.TemporaryDirectory() as folder, serve(build_site(Path(folder) / "site")) as url, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page, problems = open_look_inside(browser.new_context(viewport={"width": args.width, "height": 900}), url)
        answered, painted, strokes_input = stroke_timings(page, args.rounds)
        probabilities, drawings_input = agreement(page)
        browser.close()
    print(f"problems (console errors, failed requests, requests leaving the host): {problems or 'none'}")
    print(f"largest difference from PyTorch's probabilities, {TEST_IMAGES} test images: {probabilities:.2e}")
    print(f"largest difference from prepare_drawing's input, {TEST_IMAGES} drawn test digits: {drawings_input:.2e}, "
          f"the drawn strokes: {strokes_input:.2e}")
    print(f"stroke end to next frame over {len(painted)} strokes: {summary(painted)}")
    print(f"stroke end to answer over {len(answered)} strokes: {summary(answered)}")
    print(f"median stroke-to-answer: {statistics.median(answered):.1f} ms")


if __name__ == "__main__":
    main()
