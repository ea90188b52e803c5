"""Points: how much each exercise weighs, and how its points are shared among its checks.

An exercise's points (``points`` in ``grader/exercises.toml``, default 10, overridable at
export) are shared evenly among all its checks, public and hidden, as otter-grader shares a
question's points among its test cases: code that passes 5 of an exercise's 8 checks earns
5/8 of its points. Both platforms get the same shares, so a submission scores the same on both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from course.errors import CourseError

from ..catalog import exercises

if TYPE_CHECKING:  # the class grading package is imported only where a submission is graded
    from ..classroom import Verdict

POINT_SHARE_DECIMALS = 2  # shares are rounded so that the platforms show 1.43, not 1.4285714285714286
NOT_GRADED = "graded"  # the one check an exercise shows when none of its checks ran
_OVERRIDE = re.compile(r"ex(\d+)=(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class ScoredCheck:
    """One check's verdict with the points it earns and could earn."""

    exercise: int
    check: str
    hidden: bool
    passed: bool
    message: str
    score: float
    max_score: float


def points_per_exercise(overrides: Sequence[str] = ()) -> dict[int, float]:
    """Each exercise's points: ``exercises.toml``'s, changed by overrides such as ``ex3=20``.

    Raises:
        CourseError: an override is not ``exN=POINTS`` for an existing exercise.
    """
    points = {number: entry.points for number, entry in exercises().items()}
    for text in overrides:
        match = _OVERRIDE.fullmatch(text.strip())
        if not match or int(match[1]) not in points:
            raise CourseError(f"--points {text!r}: write exN=POINTS with N from 1 to {len(points)}, e.g. --points ex3=20")
        points[int(match[1])] = float(match[2])
    return points


def point_options(points: dict[int, float]) -> list[str]:
    """``points`` as the command-line arguments that give them back: ``--points ex1=10 ex2=10 ...``."""
    return ["--points", *(f"ex{number}={value:g}" for number, value in points.items())]


def shares(points: float, count: int) -> list[float]:
    """``points`` split into ``count`` near-equal shares that add up to ``points`` exactly (to the cent)."""
    cumulative = [round(points * index / count, POINT_SHARE_DECIMALS) for index in range(count + 1)] if count else [0]
    return [round(high - low, POINT_SHARE_DECIMALS) for low, high in zip(cumulative, cumulative[1:])]


def score_checks(verdicts: Iterable[Verdict], points: dict[int, float]) -> dict[int, list[ScoredCheck]]:
    """Every exercise's checks (public first, then hidden) with their share of its points.

    An exercise without any verdict (its grading never ran) shows one failed check worth all its
    points, so that the maximum score never depends on what a submission did.
    """
    by_exercise: dict[int, list[Verdict]] = {}
    for verdict in verdicts:
        by_exercise.setdefault(verdict.exercise, []).append(verdict)
    return {number: _scored(number, worth, by_exercise.get(number, [])) for number, worth in points.items()}


def _scored(number: int, worth: float, verdicts: list[Verdict]) -> list[ScoredCheck]:
    if not verdicts:
        return [ScoredCheck(number, NOT_GRADED, False, False, "This exercise could not be graded: see the notes above.",
                            0.0, worth)]
    ordered = sorted(verdicts, key=lambda verdict: verdict.hidden)  # public first; stable, so in the order they ran
    return [ScoredCheck(number, verdict.check, verdict.hidden, verdict.passed, verdict.message,
                        share if verdict.passed else 0.0, share)
            for verdict, share in zip(ordered, shares(worth, len(ordered)))]


def total(scored: dict[int, list[ScoredCheck]]) -> float:
    """The points earned, to the cent."""
    return round(sum(check.score for checks in scored.values() for check in checks), POINT_SHARE_DECIMALS)


def check_title(check: ScoredCheck) -> str:
    """How a check is named on the platforms: ``3 · Build the CNN: <check>``, hidden ones marked."""
    further = " (further check)" if check.hidden else ""
    return f"{check.exercise} · {exercises()[check.exercise].title}{further}: {check.check}"
