"""Driving the drawing pad in a real browser: start it, draw digits as mouse strokes, time the answers.

Shared by the browser test (``tests/test_drawing_pad.py``) and the latency
benchmark (``benchmarks/drawing_pad_latency.py``).
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.test_site import CHROMIUM_ARGS, ROOT, watched_page

__all__ = ["CHROMIUM_ARGS", "DIGITS", "answer", "draw", "open_pad", "running_pad"]

Stroke = list[tuple[float, float]]  # points from (0, 0), the canvas's top left, to (1, 1), its bottom right


def _ellipse(points: int = 16) -> Stroke:
    return [(0.5 + 0.26 * math.sin(2 * math.pi * k / points), 0.5 - 0.36 * math.cos(2 * math.pi * k / points))
            for k in range(points + 1)]


DIGITS: dict[int, list[Stroke]] = {
    1: [[(0.52, 0.12), (0.5, 0.88)]],
    7: [[(0.24, 0.18), (0.76, 0.18), (0.46, 0.88)]],
    0: [_ellipse()],
    4: [[(0.62, 0.12), (0.24, 0.6), (0.78, 0.6)], [(0.62, 0.36), (0.62, 0.9)]],
}

# Timestamps in the page itself: the end of the last stroke, and the moment the answer to it is shown,
# that is when the digit read or its probabilities first differ from what the page showed at the stroke's end.
INSTRUMENT = """() => {
    const shown = () => {
        const answer = document.querySelector('#answer');
        const heading = answer.querySelector('[data-testid=label-output-value]');
        const bars = [...answer.querySelectorAll('meter')].map(bar => bar.getAttribute('value'));
        return (heading ? heading.innerText : '') + '|' + bars.join(',');
    };
    window.pad = {up: 0, answered: 0, before: shown()};
    document.addEventListener('pointerup', () => { window.pad.up = performance.now(); window.pad.before = shown(); },
                              true);
    new MutationObserver(() => {
        if (window.pad.answered <= window.pad.up && shown() !== window.pad.before && shown() !== '|') {
            window.pad.answered = performance.now();
        }
    }).observe(document.querySelector('#answer'), {subtree: true, childList: true, characterData: true,
                                                   attributes: true});
}"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_pad(checkpoint: Path, package: str = "solutions", timeout: float = 120, options: tuple[str, ...] = (),
                env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """``python -m PACKAGE draw`` on a free port; yields its URL and process, then stops it with Ctrl-C.

    ``options`` are added to the command line, ``env`` to the environment.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", package, "draw", "--checkpoint", str(checkpoint), "--port", str(port), *options],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
             **(env or {})},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the drawing pad exited with {process.returncode}: {process.communicate()}")
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the drawing pad did not answer on {url} within {timeout:.0f} s") from None
                time.sleep(0.3)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def open_pad(browser, url: str):
    """Load the page; return it and every problem seen: console errors, failed requests, outside hosts."""
    # Gradio's client closes the queue's event stream itself once no reading is pending: that abort is no fault.
    page, problems = watched_page(browser, url, harmless_abort="/queue/data?", viewport={"width": 1280, "height": 900})
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => document.querySelector('#pad canvas')?.clear", timeout=30_000)
    page.evaluate(INSTRUMENT)
    return page, problems


def answer(page) -> str:
    """The digit the page shows as read, or '' when it shows none."""
    heading = page.locator("#answer [data-testid=label-output-value]")
    return heading.inner_text().strip() if heading.count() else ""


def draw(page, strokes: list[Stroke], timeout: float = 30_000) -> float:
    """Clear the canvas, draw the strokes with the mouse; return ms from the last stroke's end to the answer."""
    page.locator("#clear").click()
    page.wait_for_function("() => !document.querySelector('#answer [data-testid=label-output-value]')")
    box = page.locator("#pad canvas").first.bounding_box()
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    side = 0.8 * min(box["width"], box["height"])  # inside the drawing area, which the canvas centres
    for stroke in strokes:
        points = [(centre_x + (x - 0.5) * side, centre_y + (y - 0.5) * side) for x, y in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=3)
        page.mouse.up()
        page.wait_for_function("() => window.pad.answered > window.pad.up", timeout=timeout)
    return page.evaluate("() => window.pad.answered - window.pad.up")
