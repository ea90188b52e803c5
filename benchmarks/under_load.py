"""The course beside other programs: training throughput and the grading of the reference, idle and loaded.

    python benchmarks/under_load.py [--images 20000] [--rounds 2] [--compare defaults passive] [--no-checks]

Each measurement starts a fresh Python, as a learner's command does, with the course's own
thread settings (:mod:`course.threads`): nothing is set in its environment. The competing
loads are started beside it and stopped after it: a busy Python loop, a second training of
the course's, and two busy loops. Printed for each load: the course's pipeline (one tensor on
the device) and, as the anchor, the notebook's (DataLoader + ToTensor), in images per second
of one epoch of ``--images`` training images, and their ratio to the idle figure of the same
run; then the time of ``pytest exercises/ --solutions`` idle and beside two busy loops.
``--compare`` measures each also with other settings, each with one thread per core whatever
the load: ``defaults``, PyTorch's own (libgomp's spin of 300,000), the way the course ran
before it chose its threads; ``passive``, threads that sleep at once (``OMP_WAIT_POLICY=PASSIVE``).
Measurements of a round are interleaved, so that a machine whose speed drifts affects all
sides alike; each figure is the median over ``--rounds``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from course.threads import THREAD_SETTING, WAIT_SETTINGS, configure_threads

ROOT = Path(__file__).resolve().parent.parent
PIPELINES = {"course": "fast", "notebook": "notebook"}  # the pipeline, by the recipe that uses it
LOADS = ("idle", "one busy loop", "a second training", "two busy loops")
BUSY_LOOP = [sys.executable, "-c", "while True: pass"]
ONE_PER_CORE = str(os.cpu_count() or 1)
SETTINGS = {  # what each side sets; the course's own side sets nothing and lets the course choose
    "course's threads": {},
    "defaults": {"GOMP_SPINCOUNT": "300000", "OMP_NUM_THREADS": ONE_PER_CORE},  # libgomp's documented default spin
    "passive": {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": ONE_PER_CORE},
}


def child_environment(side: str) -> dict[str, str]:
    """The environment of a measured program: none of the thread settings but those of ``side``."""
    env = {name: value for name, value in os.environ.items() if name not in (*WAIT_SETTINGS, THREAD_SETTING)}
    return {**env, **SETTINGS[side]}


def train_once(recipe_name: str, images: int) -> None:
    """(In the child.) Train one epoch of ``images`` images with a recipe's pipeline; print images per second."""
    configure_threads()
    import torch

    from course.data import make_loaders
    from course.recipes import get_recipe
    from course.training import fit

    recipe = get_recipe(recipe_name).with_overrides(epochs=1, batch_size=100, lr=1e-3)
    loaders = make_loaders(recipe.pipeline, batch_size=recipe.batch_size, normalize=recipe.normalize,
                           train_limit=images, test_limit=100)
    result = fit(recipe, loaders, torch.device("cpu"), log_dir=None, progress=False, report=lambda _: None)
    print(json.dumps({"images_per_second": images / result.epochs[0].seconds}))


def train_forever() -> None:
    """(In the child.) The competing training: the course's own, epoch after epoch, until it is stopped."""
    while True:
        train_once("fast", 60_000)


def measured_training(recipe_name: str, images: int, side: str) -> float:
    """Images per second of one epoch, trained by a fresh Python."""
    command = [sys.executable, __file__, "--child", "train", "--recipe", recipe_name, "--images", str(images)]
    completed = subprocess.run(command, cwd=ROOT, env=child_environment(side), capture_output=True, text=True,
                               check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])["images_per_second"]


def measured_checks(side: str) -> float:
    """Seconds that ``pytest exercises/ --solutions`` takes, started fresh."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "exercises/", "--solutions", "-q", "-p", "no:cacheprovider"],
                   cwd=ROOT, env=child_environment(side), capture_output=True, check=True)
    return time.perf_counter() - started


@contextmanager
def load(name: str) -> Iterator[None]:
    """Keep the competing programs of load ``name`` running while the block runs."""
    commands = {
        "idle": [],
        "one busy loop": [BUSY_LOOP],
        "a second training": [[sys.executable, __file__, "--child", "compete"]],
        "two busy loops": [BUSY_LOOP, BUSY_LOOP],
    }[name]
    competitors = [subprocess.Popen(command, cwd=ROOT, env=child_environment("course's threads"),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for command in commands]
    try:
        if competitors:
            time.sleep(3)  # a second training is under way, past its imports
        yield
    finally:
        for competitor in competitors:
            competitor.kill()
            competitor.wait()


def median_over_rounds(rounds: int, measure) -> dict:
    """Call ``measure()`` (a dict of figures) ``rounds`` times; the median of each figure."""
    samples = [measure() for _ in range(rounds)]
    return {key: statistics.median(sample[key] for sample in samples) for key in samples[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000, help="training images per measured epoch")
    parser.add_argument("--rounds", type=int, default=1, help="measure every figure this many times; print the median")
    parser.add_argument("--loads", nargs="+", choices=LOADS, default=list(LOADS), metavar="LOAD",
                        help=f"which loads (default: all): {', '.join(repr(name) for name in LOADS)}")
    parser.add_argument("--compare", nargs="+", choices=[side for side in SETTINGS if SETTINGS[side]], default=[],
                        help="also measure with these settings: PyTorch's defaults, passive waiting")
    parser.add_argument("--no-checks", action="store_true", help="skip the timing of pytest exercises/ --solutions")
    parser.add_argument("--child", choices=("train", "compete"), help=argparse.SUPPRESS)
    parser.add_argument("--recipe", default="fast", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "train":
        return train_once(args.recipe, args.images)
    if args.child == "compete":
        return train_forever()

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} before the first measurement")
    sides = ["course's threads", *args.compare]
    rates = {name: median_over_rounds(args.rounds, partial(trainings_under, name, sides, args.images))
             for name in args.loads}
    idle = rates.get("idle")
    for name, figures in rates.items():
        for (pipeline, side), rate in figures.items():
            ratio = f"{rate / idle[pipeline, side]:.2f}x idle" if idle else ""
            print(f"training, {pipeline:8s} pipeline, {side:16s}, {name:17s}: {rate:7.0f} images/s  {ratio}")
    if args.no_checks:
        return
    for side in sides:
        times = {name: median_over_rounds(args.rounds, partial(checks_under, name, side))["seconds"]
                 for name in ("idle", "two busy loops")}
        print(f"pytest exercises/ --solutions, {side}: {times['idle']:.1f} s idle, {times['two busy loops']:.1f} s "
              f"beside two busy loops ({times['two busy loops'] / times['idle']:.2f}x idle)")


def trainings_under(name: str, sides: list[str], images: int) -> dict:
    """Each pipeline's images per second on each side, one after the other, under load ``name``."""
    with load(name):
        return {(pipeline, side): measured_training(recipe, images, side)
                for side in sides for pipeline, recipe in PIPELINES.items()}


def checks_under(name: str, side: str) -> dict:
    """Seconds of ``pytest exercises/ --solutions`` on ``side``, under load ``name``."""
    with load(name):
        return {"seconds": measured_checks(side)}


if __name__ == "__main__":
    main()
