"""Generating ``exercises/`` from ``solutions/``: solution blocks become ``NotImplementedError`` stubs.

``solutions/`` holds only the modules a learner writes, so ``exercises/`` gets only those (and the
package's ``__init__.py`` and ``__main__.py``); the runtime they run in is ``course/``, never copied.

In the reference, the code a learner writes stands between two markers::

    # BEGIN SOLUTION ex7
    ...
    # END SOLUTION

Everything outside the markers is given code and is copied unchanged.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from .catalog import EXERCISES, SOLUTIONS, exercise, stub_sources
from .progress import state_folder

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION ex(?P<number>\d+)[ \t]*$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")


# The runtime's modules that exercises/ held as generated copies until the runtime moved to course/.
FORMER_COPIES = (
    "checkpoint.py", "cli.py", "commands.py", "data.py", "device.py", "distributed.py", "drawing_pad.py", "errors.py",
    "export.py", "recipes.py", "report.py", "serving.py", "training.py", "unfinished.py", "writes.py",
)
FORMER_COPIES_FOLDER = "runtime-copies"  # where generate puts them, in the grader's folder of exercises/


class MarkerError(ValueError):
    """A solution block is not closed, or nested in another."""


def stub_lines(indent: str, number: int) -> list[str]:
    """The two lines that stand where a learner writes code."""
    entry = exercise(number)
    message = (
        f"Exercise {number} ({entry.title}) is not started yet: write your code here. "
        f"Read {entry.lesson}, then check it with: {entry.command}"
    )
    return [f"{indent}# Exercise {number}: your code here (hints: python -m grader hint {number})\n",
            f'{indent}raise NotImplementedError("{message}")\n']


def make_stub(source: str) -> str:
    """The exercise version of a reference module: every solution block replaced by a stub."""
    output: list[str] = []
    block: int | None = None
    for line_number, line in enumerate(source.splitlines(keepends=True), start=1):
        begin = BEGIN.match(line)
        if begin:
            if block is not None:
                raise MarkerError(f"line {line_number}: BEGIN SOLUTION inside another solution block")
            block = int(begin["number"])
            output.extend(stub_lines(begin["indent"], block))
        elif END.match(line):
            if block is None:
                raise MarkerError(f"line {line_number}: END SOLUTION without BEGIN SOLUTION")
            block = None
        elif block is None:
            output.append(line)
    if block is not None:
        raise MarkerError(f"solution block of exercise {block} is never closed with END SOLUTION")
    return "".join(output)


def reference_modules(solutions: Path = SOLUTIONS) -> list[Path]:
    """The reference modules every exercise tree mirrors."""
    return sorted(solutions.glob("*.py"))


def expected_exercises(solutions: Path = SOLUTIONS) -> dict[str, str]:
    """File name → the pristine exercise text generated from the reference."""
    return {path.name: make_stub(path.read_text()) for path in reference_modules(solutions)}


def out_of_sync(solutions: Path = SOLUTIONS, exercises: Path = EXERCISES) -> list[str]:
    """What differs between the generated stubs and ``exercises/`` (empty when in sync)."""
    expected = expected_exercises(solutions)
    present = {path.name for path in exercises.glob("*.py") if path.name != "conftest.py"
               and not path.name.startswith("test_")}
    problems = [f"{name}: in solutions/ but missing from exercises/" for name in sorted(expected.keys() - present)]
    problems += [f"{name}: in exercises/ but not in solutions/" + (" (the runtime is course/ now)" if name in
                 FORMER_COPIES else "") for name in sorted(present - expected.keys())]
    problems += [f"{name}: differs from the stub generated from solutions/{name}" for name in sorted(expected)
                 if name in present and (exercises / name).read_text() != expected[name]]
    return problems


def generate(solutions: Path = SOLUTIONS, exercises: Path = EXERCISES, force: bool = False) -> list[str]:
    """Write the exercise modules; a learner's edited file is kept unless ``force``. Returns what happened."""
    exercises.mkdir(exist_ok=True)
    report = set_aside_former_copies(exercises)
    for name, text in expected_exercises(solutions).items():
        target = exercises / name
        if target.exists() and target.read_text() == text:
            continue
        if target.exists() and not force:
            report.append(f"kept    exercises/{name} (it has your edits; --force overwrites it)")
            continue
        target.write_text(text)
        report.append(f"wrote   exercises/{name}")
    return report


def reset(number: int, solutions: Path | None = None, exercises: Path = EXERCISES) -> Path | None:
    """Put exercise ``number``'s module back to its stub; ``None`` when it has no module of its own.

    The stub is made from ``solutions`` (by default the reference, or a release's pristine stubs)."""
    module = exercise(number).module
    if not module:
        return None
    target = exercises / module
    target.write_text(make_stub(((solutions or stub_sources()) / module).read_text()))
    return target


def set_aside_former_copies(exercises: Path = EXERCISES) -> list[str]:
    """Move the runtime copies an exercises/ of the earlier layout holds into its grader folder, in one line.

    They are moved, not deleted: a learner may have edited one, and their edits stay readable.
    """
    found = [exercises / name for name in FORMER_COPIES if (exercises / name).is_file()]
    if not found:
        return []
    aside = state_folder(exercises) / FORMER_COPIES_FOLDER
    aside.mkdir(parents=True, exist_ok=True)
    for path in found:
        shutil.move(path, aside / path.name)
    return [f"moved   {len(found)} runtime copies ({', '.join(path.name for path in found)}) out of exercises/ into "
            f"{aside.relative_to(exercises.parent)}/: the runtime is course/ now, written once"]
