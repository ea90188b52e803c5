"""Where a trained model goes wrong: per-class accuracy and the confusion matrix."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import torch
from matplotlib.figure import Figure
from torch import nn

CLASSES = 10


def collect_predictions(
    model: nn.Module, batches: Iterable[tuple[torch.Tensor, torch.Tensor]], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true labels of every sample, on the CPU."""
    model.eval()
    predicted, truth = [], []
    with torch.no_grad():
        for images, labels in batches:
            predicted.append(model(images.to(device)).argmax(dim=1).cpu())
            truth.append(labels.cpu())
    return torch.cat(predicted), torch.cat(truth)


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Counts ``(10, 10)``: row = true digit, column = predicted digit."""
    return torch.bincount(labels * CLASSES + predicted, minlength=CLASSES * CLASSES).reshape(CLASSES, CLASSES)


def per_class_accuracy(matrix: torch.Tensor) -> torch.Tensor:
    """Percentage of each true digit that was predicted correctly."""
    return 100.0 * matrix.diagonal() / matrix.sum(dim=1).clamp(min=1)


def draw_confusion_matrix(matrix: torch.Tensor) -> Figure:
    """The confusion matrix as a heat map with its counts written in.

    605 pixels wide at 110 dpi, counts in 10-point type: on a phone's 358-pixel
    column that is the 9 pixels the site's check asks of every figure's text.
    """
    figure = Figure(figsize=(5.5, 5.3))
    axes = figure.subplots()
    # A log scale keeps the few mistakes visible next to ~1,000 correct answers per digit.
    axes.imshow(torch.log1p(matrix.float()).numpy(), cmap="Blues")
    for true_digit in range(CLASSES):
        for predicted_digit in range(CLASSES):
            count = int(matrix[true_digit, predicted_digit])
            if count:
                colour = "white" if true_digit == predicted_digit else "black"
                axes.text(predicted_digit, true_digit, str(count), ha="center", va="center", fontsize=10,
                          color=colour)
    axes.set_xticks(range(CLASSES))
    axes.set_yticks(range(CLASSES))
    axes.set_xlabel("predicted digit")
    axes.set_ylabel("true digit")
    axes.set_title("Confusion matrix (test set; colour: log of the count)")
    figure.tight_layout()
    return figure


def plot_confusion_matrix(matrix: torch.Tensor, path: str | os.PathLike) -> Path:
    """Save the confusion matrix (:func:`draw_confusion_matrix`) to ``path``, in the format its suffix names."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_confusion_matrix(matrix).savefig(path, dpi=110)
    return path
