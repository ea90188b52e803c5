"""The command line: ``python -m solutions|exercises train|evaluate|predict|export|draw``.

The same runtime runs either set of parts (see :mod:`.parts`): the reference answers or the
learner's own. This module parses the options and knows nothing of PyTorch, so that ``--help`` and a
mistyped option answer at once; the commands themselves are in :mod:`.commands`, which
loads PyTorch once the options are known to be good.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from course.errors import CourseError
from course.options import (
    DATA_ENV_VAR, DEFAULT_CHECKPOINT, DEFAULT_LOG_DIR, DEFAULT_RUN_NAME, DEVICE_CHOICES, DRAWING_PAD_PORT, RECIPE_NAMES,
    check_run_name, figure_path,
)
from course.threads import share_cores

from .parts import REFERENCE, load_parts

INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl-C
MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 60_000  # the whole training set
MAX_SEED = 2**32 - 1


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


def port(text: str) -> int:
    """``--port``: a whole number from 1 to 65535."""
    return _whole_number(text, 1, 65535)


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


def build_parser(parts: str = REFERENCE) -> argparse.ArgumentParser:
    """The argument parser of ``python -m <parts>``."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {parts}", description=__doc__.splitlines()[0],
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train_parser = commands.add_parser("train", help="train the CNN on MNIST")
    train_parser.add_argument("--recipe", choices=RECIPE_NAMES, default="fast", help="training recipe (default: fast)")
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
    train_parser.add_argument("--own-parts", action="store_true",
                              help="compute with your own conv2d, max_pool2d, cross_entropy and Adam "
                                   "(exercises 2, 4, 6 and 13) instead of PyTorch's")
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

    draw_parser = commands.add_parser("draw", help="draw a digit in your browser and watch the network read it")
    draw_parser.add_argument("--checkpoint", default=str(DEFAULT_CHECKPOINT),
                             help="a checkpoint saved by train (default: %(default)s)")
    draw_parser.add_argument("--port", type=port, default=DRAWING_PAD_PORT, help="port of the page (default: %(default)s)")
    draw_parser.add_argument("--host", default="127.0.0.1",
                             help="address to serve on (default: %(default)s, this computer only)")
    draw_parser.add_argument("--device", choices=DEVICE_CHOICES, default="cpu", help="where to compute (default: cpu)")
    return parser


def main(argv: Sequence[str] | None = None, parts: str = REFERENCE) -> int:
    """Run one command with the parts of package ``parts``; a :class:`CourseError` is printed as
    ``error: ...`` with exit code 2.

    Ctrl-C prints what was kept and exits with :data:`INTERRUPTED`, without a traceback.
    """
    args = build_parser(parts).parse_args(argv)
    try:
        from .commands import COMMANDS  # loads PyTorch

        loaded = load_parts(parts)
        share_cores()  # measured while PyTorch loaded: the command runs on the cores others leave free
        return COMMANDS[args.command](args, loaded)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Interrupted; nothing was written.", file=sys.stderr)
        return INTERRUPTED
