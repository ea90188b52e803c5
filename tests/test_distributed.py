"""Training on several processes: each one's shard of the data, and real torchrun runs (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from course.data import TensorBatches
from course.distributed import Processes, joined, launched_by_torchrun, per_process_batch_size, start_epoch
from course.errors import CourseError

ROOT = Path(__file__).resolve().parent.parent
SLICE_SCRIPT = ROOT / "tests" / "torchrun_slice.py"
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
# On the slice's 2,000 test images, a different order of the same batches moves the
# accuracy by about half a point after 2 epochs; 1 point (20 images) is the tolerance.
SLICE_TOLERANCE = 1.0


def numbered_batches(count: int = 103, batch_size: int = 10) -> TensorBatches:
    """Images whose only pixel is their own number, so that a batch says which images it holds."""
    images = torch.arange(count, dtype=torch.float32).view(count, 1, 1, 1)
    return TensorBatches(images, torch.arange(count), batch_size, shuffle=True)


def seen(batches) -> list[int]:
    return [int(label) for _, labels in batches for label in labels]


def test_the_shards_of_an_epoch_are_disjoint_equal_and_cover_it() -> None:
    shards = [Processes(rank, 2).shard(numbered_batches(), seed=3) for rank in range(2)]
    first, second = (seen(shard) for shard in shards)
    assert len(first) == len(second) == 51, "103 images: one left out so that both take the same steps"
    assert not set(first) & set(second) and len(set(first) | set(second)) == 102
    assert len(shards[0]) == len(shards[1]) == 11 and all(len(labels) <= 5 for _, labels in shards[0])


def test_each_epoch_is_shuffled_anew_and_alike_in_every_process() -> None:
    shard = Processes(1, 2).shard(numbered_batches(), seed=3)
    twin = Processes(1, 2).shard(numbered_batches(), seed=3)
    start_epoch(shard, 0)
    epoch_0 = seen(shard)
    assert seen(shard) == epoch_0 == seen(twin), "the same epoch gives the same shard, in every process"
    start_epoch(shard, 1)
    assert seen(shard) != epoch_0


def test_the_images_travel_with_their_labels() -> None:
    for images, labels in Processes(0, 3).shard(numbered_batches(batch_size=9), seed=0):
        assert torch.equal(images.flatten().long(), labels)


def test_a_dataloader_is_sharded_by_a_distributed_sampler() -> None:
    loader = DataLoader(TensorDataset(torch.arange(40)), batch_size=8, shuffle=True)
    shard = Processes(1, 4).shard(loader, seed=0)
    assert isinstance(shard.sampler, DistributedSampler) and shard.batch_size == 2 and len(shard) == 5
    start_epoch(shard, 7)
    assert shard.sampler.epoch == 7


def test_a_single_process_trains_on_everything_unwrapped() -> None:
    batches, model = numbered_batches(), torch.nn.Linear(1, 1)
    alone = Processes()
    assert alone.is_main and alone.shard(batches, seed=0) is batches
    assert alone.wrap(model, torch.device("cpu")) is model and alone.mean(0.25) == 0.25
    assert not Processes(1, 2).is_main


def test_the_batch_must_split_evenly_between_the_processes() -> None:
    assert per_process_batch_size(64, 2) == 32
    with pytest.raises(CourseError, match="multiple of 3"):
        per_process_batch_size(64, 3)


def test_a_process_started_alone_joins_no_group(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert not launched_by_torchrun()
    with joined("cpu") as (processes, device):
        assert processes == Processes() and device == torch.device("cpu")
    assert not torch.distributed.is_initialized()


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    completed = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


def written(out: Path) -> tuple[list[Path], list[Path]]:
    """The checkpoints and the TensorBoard event files under ``out``."""
    return sorted(out.rglob("*.pt")), sorted(out.rglob("events.out.tfevents.*"))


@pytest.mark.slow
def test_two_processes_write_once_and_train_as_well_as_one(tmp_path: Path) -> None:
    """torchrun with 2 processes on 8,000 images: one checkpoint, one TensorBoard run, the same accuracy."""
    alone, together = tmp_path / "alone", tmp_path / "together"
    run([sys.executable, str(SLICE_SCRIPT), str(alone)], tmp_path)
    run([*TORCHRUN, "--nproc_per_node", "2", str(SLICE_SCRIPT), str(together)], tmp_path)
    checkpoints, events = written(together)
    assert [path.name for path in checkpoints] == ["slice.pt"] and len(events) == 1
    accuracy = {name: json.loads((tmp_path / name / "accuracy.json").read_text())["accuracy"]
                for name in ("alone", "together")}
    assert abs(accuracy["alone"] - accuracy["together"]) <= SLICE_TOLERANCE, accuracy


@pytest.mark.slow
def test_torchrun_runs_the_command_line_and_only_process_0_speaks(tmp_path: Path) -> None:
    completed = run([*TORCHRUN, "--nproc_per_node", "2", "-m", "solutions", "train", "--dry-run", "--device", "cpu"],
                    tmp_path)
    assert completed.stdout.count("Finished in") == 1 and "in 2 processes, 32 images" in completed.stdout
    checkpoints, events = written(tmp_path)
    assert [path.name for path in checkpoints] == ["cnn_experiment.pt"] and len(events) == 1


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs: the NCCL path is checked where they exist")
def test_torchrun_trains_on_two_gpus_with_nccl(tmp_path: Path) -> None:
    run([*TORCHRUN, "--nproc_per_node", "2", str(SLICE_SCRIPT), str(tmp_path), "--device", "cuda"], tmp_path)
    checkpoints, events = written(tmp_path)
    assert len(checkpoints) == 1 and len(events) == 1
