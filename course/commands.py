"""The commands of ``python -m solutions`` and ``python -m exercises``, run once :mod:`.cli` has parsed their options.

Each runs the set of parts it is handed (see :mod:`.parts`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .checkpoint import load_checkpoint
from .cli import INTERRUPTED
from .data import load_split, match_input_scale, tensor_batches, to_model_input
from .device import select_device
from .distributed import Processes, joined, per_process_batch_size
from .drawing_pad import open_pad
from .errors import CourseError
from .export import export_weights
from .parts import Parts
from .recipes import get_recipe
from .report import collect_predictions, confusion_matrix, per_class_accuracy, plot_confusion_matrix
from .training import check_destinations, train
from .unfinished import require_written
from .writes import check_file, followed_link

TRAINING_MODULES = ("model.py", "engine.py", "monitor.py")  # the exercises a training run is made of
OWN_PARTS_MODULES = ("convolution.py", "model.py", "losses.py", "optimisers.py", "engine.py", "monitor.py",
                     "own_parts.py")  # ... with --own-parts, in the order of the exercises
EVALUATING_MODULES = ("model.py",)  # the learner's CNN reads the checkpoint
PREDICTING_MODULES = ("model.py", "inference.py", "preprocess.py")


def run_train(args: argparse.Namespace, parts: Parts) -> int:
    """``train``: train with a recipe and report each epoch; under ``torchrun``, in every process it started."""
    require_written("train --own-parts" if args.own_parts else "train",
                    OWN_PARTS_MODULES if args.own_parts else TRAINING_MODULES, parts.folder)
    recipe = get_recipe(args.recipe).with_overrides(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
    with joined(args.device) as (processes, device):
        say = print if processes.is_main else _silent  # the first process speaks for all
        save = args.save or str(Path("checkpoints") / f"{args.run_name}.pt")
        if followed_link(save) != Path(save):
            save = str(followed_link(save))
            say(f"note: --save {args.save} is a symbolic link; the checkpoint is written where it points, {save}",
                file=sys.stderr)
        check_destinations(save, args.log_dir, args.run_name, args.overwrite, parts)
        limits = {"train_limit": recipe.batch_size, "test_limit": recipe.batch_size} if args.dry_run else {}
        if args.dry_run:
            recipe = recipe.with_overrides(epochs=1)
        try:
            say(f"Training recipe {recipe.name!r} on {device} for {recipe.epochs} epochs (seed {args.seed})"
                f"{_shared_by(processes, recipe.batch_size)}.", flush=True)
            if args.own_parts:
                say(own_parts_line(parts), flush=True)
            result = train(
                recipe, device, seed=args.seed, data_dir=args.data_dir, run_name=args.run_name, log_dir=args.log_dir,
                save=save, overwrite=args.overwrite, val_split=args.val_split, processes=processes, parts=parts,
                own_parts=args.own_parts, **limits,
            )
        except KeyboardInterrupt:
            kept = f"{save} is unchanged" if Path(save).exists() else "nothing was saved"
            say(f"Interrupted while loading the data; {kept}.", file=sys.stderr)
            return INTERRUPTED
    if result.interrupted:
        return INTERRUPTED
    seconds = sum(epoch.seconds for epoch in result.epochs)
    held_out = "test" if result.test is None else "validation"
    say(f"Finished in {seconds:.1f} s: {held_out} accuracy {result.final.test.accuracy:.2f}%. "
        f"Checkpoint: {result.checkpoint}")
    return 0


def own_parts_line(parts: Parts) -> str:
    """The line that says whose functions ``train --own-parts`` computes with, as ``own_parts`` imported them."""
    def named(function: object) -> str:
        return f"{function.__module__}.{function.__name__}"

    module = parts.own_parts
    return (f"Own parts: {named(module.conv2d)} and {named(module.max_pool2d)} in the layers, "
            f"{named(module.cross_entropy)} as the loss, {named(module.Adam)} as the optimiser.")


def _silent(*args: object, **kwargs: object) -> None:
    """Where the lines of every training process but the first go."""


def _shared_by(processes: Processes, batch_size: int) -> str:
    """How the batches are shared, when several processes train together."""
    if processes.world_size == 1:
        return ""
    share = per_process_batch_size(batch_size, processes.world_size)
    return f" in {processes.world_size} processes, {share} images of each batch of {batch_size} per process"


def run_evaluate(args: argparse.Namespace, parts: Parts) -> int:
    """``evaluate``: overall and per-class accuracy, and optionally the confusion matrix."""
    require_written("evaluate", EVALUATING_MODULES, parts.folder)
    device = select_device(args.device)
    if args.figure:
        check_file(args.figure, "the figure", "--figure", example="figure.png")
    model, metadata = load_checkpoint(args.checkpoint, device, parts)
    print(f"Evaluating {args.checkpoint} on the MNIST test set...", flush=True)
    batches = tensor_batches(False, args.data_dir, device, normalize=metadata.get("normalize", True), batch_size=1000)
    matrix = confusion_matrix(*collect_predictions(model, batches, device))
    correct, total = int(matrix.trace()), int(matrix.sum())
    print(f"Accuracy: {correct}/{total} ({100.0 * correct / total:.2f}%)")
    for digit, accuracy in enumerate(per_class_accuracy(matrix).tolist()):
        print(f"  digit {digit}: {accuracy:6.2f}%")
    if args.figure:
        print(f"Confusion matrix saved to {plot_confusion_matrix(matrix, args.figure)}")
    return 0


def run_predict(args: argparse.Namespace, parts: Parts) -> int:
    """``predict``: the digit and top probabilities of each image or of one test image."""
    if not args.images and args.test_index is None:
        raise CourseError("give image files to read, or --test-index N for an MNIST test image")
    require_written("predict", PREDICTING_MODULES, parts.folder)
    device = select_device(args.device)
    if args.figure:
        check_file(args.figure, "the figure", "--figure", example="figure.png")
    model, metadata = load_checkpoint(args.checkpoint, device, parts)
    normalized = metadata.get("normalize", True)
    inputs: list[tuple[str, torch.Tensor, torch.Tensor]] = []  # (name, original, model input)
    if args.test_index is not None:
        test_set = load_split(train=False, data_dir=args.data_dir)
        if not 0 <= args.test_index < len(test_set):
            raise CourseError(f"--test-index must be between 0 and {len(test_set) - 1}")
        pixels = test_set.data[args.test_index : args.test_index + 1]
        label = int(test_set.targets[args.test_index])
        inputs.append((f"test image {args.test_index} (label {label})", pixels[0], to_model_input(pixels, normalized)[0]))
    unread = 0
    for path in args.images:  # every file is tried; the bad ones are reported and counted
        try:
            image = parts.preprocess.load_image(path, report=lambda note: print(note, file=sys.stderr))
            prepared = match_input_scale(parts.preprocess.prepare_drawing(image), normalized)
        except CourseError as error:
            unread += 1
            print(f"error: {error}" if str(path) in str(error) else f"error: {path}: {error}", file=sys.stderr)
            continue
        inputs.append((str(path), torch.from_numpy(parts.preprocess.grayscale_pixels(image)), prepared))
    if inputs:
        report_predictions(model, inputs, device, args.figure, parts)
    if unread:
        raise CourseError(f"{unread} of {len(args.images)} image files could not be read (see above)")
    return 0


def report_predictions(model: torch.nn.Module, inputs: list[tuple[str, torch.Tensor, torch.Tensor]], device: torch.device,
                       figure: str | None, parts: Parts) -> None:
    """Print the digit and top probabilities of each input; draw the first one's figure if asked."""
    prediction = parts.inference.predict(model, torch.stack([model_input for _, _, model_input in inputs]), device)
    for index, (name, _, _) in enumerate(inputs):
        top = ", ".join(f"{digit}: {probability:.1%}" for digit, probability in prediction.top(index))
        print(f"{name}: digit {int(prediction.digits[index])} (top: {top})")
    if figure:
        name, original, model_input = inputs[0]
        parts.inference.plot_prediction(model_input, prediction.probabilities[0], figure, original=original)
        print(f"Figure of {name} saved to {figure}")


def run_export(args: argparse.Namespace, parts: Parts) -> int:
    """``export``: the weights file the website's Look inside page reads."""
    out = export_weights(args.checkpoint, args.out, parts)
    print(f"Weights of {args.checkpoint} written to {out} ({out.stat().st_size // 1024} KiB). "
          "Open it on the course website's Look inside page with \"Use your own network\".")
    return 0


def run_draw(args: argparse.Namespace, parts: Parts) -> int:
    """``draw``: the drawing pad, until Ctrl-C."""
    return open_pad(args.checkpoint, args.port, args.host, args.device, parts)


COMMANDS = {"train": run_train, "evaluate": run_evaluate, "predict": run_predict, "export": run_export, "draw": run_draw}
