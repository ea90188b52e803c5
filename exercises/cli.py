"""The instructor's command line: ``python -m solutions train|evaluate|predict``.

Each command parses its options and calls the functions the tests call directly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from .checkpoint import load_checkpoint
from .data import DATA_ENV_VAR, load_split, match_input_scale, tensor_batches, to_model_input
from .device import DEVICE_CHOICES, select_device
from .errors import CourseError
from .inference import plot_prediction, predict
from .monitor import DEFAULT_LOG_DIR, DEFAULT_RUN_NAME
from .preprocess import grayscale_pixels, load_image, prepare_drawing
from .recipes import RECIPES, get_recipe
from .report import collect_predictions, confusion_matrix, per_class_accuracy, plot_confusion_matrix
from .training import train

INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help="where to compute (default: auto)")
    parser.add_argument(
        "--data-dir", help=f"folder with the MNIST files (default: ${DATA_ENV_VAR}, else ./data)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m solutions``."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}", description=__doc__.splitlines()[0],
        epilog=f"python -m {__package__} draw opens the drawing pad (see python -m {__package__} draw --help)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser("train", help="train the CNN on MNIST")
    train_parser.add_argument("--recipe", choices=RECIPES, default="fast", help="training recipe (default: fast)")
    train_parser.add_argument("--epochs", type=int, help="number of epochs (default: the recipe's)")
    train_parser.add_argument("--batch-size", type=int, help="training batch size (default: the recipe's)")
    train_parser.add_argument("--lr", type=float, help="(peak) learning rate (default: the recipe's)")
    train_parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    train_parser.add_argument("--run-name", default=DEFAULT_RUN_NAME, help="TensorBoard run (default: %(default)s)")
    train_parser.add_argument("--log-dir", default=str(DEFAULT_LOG_DIR), help="TensorBoard folder (default: %(default)s)")
    train_parser.add_argument("--save", help="checkpoint path (default: checkpoints/<run-name>.pt)")
    train_parser.add_argument("--val-split", type=int, default=0, metavar="N",
                              help="hold out the last N training images to choose settings on; "
                                   "the test set is then measured once, at the end (default: 0)")
    train_parser.add_argument("--dry-run", action="store_true", help="train on one batch only, as a smoke test")
    _add_common(train_parser)

    evaluate_parser = commands.add_parser("evaluate", help="measure a checkpoint on the test set")
    evaluate_parser.add_argument("--checkpoint", required=True, help="a checkpoint saved by train")
    evaluate_parser.add_argument("--figure", help="save the confusion matrix as this PNG")
    _add_common(evaluate_parser)

    predict_parser = commands.add_parser("predict", help="read digits from image files or the test set")
    predict_parser.add_argument("--checkpoint", required=True, help="a checkpoint saved by train")
    predict_parser.add_argument("images", nargs="*", type=Path, help="image files (PNG, JPEG, ...)")
    predict_parser.add_argument("--test-index", type=int, help="read MNIST test image N instead")
    predict_parser.add_argument("--figure", help="save the first input, its 28x28 version and the probabilities as this PNG")
    _add_common(predict_parser)
    return parser


def run_train(args: argparse.Namespace) -> int:
    """``train``: train with a recipe and report each epoch."""
    recipe = get_recipe(args.recipe).with_overrides(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
    device = select_device(args.device)
    save = args.save or str(Path("checkpoints") / f"{args.run_name}.pt")
    limits = {"train_limit": recipe.batch_size, "test_limit": recipe.batch_size} if args.dry_run else {}
    if args.dry_run:
        recipe = recipe.with_overrides(epochs=1)
    print(f"Training recipe {recipe.name!r} on {device} for {recipe.epochs} epochs (seed {args.seed}).")
    result = train(
        recipe, device, seed=args.seed, data_dir=args.data_dir, run_name=args.run_name,
        log_dir=args.log_dir, save=save, val_split=args.val_split, **limits,
    )
    if result.interrupted:
        return INTERRUPTED
    seconds = sum(epoch.seconds for epoch in result.epochs)
    held_out = "test" if result.test is None else "validation"
    print(f"Finished in {seconds:.1f} s: {held_out} accuracy {result.final.test.accuracy:.2f}%. Checkpoint: {save}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    """``evaluate``: overall and per-class accuracy, and optionally the confusion matrix."""
    device = select_device(args.device)
    model, metadata = load_checkpoint(args.checkpoint, device)
    batches = tensor_batches(False, args.data_dir, device, normalize=metadata.get("normalize", True), batch_size=1000)
    matrix = confusion_matrix(*collect_predictions(model, batches, device))
    correct, total = int(matrix.trace()), int(matrix.sum())
    print(f"Accuracy: {correct}/{total} ({100.0 * correct / total:.2f}%)")
    for digit, accuracy in enumerate(per_class_accuracy(matrix).tolist()):
        print(f"  digit {digit}: {accuracy:6.2f}%")
    if args.figure:
        print(f"Confusion matrix saved to {plot_confusion_matrix(matrix, args.figure)}")
    return 0


def run_predict(args: argparse.Namespace) -> int:
    """``predict``: the digit and top probabilities of each image or of one test image."""
    if not args.images and args.test_index is None:
        raise CourseError("give image files to read, or --test-index N for an MNIST test image")
    device = select_device(args.device)
    model, metadata = load_checkpoint(args.checkpoint, device)
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
            image = load_image(path, report=lambda note: print(note, file=sys.stderr))
            prepared = match_input_scale(prepare_drawing(image), normalized)
        except CourseError as error:
            unread += 1
            print(f"error: {error}" if str(path) in str(error) else f"error: {path}: {error}", file=sys.stderr)
            continue
        inputs.append((str(path), torch.from_numpy(grayscale_pixels(image)), prepared))
    if inputs:
        report_predictions(model, inputs, device, args.figure)
    if unread:
        raise CourseError(f"{unread} of {len(args.images)} image files could not be read (see above)")
    return 0


def report_predictions(model: torch.nn.Module, inputs: list[tuple[str, torch.Tensor, torch.Tensor]], device: torch.device,
                       figure: str | None) -> None:
    """Print the digit and top probabilities of each input; draw the first one's figure if asked."""
    prediction = predict(model, torch.stack([model_input for _, _, model_input in inputs]), device)
    for index, (name, _, _) in enumerate(inputs):
        top = ", ".join(f"{digit}: {probability:.1%}" for digit, probability in prediction.top(index))
        print(f"{name}: digit {int(prediction.digits[index])} (top: {top})")
    if figure:
        name, original, model_input = inputs[0]
        plot_prediction(model_input, prediction.probabilities[0], figure, original=original)
        print(f"Figure of {name} saved to {figure}")


COMMANDS = {"train": run_train, "evaluate": run_evaluate, "predict": run_predict}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a :class:`CourseError` is printed as ``error: ...`` with exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
