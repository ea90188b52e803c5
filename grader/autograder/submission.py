"""Grading the one submission a platform hands over, with the trusted class grading.

Gradescope puts what the learner uploaded in ``/autograder/submission`` (their module files,
an ``exercises/`` folder, a whole repository, or a ``.zip``); GitHub Classroom checks out the
learner's repository. Both are found as ``python -m grader grade`` finds a submission, and a
folder that holds nothing to grade is the learner's mistake, reported to them, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from course.errors import CourseError

from ..catalog import exercises
from ..classroom.submissions import find_submissions
from .scoring import ScoredCheck, total

if TYPE_CHECKING:
    from ..classroom import Grade, Verdict


@dataclass
class Outcome:
    """What grading one submission gave: its grade, or why there was nothing to grade."""

    grade: Grade | None
    problem: str = ""

    @property
    def verdicts(self) -> list[Verdict]:
        return self.grade.verdicts if self.grade else []

    @property
    def seconds(self) -> float:
        return self.grade.seconds if self.grade else 0.0

    def summary(self, scored: dict[int, list[ScoredCheck]]) -> str:
        """The grade in a few lines: exercises done, points, and anything noticed while grading."""
        if self.grade is None:
            return f"Nothing was graded: {self.problem.rstrip('.')}."
        done = sum(all(check.passed for check in checks) for checks in scored.values())
        most = sum(check.max_score for checks in scored.values() for check in checks)
        lines = [f"{done} of {len(exercises())} exercises done: {total(scored):g} of {most:g} points."]
        lines += [f"Noticed while grading: {flag}" for flag in self.grade.flags]
        return "\n".join(lines)


def grade_submission(path: Path, hidden: bool = True, allow_unsandboxed: bool = False,
                     as_grader: bool = False) -> Outcome:
    """Grade the submission in ``path`` (a folder or a ``.zip``) with :func:`grader.classroom.grade_one`.

    Raises:
        CourseError: ``path`` does not exist, or the grading itself cannot run here (e.g. no usable
            sandbox and no ``allow_unsandboxed``).
    """
    from ..classroom import grade_one

    if not path.exists():
        raise CourseError(f"{path} does not exist: pass the folder or .zip the platform put the submission in")
    try:
        found = find_submissions([path])
    except CourseError as error:
        return Outcome(None, str(error))
    if len(found) > 1:
        names = ", ".join(str(submission.source.relative_to(path)) for submission in found)
        return Outcome(None, f"the submission holds {len(found)} sets of exercises ({names}): submit one "
                             "exercises/ folder, its files, or one .zip of it")
    submission = found[0]
    if submission.error:
        return Outcome(None, f"{submission.source.name}: {submission.error}")
    return Outcome(grade_one(submission.source, hidden=hidden, allow_unsandboxed=allow_unsandboxed,
                             as_grader=as_grader))
