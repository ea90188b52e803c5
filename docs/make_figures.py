"""Make the lessons' figures from real runs of the reference solution.

    python docs/make_figures.py            # about 7 minutes on 2 CPU cores, a few more for lab_figures.py; needs Chromium
    python docs/make_figures.py --only fast_recipe try_it   # just those parts, updated in place in results.json

Trains the notebook recipe, the same recipe with logits (the fix) and the lessons'
experiment on the notebook recipe. Then it makes the parts, each on one thread:
the concept figures (drawn without training); the fast recipe's run (``python -m solutions
train``, seed 1), which every lesson quotes, with the figures of its model and a
screenshot of TensorBoard (started on the run's log, in headless Chromium, then
stopped); the lessons' "try it" experiments (each a change to the fast recipe); a
learning rate chosen on a validation split; and the short runs of
``lab_figures.py``: the gradient table, the diagnosing runs, the baselines and
lesson 7's lab. It writes PNGs and ``results.json`` (every number the lessons
quote) to ``lessons/figures/``; each PNG notes its smallest type, in pixels, for the
site's check of what a phone shows (tests/test_site.py). Commit the output with any change to it.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import matplotlib
import matplotlib.text
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle
from PIL import Image

import solutions.model
from course.threads import THREAD_SETTING

import lab_figures
from drawing_pad_figures import make_with_model as drawing_pad_figures
from lab_figures import rotated_accuracy
from course.data import load_split, make_loaders, to_model_input
from course.errors import CourseError
from course.recipes import FAST, NOTEBOOK
from course.report import collect_predictions, confusion_matrix, draw_confusion_matrix
from course.training import RunResult, train
from solutions.inference import predict
from solutions.model import CNN, count_parameters
from solutions.preprocess import prepare_drawing

OUT = Path(__file__).resolve().parent.parent / "lessons" / "figures"
CPU = torch.device("cpu")
SOFTMAX_TWICE_FLOOR = float(np.log(np.e + 9) - 1)  # the best loss when the input is already one-hot probabilities
# What the tutorial notebook printed, as published: quoted, not measured here.
TUTORIAL_AS_PUBLISHED = {"accuracy": 93.46, "correct": 9346, "loss": 1.53}
VALIDATION_IMAGES = 5_000
LEARNING_RATES = (2e-3, 5e-3, 1e-2)  # peak rates of the one-cycle schedule, chosen between on validation
PHONE = {"font.size": 11, "axes.titlesize": 11}  # figures at most 5.5 in wide stay readable on a phone
DPI = 110
SMALLEST_TEXT = "Smallest text"  # the PNG's note of its smallest type, in pixels, which tests/test_site.py reads


def matplotlib_style() -> AbstractContextManager:
    return matplotlib.rc_context(PHONE)


def smallest_text_pixels(figure: Figure) -> float:
    """The size in pixels, at the figures' resolution, of the smallest type written in ``figure``."""
    sizes = [text.get_fontsize() for text in figure.findobj(matplotlib.text.Text)
             if text.get_visible() and text.get_text().strip()]
    return min(sizes) * DPI / 72


def save(figure: Figure, name: str) -> None:
    """Save a lesson's figure, noting in the PNG its smallest type: a phone's reading of it is checked from that."""
    figure.tight_layout()
    figure.savefig(OUT / name, dpi=DPI, metadata={SMALLEST_TEXT: f"{smallest_text_pixels(figure):.1f}"})
    print(f"wrote {OUT / name}")


def run(recipe, **options) -> RunResult:
    print(f"training {recipe} ...")
    return train(recipe, CPU, seed=1, **{"log_dir": None, "progress": False, "report": print, **options})


def last(result: RunResult) -> dict[str, float]:
    final = result.final.test
    return {"accuracy": round(final.accuracy, 2), "loss": round(final.loss, 4)}


def epochs(result: RunResult) -> list[dict[str, float]]:
    """Every epoch of a run as results.json keeps it."""
    return [{"epoch": epoch.epoch, "accuracy": round(epoch.test.accuracy, 2), "loss": round(epoch.test.loss, 4),
             "seconds": round(epoch.seconds, 1)} for epoch in result.epochs]


def samples(test_set) -> None:
    figure = Figure(figsize=(4.4, 4.8))
    for index, axes in enumerate(figure.subplots(4, 4).flat):
        axes.imshow(test_set.data[index].numpy(), cmap="gray")
        axes.set_title(str(int(test_set.targets[index])), fontsize=12)
        axes.axis("off")
    save(figure, "samples.png")


def curves(runs: dict[str, list[dict[str, float]]]) -> None:
    """The test accuracy and loss of each run, epoch by epoch, as results.json holds them."""
    figure = Figure(figsize=(5.5, 7))
    accuracy_axes, loss_axes = figure.subplots(2, 1)
    for label, history in runs.items():
        numbers = [row["epoch"] for row in history]
        accuracy_axes.plot(numbers, [row["accuracy"] for row in history], marker="o", label=label)
        loss_axes.plot(numbers, [row["loss"] for row in history], marker="o", label=label)
    loss_axes.axhline(SOFTMAX_TWICE_FLOOR, color="grey", linestyle="--",
                      label=f"floor with softmax twice ({SOFTMAX_TWICE_FLOOR:.3f})")
    loss_axes.set_yscale("log")
    accuracy_axes.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy")
    loss_axes.set(xlabel="epoch", ylabel="test loss (log scale)", title="Test loss")
    accuracy_axes.legend(fontsize=10)
    loss_axes.legend(fontsize=10)
    save(figure, "curves.png")


def filters_and_maps(model, digit: torch.Tensor) -> None:
    weights = model.conv1.weight.detach().cpu()[:, 0]
    figure = Figure(figsize=(5.5, 2.8))
    for index, axes in enumerate(figure.subplots(2, 5).flat):
        axes.imshow(weights[index].numpy(), cmap="RdBu_r", vmin=-weights.abs().max(), vmax=weights.abs().max())
        axes.set_title(f"filter {index}", fontsize=11)
        axes.axis("off")
    save(figure, "conv1_filters.png")

    with torch.no_grad():
        first = F.relu(F.max_pool2d(model.conv1(digit), 2))[0]
        second = F.relu(F.max_pool2d(model.conv2(first.unsqueeze(0)), 2))[0]
    figure = Figure(figsize=(5.5, 7.2))
    grid = figure.subplots(5, 5)
    for axes in grid.flat:
        axes.axis("off")
    grid[0, 2].imshow(digit[0, 0].numpy(), cmap="gray")
    grid[0, 2].set_title("input 28×28", fontsize=11)
    grid[0, 0].text(0, 0.5, "10 maps\nof 12×12\nbelow,\nthen 10 of\nthe 20 maps\nof 4×4", fontsize=10, va="center")
    for index in range(10):
        axes = grid[1 + index // 5, index % 5]
        axes.imshow(first[index].numpy(), cmap="viridis")
        axes.set_title(f"conv1 #{index}", fontsize=10)
    for index in range(10):
        axes = grid[3 + index // 5, index % 5]
        axes.imshow(second[2 * index].numpy(), cmap="viridis")
        axes.set_title(f"conv2 #{2 * index}", fontsize=10)
    save(figure, "feature_maps.png")


def mistakes(model, test_set) -> list[list[int]]:
    """The confusion matrix's figure and the first misread digits'; returns the matrix (rows: true digits)."""
    batches = make_loaders("tensor", normalize=True, train_limit=1).test
    predicted, truth = collect_predictions(model, batches, CPU)
    matrix = confusion_matrix(predicted, truth)
    save(draw_confusion_matrix(matrix), "confusion_matrix.png")
    wrong = torch.nonzero(predicted != truth).flatten()[:20]
    figure = Figure(figsize=(5.5, 5.6))
    for axes, index in zip(figure.subplots(4, 5).flat, wrong.tolist()):
        axes.imshow(test_set.data[index].numpy(), cmap="gray")
        axes.set_title(f"{int(truth[index])} as {int(predicted[index])}", fontsize=11)
        axes.axis("off")
    save(figure, "misclassified.png")
    return matrix.tolist()


def drawing_steps(model, test_set) -> dict[str, int]:
    """A digit as a phone photo would give it, read without and with MNIST-style preprocessing."""
    ink = Image.fromarray(test_set.data[18].numpy()).resize((160, 160), Image.Resampling.BILINEAR)
    paper = Image.new("RGB", (480, 360), (236, 232, 222))
    paper.paste((40, 40, 70), (260, 60), mask=ink)  # dark blue pen, off centre on cream paper
    naive = to_model_input(torch.from_numpy(np.array(paper.convert("L").resize((28, 28)))).unsqueeze(0), normalize=True)
    prepared = prepare_drawing(paper).unsqueeze(0)
    naive_prediction, prepared_prediction = predict(model, naive), predict(model, prepared)
    figure = Figure(figsize=(5.5, 5.4))  # two by two: readable in a phone's column
    axes = figure.subplots(2, 2).flat
    axes[0].imshow(np.asarray(paper))
    axes[0].set_title(f"the drawing (a {int(test_set.targets[18])})")
    axes[1].imshow(naive[0, 0].numpy(), cmap="gray")
    axes[1].set_title(f"just resized: read as {int(naive_prediction.digits[0])}")
    axes[2].imshow(prepared[0, 0].numpy(), cmap="gray")
    axes[2].set_title(f"prepared: read as {int(prepared_prediction.digits[0])}")
    for image_axes in axes[:3]:
        image_axes.axis("off")
    width = 0.4
    axes[3].bar(np.arange(10) - width / 2, naive_prediction.probabilities[0].numpy(), width, label="just resized")
    axes[3].bar(np.arange(10) + width / 2, prepared_prediction.probabilities[0].numpy(), width, label="prepared")
    axes[3].set_xticks(range(10))
    axes[3].set_title("probabilities")
    axes[3].legend(fontsize=10)
    save(figure, "drawing_steps.png")
    return {"true": int(test_set.targets[18]), "naive": int(naive_prediction.digits[0]),
            "prepared": int(prepared_prediction.digits[0])}

def output_size(size: int, kernel: int, padding: int = 0, stride: int = 1) -> int:
    """The side of a convolution's output: floor((n + 2p - k) / s) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def draw_grid(axes, origin: tuple[float, float], cells: int, colour: str, edge: str = "black") -> None:
    for row in range(cells):
        for column in range(cells):
            axes.add_patch(Rectangle((origin[0] + column, origin[1] + row), 1, 1, facecolor=colour,
                                     edgecolor=edge, linewidth=0.8))


def kernel_sliding() -> dict[str, list[int]]:
    """A 3×3 kernel sliding over a 5×5 image: without padding at stride 1, with padding 1 at stride 2."""
    cases = [(5, 3, 0, 1), (5, 3, 1, 2)]
    figure = Figure(figsize=(4.6, 6.2))
    measured = {}
    for axes, (size, kernel, padding, stride) in zip(figure.subplots(2, 1), cases):
        out = output_size(size, kernel, padding, stride)
        shape = F.conv2d(torch.zeros(1, 1, size, size), torch.zeros(1, 1, kernel, kernel),
                         padding=padding, stride=stride).shape[-1]
        assert shape == out, "the formula and PyTorch agree"
        measured[f"n{size}_k{kernel}_p{padding}_s{stride}"] = [size, kernel, padding, stride, int(shape)]
        padded = size + 2 * padding
        draw_grid(axes, (0, 0), padded, "#e8e8e8", edge="#999999")  # the padding ring, zeros
        draw_grid(axes, (padding, padding), size, "#ffffff")
        for position, colour in ((0, "#1f77b4"), (1, "#ff7f0e")):
            offset = position * stride
            axes.add_patch(Rectangle((offset, offset), kernel, kernel, facecolor=colour, alpha=0.35,
                                     edgecolor=colour, linewidth=2.5))
        left = padded + 2.5
        draw_grid(axes, (left, (padded - out) / 2), out, "#ffffff")
        for position, colour in ((0, "#1f77b4"), (1, "#ff7f0e")):
            axes.add_patch(Rectangle((left + position, (padded - out) / 2 + position), 1, 1, facecolor=colour,
                                     alpha=0.6, edgecolor=colour))
        axes.add_patch(FancyArrowPatch((padded + 0.3, padded / 2), (left - 0.3, padded / 2),
                                       arrowstyle="-|>", mutation_scale=18))
        axes.set_xlim(-0.5, left + out + 0.5)
        axes.set_ylim(padded + 0.5, -0.5)
        axes.set_aspect("equal")
        axes.axis("off")
        axes.set_title(f"n = {size}, k = {kernel}, padding p = {padding}, stride s = {stride}\n"
                       f"output ⌊({size} + 2·{padding} − {kernel}) / {stride}⌋ + 1 = {out}", fontsize=13)
    save(figure, "kernel_sliding.png")
    return measured


def architecture(model: CNN) -> list[list[object]]:
    """The network as a column of layers, each with the shape it outputs, read off a real forward pass."""
    steps: list[tuple[str, tuple[int, ...]]] = [("input", (1, 28, 28))]
    x = torch.zeros(1, 1, 28, 28)
    with torch.no_grad():
        for label, layer in [
            ("conv1: 10 kernels 5×5", model.conv1),
            ("max-pool 2, ReLU", lambda t: F.relu(F.max_pool2d(t, 2))),
            ("conv2: 20 kernels 10×5×5", model.conv2),
            ("max-pool 2, ReLU", lambda t: F.relu(F.max_pool2d(t, 2))),
            ("flatten", lambda t: torch.flatten(t, 1)),
            ("fc1 + ReLU: 320 → 50", lambda t: F.relu(model.fc1(t))),
            ("fc2: 50 → 10 logits", model.fc2),
        ]:
            x = layer(x)
            steps.append((label, tuple(x.shape[1:])))
    figure = Figure(figsize=(5.0, 6.6))
    axes = figure.subplots()
    axes.set_xlim(0, 10)
    axes.set_ylim(len(steps) - 0.4, -0.6)
    axes.axis("off")
    for row, (label, shape) in enumerate(steps):
        text = " × ".join(str(side) for side in shape)
        colour = "#dbe4f7" if len(shape) == 3 else "#fde3cf"
        axes.add_patch(Rectangle((0.3, row - 0.32), 9.4, 0.64, facecolor=colour, edgecolor="#555555"))
        axes.text(0.6, row, label, va="center", fontsize=11)
        axes.text(9.4, row, text, va="center", ha="right", fontsize=12, fontweight="bold")
        if row:
            axes.annotate("", (5, row - 0.33), (5, row - 0.67), arrowprops={"arrowstyle": "-|>"})
    axes.set_title("One image through the network: the shape after every layer", fontsize=11)
    save(figure, "architecture.png")
    return [[label, list(shape)] for label, shape in steps]


def computational_graph() -> dict[str, float]:
    """loss = (w·x − y)² for w = 3, x = 2, y = 4: values forward, local gradients backward (lesson 4)."""
    w = torch.tensor(3.0, requires_grad=True)
    x, y = torch.tensor(2.0), torch.tensor(4.0)
    u = w * x
    r = u - y
    loss = r ** 2
    for tensor in (u, r):
        tensor.retain_grad()
    loss.backward()
    values = {"w": 3.0, "x": 2.0, "y": 4.0, "u": u.item(), "r": r.item(), "loss": loss.item(),
              "dloss_dr": r.grad.item(), "dloss_du": u.grad.item(), "dloss_dw": w.grad.item()}
    figure = Figure(figsize=(5.5, 5.4))
    axes = figure.subplots()
    axes.set_xlim(0, 10)
    axes.set_ylim(10, 0)
    axes.axis("off")
    nodes = {  # name: (x, y, label)
        "w": (1.5, 1.2, "w = 3"), "x": (5.0, 1.2, "x = 2"), "u": (3.2, 3.6, f"u = w·x = {u.item():g}"),
        "y": (7.6, 3.6, "y = 4"), "r": (5.2, 6.0, f"r = u − y = {r.item():g}"), "loss": (5.2, 8.6, f"loss = r² = {loss.item():g}"),
    }
    for name, (cx, cy, label) in nodes.items():
        axes.text(cx, cy, label, ha="center", va="center", fontsize=11,
                  bbox={"boxstyle": "round,pad=0.4", "facecolor": "#dbe4f7" if name in "wxy" else "#ffffff"})
    edges = [("w", "u", f"∂u/∂w = x = {x.item():g}"), ("x", "u", ""), ("u", "r", "∂r/∂u = 1"), ("y", "r", ""),
             ("r", "loss", f"∂loss/∂r = 2r = {r.grad.item():g}")]
    for start, end, local in edges:
        (x0, y0, _), (x1, y1, _) = nodes[start], nodes[end]
        axes.add_patch(FancyArrowPatch((x0, y0 + 0.45), (x1, y1 - 0.45), arrowstyle="-|>", mutation_scale=14,
                                       color="#333333"))
        if local:
            axes.text((x0 + x1) / 2 - 0.2, (y0 + y1) / 2, local, ha="right", va="center", fontsize=10, color="#c0392b")
    axes.text(9.8, 9.6, f"chain rule: ∂loss/∂w = {r.grad.item():g} · 1 · {x.item():g} = {w.grad.item():g}",
              ha="right", fontsize=11, color="#c0392b")
    axes.set_title("Forward: values (black). Backward: local gradients (red)", fontsize=11)
    save(figure, "computational_graph.png")
    return values


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stack(images: list[Image.Image]) -> Image.Image:
    """The images one under the other, left-aligned on white: a phone's column of them."""
    column = Image.new("RGB", (max(image.width for image in images), sum(image.height for image in images)), "white")
    top = 0
    for image in images:
        column.paste(image, (0, top))
        top += image.height
    return column


def tensorboard_screenshot(log_dir: Path) -> None:
    """Start TensorBoard on ``log_dir``, photograph its scalars in headless Chromium, stop it.

    Writes the page as a desktop shows it, and its three charts one under the other for a phone.
    """
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(log_dir),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("TensorBoard did not start within 60 s") from None
                time.sleep(0.5)
        with sync_playwright() as playwright:
            chromium = shutil.which("chromium") or shutil.which("chromium-browser")
            browser = playwright.chromium.launch(executable_path=chromium,
                                                 args=["--headless=new", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1100, "height": 1160})
            page.goto(url + "?darkMode=false#timeseries", wait_until="networkidle")
            page.get_by_text("Accuracy/Test").first.wait_for()
            smoothing = page.locator("input.slider-input[type=number]").first  # the settings pane's smoothing
            smoothing.fill("0")  # show the logged values themselves
            smoothing.press("Tab")  # the field takes its value when it loses the focus
            if smoothing.input_value() != "0":
                raise RuntimeError("TensorBoard's smoothing could not be set to 0")
            page.get_by_label("Ignore outliers in chart scaling").uncheck()  # 4 epochs: show every point
            page.locator("button[aria-label='Close side pane']").first.click()
            page.wait_for_timeout(5000)
            page.screenshot(path=str(OUT / "tensorboard.png"))
            cards = page.locator("card-view")
            shots = [Image.open(io.BytesIO(cards.nth(index).screenshot())) for index in range(cards.count())]
            browser.close()
        print(f"wrote {OUT / 'tensorboard.png'}")
        stack(shots).save(OUT / "tensorboard_phone.png")
        print(f"wrote {OUT / 'tensorboard_phone.png'}")
    finally:
        server.terminate()
        server.wait(timeout=30)


def without_relu() -> AbstractContextManager:
    """The model's ``forward`` with every ReLU replaced by the identity (max-pooling stays)."""
    functional = SimpleNamespace(relu=lambda x: x, max_pool2d=F.max_pool2d, softmax=F.softmax)
    return mock.patch.object(solutions.model, "F", functional)


def fast_recipe() -> dict[str, object]:
    """The fast recipe's run that the lessons quote, the figures of its model, and TensorBoard's page of it."""
    test_set = load_split(train=False)
    with tempfile.TemporaryDirectory() as log_dir:
        result = run(FAST, log_dir=log_dir)
        tensorboard_screenshot(Path(log_dir))
    model = result.model.eval()
    filters_and_maps(model, to_model_input(test_set.data[:1], normalize=True))
    matrix = mistakes(model, test_set)
    drawing = drawing_steps(model, test_set)
    drawing_pad_figures(model)
    return {"epochs": epochs(result), "parameters": count_parameters(model),
            "mistakes": sum(sum(row) - row[digit] for digit, row in enumerate(matrix)), "confusion_matrix": matrix,
            "drawing": drawing, "rotated_test_accuracy": rotated_accuracy(model)}


def try_it_runs() -> dict[str, dict[str, object]]:
    """The lessons' "try it" experiments: each changes one thing in the fast recipe."""
    results: dict[str, dict[str, object]] = {}
    for name, recipe in [
        ("no_normalisation", FAST.with_overrides(normalize=False)),
        ("softmax_twice", FAST.with_overrides(double_softmax=True)),
        ("lr_0.1", FAST.with_overrides(lr=0.1)),
        ("epochs_8", FAST.with_overrides(epochs=8)),
    ]:
        try:
            results[name] = last(run(recipe))
        except CourseError as error:  # a loss that became NaN: the run says so and stops
            results[name] = {"failed": str(error)}
    with without_relu():
        results["no_relu"] = last(run(FAST))
    return results


def choose_on_validation() -> dict[str, object]:
    """Choose the peak learning rate on the last 5,000 training images; read the test set once."""
    runs = {lr: run(FAST.with_overrides(lr=lr), val_split=VALIDATION_IMAGES) for lr in LEARNING_RATES}
    chosen = max(runs, key=lambda lr: (runs[lr].final.test.accuracy, -lr))
    return {
        "validation_images": VALIDATION_IMAGES,
        "candidates": [{"lr": lr, "validation_accuracy": round(result.final.test.accuracy, 2)}
                       for lr, result in runs.items()],
        "chosen_lr": chosen,
        "test_accuracy": round(runs[chosen].test.accuracy, 2),
        "test_loss": round(runs[chosen].test.loss, 4),
    }


def concepts() -> dict[str, object]:
    """The figures drawn without training: test digits, a kernel sliding, the network's shapes, lesson 4's graph."""
    samples(load_split(train=False))
    return {"kernel_sliding": kernel_sliding(), "architecture": architecture(CNN()),
            "computational_graph": computational_graph()}


# The concept figures, the fast recipe's runs and those of lab_figures, each quoted under its own key of
# results.json and runnable alone with --only.
PARTS: dict[str, Callable[[], object]] = {
    "concepts": concepts,
    "fast_recipe": fast_recipe,
    "try_it": try_it_runs,
    "validation": choose_on_validation,
    "gradient_reweighting": lab_figures.gradient_reweighting,
    "sanity_checks": lab_figures.sanity_checks,
    "overfitting": lambda: lab_figures.overfitting(save),
    "learning_rates": lambda: lab_figures.learning_rates(save),
    "one_cycle": lambda: lab_figures.one_cycle(save),
    "baselines": lab_figures.baselines,
    "edge_kernel": lambda: lab_figures.edge_kernel(save),
    "lab": lab_figures.lab,
}


def main(only: list[str]) -> None:
    """Make everything, or with ``--only NAME ...`` only those parts, updated in place in results.json."""
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    unknown = sorted(set(only) - set(PARTS))
    if unknown:
        sys.exit(f"make_figures.py: unknown part {', '.join(unknown)}; choose among {', '.join(PARTS)}")
    with matplotlib_style():
        if not only:
            make_all()
            return
        results = json.loads((OUT / "results.json").read_text())
        results.update(make_parts(only))
        curves_of_the_recipes(results)
        write_results(results)


def make_parts(names: list[str]) -> dict[str, object]:
    """Run the named parts on one thread: their numbers then do not depend on the machine's core count or load.

    The thread count changes a run's last digits (the same sums, added in another order), and
    the course's fit would otherwise fit it to the cores other programs leave free, step by
    step; the setting in the environment turns that off (course/threads.py).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with mock.patch.dict(os.environ, {THREAD_SETTING: "1"}):
            return {name: PARTS[name]() for name in names}
    finally:
        torch.set_num_threads(threads)


def write_results(results: dict[str, object]) -> None:
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {OUT / 'results.json'}")


def curves_of_the_recipes(results: dict[str, object]) -> None:
    """Lesson 3's curves: the notebook recipe, with softmax twice and with logits, and the fast recipe."""
    curves({"notebook (softmax twice)": results["notebook (softmax twice)"]["epochs"],
            "notebook recipe, logits": results["notebook recipe, logits"]["epochs"],
            "fast recipe": results["fast_recipe"]["epochs"]})


def make_all() -> None:
    results: dict[str, object] = {
        "notebook (softmax twice)": {"epochs": epochs(run(NOTEBOOK))},
        "notebook recipe, logits": {"epochs": epochs(run(NOTEBOOK.with_overrides(double_softmax=False)))},
        "notebook_logits_normalised_lr_1e-3": last(run(NOTEBOOK.with_overrides(double_softmax=False, normalize=True,
                                                                                lr=1e-3))),
        "tutorial_as_published": TUTORIAL_AS_PUBLISHED,
        "softmax_twice_floor": round(SOFTMAX_TWICE_FLOOR, 4),
    }
    results.update(make_parts(list(PARTS)))
    curves_of_the_recipes(results)
    write_results(results)


if __name__ == "__main__":
    main(sys.argv[2:] if sys.argv[1:2] == ["--only"] else [])
