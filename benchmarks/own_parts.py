"""One epoch of the fast recipe with PyTorch's parts, then with the reference's own (exercise 13), in one run.

    python benchmarks/own_parts.py [--images N] [--seed 1]

Both sides train the course's CNN for one epoch of the fast recipe, same data, seed and
schedule, through the same runtime (``course.training.fit``): the first with PyTorch's
convolution, pooling, cross-entropy and Adam, the second with ``solutions/``' own ones
(``train --own-parts``). Each epoch is timed as ``train`` times it, evaluation included.
Ends with the ratio of the two times and both accuracies.
"""

from __future__ import annotations

# First: importing _common sets how PyTorch's threads wait, before PyTorch loads.
from _common import describe_machine, warm_up_data

import argparse

import torch

from course.data import make_loaders
from course.recipes import FAST
from course.training import fit
from course.parts import load_parts

SIDES = {"PyTorch's parts (fast recipe)": False, "own parts (--own-parts)": True}


def one_epoch(own_parts: bool, images: int | None, seed: int) -> tuple[float, float]:
    """Seconds and test accuracy of one epoch of the fast recipe, with the reference's own parts or PyTorch's."""
    recipe = FAST.with_overrides(epochs=1)
    loaders = make_loaders(recipe.pipeline, batch_size=recipe.batch_size, normalize=recipe.normalize, seed=seed,
                           train_limit=images)
    result = fit(recipe, loaders, torch.device("cpu"), seed=seed, log_dir=None, progress=False, report=lambda _: None,
                 parts=load_parts("solutions"), own_parts=own_parts)
    return result.final.seconds, result.final.test.accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, help="train on the first N training images only (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(describe_machine())
    warm_up_data()
    seconds = {}
    for name, own_parts in SIDES.items():
        seconds[own_parts], accuracy = one_epoch(own_parts, args.images, args.seed)
        print(f"{name:32s}: {seconds[own_parts]:6.1f} s per epoch, test accuracy {accuracy:.2f}%")
    print(f"own parts against PyTorch's: {seconds[True] / seconds[False]:.2f}x the time per epoch")


if __name__ == "__main__":
    main()
