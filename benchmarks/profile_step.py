"""Where a training step of the course's pipeline spends its time, by PyTorch operator.

    python benchmarks/profile_step.py [--batch-size 100] [--images 20000] [--device cpu]

Trains the default recipe's model (channels-last) with Adam for one warm-up pass
over ``--images`` images, then profiles a second pass and prints the operators
that took the most time, then each convolution's share of a step, forward and
backward, and its arithmetic rate.
"""

from __future__ import annotations

# First: importing _common sets how PyTorch's threads wait, before PyTorch loads.
from _common import describe_machine, device_or_exit, warm_up_data

import argparse

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from course.data import make_loaders
from course.recipes import FAST
from course.training import build_model
from solutions.engine import train_one_epoch

KERNEL = 5
# The two convolutions, told apart by their input's channels: name, channels in and out, input side.
CONVOLUTIONS = (("conv1", 1, 10, 28), ("conv2", 10, 20, 12))
# Where the convolution's input is among each operator's inputs (the backward's first is the output gradient).
OPERATORS = {"forward": ("aten::convolution", 0), "backward": ("aten::convolution_backward", 1)}


def conv_mflop_per_image(in_channels: int, out_channels: int, side: int) -> dict[str, float]:
    """Forward and backward MFLOP of one convolution for one image.

    Backward computes the weight gradient, and the input gradient only when the
    input needs one: not for conv1, whose input is the image.
    """
    out_side = side - KERNEL + 1
    one_pass = 2 * out_channels * out_side * out_side * in_channels * KERNEL * KERNEL / 1e6
    return {"forward": one_pass, "backward": one_pass * (1 if in_channels == 1 else 2)}


def per_layer_lines(events, steps: int, images: int) -> list[str]:
    """One line per convolution: its milliseconds per step and GFLOP/s, forward and backward."""
    lines = []
    for name, in_channels, out_channels, side in CONVOLUTIONS:
        mflop = conv_mflop_per_image(in_channels, out_channels, side)
        parts = []
        for direction, (operator, position) in OPERATORS.items():
            seconds = sum(event.cpu_time_total for event in events
                          if event.key == operator and event.input_shapes[position][1:2] == [in_channels]) / 1e6
            parts.append(f"{direction} {seconds / steps * 1e3:.2f} ms ({mflop[direction] * images / 1e3 / seconds:.1f} GFLOP/s)")
        lines.append(f"{name} ({in_channels} to {out_channels} channels, {side}x{side}): " + ", ".join(parts))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = device_or_exit(args.device)
    print(describe_machine(), f"device {device}")
    warm_up_data()
    loaders = make_loaders("tensor", batch_size=args.batch_size, device=device, train_limit=args.images, test_limit=1)
    torch.manual_seed(0)
    model = build_model(FAST, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    train_one_epoch(model, loaders.train, optimizer, nn.CrossEntropyLoss(), device)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as profiler:
        train_one_epoch(model, loaders.train, optimizer, nn.CrossEntropyLoss(), device)
    table = profiler.key_averages()
    print(table.table(sort_by="self_cpu_time_total", row_limit=12))
    steps, images = len(loaders.train), len(loaders.train.labels)
    step_ms = sum(event.self_cpu_time_total for event in table) / 1e3 / steps
    print(f"one training step of {args.batch_size} images: {step_ms:.2f} ms, {steps} steps profiled")
    for line in per_layer_lines(profiler.key_averages(group_by_input_shape=True), steps, images):
        print(line)


if __name__ == "__main__":
    main()
