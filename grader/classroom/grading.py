"""Grading one submission: its code answers questions in a sandbox, and the verdicts are made here.

The learner's modules are laid beside the given ones in a fresh tree; a sandboxed worker
imports them and answers each check's question; this process compares every answer with the
reference's and decides. Nothing the worker writes is read as a verdict, a count or a status.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog import Exercise, exercises
from ..stubs import expected_exercises
from .asking import Reply, Worker
from .checks import Check
from .sandbox import Limits
from .submissions import Submission, learner_modules

NOT_STARTED = "not started"


@dataclass
class Verdict:
    """One check's result, decided in the trusted process."""

    exercise: int
    check: str
    hidden: bool
    passed: bool
    message: str = ""  # what the learner is told when it fails


@dataclass
class Grade:
    """Everything graded about one learner."""

    learner: str
    source: Path
    flags: list[str] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    seconds: float = 0.0
    not_started: set[int] = field(default_factory=set)  # exercises whose code is still the stub
    output_tail: str = ""

    def done(self, exercise: int) -> bool:
        """Whether every public and hidden check of ``exercise`` passed."""
        found = [verdict.passed for verdict in self.verdicts if verdict.exercise == exercise]
        return bool(found) and all(found)

    def counts(self, exercise: int | None = None, hidden: bool = False) -> tuple[int, int]:
        """Checks passed and checks asked, of one exercise or of all, public or hidden."""
        chosen = [verdict for verdict in self.verdicts if verdict.hidden == hidden
                  and (exercise is None or verdict.exercise == exercise)]
        return sum(verdict.passed for verdict in chosen), len(chosen)

    def status(self, exercise: int) -> str:
        """``done``, ``not started``, ``failing (k/n checks pass)`` or ``not graded``."""
        passed, total = self.counts(exercise)
        if not total:
            return "not graded"
        if self.done(exercise):
            return "done"
        if exercise in self.not_started:
            return NOT_STARTED
        return f"failing ({passed}/{total} checks pass)"


@dataclass(frozen=True)
class Setting:
    """What every submission of a class is graded with, prepared once."""

    checks: list[Check]
    expected: list[object]  # the reference's answer to each check, computed here
    limits: Limits
    data_dir: Path
    program: Path  # the worker and its questions, as copied for this class
    workspace: Path
    sandboxed: bool
    seconds: float = 900.0  # for the whole submission


def build_tree(root: Path, modules: dict[str, bytes]) -> Path:
    """A fresh, read-only ``root/exercises`` package: the given modules with the learner's in their place."""
    folder = root / "exercises"
    folder.mkdir(parents=True)
    for name, text in {**{name: text.encode() for name, text in expected_exercises().items()}, **modules}.items():
        (folder / name).write_bytes(text)
        (folder / name).chmod(0o444)
    for path in (folder, root):
        path.chmod(0o755)
    return root


def untouched(submission: Submission, entry: Exercise) -> bool:
    """Whether the learner's files for ``entry`` are still the stubs as released (or missing)."""
    stubs = expected_exercises()
    return all(submission.modules.get(name, stubs[name].encode()) == stubs[name].encode() for name in entry.files)


class Interview:
    """Asks one submission every check, in order, restarting its worker after a stop."""

    def __init__(self, worker: Worker, setting: Setting, cancelled: threading.Event) -> None:
        self.worker, self.setting, self.cancelled = worker, setting, cancelled
        self.stopped_files: dict[str, str] = {}  # file → why an earlier question on it was stopped
        self.noticed: list[str] = []
        self.garbled = 0  # answers that were not frames of plain data

    def verdict(self, check: Check, expected: object, deadline: float) -> Verdict:
        entry = exercises()[check.exercise]
        blocked = next((why for name, why in self.stopped_files.items() if name in entry.files), None)
        if self.cancelled.is_set():
            return _verdict(check, entry, problem="not asked: grading was interrupted")
        if blocked:
            return _verdict(check, entry, problem=f"not asked: an earlier question stopped ({blocked})")
        seconds = min(check.time_factor * self.setting.limits.check_seconds, deadline - time.monotonic())
        if seconds <= 0:
            return _verdict(check, entry, problem=f"not asked: the submission's {self.setting.seconds:g} s were used up")
        reply = self.worker.ask(check.procedure, check.inputs, seconds)
        self.noticed += [item for item in reply.noticed if item not in self.noticed]
        self.garbled += reply.garbled
        if reply.stopped:
            for name in entry.files:
                self.stopped_files.setdefault(name, reply.error)
        return judged(check, entry, reply, expected)


def judged(check: Check, entry: Exercise, reply: Reply, expected: object) -> Verdict:
    """Compare the reply with the reference's answer (or the check's goal) and decide."""
    if reply.error == NOT_STARTED:
        return _verdict(check, entry, problem=f"{NOT_STARTED} (write {', '.join('exercises/' + name for name in entry.files)})",
                        hint=False)
    if reply.error:
        return _verdict(check, entry, problem=reply.error)
    try:
        wrong = check.judge(reply.answer, expected)
    except Exception as error:  # noqa: BLE001 - an answer of a shape no judge foresaw is a wrong answer
        wrong = f"an answer that could not be compared ({type(error).__name__})"
    if wrong is None:
        return Verdict(check.exercise, check.name, check.hidden, True)
    return _verdict(check, entry, found=wrong)


def _verdict(check: Check, entry: Exercise, problem: str = "", found: str = "", hint: bool = True) -> Verdict:
    header = f"Exercise {entry.number} · {entry.title} — {check.name}"
    lines = [f"  problem:  {problem}"] if problem else [f"  expected: {check.expected}", f"  found:    {found}"]
    if hint:
        lines += [f"  hint:     {entry.hint(check.hint)}",
                  f"  more help: {entry.command} names the mistake · python -m grader hint {entry.number}"]
    return Verdict(check.exercise, check.name, check.hidden, False, "\n".join([header, *lines]))


def grade_submission(submission: Submission, setting: Setting, slot: int = 0,
                     cancelled: threading.Event | None = None, workers: set[Worker] | None = None) -> Grade:
    """Grade one submission with every check of ``setting``; ``workers`` tracks live workers for Ctrl-C."""
    started = time.monotonic()
    grade = Grade(submission.learner, submission.source, flags=[*submission.flags])
    if submission.error:
        grade.flags.append(f"not graded: {submission.error}")
        return grade
    grade.flags += submission.tamper_flags()
    missing = [name for name in learner_modules() if name not in submission.modules]
    if missing:
        grade.flags.append(f"missing {', '.join(missing)} (graded as the stub)")
    grade.not_started = {number for number, entry in exercises().items() if untouched(submission, entry)}
    root = Path(tempfile.mkdtemp(prefix="learner-", dir=setting.workspace))
    root.chmod(0o755)
    worker = Worker(build_tree(root / "tree", submission.modules), setting.data_dir, setting.program, root,
                    setting.limits, slot, setting.sandboxed)
    grade.flags += fence_flags(setting, worker)
    live = workers if workers is not None else set()
    live.add(worker)
    interview = Interview(worker, setting, cancelled or threading.Event())
    try:
        deadline = started + setting.seconds
        grade.verdicts = [interview.verdict(check, expected, deadline)
                          for check, expected in zip(setting.checks, setting.expected)]
        worker.stop()
        grade.flags += conduct_flags(interview.noticed, worker.lingering, interview.garbled)
        if interview.stopped_files:
            grade.output_tail = worker.output_tail()
    finally:
        worker.stop()
        live.discard(worker)
        shutil.rmtree(root, ignore_errors=True)
    grade.seconds = time.monotonic() - started
    return grade


def fence_flags(setting: Setting, worker: Worker) -> list[str]:
    """How the submission was fenced in, when it was not in a sandbox."""
    if setting.sandboxed:
        return []
    account = ", AS ROOT (no other user can run this Python)" if worker.uid < 0 and os.geteuid() == 0 else ""
    return [f"graded WITHOUT a sandbox (--allow-unsandboxed){account}"]


def conduct_flags(noticed: list[str], lingering: int, garbled: int) -> list[str]:
    """What the submission tried that the sandbox stopped, as the instructor's flags.

    ``noticed`` comes from inside the sandbox (it can be hidden, never forged into marks);
    ``lingering`` and ``garbled`` are seen from outside.
    """
    flags = list(noticed[:10])
    if garbled:
        flags.append(f"sent {garbled} answer(s) that were not plain data (forged or corrupted output)")
    if lingering:
        flags.append(f"tried to outlive its run: {lingering} process(es) still running beside the worker were killed")
    return flags
