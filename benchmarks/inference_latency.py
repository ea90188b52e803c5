"""Latency of reading one drawing on the CPU: preprocessing plus the model, median of many runs.

    python benchmarks/inference_latency.py [--checkpoint PATH] [--runs 500]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from PIL import Image

from _common import describe_machine
from course.checkpoint import load_checkpoint
from course.data import load_split
from solutions.inference import predict
from solutions.model import CNN
from solutions.preprocess import prepare_drawing


def drawing() -> Image.Image:
    """A test digit drawn dark on light, enlarged and off centre on a 400×400 canvas, like a photo of paper."""
    digit = load_split(train=False).data[0].numpy()
    canvas = Image.new("L", (400, 400), 255)
    canvas.paste(Image.fromarray(255 - digit).resize((200, 200)), (150, 40))
    return canvas.convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="a trained checkpoint (weights do not change the latency)")
    parser.add_argument("--runs", type=int, default=500)
    args = parser.parse_args()
    print(describe_machine(), "device cpu")
    model = load_checkpoint(args.checkpoint)[0] if args.checkpoint else CNN().eval()
    image = drawing()
    timings = []
    for run in range(args.runs + 20):
        started = time.perf_counter()
        prediction = predict(model, prepare_drawing(image).unsqueeze(0))
        if run >= 20:  # the first calls warm up allocators and kernels
            timings.append(time.perf_counter() - started)
    print(f"predicted digit {int(prediction.digits[0])} for a 400x400 RGB drawing; "
          f"p90 {np.percentile(timings, 90) * 1e3:.2f} ms over {args.runs} runs")
    print(f"median latency: {statistics.median(timings) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
