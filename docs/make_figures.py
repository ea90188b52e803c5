"""Make the lessons' figures from real runs of the reference solution.

    python docs/make_figures.py            # about 5 minutes on 2 CPU cores; needs Chromium for one screenshot

Trains the notebook recipe, the same recipe with logits (the fix), and the fast
recipe, then writes PNGs and ``results.json`` (the numbers the lessons quote)
to ``lessons/figures/``. Commit the output together with any change to it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from PIL import Image

from drawing_pad_figures import make_with_model as drawing_pad_figures
from solutions.data import load_split, make_loaders, to_model_input
from solutions.inference import predict
from solutions.preprocess import prepare_drawing
from solutions.recipes import FAST, NOTEBOOK
from solutions.report import collect_predictions, confusion_matrix, plot_confusion_matrix
from solutions.training import RunResult, train

OUT = Path(__file__).resolve().parent.parent / "lessons" / "figures"
CPU = torch.device("cpu")
SOFTMAX_TWICE_FLOOR = float(np.log(np.e + 9) - 1)  # the best loss when the input is already one-hot probabilities


def save(figure: Figure, name: str) -> None:
    figure.tight_layout()
    figure.savefig(OUT / name, dpi=110)
    print(f"wrote {OUT / name}")


def run(recipe) -> RunResult:
    print(f"training {recipe.name} (double_softmax={recipe.double_softmax}) for {recipe.epochs} epochs ...")
    return train(recipe, CPU, seed=1, log_dir=None, progress=False, report=print)


def samples(test_set) -> None:
    figure = Figure(figsize=(8, 2.2))
    for index, axes in enumerate(figure.subplots(2, 8).flat):
        axes.imshow(test_set.data[index].numpy(), cmap="gray")
        axes.set_title(str(int(test_set.targets[index])), fontsize=9)
        axes.axis("off")
    save(figure, "samples.png")


def curves(runs: dict[str, RunResult]) -> None:
    figure = Figure(figsize=(9, 3.4))
    accuracy_axes, loss_axes = figure.subplots(1, 2)
    for label, result in runs.items():
        epochs = [epoch.epoch for epoch in result.epochs]
        accuracy_axes.plot(epochs, [epoch.test.accuracy for epoch in result.epochs], marker="o", label=label)
        loss_axes.plot(epochs, [epoch.test.loss for epoch in result.epochs], marker="o", label=label)
    loss_axes.axhline(SOFTMAX_TWICE_FLOOR, color="grey", linestyle="--", label=f"floor with softmax twice ({SOFTMAX_TWICE_FLOOR:.3f})")
    loss_axes.set_yscale("log")
    accuracy_axes.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy")
    loss_axes.set(xlabel="epoch", ylabel="test loss (log scale)", title="Test loss")
    accuracy_axes.legend(fontsize=8)
    loss_axes.legend(fontsize=8)
    save(figure, "curves.png")


def filters_and_maps(model, digit: torch.Tensor) -> None:
    weights = model.conv1.weight.detach().cpu()[:, 0]
    figure = Figure(figsize=(8, 1.3))
    for index, axes in enumerate(figure.subplots(1, 10)):
        axes.imshow(weights[index].numpy(), cmap="RdBu_r", vmin=-weights.abs().max(), vmax=weights.abs().max())
        axes.set_title(f"filter {index}", fontsize=7)
        axes.axis("off")
    save(figure, "conv1_filters.png")

    with torch.no_grad():
        first = F.relu(F.max_pool2d(model.conv1(digit), 2))[0]
        second = F.relu(F.max_pool2d(model.conv2(first.unsqueeze(0)), 2))[0]
    figure = Figure(figsize=(10, 3.6))
    grid = figure.subplots(3, 10)
    for axes in grid.flat:
        axes.axis("off")
    grid[0, 0].imshow(digit[0, 0].numpy(), cmap="gray")
    grid[0, 0].set_title("input 28×28", fontsize=7)
    for index in range(10):
        grid[1, index].imshow(first[index].numpy(), cmap="viridis")
        grid[1, index].set_title(f"conv1 map {index}", fontsize=6)
    for index in range(10):
        grid[2, index].imshow(second[2 * index].numpy(), cmap="viridis")
        grid[2, index].set_title(f"conv2 map {2 * index}", fontsize=6)
    figure.suptitle("One digit through the network: 10 maps of 12×12, then 20 maps of 4×4 (every other shown)",
                    fontsize=9)
    save(figure, "feature_maps.png")


def mistakes(model, test_set) -> int:
    batches = make_loaders("tensor", normalize=True, train_limit=1).test
    predicted, truth = collect_predictions(model, batches, CPU)
    plot_confusion_matrix(confusion_matrix(predicted, truth), OUT / "confusion_matrix.png")
    print(f"wrote {OUT / 'confusion_matrix.png'}")
    wrong = torch.nonzero(predicted != truth).flatten()[:24]
    figure = Figure(figsize=(8, 3.4))
    for axes, index in zip(figure.subplots(3, 8).flat, wrong.tolist()):
        axes.imshow(test_set.data[index].numpy(), cmap="gray")
        axes.set_title(f"{int(truth[index])} read as {int(predicted[index])}", fontsize=8)
        axes.axis("off")
    save(figure, "misclassified.png")
    return int((predicted != truth).sum())


def drawing_steps(model, test_set) -> dict[str, int]:
    """A digit as a phone photo would give it, read without and with MNIST-style preprocessing."""
    ink = Image.fromarray(test_set.data[18].numpy()).resize((160, 160), Image.Resampling.BILINEAR)
    paper = Image.new("RGB", (480, 360), (236, 232, 222))
    paper.paste((40, 40, 70), (260, 60), mask=ink)  # dark blue pen, off centre on cream paper
    naive = to_model_input(torch.from_numpy(np.array(paper.convert("L").resize((28, 28)))).unsqueeze(0), normalize=True)
    prepared = prepare_drawing(paper).unsqueeze(0)
    naive_prediction, prepared_prediction = predict(model, naive), predict(model, prepared)
    figure = Figure(figsize=(10, 2.8))
    axes = figure.subplots(1, 4)
    axes[0].imshow(np.asarray(paper))
    axes[0].set_title(f"the drawing (true digit {int(test_set.targets[18])})", fontsize=9)
    axes[1].imshow(naive[0, 0].numpy(), cmap="gray")
    axes[1].set_title(f"just resized: read as {int(naive_prediction.digits[0])}", fontsize=9)
    axes[2].imshow(prepared[0, 0].numpy(), cmap="gray")
    axes[2].set_title(f"prepared: read as {int(prepared_prediction.digits[0])}", fontsize=9)
    for image_axes in axes[:3]:
        image_axes.axis("off")
    width = 0.4
    axes[3].bar(np.arange(10) - width / 2, naive_prediction.probabilities[0].numpy(), width, label="just resized")
    axes[3].bar(np.arange(10) + width / 2, prepared_prediction.probabilities[0].numpy(), width, label="prepared")
    axes[3].set_xticks(range(10))
    axes[3].set_title("probabilities", fontsize=9)
    axes[3].legend(fontsize=7)
    save(figure, "drawing_steps.png")
    return {"true": int(test_set.targets[18]), "naive": int(naive_prediction.digits[0]),
            "prepared": int(prepared_prediction.digits[0])}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    test_set = load_split(train=False)
    samples(test_set)
    runs = {
        "notebook (softmax twice)": run(NOTEBOOK),
        "notebook recipe, logits": run(NOTEBOOK.with_overrides(double_softmax=False)),
        "fast recipe": run(FAST),
    }
    curves(runs)
    model = runs["fast recipe"].model.eval()
    filters_and_maps(model, to_model_input(test_set.data[:1], normalize=True))
    wrong = mistakes(model, test_set)
    drawing = drawing_steps(model, test_set)
    drawing_pad_figures(model)
    results = {
        label: {"epochs": [{"epoch": epoch.epoch, "accuracy": round(epoch.test.accuracy, 2),
                            "loss": round(epoch.test.loss, 4), "seconds": round(epoch.seconds, 1)}
                           for epoch in result.epochs]}
        for label, result in runs.items()
    }
    results["softmax_twice_floor"] = round(SOFTMAX_TWICE_FLOOR, 4)
    results["fast_recipe_mistakes"] = wrong
    results["drawing"] = drawing
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
