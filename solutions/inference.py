"""Reading digits with a trained model and showing what it saw (exercise 11)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn


@dataclass(frozen=True)
class Prediction:
    """The predicted digit of each image and the probability of every class."""

    digits: torch.Tensor
    probabilities: torch.Tensor

    def top(self, index: int = 0, k: int = 3) -> list[tuple[int, float]]:
        """The ``k`` most probable ``(digit, probability)`` pairs of image ``index``."""
        values, digits = self.probabilities[index].topk(k)
        return [(int(digit), float(value)) for digit, value in zip(digits, values)]


def predict(model: nn.Module, images: torch.Tensor, device: torch.device | str = "cpu") -> Prediction:
    """Classify a batch of model inputs ``(N, 1, 28, 28)``.

    The model may return logits or log-probabilities (softmax gives the same
    probabilities from both); a notebook model with ``double_softmax`` already
    returns probabilities.
    """
    # BEGIN SOLUTION ex11
    model.eval()
    with torch.no_grad():
        outputs = model(images.to(device))
    probabilities = outputs if getattr(model, "double_softmax", False) else F.softmax(outputs, dim=1)
    return Prediction(digits=probabilities.argmax(dim=1).cpu(), probabilities=probabilities.cpu())
    # END SOLUTION


def plot_prediction(
    model_input: torch.Tensor,
    probabilities: torch.Tensor,
    path: str | os.PathLike,
    original: torch.Tensor | None = None,
) -> Path:
    """Save one figure: the original image (if given), the 28×28 input and the class probabilities."""
    # BEGIN SOLUTION ex11
    panels = 3 if original is not None else 2
    figure = Figure(figsize=(3.2 * panels, 3.2))
    axes = figure.subplots(1, panels)
    if original is not None:
        axes[0].imshow(original.squeeze().cpu().numpy(), cmap="gray")
        axes[0].set_title("original")
    axes[-2].imshow(model_input.squeeze().cpu().numpy(), cmap="gray")
    axes[-2].set_title("what the model sees")
    for image_axes in axes[:-1]:
        image_axes.axis("off")
    digit = int(probabilities.argmax())
    colours = ["tab:orange" if index == digit else "tab:blue" for index in range(10)]
    axes[-1].bar(range(10), probabilities.cpu().numpy(), color=colours)
    axes[-1].set_xticks(range(10))
    axes[-1].set_ylim(0, 1)
    axes[-1].set_title(f"prediction: {digit} ({float(probabilities[digit]):.0%})")
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path
    # END SOLUTION
