"""Training on several processes at once, as ``torchrun`` starts them (lesson 7).

``torchrun --standalone --nproc_per_node N -m solutions train`` starts N copies of
the command. Each joins one process group (gloo on the CPU, NCCL on CUDA GPUs),
trains the same model wrapped in ``DistributedDataParallel`` on its own shard of
every epoch, and averages its gradients with the others' after every backward
pass (an all-reduce), so that all copies take the same optimiser step. Process 0
alone writes the TensorBoard logs, the progress bars, the summary lines and the
checkpoints.

The recipe's batch size is the *effective* batch of one optimiser step: each of
the N processes takes ``batch_size / N`` images of it, so that the same recipe
takes the same steps, with the same learning rate, however many processes share it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from .data import Batches, TensorBatches
from .device import select_device
from .errors import CourseError

LAUNCHER_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")  # what torchrun sets for each process it starts


class ShardedBatches:
    """One process's shard of a :class:`TensorBatches`, anew at every epoch, like ``DistributedSampler``.

    Every process draws the same permutation of the images for an epoch (from the
    seed and :meth:`set_epoch`'s epoch) and takes every ``world_size``-th image of it,
    starting at its ``rank``: the shards are disjoint and together cover the epoch. The
    last ``len % world_size`` images of a permutation are left out, so that every
    process takes the same number of steps (a process waiting for an all-reduce that
    never comes would wait forever).
    """

    def __init__(self, batches: TensorBatches, rank: int, world_size: int, batch_size: int, seed: int) -> None:
        self.images, self.labels = batches.images, batches.labels
        self.rank, self.world_size = rank, world_size
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw the permutation of epoch ``epoch`` (the same one in every process)."""
        self.epoch = epoch

    def shard_size(self) -> int:
        """How many images this process trains on per epoch."""
        return len(self.labels) // self.world_size

    def __len__(self) -> int:
        return math.ceil(self.shard_size() / self.batch_size)

    def indices(self) -> torch.Tensor:
        """The images of this process's shard for the current epoch, in the order it trains on them."""
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        order = torch.randperm(len(self.labels), generator=generator)
        return order[self.rank : self.shard_size() * self.world_size : self.world_size]

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        shard = self.indices().to(self.labels.device)
        for start in range(0, len(shard), self.batch_size):
            batch = shard[start : start + self.batch_size]
            yield self.images.index_select(0, batch), self.labels.index_select(0, batch)


@dataclass(frozen=True)
class Processes:
    """Which of how many training processes this one is; the default is a run on its own.

    Attributes:
        rank: this process's number, 0 to ``world_size - 1``; process 0 writes for all.
        world_size: how many processes train the model together.
    """

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes the logs, progress bars, summary lines and checkpoints."""
        return self.rank == 0

    def shard(self, batches: Batches, seed: int) -> Batches:
        """This process's part of the training ``batches``: ``batch_size / world_size`` images of each step."""
        if self.world_size == 1:
            return batches
        batch_size = per_process_batch_size(batches.batch_size, self.world_size)
        if isinstance(batches, TensorBatches):
            return ShardedBatches(batches, self.rank, self.world_size, batch_size, seed)
        sampler = DistributedSampler(batches.dataset, self.world_size, self.rank, shuffle=True, seed=seed,
                                     drop_last=True)
        return DataLoader(batches.dataset, batch_size, sampler=sampler, num_workers=batches.num_workers,
                          pin_memory=batches.pin_memory)

    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """``model`` as it trains: in ``DistributedDataParallel`` when other processes share its gradients."""
        if self.world_size == 1:
            return model
        return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)

    def mean(self, value: float) -> float:
        """The average of ``value`` over the processes, so that every one of them logs and judges the same loss."""
        if self.world_size == 1:
            return value
        total = torch.tensor([value], dtype=torch.float64)
        if dist.get_backend() == "nccl":
            total = total.cuda()
        dist.all_reduce(total)
        return total.item() / self.world_size


def start_epoch(batches: Batches, epoch: int) -> None:
    """Tell a sharded loader which epoch begins, so that each epoch is shuffled anew (a no-op otherwise)."""
    if isinstance(batches, ShardedBatches):
        batches.set_epoch(epoch)
    elif isinstance(batches, DataLoader) and isinstance(batches.sampler, DistributedSampler):
        batches.sampler.set_epoch(epoch)


def per_process_batch_size(batch_size: int, world_size: int) -> int:
    """Each process's share of an effective batch of ``batch_size`` images.

    Raises:
        CourseError: ``batch_size`` does not split evenly between the processes.
    """
    if batch_size % world_size:
        raise CourseError(f"the batch size {batch_size} does not split evenly between {world_size} processes; "
                          f"choose a --batch-size that is a multiple of {world_size}")
    return batch_size // world_size


def launched_by_torchrun() -> bool:
    """Whether this process was started by ``torchrun`` (or another launcher that sets its variables)."""
    return all(name in os.environ for name in LAUNCHER_VARIABLES)


def _device_of_this_process(name: str) -> torch.device:
    """The device chosen by ``name``; on CUDA, the GPU of this process's ``LOCAL_RANK`` on its machine."""
    device = select_device(name)
    if device.type == "mps":
        raise CourseError("torchrun training runs on --device cpu or cuda; Apple's MPS has no distributed backend")
    if device.type != "cuda":
        return device
    local_rank = int(os.environ["LOCAL_RANK"])
    if local_rank >= torch.cuda.device_count():
        raise CourseError(f"process {local_rank} on this machine has no GPU of its own "
                          f"({torch.cuda.device_count()} found); start at most that many with --nproc_per_node")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


@contextmanager
def joined(device_name: str = "auto") -> Iterator[tuple[Processes, torch.device]]:
    """This process's place among the training processes, and its device, for the length of a run.

    Started by ``torchrun``, the process joins the group (NCCL on CUDA, gloo on the CPU)
    and leaves it at the end; started alone, it is :class:`Processes`' single process.

    Raises:
        CourseError: the device cannot be used by several processes (see :func:`_device_of_this_process`).
    """
    if not launched_by_torchrun():
        yield Processes(), select_device(device_name)
        return
    device = _device_of_this_process(device_name)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        yield Processes(dist.get_rank(), dist.get_world_size()), device
    finally:
        dist.destroy_process_group()
