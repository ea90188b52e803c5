"""The default recipe trained by 1 and by N processes with torchrun, timed in one run.

    python benchmarks/torchrun_scaling.py [--processes 1 2] [--device cpu]

Each count runs ``torchrun --standalone --nproc_per_node N -m solutions train`` with
the same recipe and seed, into a temporary folder, and reports its own training time
(the epochs, as the command prints it), the wall time of the whole command (starting
the processes and loading the data included) and the test accuracy. With ``--device
cuda``, each process takes its own GPU, so N must not exceed the GPUs there are.
"""

from __future__ import annotations

# First: importing _common sets how PyTorch's threads wait, before PyTorch loads.
from _common import describe_machine, warm_up_data

import argparse
import re
import subprocess
import sys
import tempfile
import time

import torch


FINISHED = re.compile(r"Finished in ([\d.]+) s: test accuracy ([\d.]+)%")


def train_with(processes: int, device: str) -> tuple[float, float, float]:
    """(training seconds, wall seconds, test accuracy) of the default recipe on ``processes`` processes."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                   "-m", "solutions", "train", "--device", device, "--save", f"{folder}/run.pt", "--log-dir", folder]
        started = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, cwd=folder)
        wall = time.perf_counter() - started
    match = FINISHED.search(completed.stdout)
    if completed.returncode or not match:
        sys.exit(f"error: {processes} process(es) failed:\n{completed.stderr[-2000:]}")
    return float(match[1]), wall, float(match[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    if args.device == "cuda" and torch.cuda.device_count() < max(args.processes):
        sys.exit(f"error: --device cuda needs a GPU per process: {max(args.processes)} asked for, "
                 f"{torch.cuda.device_count()} found")
    print(describe_machine(), f"device {args.device}")
    warm_up_data()
    times = {}
    for count in args.processes:
        seconds, wall, accuracy = train_with(count, args.device)
        times[count] = seconds
        print(f"{count} process{'es' if count > 1 else ''}: {accuracy:.2f}% in {seconds:.1f} s of training "
              f"({wall:.1f} s with start-up and data loading)")
    first = args.processes[0]
    for count in args.processes[1:]:
        print(f"{count} processes against {first}: {times[first] / times[count]:.2f}x")


if __name__ == "__main__":
    main()
