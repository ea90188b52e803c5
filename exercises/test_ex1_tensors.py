"""Checks of exercise 1, batches, statistics and steps (exercises/tensors.py)."""

import weakref

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.data import DataLoader

from course.data import load_split
from grader.checks import expect
from grader.diagnosis import agrees, likeliest

pytestmark = pytest.mark.ex1


def mean_and_std(learner, batches):
    with learner.running("statistics"):
        mean, std = learner.get("tensors", "mean_and_std")(batches)
        return float(mean), float(std)


def uneven_batches(seed: int) -> list[torch.Tensor]:
    """Two large batches and a small last one from another distribution, as the end of an epoch can be."""
    generator = torch.Generator().manual_seed(seed)
    return [torch.rand(50, 1, 8, 8, generator=generator), torch.rand(50, 1, 8, 8, generator=generator),
            0.5 + 4 * torch.rand(3, 1, 8, 8, generator=generator)]


def which_statistics(batches: list[torch.Tensor], found: tuple[float, float]) -> str:
    """The hint for statistics that differ from the whole set's: the likeliest way they were computed."""
    pixels = torch.cat([batch.double().flatten() for batch in batches])
    means = torch.stack([batch.double().mean() for batch in batches])
    stds = torch.stack([batch.double().std(correction=0) for batch in batches])
    sizes = torch.tensor([float(batch.numel()) for batch in batches], dtype=torch.float64)
    mean_of_squares = pixels.square().mean().item()
    mistakes = [("batch_means", lambda: (means.mean().item(), None)),
                *[("pooled_std", lambda std=std: (None, std)) for std in
                  (stds.mean().item(), stds.square().mean().sqrt().item(),
                   ((stds.square() * sizes).sum() / sizes.sum()).sqrt().item())],
                ("population", lambda: (None, pixels.std(correction=1).item())),
                ("variance_formula", lambda: (None, max(mean_of_squares - pixels.mean().item(), 0.0) ** 0.5)),
                ("one_pass", lambda: (None, 0.0))]
    return likeliest(found, mistakes, otherwise="statistics",
                     same=lambda mine, theirs: agrees(mine, theirs, atol=1e-6, rtol=1e-4))


def test_statistics_of_the_mnist_training_set(learner):
    """the training set's pixels have mean 0.1307 and standard deviation 0.3081"""
    pixels = load_split(train=True).data
    found = mean_and_std(learner, (pixels[start : start + 1000].float() / 255 for start in range(0, 60_000, 1000)))
    expect(found == (pytest.approx(0.1307, abs=1e-4), pytest.approx(0.3081, abs=1e-4)), "statistics",
           "mean 0.1307 and standard deviation 0.3081", f"mean {found[0]:.4f} and standard deviation {found[1]:.4f}")


@pytest.mark.parametrize("seed", [0, 1])
def test_batches_of_different_sizes_count_by_pixel(learner, seed):
    """a small last batch counts by its pixels, as much as it holds and no more"""
    batches = uneven_batches(seed)
    std, mean = torch.std_mean(torch.cat(batches), correction=0)
    found = mean_and_std(learner, iter(batches))
    expected = (pytest.approx(mean.item(), rel=1e-4), pytest.approx(std.item(), rel=1e-3))
    expect(found == expected, which_statistics(batches, found),
           f"mean {mean.item():.4f} and standard deviation {std.item():.4f} over all pixels",
           f"mean {found[0]:.4f} and standard deviation {found[1]:.4f}")


def test_the_standard_deviation_is_the_populations(learner):
    """the standard deviation divides by the number of pixels (correction=0), as Normalize's 0.3081 does"""
    batches = [torch.tensor([[0.0, 1.0]]), torch.tensor([[2.0, 3.0, 4.0]]), torch.tensor([[10.0]])]
    std, mean = torch.std_mean(torch.cat(batches, dim=1), correction=0)
    found = mean_and_std(learner, iter(batches))
    expect(found == (pytest.approx(mean.item(), rel=1e-6), pytest.approx(std.item(), rel=1e-6)),
           which_statistics(batches, found), f"mean {mean.item():.4f} and standard deviation {std.item():.4f} "
           "for the 6 pixels 0, 1, 2, 3, 4, 10", f"mean {found[0]:.4f} and standard deviation {found[1]:.4f}")


class TensorWatch(TorchDispatchMode):
    """Keeps a weak reference to every tensor of at least ``size`` elements that PyTorch makes inside it."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size, self.made, self.largest = size, [], 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        for output in result if isinstance(result, (tuple, list)) else [result]:
            if isinstance(output, torch.Tensor):
                self.largest = max(self.largest, output.numel())
                if output.numel() >= self.size:
                    self.made.append(weakref.ref(output))
        return result

    def alive(self) -> int:
        # a tensor is freed as soon as its last reference goes: no garbage collection needed (it would cost seconds)
        return sum(reference() is not None for reference in self.made)


def test_reads_one_batch_at_a_time(learner):
    """the batches are read one at a time: neither they nor copies of them pile up"""
    batches = uneven_batches(2)[:2] * 6
    batch_size = batches[0].numel()
    most_alive = 0
    with TensorWatch(batch_size) as watch:
        def one_at_a_time():
            nonlocal most_alive
            for batch in batches:
                yield batch.clone()
                most_alive = max(most_alive, watch.alive())

        mean_and_std(learner, one_at_a_time())
    found = f"{most_alive} batches or copies of them kept at once" if watch.largest <= 2 * batch_size else \
        f"a tensor of {watch.largest:,} numbers ({watch.largest // batch_size} batches)"
    expect(most_alive <= 6 and watch.largest <= 2 * batch_size, "one_batch",
           f"only the batch being read in memory (batches of {batch_size:,} numbers, 12 of them)", found)


@pytest.mark.parametrize("drop_last", [False, True])
def test_steps_per_epoch_is_the_data_loaders_length(learner, drop_last):
    """an epoch takes as many steps as the DataLoader has batches"""
    steps_per_epoch = learner.get("tensors", "steps_per_epoch")
    cases = [(60_000, 100), (60_000, 64), (10_000, 1000), (50, 64), (1, 1), (1001, 10), (7, 3), (12, 4)]
    for dataset_size, batch_size in cases:
        expected = len(DataLoader(range(dataset_size), batch_size=batch_size, drop_last=drop_last))
        with learner.running("last_batch"):
            found = steps_per_epoch(dataset_size, batch_size, drop_last=drop_last)
        exact = dataset_size % batch_size == 0
        hint = "drop_last" if drop_last else "exact_multiple" if exact else "last_batch"
        expect(found == expected, hint,
               f"{expected} steps for {dataset_size:,} samples in batches of {batch_size}"
               f"{' dropping the last' if drop_last else ''}", f"{found}")
