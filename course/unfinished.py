"""Which exercises a command of ``python -m exercises`` needs are still stubs.

In ``solutions/`` nothing is missing; in a learner's ``exercises/`` a command says
which exercise to finish instead of failing half-way with a traceback. ``folder`` is
the folder of the parts a command runs (:attr:`course.parts.Parts.folder`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from .errors import CourseError

STUB = re.compile(r'raise NotImplementedError\("Exercise (\d+) \(([^)]*)\) is not started')


def unfinished(modules: Iterable[str], folder: Path) -> list[str]:
    """``"exercise 3 (Build the CNN)"`` for each exercise whose stub is still in one of ``modules``."""
    missing: dict[str, None] = {}
    for module in modules:
        path = folder / module
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        missing.update({f"exercise {number} ({title})": None for number, title in STUB.findall(text)})
    return list(missing)


def require_written(command: str, modules: Iterable[str], folder: Path) -> None:
    """Raise a one-line :class:`CourseError` naming the exercises ``command`` needs that are not written yet."""
    missing = unfinished(modules, folder)
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise CourseError(f"{command} runs your own code, and {', '.join(missing)} {verb} not written yet: "
                          f"finish {'it' if len(missing) == 1 else 'them'} first (pytest exercises/ checks your work)")
