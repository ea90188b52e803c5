"""Training throughput of the notebook's data pipeline and the course's, same model and batch size.

    python benchmarks/epoch_throughput.py [--batch-size 100] [--device cpu]

Both sides train the same CNN, built as the default recipe builds it (channels-last
weights), with Adam for one epoch, timed from the first batch request to the last
optimiser step, in this one run.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn

from _common import describe_machine, training_flops_per_image, warm_up_data
from solutions.data import make_loaders
from solutions.device import select_device
from solutions.engine import train_one_epoch
from solutions.recipes import FAST
from solutions.training import build_model

PIPELINES = {"notebook (DataLoader + ToTensor, 1 worker)": "dataloader", "course (one tensor on the device)": "tensor"}


def images_per_second(pipeline: str, batch_size: int, device: torch.device) -> float:
    loaders = make_loaders(pipeline, batch_size=batch_size, device=device, normalize=True, test_limit=1)
    torch.manual_seed(0)
    model = build_model(FAST, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    started = time.perf_counter()
    train_one_epoch(model, loaders.train, optimizer, nn.CrossEntropyLoss(), device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 60_000 / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = select_device(args.device)
    print(describe_machine(), f"device {device}")
    flops = training_flops_per_image()
    print(f"model: {flops / 1e6:.2f} MFLOP per image trained, {flops * 60_000 / 1e9:.0f} GFLOP per epoch")
    warm_up_data()
    rates = {}
    for name, pipeline in PIPELINES.items():
        rates[pipeline] = images_per_second(pipeline, args.batch_size, device)
        print(f"{name:45s} batch {args.batch_size}: {rates[pipeline]:8.0f} images/s "
              f"({60_000 / rates[pipeline]:.1f} s per epoch, {rates[pipeline] * flops / 1e9:.1f} GFLOP/s)")
    print(f"speedup: {rates['tensor'] / rates['dataloader']:.2f}x")


if __name__ == "__main__":
    main()
