"""The instructor's command line: ``python -m solutions train|evaluate|predict|export``.

Each command parses its options and calls the functions the tests call directly.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from .checkpoint import load_checkpoint
from .data import DATA_ENV_VAR, load_split, match_input_scale, tensor_batches, to_model_input
from .device import DEVICE_CHOICES, select_device
from .distributed import Processes, joined, per_process_batch_size
from .errors import CourseError
from .export import export_weights
from .inference import plot_prediction, predict
from .monitor import DEFAULT_LOG_DIR, DEFAULT_RUN_NAME, check_run_name
from .preprocess import grayscale_pixels, load_image, prepare_drawing
from .recipes import RECIPES, get_recipe
from .report import collect_predictions, confusion_matrix, figure_path, per_class_accuracy, plot_confusion_matrix
from .training import check_destinations, train
from .unfinished import require_written
from .writes import check_file, followed_link

INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C
MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 60_000  # the whole training set
MAX_SEED = 2**32 - 1
TRAINING_MODULES = ("model.py", "engine.py", "monitor.py")  # the exercises a training run is made of


def _whole_number(text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}, not {text!r}")
    return value


def epochs(text: str) -> int:
    """``--epochs``: a whole number from 1 to :data:`MAX_EPOCHS`."""
    return _whole_number(text, 1, MAX_EPOCHS)


def batch_size(text: str) -> int:
    """``--batch-size``: a whole number from 1 to the size of the training set."""
    return _whole_number(text, 1, MAX_BATCH_SIZE)


def seed(text: str) -> int:
    """``--seed``: a whole number from 0 to 2**32 - 1."""
    return _whole_number(text, 0, MAX_SEED)


def val_split(text: str) -> int:
    """``--val-split``: how many training images to hold out, 0 (none) to all but one."""
    return _whole_number(text, 0, MAX_BATCH_SIZE - 1)


def learning_rate(text: str) -> float:
    """``--lr``: a finite number above 0 (0 would never change the weights)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        why = " (0 would never change the weights)" if value == 0 else ""
        raise argparse.ArgumentTypeError(f"must be a number greater than 0, such as 0.001, not {text!r}{why}")
    return value


def run_name(text: str) -> str:
    """``--run-name``: a plain name, no folders (see :func:`check_run_name`)."""
    try:
        return check_run_name(text)
    except CourseError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def figure(text: str) -> Path:
    """``--figure``: a file name whose extension matplotlib can write; none means PNG."""
    try:
        return figure_path(text)
    except CourseError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
    train_parser.add_argument("--epochs", type=epochs, help=f"number of epochs, 1 to {MAX_EPOCHS} (default: the recipe's)")
    train_parser.add_argument("--batch-size", type=batch_size,
                              help=f"training batch size, 1 to {MAX_BATCH_SIZE} (default: the recipe's)")
    train_parser.add_argument("--lr", type=learning_rate, help="(peak) learning rate, above 0 (default: the recipe's)")
    train_parser.add_argument("--seed", type=seed, default=1, help="random seed, 0 to 2**32-1 (default: 1)")
    train_parser.add_argument("--run-name", type=run_name, default=DEFAULT_RUN_NAME,
                              help="TensorBoard run, a plain name (default: %(default)s)")
    train_parser.add_argument("--log-dir", default=str(DEFAULT_LOG_DIR), help="TensorBoard folder (default: %(default)s)")
    train_parser.add_argument("--save", help="checkpoint path (default: checkpoints/<run-name>.pt)")
    train_parser.add_argument("--overwrite", action="store_true",
                              help="replace the checkpoint at --save even if this run is clearly worse")
    train_parser.add_argument("--val-split", type=val_split, default=0, metavar="N",
                              help="hold out the last N training images to choose settings on; "
                                   "the test set is then measured once, at the end (default: 0)")
    train_parser.add_argument("--dry-run", action="store_true", help="train on one batch only, as a smoke test")
    _add_common(train_parser)

    evaluate_parser = commands.add_parser("evaluate", help="measure a checkpoint on the test set")
    evaluate_parser.add_argument("--checkpoint", required=True, help="a checkpoint saved by train")
    evaluate_parser.add_argument("--figure", type=figure, help="save the confusion matrix as this PNG (or .pdf, .svg, ...)")
    _add_common(evaluate_parser)

    predict_parser = commands.add_parser("predict", help="read digits from image files or the test set")
    predict_parser.add_argument("--checkpoint", required=True, help="a checkpoint saved by train")
    predict_parser.add_argument("images", nargs="*", type=Path, help="image files (PNG, JPEG, ...)")
    predict_parser.add_argument("--test-index", type=int, help="read MNIST test image N instead")
    predict_parser.add_argument("--figure", type=figure,
                                help="save the first input, its 28x28 version and the probabilities as this PNG")
    _add_common(predict_parser)

    export_parser = commands.add_parser("export", help="write a checkpoint's weights for the website's Look inside page")
    export_parser.add_argument("--checkpoint", required=True, help="a checkpoint saved by train")
    export_parser.add_argument("--out", required=True, help="the weights file to write, e.g. weights.json")
    return parser


def run_train(args: argparse.Namespace) -> int:
    """``train``: train with a recipe and report each epoch; under ``torchrun``, in every process it started."""
    require_written("train", TRAINING_MODULES)
    recipe = get_recipe(args.recipe).with_overrides(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
    with joined(args.device) as (processes, device):
        say = print if processes.is_main else _silent  # the first process speaks for all
        save = args.save or str(Path("checkpoints") / f"{args.run_name}.pt")
        if followed_link(save) != Path(save):
            save = str(followed_link(save))
            say(f"note: --save {args.save} is a symbolic link; the checkpoint is written where it points, {save}",
                file=sys.stderr)
        check_destinations(save, args.log_dir, args.run_name, args.overwrite)
        limits = {"train_limit": recipe.batch_size, "test_limit": recipe.batch_size} if args.dry_run else {}
        if args.dry_run:
            recipe = recipe.with_overrides(epochs=1)
        try:
            say(f"Training recipe {recipe.name!r} on {device} for {recipe.epochs} epochs (seed {args.seed})"
                f"{_shared_by(processes, recipe.batch_size)}.", flush=True)
            result = train(
                recipe, device, seed=args.seed, data_dir=args.data_dir, run_name=args.run_name, log_dir=args.log_dir,
                save=save, overwrite=args.overwrite, val_split=args.val_split, processes=processes, **limits,
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


def _silent(*args: object, **kwargs: object) -> None:
    """Where the lines of every training process but the first go."""


def _shared_by(processes: Processes, batch_size: int) -> str:
    """How the batches are shared, when several processes train together."""
    if processes.world_size == 1:
        return ""
    share = per_process_batch_size(batch_size, processes.world_size)
    return f" in {processes.world_size} processes, {share} images of each batch of {batch_size} per process"


def run_evaluate(args: argparse.Namespace) -> int:
    """``evaluate``: overall and per-class accuracy, and optionally the confusion matrix."""
    device = select_device(args.device)
    if args.figure:
        check_file(args.figure, "the figure", "--figure", example="figure.png")
    model, metadata = load_checkpoint(args.checkpoint, device)
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


def run_predict(args: argparse.Namespace) -> int:
    """``predict``: the digit and top probabilities of each image or of one test image."""
    if not args.images and args.test_index is None:
        raise CourseError("give image files to read, or --test-index N for an MNIST test image")
    device = select_device(args.device)
    if args.figure:
        check_file(args.figure, "the figure", "--figure", example="figure.png")
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


def run_export(args: argparse.Namespace) -> int:
    """``export``: the weights file the website's Look inside page reads."""
    out = export_weights(args.checkpoint, args.out)
    print(f"Weights of {args.checkpoint} written to {out} ({out.stat().st_size // 1024} KiB). "
          "Open it on the course website's Look inside page with \"Use your own network\".")
    return 0


COMMANDS = {"train": run_train, "evaluate": run_evaluate, "predict": run_predict, "export": run_export}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a :class:`CourseError` is printed as ``error: ...`` with exit code 2.

    Ctrl-C prints what was kept and exits with :data:`INTERRUPTED`, without a traceback.
    """
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted; nothing was written.", file=sys.stderr)
        return INTERRUPTED
