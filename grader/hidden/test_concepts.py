"""Hidden checks of the concept exercises: the public questions on other shapes, sizes and seeds.

A re-implementation that fits only the public checks' shapes, or a value typed in from
them, fails here.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from grader.checks import expect

SEED = 20261202


def generator(offset: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(SEED + offset)


@pytest.mark.ex1
def test_statistics_and_steps_on_other_data(learner):
    """mean_and_std on shifted data in five uneven batches, and steps for other sizes"""
    batches = [2 + 3 * torch.rand(size, 2, 5, 5, generator=generator(size)) for size in (17, 40, 1, 33, 9)]
    std, mean = torch.std_mean(torch.cat(batches), correction=0)
    with learner.running("statistics"):
        found = tuple(float(value) for value in learner.get("tensors", "mean_and_std")(iter(batches)))
    expect(found == (pytest.approx(mean.item(), rel=1e-4), pytest.approx(std.item(), rel=1e-3)), "statistics",
           f"mean {mean.item():.4f} and standard deviation {std.item():.4f}", f"{found[0]:.4f} and {found[1]:.4f}")
    for dataset_size, batch_size in ((54_321, 128), (999, 1000), (4096, 512), (3, 2)):
        expected = len(DataLoader(range(dataset_size), batch_size=batch_size))
        with learner.running("last_batch"):
            steps = learner.get("tensors", "steps_per_epoch")(dataset_size, batch_size)
        expect(steps == expected, "last_batch", f"{expected} steps for {dataset_size} in batches of {batch_size}", steps)


@pytest.mark.ex2
@pytest.mark.parametrize("stride, padding", [(1, 2), (3, 1)])
def test_conv_and_pool_on_other_shapes(learner, stride, padding):
    """conv2d and max_pool2d on rectangular kernels, odd sizes and other strides and paddings"""
    images = torch.randn(3, 5, 13, 10, generator=generator(stride))
    weight, bias = torch.randn(6, 5, 4, 3, generator=generator(padding)), torch.randn(6, generator=generator(9))
    expected = F.conv2d(images, weight, bias, stride, padding)
    with learner.running("conv"):
        found = learner.get("convolution", "conv2d")(images, weight, bias, stride=stride, padding=padding)
    expect(isinstance(found, torch.Tensor) and found.shape == expected.shape and torch.allclose(found, expected, atol=1e-4),
           "conv", f"F.conv2d's output, shape {tuple(expected.shape)}", getattr(found, "shape", found))
    pooled = F.max_pool2d(images, 3, stride)
    with learner.running("pool"):
        found = learner.get("convolution", "max_pool2d")(images, 3, stride)
    expect(isinstance(found, torch.Tensor) and found.shape == pooled.shape and torch.allclose(found, pooled),
           "pool", f"F.max_pool2d's output, shape {tuple(pooled.shape)}", getattr(found, "shape", found))


@pytest.mark.ex4
def test_losses_on_other_shapes(learner):
    """log_softmax on a 4-D tensor and cross_entropy on 37 rows of 13 classes"""
    scores = 50 * torch.randn(2, 3, 4, 5, generator=generator(4))
    with learner.running("log_softmax"):
        found = learner.get("losses", "log_softmax")(scores, dim=2)
    expect(isinstance(found, torch.Tensor) and torch.allclose(found, F.log_softmax(scores, dim=2), atol=1e-4),
           "log_softmax", "F.log_softmax(scores, dim=2)", getattr(found, "shape", found))
    scores, targets = 5 * torch.randn(37, 13, generator=generator(5)), torch.randint(0, 13, (37,), generator=generator(6))
    with learner.running("cross_entropy"):
        loss = float(learner.get("losses", "cross_entropy")(scores, targets))
    expected = F.cross_entropy(scores, targets).item()
    expect(math.isclose(loss, expected, rel_tol=1e-5), "cross_entropy", f"{expected:.5f}", f"{loss:.5f}")
    with learner.running("floor"):
        floor = float(learner.get("losses", "double_softmax_floor")(7))
    expect(math.isclose(floor, math.log(math.e + 6) - 1, rel_tol=1e-4), "floor", "the floor for 7 classes", floor)


@pytest.mark.ex5
def test_backprop_on_a_wider_network(learner):
    """forward_backward on 11 samples, 7 features, 9 hidden units and 4 classes, in float32"""
    inputs, targets = torch.randn(11, 7, generator=generator(7)), torch.randint(0, 4, (11,), generator=generator(8))
    weights = [torch.randn(*shape, generator=generator(10 + index))
               for index, shape in enumerate(((9, 7), (9,), (4, 9), (4,)))]
    leaves = [weight.clone().requires_grad_() for weight in weights]
    F.cross_entropy(F.relu(inputs @ leaves[0].T + leaves[1]) @ leaves[2].T + leaves[3], targets).backward()
    with learner.running("bp_runs"):
        _, gradients = learner.get("backprop", "forward_backward")(inputs, targets, *weights)
    for name, found, leaf in zip(("w1", "b1", "w2", "b2"), gradients, leaves):
        expect(isinstance(found, torch.Tensor) and found.shape == leaf.shape and torch.allclose(found, leaf.grad, atol=1e-5),
               "hidden_gradients" if name.endswith("1") else "p_minus_y", f"autograd's gradient of {name}",
               getattr(found, "shape", found))


@pytest.mark.ex6
def test_optimisers_on_other_settings(learner):
    """SGD(momentum=0.7) and Adam(betas=(0.5, 0.9)) over 12 steps on a quadratic"""
    for name, settings, reference in (("SGD", {"lr": 0.03, "momentum": 0.7}, torch.optim.SGD),
                                      ("Adam", {"lr": 0.05, "betas": (0.5, 0.9)}, torch.optim.Adam)):
        start = torch.randn(5, generator=generator(12))
        mine, theirs = start.clone().requires_grad_(), start.clone().requires_grad_()
        with learner.running("sgd" if name == "SGD" else "adam"):
            optimizer = learner.get("optimisers", name, kind="class")([mine], **settings)
            expected = reference([theirs], **settings)
            for step in range(12):
                for parameter, stepper in ((mine, optimizer), (theirs, expected)):
                    stepper.zero_grad()
                    ((parameter - step) ** 2 * torch.arange(1.0, 6.0)).sum().backward()
                    stepper.step()
        expect(torch.allclose(mine.detach(), theirs.detach(), atol=1e-5), "momentum" if name == "SGD" else "adam",
               f"torch.optim.{name}'s parameters after 12 steps", mine.detach().tolist())


@pytest.mark.ex8
def test_sanity_checks_on_a_small_network(learner):
    """loss_at_start and overfit_one_batch on a small linear network and another batch"""
    torch.manual_seed(SEED)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.3), torch.nn.Linear(12, 5))
    images, labels = torch.randn(6, 3, 4, generator=generator(13)), torch.randint(0, 5, (6,), generator=generator(14))
    with torch.no_grad():
        expected = F.cross_entropy(model.eval()(images), labels).item()
    with learner.running("start"):
        found = learner.get("sanity", "loss_at_start")(model.train(), images, labels, F.cross_entropy)
    expect(math.isclose(found, expected, rel_tol=1e-5), "start_eval", f"{expected:.4f}", found)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    with learner.running("overfit"):
        losses = learner.get("sanity", "overfit_one_batch")(model, images, labels, F.cross_entropy, optimizer, 40)
    expect(isinstance(losses, list) and len(losses) == 40 and losses[-1] < losses[0], "overfit_loop",
           "40 falling losses", losses if not isinstance(losses, list) else f"{len(losses)} values")
