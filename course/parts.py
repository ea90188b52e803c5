"""The seam between the runtime and a set of parts: the modules a learner writes, answered or not.

The runtime (command line, training loop, checkpoints, drawing pad, ...) is written once, in
``course``; the parts it runs come from ``solutions`` (the reference answers) or ``exercises``
(the learner's own). ``python -m solutions`` and ``python -m exercises`` each hand their
package's name to :func:`course.cli.main`, which loads its parts here and hands them on. No other
runtime module imports ``solutions`` or ``exercises``: this is the one place they are reached.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REFERENCE = "solutions"  # the parts a runtime function runs when it is handed none
LEARNER = "exercises"  # ... where there is no reference
PART_MODULES = ("model", "engine", "monitor", "inference", "preprocess", "own_parts")  # what the runtime runs of a set


@dataclass(frozen=True)
class Parts:
    """The modules of one set of parts that the runtime runs, and where they are.

    ``model`` gives the CNN, ``engine`` train_one_epoch and evaluate, ``monitor`` the
    TensorBoard writer, ``inference`` predict and its figure, ``preprocess`` the way from
    a photo or drawing to the network's input, ``own_parts`` the CNN, loss and optimiser made of
    the learner's own convolution, pooling, cross-entropy and Adam (``train --own-parts``).
    """

    package: str
    folder: Path
    model: ModuleType
    engine: ModuleType
    monitor: ModuleType
    inference: ModuleType
    preprocess: ModuleType
    own_parts: ModuleType


def load_parts(package: str) -> Parts:
    """The parts of ``package`` (``"solutions"`` or ``"exercises"``), as Python imports them."""
    modules = {name: importlib.import_module(f"{package}.{name}") for name in PART_MODULES}
    folder = Path(importlib.import_module(package).__file__).parent
    return Parts(package=package, folder=folder, **modules)


def chosen(parts: Parts | None) -> Parts:
    """``parts``, or when a caller (a test, a figure script, the site's build) hands none, the reference
    answers; in a class's release, which has none (``python -m grader release``), the learner's own."""
    if parts is not None:
        return parts
    return load_parts(REFERENCE if importlib.util.find_spec(REFERENCE) is not None else LEARNER)
