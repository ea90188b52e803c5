"""Wall time of the default recipe to its final accuracy, in epochs of the notebook's pipeline.

    python benchmarks/time_to_accuracy.py [--seeds 1 2 3] [--device cpu]

First one epoch of the notebook recipe is timed (data loading, training and the
test pass, as the notebook does each epoch); then the default recipe runs end to
end, data loading included, once per seed. The last line reports the slowest
seed's time and the lowest accuracy.
"""

from __future__ import annotations

import argparse
import time

from _common import describe_machine, device_or_exit, warm_up_data
from course.recipes import FAST, NOTEBOOK
from course.training import train


def timed_run(recipe, device, seed):
    started = time.perf_counter()
    result = train(recipe, device, seed=seed, log_dir=None, progress=False, report=lambda line: None)
    return time.perf_counter() - started, result.final.test.accuracy


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
    runs = []
    for seed in args.seeds:
        seconds, accuracy = timed_run(FAST, device, seed)
        runs.append((seconds, accuracy))
        print(f"default recipe, seed {seed}: {accuracy:.2f}% in {seconds:.1f} s "
              f"({FAST.epochs} epochs, batch {FAST.batch_size})")
    slowest = max(seconds for seconds, _ in runs)
    lowest = min(accuracy for _, accuracy in runs)
    print(f"reached {lowest:.2f}% in {slowest:.1f} s = {slowest / notebook_epoch:.2f} notebook epochs")


if __name__ == "__main__":
    main()
