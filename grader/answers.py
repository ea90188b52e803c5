"""The reference's answers the public checks compare with, stored beside them: no check imports the reference.

A check that needs the reference's result asks for it by name::

    wanted = answers.of("weights", lambda reference: train_epoch(reference, ...).state_dict())

``python -m grader generate`` runs the public checks once on the reference with ``--record-answers``: each
``compute`` runs there and its result is written to ``exercises/answers.pt``, with a fingerprint of the
reference and the checks it came from. Every other run reads the answers back (``weights_only=True``: data,
never code): the learner's repository, a release without ``solutions/``, and ``--solutions`` itself, which
thereby proves that the stored answers are the reference's.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import torch

from .catalog import EXERCISES, REPO, SOLUTIONS
from .checks import Target

ANSWERS_FILE = "answers.pt"  # in exercises/, beside the checks that read it
RECORDED = pytest.StashKey[dict[str, Any]]()
Value = TypeVar("Value")


class AnswersMissing(Exception):
    """The stored answers lack one a check asks for: they are older than the checks."""


def fingerprint(solutions: Path = SOLUTIONS, exercises: Path = EXERCISES) -> str:
    """A hash of what the answers are computed from: the reference, the checks, and the checks' fixtures."""
    fixtures = Path(__file__).parent / "fixtures.py"
    sources = [*sorted(solutions.glob("*.py")), *sorted(exercises.glob("test_*.py")), fixtures]
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def load_answers(folder: Path) -> dict[str, Any]:
    """The answers stored in ``folder`` (plain tensors, numbers and lists), empty when there are none."""
    path = folder / ANSWERS_FILE
    if not path.exists():
        return {}
    return torch.load(path, weights_only=True)["answers"]


class Answers:
    """The reference's answers for one check, read back from the stored ones, or computed and recorded."""

    def __init__(self, prefix: str, stored: dict[str, Any], recording: Target | None) -> None:
        self.prefix, self.stored, self.recording = prefix, stored, recording

    def of(self, name: str, compute: Callable[[Target], Value]) -> Value:
        """The answer ``name``: ``compute(reference)``, computed when recording, otherwise as stored."""
        key = f"{self.prefix}::{name}"
        if self.recording is not None:
            self.stored[key] = compute(self.recording)
        elif key not in self.stored:
            raise AnswersMissing(f"{ANSWERS_FILE} has no answer {key!r}: it is older than the checks "
                                 "(instructors: python -m grader generate)")
        return self.stored[key]


def recording_session(config: pytest.Config) -> bool:
    return bool(config.getoption("--record-answers"))


def stored_answers(config: pytest.Config, folder: Path) -> dict[str, Any]:
    """This session's answers: those being recorded, or those stored beside the checks (loaded once)."""
    if RECORDED not in config.stash:
        config.stash[RECORDED] = {} if recording_session(config) else load_answers(folder)
    return config.stash[RECORDED]


def answers_for(request: pytest.FixtureRequest, prefix: str) -> Answers:
    """The answers of the check or fixture ``request`` stands for, named under ``prefix``."""
    from .plugin import reference_target  # the reference is imported only while recording

    recording = reference_target() if recording_session(request.config) else None
    return Answers(prefix, stored_answers(request.config, request.path.parent), recording)


@pytest.fixture
def answers(request: pytest.FixtureRequest) -> Answers:
    """The reference's answers for this check."""
    return answers_for(request, f"{request.path.name}::{request.node.name}")


def write_recorded(config: pytest.Config) -> None:
    """Save the answers recorded in this session where ``--record-answers`` says."""
    path = Path(config.getoption("--record-answers"))
    torch.save({"fingerprint": fingerprint(), "answers": config.stash.get(RECORDED, {})}, path)


def answers_out_of_date(exercises: Path = EXERCISES) -> list[str]:
    """Why ``exercises/answers.pt`` does not hold the current reference's answers (empty when it does)."""
    path = exercises / ANSWERS_FILE
    if not path.exists():
        return [f"{ANSWERS_FILE}: missing from exercises/ (python -m grader generate records it)"]
    if torch.load(path, weights_only=True)["fingerprint"] != fingerprint(exercises=exercises):
        return [f"{ANSWERS_FILE}: computed from another reference or other checks (python -m grader generate)"]
    return []


def record_answers(exercises: Path = EXERCISES) -> str:
    """Run the public checks on the reference and store their answers in ``exercises/answers.pt``."""
    recorded = exercises / f".{ANSWERS_FILE}.part"
    command = [sys.executable, "-m", "pytest", str(exercises), "--solutions", f"--record-answers={recorded}",
               "-q", "-p", "no:cacheprovider"]
    completed = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if completed.returncode != 0 or not recorded.exists():
        recorded.unlink(missing_ok=True)
        raise SystemExit("the reference fails its own checks, so no answers were recorded:\n"
                         + completed.stdout[-3000:])
    recorded.replace(exercises / ANSWERS_FILE)
    return f"wrote   exercises/{ANSWERS_FILE} (the reference's answers the public checks compare with)"
