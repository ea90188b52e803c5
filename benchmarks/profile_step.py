"""Where a training step of the course's pipeline spends its time, by PyTorch operator.

    python benchmarks/profile_step.py [--batch-size 100] [--images 20000] [--device cpu]

Trains the default recipe's model (channels-last) with Adam for one warm-up pass
over ``--images`` images, then profiles a second pass and prints the operators
that took the most time, and the convolutions' arithmetic rate.
"""

from __future__ import annotations

import argparse

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from _common import describe_machine, device_or_exit, warm_up_data
from solutions.data import make_loaders
from solutions.engine import train_one_epoch
from solutions.recipes import FAST
from solutions.training import build_model

CONV_MFLOP_PER_IMAGE = {"forward": 2 * (10 * 25 * 24 * 24 + 20 * 10 * 25 * 8 * 8) / 1e6}
# Backward: conv1's weight gradient only (its input needs none), conv2's weight and input gradients.
CONV_MFLOP_PER_IMAGE["backward"] = 2 * (10 * 25 * 24 * 24 + 2 * 20 * 10 * 25 * 8 * 8) / 1e6


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
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        train_one_epoch(model, loaders.train, optimizer, nn.CrossEntropyLoss(), device)
    table = profiler.key_averages()
    print(table.table(sort_by="self_cpu_time_total", row_limit=12))
    total = sum(event.self_cpu_time_total for event in table) / 1e6
    operators = {"forward": "aten::mkldnn_convolution", "backward": "aten::convolution_backward"}
    for direction, operator in operators.items():
        seconds = sum(event.self_cpu_time_total for event in table if event.key == operator) / 1e6
        rate = CONV_MFLOP_PER_IMAGE[direction] * args.images / 1e3 / seconds
        print(f"convolutions, {direction}: {seconds / total:.0%} of the step, "
              f"{CONV_MFLOP_PER_IMAGE[direction]:.2f} MFLOP per image at {rate:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
