"""The lessons' gradient table, diagnosing runs, baselines and lab runs, with their figures.

Each function measures one thing and returns what the lessons quote; the figures
go to ``lessons/figures/``. They are short: slices of MNIST and few epochs, so that
each can be run alone while writing (``python docs/make_figures.py --only NAME``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from matplotlib.figure import Figure
from torch import nn

from course.data import MNIST_MEAN, MNIST_STD, Batches, TensorBatches, load_split, make_loaders, to_model_input
from course.recipes import FAST
from course.training import fit
from solutions.engine import evaluate, train_one_epoch
from solutions.inference import predict
from solutions.model import CNN, count_parameters

Save = Callable[[Figure, str], None]
CPU = torch.device("cpu")
LOSS = nn.CrossEntropyLoss()
STEPS_PER_EPOCH = math.ceil(60_000 / FAST.batch_size)
# (situation, logits, right class): an untrained model, lesson 3's example, and a model sure of itself.
GRADIENT_CASES = [
    ("unsure: every logit 0", [0.0] * 10, 0),
    ("the example above: sure of 1, truth 0", [0.0, 3.0] + [0.0] * 8, 0),
    ("right and sure: logit 8 on the truth", [8.0] + [0.0] * 9, 0),
    ("wrong and sure: logit 8 on a wrong digit", [0.0, 8.0] + [0.0] * 8, 0),
]
SMALL_TRAIN = 1_000  # images the overfitting run trains on
VALIDATION = 5_000  # the last training images, held out to measure on
LR_SLICE = 10_000  # images the learning-rate runs train on, for one epoch
LEARNING_RATES = {"too low (1e-4)": 1e-4, "about right (1e-3)": 1e-3, "too high (0.1)": 0.1}
ROTATIONS = (0, 15, 30, 45)


def gradient_reweighting() -> list[dict[str, object]]:
    """How much weaker the gradient on the logits is with softmax twice, case by case (lesson 3)."""
    rows = []
    for name, values, truth in GRADIENT_CASES:
        target = torch.tensor([truth])
        sizes = []
        for double in (False, True):
            logits = torch.tensor([values], requires_grad=True)
            F.cross_entropy(F.softmax(logits, dim=1) if double else logits, target).backward()
            sizes.append(logits.grad.norm().item())
        probability = F.softmax(torch.tensor(values), dim=0)[truth].item()
        rows.append({"case": name, "p_right": round(probability, 4), "logits": round(sizes[0], 4),
                     "softmax_twice": round(sizes[1], 6), "weaker": round(sizes[0] / sizes[1], 1)})
    return rows


def _slice(pixels: torch.Tensor, labels: torch.Tensor, shuffle: bool, batch_size: int = 64) -> TensorBatches:
    return TensorBatches(to_model_input(pixels, normalize=True), labels, batch_size, shuffle=shuffle, seed=1)


def _train_split() -> tuple[torch.Tensor, torch.Tensor]:
    split = load_split(train=True)
    return split.data, split.targets


def _validation() -> TensorBatches:
    pixels, labels = _train_split()
    return _slice(pixels[-VALIDATION:], labels[-VALIDATION:], shuffle=False, batch_size=1000)


def sanity_checks() -> dict[str, float]:
    """The loss of an untrained CNN at step 0, and one batch learned by heart (lesson 5)."""
    pixels, labels = _train_split()
    images, truth = to_model_input(pixels[:64], normalize=True), labels[:64]
    torch.manual_seed(1)
    model = CNN(conv_dropout=0.1, fc_dropout=0.1)
    model.eval()
    with torch.no_grad():
        first = LOSS(model(images), truth).item()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(200):
        optimizer.zero_grad()
        LOSS(model(images), truth).backward()
        optimizer.step()
    learned = evaluate(model, [(images, truth)], LOSS, CPU)
    return {"step0_loss": round(first, 4), "ln10": round(math.log(10), 4), "one_batch_steps": 200,
            "one_batch_loss": round(learned.loss, 4), "one_batch_accuracy": round(learned.accuracy, 2)}


def overfitting(save: Save) -> dict[str, object]:
    """Train on 1,000 images for 40 epochs, dropout off; measure on them and on 5,000 held-out ones (lesson 5)."""
    pixels, labels = _train_split()
    train = _slice(pixels[:SMALL_TRAIN], labels[:SMALL_TRAIN], shuffle=True)
    seen = _slice(pixels[:SMALL_TRAIN], labels[:SMALL_TRAIN], shuffle=False, batch_size=1000)
    validation = _validation()
    torch.manual_seed(1)
    model = CNN(conv_dropout=0.0, fc_dropout=0.0)  # nothing to slow the learning by heart down
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    history = []
    for epoch in range(1, 41):
        train_one_epoch(model, train, optimizer, LOSS, CPU)
        on_train, on_validation = evaluate(model, seen, LOSS, CPU), evaluate(model, validation, LOSS, CPU)
        history.append({"epoch": epoch, "train_loss": round(on_train.loss, 4),
                        "validation_loss": round(on_validation.loss, 4),
                        "train_accuracy": round(on_train.accuracy, 2),
                        "validation_accuracy": round(on_validation.accuracy, 2)})
    best = min(history, key=lambda row: row["validation_loss"])
    figure = Figure(figsize=(5.5, 6.4))
    loss_axes, accuracy_axes = figure.subplots(2, 1)
    epochs = [row["epoch"] for row in history]
    for key, label in (("train", "the 1,000 training images"), ("validation", "5,000 held-out images")):
        loss_axes.plot(epochs, [row[f"{key}_loss"] for row in history], label=label)
        accuracy_axes.plot(epochs, [row[f"{key}_accuracy"] for row in history], label=label)
    loss_axes.axvline(best["epoch"], color="grey", linestyle="--", label=f"lowest held-out loss (epoch {best['epoch']})")
    loss_axes.set_yscale("log")
    loss_axes.set(xlabel="epoch", ylabel="loss (log scale)", title="Overfitting: loss")
    accuracy_axes.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy", ylim=(80, 100.5))
    loss_axes.legend(fontsize=10)
    accuracy_axes.legend(fontsize=10)
    save(figure, "overfitting.png")
    return {"images": SMALL_TRAIN, "validation_images": VALIDATION, "best": best, "last": history[-1]}


def learning_rates(save: Save) -> dict[str, dict[str, float]]:
    """One epoch on 10,000 images with Adam at a rate too low, about right, and too high (lesson 5)."""
    pixels, labels = _train_split()
    validation = _validation()
    figure = Figure(figsize=(5.5, 4.2))
    axes = figure.subplots()
    measured = {}
    for label, lr in LEARNING_RATES.items():
        torch.manual_seed(1)
        model = CNN(conv_dropout=0.1, fc_dropout=0.1)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        losses: list[float] = []
        train_one_epoch(model, _slice(pixels[:LR_SLICE], labels[:LR_SLICE], shuffle=True), optimizer, LOSS, CPU,
                        lambda _, loss: losses.append(loss))
        result = evaluate(model, validation, LOSS, CPU)
        measured[str(lr)] = {"validation_accuracy": round(result.accuracy, 2), "validation_loss": round(result.loss, 4),
                             "last_batch_loss": round(float(np.mean(losses[-20:])), 4)}
        axes.plot(range(1, len(losses) + 1), losses, label=f"lr {label}", linewidth=1)
    axes.axhline(math.log(10), color="grey", linestyle="--", label="ln 10 = 2.30: guessing")
    axes.set(xlabel="step (batch of 64)", ylabel="training loss of the batch", title="One epoch, three learning rates",
             ylim=(0, 3.5))
    axes.legend(fontsize=10)
    save(figure, "learning_rates.png")
    return measured


def one_cycle(save: Save) -> dict[str, float]:
    """The fast recipe's learning rate over its epochs, step by step, and the epochs that shift the images (lesson 5)."""
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=FAST.lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=FAST.lr, epochs=FAST.epochs,
                                                    steps_per_epoch=STEPS_PER_EPOCH)
    rates = []
    for _ in range(FAST.epochs * STEPS_PER_EPOCH):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    peak = int(np.argmax(rates))
    figure = Figure(figsize=(5.5, 3.4))
    axes = figure.subplots()
    axes.plot(rates)
    for epoch in range(1, FAST.epochs):
        axes.axvline(epoch * STEPS_PER_EPOCH, color="#bbbbbb", linewidth=0.8)
    shifted_epochs = sum(1 for epoch in range(FAST.epochs) if FAST.shift_in(epoch))
    axes.axvspan(0, shifted_epochs * STEPS_PER_EPOCH, color="#ff7f0e", alpha=0.12,
                 label=f"images shifted by up to {FAST.max_shift} px")
    axes.legend(fontsize=10)
    axes.set(xlabel=f"step ({STEPS_PER_EPOCH} per epoch)", ylabel="learning rate",
             title="The fast recipe's one-cycle schedule")
    save(figure, "one_cycle.png")
    return {"steps": len(rates), "peak_step": peak + 1, "first": rates[0], "peak": rates[peak], "last": rates[-1]}


class Linear(nn.Module):
    """Logistic regression: one linear layer from the 784 pixels to 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(784, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(torch.flatten(x, 1))


class MLP(nn.Module):
    """A small multilayer perceptron: 784 pixels → 100 ReLU units → 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden, self.out = nn.Linear(784, 100), nn.Linear(100, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(torch.flatten(x, 1))))


class BatchNormCNN(CNN):
    """The course's CNN with a BatchNorm after each convolution."""

    def __init__(self) -> None:
        super().__init__(conv_dropout=0.1, fc_dropout=0.1)
        self.conv1 = nn.Sequential(nn.Conv2d(1, 10, 5), nn.BatchNorm2d(10))
        self.conv2 = nn.Sequential(nn.Conv2d(10, 20, 5), nn.BatchNorm2d(20))


def fast_fit(network: Callable[[], nn.Module],
             augment: Callable[[Batches], Batches] | None = None) -> tuple[nn.Module, dict[str, float]]:
    """Train ``network()`` as ``python -m solutions train`` trains the course's CNN (the fast recipe,
    seed 1, the course's ``fit``), on all of MNIST, its training batches passed through ``augment``."""
    loaders = make_loaders(FAST.pipeline, batch_size=FAST.batch_size, normalize=FAST.normalize, device=CPU, seed=1)
    if augment is not None:
        loaders.train = augment(loaders.train)
    result = fit(FAST, loaders, CPU, seed=1, network=network, log_dir=None, progress=False, report=print)
    test = result.final.test
    return result.model.eval(), {"parameters": count_parameters(result.model), "accuracy": round(test.accuracy, 2),
                                 "loss": round(test.loss, 4), "mistakes": test.total - test.correct}


def baselines() -> dict[str, dict[str, float]]:
    """Logistic regression and a small MLP, trained exactly like the fast CNN (lesson 2)."""
    measured = {}
    for name, make in (("logistic_regression", Linear), ("mlp", MLP)):
        print(f"training {name} ...")
        measured[name] = fast_fit(make)[1]
    return measured


def edge_kernel(save: Save) -> dict[str, list[list[int]]]:
    """A hand-made vertical-edge kernel, and its horizontal twin, slid over a test digit (lesson 2)."""
    vertical = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
    digit = to_model_input(load_split(train=False).data[:1], normalize=False)
    kernels = {"vertical edges": vertical, "horizontal edges": vertical.T}
    figure = Figure(figsize=(5.5, 2.6))
    axes = figure.subplots(1, 3)
    axes[0].imshow(digit[0, 0].numpy(), cmap="gray")
    axes[0].set_title("a test digit")
    for panel, (name, kernel) in zip(axes[1:], kernels.items()):
        response = F.conv2d(digit, kernel.view(1, 1, 3, 3))[0, 0]
        limit = response.abs().max().item()
        panel.imshow(response.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        panel.set_title(name)
    for panel in axes:
        panel.axis("off")
    save(figure, "edge_kernel.png")
    return {"vertical": vertical.int().tolist()}


class Rotated:
    """Training batches in which every image is turned by its own random angle, up to ±30°, in every epoch."""

    def __init__(self, batches: Batches, seed: int = 1) -> None:
        self.batches = batches
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        blank = -MNIST_MEAN / MNIST_STD  # a blank pixel once normalised: shifted to 0, the grid's padding
        for images, labels in self.batches:
            angle = torch.deg2rad((torch.rand(len(labels), generator=self.generator) * 2 - 1) * 30)
            cos, sin, still = torch.cos(angle), torch.sin(angle), torch.zeros_like(angle)
            theta = torch.stack([torch.stack([cos, -sin, still], 1), torch.stack([sin, cos, still], 1)], 1)
            grid = F.affine_grid(theta, list(images.shape), align_corners=False)
            turned = F.grid_sample(images - blank, grid, mode="bilinear", align_corners=False)
            yield turned + blank, labels


def rotated_accuracy(model: nn.Module) -> dict[str, float]:
    """Accuracy on the test digits rotated by each of :data:`ROTATIONS` degrees, bilinear."""
    test = load_split(train=False)
    images = to_model_input(test.data, normalize=False)
    accuracies = {}
    for angle in ROTATIONS:
        turned = TF.rotate(images, angle, interpolation=TF.InterpolationMode.BILINEAR)
        digits = predict(model, (turned - MNIST_MEAN) / MNIST_STD).digits
        accuracies[str(angle)] = round(100.0 * float((digits == test.targets).float().mean()), 2)
    return accuracies


def lab() -> dict[str, dict[str, object]]:
    """Lesson 7's lab: the fast recipe's CNN with rotated training digits, and with BatchNorm; each also on
    rotated test digits. The CNN as it is, the third row, is the fast recipe's own run (make_figures')."""
    variants = {  # each trained by fast_fit, the course's fit, so that only the one change differs
        "augmented": (lambda: CNN(conv_dropout=FAST.conv_dropout, fc_dropout=FAST.fc_dropout), Rotated),
        "batchnorm": (BatchNormCNN, None),
    }
    measured = {}
    for name, (network, augment) in variants.items():
        print(f"training {name} ...")
        model, result = fast_fit(network, augment)
        measured[name] = {**result, "rotated_test_accuracy": rotated_accuracy(model)}
    return measured
