"""Time from the end of a stroke to the answer on the drawing pad's page, in headless Chromium.

    python benchmarks/drawing_pad_latency.py [--checkpoint PATH] [--rounds 5]

Starts ``python -m solutions draw`` on a free port, draws the digits 1, 7, 0 and 4
as mouse strokes again and again, and times, in the page itself, each last
stroke's end (pointerup) to the first change of the digit or probabilities shown.
Needs Debian's Chromium and the dev extras (Playwright, Gradio).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the browser helpers live with the tests

from _common import describe_machine  # noqa: E402
from course.checkpoint import save_checkpoint  # noqa: E402
from solutions.model import CNN  # noqa: E402
from tests.drawing_pad_browser import CHROMIUM_ARGS, DIGITS, answer, draw, open_pad, running_pad  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="a trained checkpoint (untrained weights take as long, but misread)")
    parser.add_argument("--rounds", type=int, default=5, help="times each digit is drawn (default: 5)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print(describe_machine(), "browser: headless Chromium, software rendering")
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = args.checkpoint or save_checkpoint(Path(folder) / "untrained.pt", CNN().eval(), normalize=True)
        with running_pad(Path(checkpoint)) as (url, _), sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            page, problems = open_pad(browser, url)
            draw(page, DIGITS[1])  # the first answer also loads the page's image code: not counted
            timings = []
            for _ in range(args.rounds):
                for digit, strokes in DIGITS.items():
                    timings.append(draw(page, strokes))
                    print(f"drew {digit}, read {answer(page)}: {timings[-1]:.0f} ms", flush=True)
            browser.close()
    print(f"p90 {statistics.quantiles(timings, n=10)[-1]:.0f} ms over {len(timings)} drawings; problems: {problems or 'none'}")
    print(f"median stroke-to-answer: {statistics.median(timings):.0f} ms")


if __name__ == "__main__":
    main()
