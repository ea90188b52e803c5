"""Grading one submission: its code answers questions in a sandbox, and the verdicts are made here.

The learner's modules are laid beside the given ones in a fresh tree; a sandboxed worker
imports them and answers each check's question; this process compares every answer with the
reference's and decides. Nothing the worker writes is read as a verdict, a count or a status.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..catalog import Exercise, exercises
from ..clock import CheckTimedOut, time_limit
from ..stubs import expected_exercises
from .asking import BUSY_THREADS, Reply, Worker
from .checks import BY_HAND, Check
from .questions import MEASURING, NETWORK_QUESTIONS
from .scrutiny import Scrutiny
from .sandbox import Limits
from .submissions import Submission, learner_modules

NOT_STARTED = "not started"
# Judges compare bounded answers in a moment; this only stops a shape no judge foresaw from holding a grader thread.
JUDGING_SECONDS = 10.0


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
    network: Path  # the course's CNN, for the questions that use it (never the rest of the reference)
    workspace: Path
    sandboxed: bool
    seconds: float = 900.0  # for the whole submission


def build_tree(root: Path, modules: dict[str, bytes]) -> Path:
    """A fresh, read-only ``root/exercises`` package: the released stubs with the learner's modules in their
    place. The runtime they run in is ``course``, which the sandbox mounts beside it (see :mod:`.sandbox`)."""
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

    def __init__(self, worker: Worker, setting: Setting, cancelled: threading.Event, scrutiny: Scrutiny,
                 not_started: set[int]) -> None:
        self.worker, self.setting, self.cancelled, self.scrutiny = worker, setting, cancelled, scrutiny
        self.not_started = not_started  # exercises whose files are the stubs: their answer is known unasked
        self.stopped_files: dict[str, str] = {}  # file → why an earlier question on it was stopped
        self.noticed: list[str] = []
        self.garbled = 0  # answers that were not frames of plain data

    def every_verdict(self, deadline: float) -> list[Verdict]:
        """Every check's verdict, in the checks' order; asked with the questions that need the course's CNN
        last, so that the worker holding it is started once."""
        checks = list(zip(self.setting.checks, self.setting.expected))
        order = sorted(range(len(checks)), key=lambda index: checks[index][0].procedure in NETWORK_QUESTIONS)
        verdicts = {index: self.verdict(*checks[index], deadline) for index in order}
        return [verdicts[index] for index in range(len(checks))]

    def verdict(self, check: Check, expected: object, deadline: float) -> Verdict:
        entry = exercises()[check.exercise]
        blocked = next((why for name, why in self.stopped_files.items() if name in entry.files), None)
        if self.cancelled.is_set():
            return _verdict(check, entry, problem="not asked: grading was interrupted")
        if blocked:
            return _verdict(check, entry, problem=f"not asked: an earlier question stopped ({blocked})")
        if check.exercise in self.not_started:
            return judged(check, entry, Reply(error=NOT_STARTED), expected)
        seconds = min(check.time_factor * self.setting.limits.check_seconds, deadline - time.monotonic())
        if seconds <= 0:
            return _verdict(check, entry, problem=f"not asked: the submission's {self.setting.seconds:g} s were used up")
        reply = self.worker.ask(check.procedure, check.inputs, seconds, network=check.procedure in NETWORK_QUESTIONS)
        self.noticed += [item for item in reply.noticed if item not in self.noticed]
        self.garbled += reply.garbled
        if reply.stopped:
            for name in entry.files:
                self.stopped_files.setdefault(name, reply.error)
        return judged(check, entry, reply, expected, self.scrutiny)


def judged(check: Check, entry: Exercise, reply: Reply, expected: object, scrutiny: Scrutiny | None = None) -> Verdict:
    """Compare the reply with the reference's answer (or the check's goal) and decide; with ``scrutiny``,
    also whether what the worker measured can be believed and the learner's source wrote it by hand."""
    if reply.error == NOT_STARTED:
        return _verdict(check, entry, problem=f"{NOT_STARTED} (write {', '.join('exercises/' + name for name in entry.files)})",
                        hint=False)
    if reply.error:
        return _verdict(check, entry, problem=reply.error)
    doubt = unverified(check, entry, scrutiny) if scrutiny else ""
    if doubt:
        return _verdict(check, entry, problem=doubt)
    try:
        with time_limit(JUDGING_SECONDS):
            wrong = check.judge(reply.answer, expected)
    except CheckTimedOut:
        wrong = f"an answer that took more than {JUDGING_SECONDS:g} s to compare"
    except Exception as error:  # noqa: BLE001 - an answer of a shape no judge foresaw is a wrong answer
        wrong = f"an answer that could not be compared ({type(error).__name__})"
    if wrong is None:
        return Verdict(check.exercise, check.name, check.hidden, True)
    return _verdict(check, entry, found=wrong)


def unverified(check: Check, entry: Exercise, scrutiny: Scrutiny) -> str:
    """Why an answer cannot be believed, from the learner's source as read here: it names the library
    function it was to write by hand, or its modules can reach what the worker measures."""
    if check.procedure in BY_HAND:
        named = scrutiny.library_calls(BY_HAND[check.procedure], entry.files)
        if named:
            return f"PyTorch's own version does the work ({'; '.join(map(str, named[:3]))}): write it yourself"
    reaching = scrutiny.reaching if check.procedure in MEASURING else []
    if reaching:
        return (f"cannot be verified: {'; '.join(map(str, reaching[:3]))} can reach the grader's measurements in "
                "the worker; write it without")
    return ""


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
    worker = Worker(build_tree(root / "tree", submission.modules), setting.data_dir, setting.program,
                    setting.network, root, setting.limits, slot, setting.sandboxed)
    grade.flags += fence_flags(setting, worker.uid)
    live = workers if workers is not None else set()
    live.add(worker)
    scrutiny = Scrutiny(submission.modules)
    reaching = scrutiny.reaching
    if reaching:
        grade.flags.append(f"reaches around the grader ({'; '.join(map(str, reaching[:3]))}): "
                           "what the worker measured counts as unverified")
    interview = Interview(worker, setting, cancelled or threading.Event(), scrutiny, grade.not_started)
    try:
        deadline = started + setting.seconds
        grade.verdicts = interview.every_verdict(deadline)
        worker.stop()
        grade.flags += conduct_flags(interview.noticed, worker, interview.garbled)
        if interview.stopped_files:
            grade.output_tail = worker.output_tail()
    finally:
        worker.close()
        live.discard(worker)
        shutil.rmtree(root, ignore_errors=True)
    grade.seconds = time.monotonic() - started
    return grade


def fence_flags(setting: Setting, uid: int) -> list[str]:
    """How the submission was fenced in, when it was not in a sandbox."""
    account = "as a user of its own" if uid >= 0 else "as the grader's own user"
    return [] if setting.sandboxed else [f"graded WITHOUT a sandbox (--allow-unsandboxed), {account}"]


def conduct_flags(noticed: list[str], worker: Worker, garbled: int) -> list[str]:
    """What the submission tried that the sandbox stopped, as the instructor's flags.

    ``noticed`` comes from inside the sandbox (it can be hidden, never forged into marks);
    everything else is seen from outside: answers that were not data, processes left behind,
    memory and CPU time of all its processes together.
    """
    flags = list(noticed[:10])
    if garbled:
        flags.append(f"sent {garbled} answer(s) that were not plain data (forged or corrupted output)")
    if worker.lingering:
        flags.append(f"tried to outlive its run: {worker.lingering} process(es) still running beside the worker "
                     "were killed")
    if worker.over_limit:
        flags.append(f"took more than its {worker.limits.memory_bytes / 2**30:g} GiB of memory or one thread, all its "
                     f"processes together: stopped {worker.over_limit} time(s)")
    if worker.busiest > BUSY_THREADS:
        flags.append(f"kept {worker.busiest} threads or processes running at once where it is given one: it slowed "
                     "the learners graded beside it")
    return flags
