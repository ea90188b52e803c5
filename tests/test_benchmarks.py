"""The benchmark scripts run: the profile of a step on a small slice, and a missing GPU refused in one line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_profile_step_prints_each_convolutions_share_of_a_step() -> None:
    result = run_benchmark("profile_step.py", "--images", "300", "--batch-size", "100")
    assert result.returncode == 0, result.stderr
    assert "one training step of 100 images:" in result.stdout and "3 steps profiled" in result.stdout
    layers = re.findall(r"^(conv[12]) \(.*\): forward ([\d.]+) ms \([\d.]+ GFLOP/s\), backward ([\d.]+) ms",
                        result.stdout, flags=re.MULTILINE)
    assert [layer for layer, _, _ in layers] == ["conv1", "conv2"], result.stdout
    assert all(float(forward) > 0 and float(backward) > 0 for _, forward, backward in layers)


@pytest.mark.parametrize("script", ["profile_step.py", "epoch_throughput.py", "time_to_accuracy.py"])
def test_a_missing_gpu_is_one_error_line(script: str) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: --device cuda would run")
    result = run_benchmark(script, "--device", "cuda")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and result.stderr.startswith("error:"), result.stderr


def test_under_load_prints_each_pipeline_idle_and_loaded_against_idle() -> None:
    result = run_benchmark("under_load.py", "--images", "300", "--loads", "idle", "one busy loop", "--no-checks")
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"^training, (course|notebook) +pipeline, course's threads *, (idle|one busy loop) *: +(\d+) "
                      r"images/s +([\d.]+)x idle$", result.stdout, flags=re.MULTILINE)
    assert sorted((pipeline, load) for pipeline, load, _, _ in rows) == [
        ("course", "idle"), ("course", "one busy loop"), ("notebook", "idle"), ("notebook", "one busy loop")], result.stdout
    assert all(float(ratio) == 1.0 for _, load, _, ratio in rows if load == "idle")
    assert all(int(rate) > 0 for _, _, rate, _ in rows)


def test_own_parts_prints_both_epochs_and_their_ratio() -> None:
    result = run_benchmark("own_parts.py", "--images", "300")
    assert result.returncode == 0, result.stderr
    epochs = re.findall(r"^(PyTorch's parts|own parts) .*: +([\d.]+) s per epoch, test accuracy ([\d.]+)%$",
                        result.stdout, flags=re.MULTILINE)
    assert [side for side, _, _ in epochs] == ["PyTorch's parts", "own parts"], result.stdout
    assert re.search(r"^own parts against PyTorch's: [\d.]+x the time per epoch$", result.stdout, flags=re.MULTILINE)
