"""What the command line accepts, known without loading PyTorch: data, devices, run names, figures.

The parsers of ``python -m solutions`` and ``python -m exercises`` are built from these, so that
``--help`` and a mistyped option answer at once, before the seconds PyTorch takes to load.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import CourseError

DATA_ENV_VAR = "MNIST_COURSE_DATA"
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
RECIPE_NAMES = ("fast", "notebook")
DEFAULT_LOG_DIR = Path("runs")
DEFAULT_RUN_NAME = "cnn_experiment"
DEFAULT_CHECKPOINT = Path("checkpoints") / f"{DEFAULT_RUN_NAME}.pt"
DRAWING_PAD_PORT = 7860
RUN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}")


def check_run_name(name: str) -> str:
    """Return ``name`` if it is a plain run name: letters, digits, ``_ . + -``, no folders.

    Run names become ``<log_dir>/<name>`` and ``checkpoints/<name>.pt``, so a name
    such as ``../escape`` or ``/tmp/x`` would write outside those folders.

    Raises:
        CourseError: the name is empty, has a path separator, starts with a dot or a dash, or is too long.
    """
    if not RUN_NAME.fullmatch(name):
        raise CourseError(
            f"run name {name!r} is not a plain name: use up to 100 letters, digits, '_', '.', '+' or '-', "
            "starting with a letter, digit or '_' (e.g. lr_0.01)"
        )
    return name


def figure_path(name: str | os.PathLike) -> Path:
    """The file a figure called ``name`` is saved to: ``.png`` is added when there is no extension.

    Raises:
        CourseError: the extension is not a format matplotlib writes (``.png``, ``.pdf``, ``.svg``, ...).
    """
    path = Path(name)
    if not path.name:
        raise CourseError(f"figure {os.fspath(name)!r} needs a file name, such as confusion.png")
    if path.is_dir():
        return path  # refused where the destination is checked, with the folder named
    if not path.suffix:
        return path.with_name(f"{path.name}.png")
    from matplotlib.figure import Figure  # only for a name with an extension to check

    formats = Figure().canvas.get_supported_filetypes()
    if path.suffix[1:].lower() not in formats:
        raise CourseError(
            f"cannot save a figure as {path.suffix!r}: use .png, or one of "
            f"{', '.join('.' + extension for extension in sorted(formats) if extension != 'png')}"
        )
    return path
