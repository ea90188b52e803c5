"""Training throughput of the notebook's data pipeline and the course's, same model and batch size.

    python benchmarks/epoch_throughput.py [--batch-size 100] [--device cpu] [--levers]

Both sides train the same CNN, built as the default recipe builds it (channels-last
weights), with Adam for one epoch, timed from the first batch request to the last
optimiser step, in this one run. ``--levers`` also times the course's pipeline with
each of the levers that did not make it into the recipe (fused Adam, bfloat16
autocast, ``torch.compile``), each against the notebook's pipeline of the same run;
a compiled model's first-run compile time is printed apart from its epoch.
"""

from __future__ import annotations

# First: importing _common sets how PyTorch's threads wait, before PyTorch loads.
from _common import describe_machine, device_or_exit, training_flops_per_image, warm_up_data

import argparse
import contextlib
import time

import torch
from torch import nn

from course.data import make_loaders
from course.recipes import FAST
from course.training import build_model
from solutions.engine import train_one_epoch

PIPELINES = {"notebook (DataLoader + ToTensor, 1 worker)": "dataloader", "course (one tensor on the device)": "tensor"}


LEVERS = ("fused Adam", "bfloat16 autocast", "torch.compile")


def images_per_second(pipeline: str, batch_size: int, device: torch.device, lever: str | None = None) -> float:
    """Images trained per second over one epoch, with the course's model and one optional ``lever``."""
    loaders = make_loaders(pipeline, batch_size=batch_size, device=device, normalize=True, test_limit=1)
    torch.manual_seed(0)
    model = build_model(FAST, device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4, fused=True if lever == "fused Adam" else None)
    if lever == "torch.compile":
        model = compiled(model, loaders.train, device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16) if lever == "bfloat16 autocast" else contextlib.nullcontext()
    started = time.perf_counter()
    with autocast:
        train_one_epoch(model, loaders.train, optimizer, nn.CrossEntropyLoss(), device)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 60_000 / (time.perf_counter() - started)


def compiled(model: nn.Module, batches, device: torch.device) -> nn.Module:
    """``model`` compiled by ``torch.compile``, after one forward and backward pass that pays (and prints) the compile."""
    model = torch.compile(model)
    images, labels = next(iter(batches))
    started = time.perf_counter()
    nn.functional.cross_entropy(model(images.to(device)), labels.to(device)).backward()
    model.zero_grad()
    print(f"torch.compile: {time.perf_counter() - started:.1f} s to compile the first step (not counted below)")
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--levers", action="store_true", help="also time fused Adam, bfloat16 autocast and torch.compile")
    args = parser.parse_args()
    device = device_or_exit(args.device)
    print(describe_machine(), f"device {device}")
    flops = training_flops_per_image()
    print(f"model: {flops / 1e6:.2f} MFLOP per image trained, {flops * 60_000 / 1e9:.0f} GFLOP per epoch")
    warm_up_data()
    rates = {}
    for name, pipeline in PIPELINES.items():
        rates[pipeline] = images_per_second(pipeline, args.batch_size, device)
        print(f"{name:45s} batch {args.batch_size}: {rates[pipeline]:8.0f} images/s "
              f"({60_000 / rates[pipeline]:.1f} s per epoch, {rates[pipeline] * flops / 1e9:.1f} GFLOP/s)")
    for lever in LEVERS if args.levers else ():
        rate = images_per_second("tensor", args.batch_size, device, lever)
        print(f"{'course + ' + lever:45s} batch {args.batch_size}: {rate:8.0f} images/s "
              f"({rate * flops / 1e9:.1f} GFLOP/s): {rate / rates['dataloader']:.2f}x the notebook")
    print(f"speedup: {rates['tensor'] / rates['dataloader']:.2f}x")


if __name__ == "__main__":
    main()
