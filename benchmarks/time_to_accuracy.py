"""Wall time of the default recipe to its final accuracy, in epochs of the notebook's pipeline.

    python benchmarks/time_to_accuracy.py [--seeds 1 2 3 4 5] [--device cpu]

First one epoch of the notebook recipe is timed (data loading, training and the
test pass, as the notebook does each epoch); then what the default recipe's random
shifts cost, as one training epoch with them against one without (the faster of two
each, interleaved); then the default recipe runs end to end, data loading included,
once per seed. The last line reports the slowest seed's time and the lowest accuracy.
"""

from __future__ import annotations

# First: importing _common sets how PyTorch's threads wait, before PyTorch loads.
from _common import describe_machine, device_or_exit, warm_up_data

import argparse
import time

import torch
from torch import nn

from course.data import Batches, ShiftedBatches, make_loaders
from course.recipes import FAST, NOTEBOOK
from course.training import build_model, train
from solutions.engine import train_one_epoch

SHIFT_ROUNDS = 2


def timed_run(recipe, device, seed):
    started = time.perf_counter()
    result = train(recipe, device, seed=seed, log_dir=None, progress=False, report=lambda line: None)
    return time.perf_counter() - started, result.final.test.accuracy


def epoch_seconds(batches: Batches, device: torch.device) -> float:
    """One training epoch of the default recipe's model, optimiser and schedule on ``batches``."""
    torch.manual_seed(1)
    model = build_model(FAST, device)
    optimizer, scheduler = FAST.make_optimizer(model, len(batches))
    started = time.perf_counter()
    train_one_epoch(model, batches, optimizer, nn.CrossEntropyLoss(), device, lambda *_: scheduler.step())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def shift_cost(device: torch.device) -> None:
    """Print one epoch with the default recipe's shifts against one without, the faster of each."""
    plain = make_loaders(FAST.pipeline, batch_size=FAST.batch_size, normalize=FAST.normalize, device=device,
                         seed=1, test_limit=1).train
    sides = {"without shifts": plain,
             f"with shifts of up to {FAST.max_shift} px": ShiftedBatches(plain, FAST.max_shift,
                                                                          torch.Generator().manual_seed(1))}
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(SHIFT_ROUNDS):  # interleaved, so that a change in the machine's load falls on both sides
        for name, batches in sides.items():
            seconds[name].append(epoch_seconds(batches, device))
    without, shifted = (min(times) for times in seconds.values())
    print(f"default recipe, one training epoch (faster of {SHIFT_ROUNDS}): {without:.1f} s without shifts, "
          f"{shifted:.1f} s with shifts of up to {FAST.max_shift} px: {100 * (shifted / without - 1):+.1f}% per epoch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = device_or_exit(args.device)
    print(describe_machine(), f"device {device}")
    warm_up_data()
    notebook_epoch, notebook_accuracy = timed_run(NOTEBOOK.with_overrides(epochs=1), device, seed=1)
    print(f"notebook pipeline: one epoch in {notebook_epoch:.1f} s ({notebook_accuracy:.2f}% after it)")
    shift_cost(device)
    runs = []
    for seed in args.seeds:
        seconds, accuracy = timed_run(FAST, device, seed)
        runs.append((seconds, accuracy))
        print(f"default recipe, seed {seed}: {accuracy:.2f}% in {seconds:.1f} s = {seconds / notebook_epoch:.2f} "
              f"notebook epochs ({FAST.epochs} epochs, batch {FAST.batch_size}, shifts of up to {FAST.max_shift} px "
              f"in all but the last)")
    slowest = max(seconds for seconds, _ in runs)
    lowest = min(accuracy for _, accuracy in runs)
    print(f"reached {lowest:.2f}% in {slowest:.1f} s = {slowest / notebook_epoch:.2f} notebook epochs")


if __name__ == "__main__":
    main()
