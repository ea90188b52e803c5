"""Train the fast recipe on a slice of MNIST, alone or in every process torchrun starts.

    [torchrun --standalone --nproc_per_node N] tests/torchrun_slice.py OUT [--device cpu]

Process 0 writes the checkpoint ``OUT/slice.pt``, the TensorBoard run ``OUT/runs/slice``
and the final accuracy to ``OUT/accuracy.json`` (for tests/test_distributed.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from course.distributed import joined
from course.recipes import FAST
from course.training import train

RECIPE = FAST.with_overrides(epochs=2)
TRAIN_IMAGES, TEST_IMAGES = 8_000, 2_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    with joined(args.device) as (processes, device):
        result = train(RECIPE, device, seed=1, train_limit=TRAIN_IMAGES, test_limit=TEST_IMAGES, run_name="slice",
                       log_dir=args.out / "runs", save=args.out / "slice.pt", progress=False, processes=processes)
    if processes.is_main:
        (args.out / "accuracy.json").write_text(json.dumps({"accuracy": result.final.test.accuracy}))


if __name__ == "__main__":
    main()
