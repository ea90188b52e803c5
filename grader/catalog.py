"""The exercises as ``exercises.toml`` describes them: titles, modules, lessons and hints."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO / "solutions"
PRISTINE = REPO / "grader" / "pristine"  # a class's release: the stubs as handed out, where there is no solutions/
EXERCISES = REPO / "exercises"
DEFAULT_POINTS = 10.0  # an exercise's points when exercises.toml gives none: all weigh the same


@dataclass(frozen=True)
class Exercise:
    """One exercise: what to write, where, what to read, and the hints."""

    number: int
    title: str
    module: str
    lesson: str
    section: str
    steps: tuple[str, ...]
    hints: dict[str, str] = field(default_factory=dict)
    uses: tuple[str, ...] = ()
    points: float = DEFAULT_POINTS

    @property
    def files(self) -> tuple[str, ...]:
        """The learner's files this exercise grades: its module, or those of the exercises it builds on."""
        return (self.module,) if self.module else self.uses

    @property
    def marker(self) -> str:
        """The pytest marker of its checks, e.g. ``ex7``."""
        return f"ex{self.number}"

    @property
    def command(self) -> str:
        """The command that runs only this exercise's checks."""
        return f"pytest exercises/ -m {self.marker}"

    @property
    def reading(self) -> str:
        """Where to read about it."""
        return f'{self.lesson}, section "{self.section}"'

    def hint(self, key: str) -> str:
        """The hint a failing check shows; unknown keys are a bug in the checks."""
        return self.hints[key]


@cache
def exercises() -> dict[int, Exercise]:
    """Every exercise by number, in order."""
    with (Path(__file__).parent / "exercises.toml").open("rb") as stream:
        table = tomllib.load(stream)
    return {
        int(key.removeprefix("ex")): Exercise(
            number=int(key.removeprefix("ex")),
            title=entry["title"],
            module=entry["module"],
            lesson=entry["lesson"],
            section=entry["section"],
            steps=tuple(entry["steps"]),
            hints=dict(entry["hints"]),
            uses=tuple(entry.get("uses", ())),
            points=float(entry.get("points", DEFAULT_POINTS)),
        )
        for key, entry in table.items()
    }


def stub_sources() -> Path:
    """Where the stubs are made from: the reference answers, or in a class's release the stubs as handed out."""
    return SOLUTIONS if SOLUTIONS.is_dir() else PRISTINE


def exercise(number: int) -> Exercise:
    """The exercise with this number, as `exercises.toml` numbers them in the lessons' order."""
    try:
        return exercises()[number]
    except KeyError:
        raise SystemExit(f"there is no exercise {number}; choose 1 to {len(exercises())}") from None
