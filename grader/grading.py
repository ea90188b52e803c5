"""``python -m grader grade``: grade a whole class without trusting the submissions.

Each submission's exercise modules are graded by the instructor's released checks, plus
hidden checks learners never see, each submission in its own sandboxed process (see
:mod:`grader.sandbox`), several at a time. The results go to a CSV file with one row per
learner, one Markdown feedback file per learner, and a summary table.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import queue
import re
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from solutions.errors import CourseError

from .catalog import exercises
from .sandbox import Limits, Run, network_isolation, run_checks, runs_as_nobody
from .stubs import expected_exercises
from .submissions import Submission, find_submissions, learner_modules, released_checks

BUILTIN_HIDDEN = Path(__file__).parent / "hidden"
PASSED = "passed"


@dataclass
class Score:
    """One exercise's result in one set of checks (public or hidden)."""

    status: str
    passed: int
    total: int


@dataclass
class Grade:
    """Everything graded about one learner."""

    learner: str
    source: Path
    flags: list[str] = field(default_factory=list)
    public: dict[str, Score] = field(default_factory=dict)
    hidden: dict[str, Score] = field(default_factory=dict)
    messages: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: {"public": [], "hidden": []})
    stopped: dict[str, str] = field(default_factory=dict)  # run → why it did not finish
    output_tail: str = ""
    seconds: float = 0.0

    def status(self, key: str) -> str:
        """The public status of exercise ``key`` (``ex3`` ...), as the learner's scoreboard shows it."""
        score = self.public.get(key)
        return score.status if score else "not graded"

    def totals(self, kind: str) -> tuple[int, int]:
        scores = (self.public if kind == "public" else self.hidden).values()
        return sum(score.passed for score in scores), sum(score.total for score in scores)


@dataclass(frozen=True)
class Setting:
    """What every submission is graded with."""

    given: dict[str, bytes]  # generated given modules, stubs of the exercise modules, the released checks
    released: dict[str, bytes]  # the released check files and conftest.py
    hidden: dict[str, bytes]  # hidden check files, under the names they get in the sandbox
    limits: Limits
    data_dir: Path
    workspace: Path


def hidden_checks(folders: list[Path], builtin: bool = True) -> dict[str, bytes]:
    """Hidden check files (``test_*.py``), renamed so that the public run never collects them.

    Raises:
        CourseError: a folder is missing or holds no ``test_*.py``.
    """
    sources = [("builtin", BUILTIN_HIDDEN)] if builtin else []
    sources += [(f"hidden{index}", folder) for index, folder in enumerate(folders, start=1)]
    files = {}
    for prefix, folder in sources:
        found = sorted(folder.glob("test_*.py")) if folder.is_dir() else []
        if not found:
            raise CourseError(f"{folder} holds no hidden checks: put test_*.py files in it, each marked with its "
                              "exercise (pytestmark = pytest.mark.ex7)")
        files.update({f"{prefix}_{path.name}": path.read_bytes() for path in found})
    return files


def score_run(run: Run) -> dict[str, Score]:
    """Each exercise's status and checks passed, from the plugin's report, else from what finished in time."""
    scores = _scores_from_report(run.report) if not run.stopped else None
    if scores is not None:
        return scores
    scores = {}
    outcomes = {check["check"]: check.get("outcome") for check in run.checks}
    for exercise in dict.fromkeys(check["exercise"] for check in run.collected):
        names = [check["check"] for check in run.collected if check["exercise"] == exercise
                 and outcomes.get(check["check"]) != "skipped"]
        passed = sum(outcomes.get(name) == PASSED for name in names)
        if all(name in outcomes for name in names):
            status = "done" if passed == len(names) else f"failing ({passed}/{len(names)} checks pass)"
        else:
            status = f"stopped: {run.stopped or 'no report'}"
        scores[exercise] = Score(status, passed, len(names))
    return scores


def _scores_from_report(report: dict | None) -> dict[str, Score] | None:
    """The plugin's ``--grader-report`` JSON as scores; ``None`` if it is missing or malformed."""
    try:
        scores = {}
        for key, value in report.items():
            checks = [check for check in value["checks"] if isinstance(check, dict)]
            passed = sum(check.get("outcome") == PASSED for check in checks)
            if checks:
                scores[key] = Score(str(value["status"]), passed, len(checks))
        return scores
    except (AttributeError, KeyError, TypeError):
        return None


def grade_submission(submission: Submission, setting: Setting, core: int = -1) -> Grade:
    """Grade one submission: its modules with the public checks, then with the hidden ones (on ``core``)."""
    started = time.monotonic()
    grade = Grade(submission.learner, submission.source, flags=[*submission.flags])
    if submission.error:
        grade.flags.append(f"not graded: {submission.error}")
        return grade
    grade.flags += submission.tamper_flags(setting.released)
    missing = [name for name in learner_modules() if name not in submission.modules]
    if missing:
        grade.flags.append(f"missing {', '.join(missing)} (graded as the stub)")
    modules = {**setting.given, **submission.modules}
    root = Path(tempfile.mkdtemp(prefix="learner-", dir=setting.workspace))
    root.chmod(0o755)
    deadline = started + setting.limits.seconds
    try:
        public = run_checks(root / "public", {**modules, **setting.released}, ["."], setting.limits,
                            setting.data_dir, deadline, core)
        grade.public, grade.messages["public"] = score_run(public), _messages(public)
        runs = {"public": public}
        if setting.hidden and not public.stopped:
            hidden = run_checks(root / "hidden", {**modules, "conftest.py": setting.released["conftest.py"],
                                                  **setting.hidden}, list(setting.hidden), setting.limits,
                                setting.data_dir, deadline, core)
            grade.hidden, grade.messages["hidden"] = score_run(hidden), _messages(hidden)
            runs["hidden"] = hidden
        for kind, run in runs.items():
            if run.stopped:
                grade.stopped[kind] = run.stopped
                limit = f" of {setting.limits.seconds:g} s" if run.stopped == "time limit" else ""
                grade.flags.append(f"{kind} checks stopped: {run.stopped}{limit}")
                grade.output_tail = "\n".join(run.output.splitlines()[-40:])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    grade.seconds = time.monotonic() - started
    return grade


def _messages(run: Run) -> list[tuple[str, str]]:
    """(exercise, message) of every failing check, in the order they ran."""
    return [(check["exercise"], check["message"]) for check in run.checks
            if check.get("outcome") == "failed" and check.get("message")]


def grade_class(submissions: list[Submission], setting: Setting, workers: int, progress: bool = True) -> list[Grade]:
    """Grade every submission, ``workers`` at a time, with a progress bar; results in submission order.

    Each worker has a core of its own (shared in turn when there are more workers than cores).
    """
    from tqdm import tqdm

    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    free: queue.Queue[int] = queue.Queue()
    for slot in range(workers):
        free.put(cores[slot % len(cores)] if cores else -1)

    def grade_on_a_free_core(submission: Submission) -> Grade:
        core = free.get()
        try:
            return grade_submission(submission, setting, core)
        except Exception as error:  # noqa: BLE001 - one submission's trouble must not end the class's grading
            return Grade(submission.learner, submission.source, flags=[f"not graded: {type(error).__name__}: {error}"])
        finally:
            free.put(core)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(grade_on_a_free_core, submission): index
                   for index, submission in enumerate(submissions)}
        grades: list[Grade | None] = [None] * len(submissions)
        for future in tqdm(as_completed(futures), total=len(futures), desc="grading", unit="learner",
                           disable=not progress, file=sys.stderr):
            grades[futures[future]] = future.result()
    return grades


# --- reports -------------------------------------------------------------------------------------

def _count(score: Score | None) -> str:
    return f"{score.passed} of {score.total}" if score else ""


def csv_rows(grades: list[Grade]) -> list[dict[str, object]]:
    """One row per learner: each exercise's status, public and hidden checks passed, time, flags."""
    rows = []
    for grade in grades:
        row: dict[str, object] = {"learner": grade.learner, "source": str(grade.source)}
        row["exercises_done"] = sum(grade.status(f"ex{number}") == "done" for number in exercises())
        for number in exercises():
            key = f"ex{number}"
            row[key] = grade.status(key)
            row[f"{key}_public"] = _count(grade.public.get(key))
            row[f"{key}_hidden"] = _count(grade.hidden.get(key))
        row["public_passed"], row["public_checks"] = grade.totals("public")
        row["hidden_passed"], row["hidden_checks"] = grade.totals("hidden")
        row["seconds"] = round(grade.seconds, 1)
        row["flags"] = "; ".join(grade.flags)
        rows.append(row)
    return rows


def write_csv(grades: list[Grade], path: Path) -> None:
    """Write the CSV all at once: an interrupted run leaves no half-written file."""
    rows = csv_rows(grades)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(partial, path)


def feedback_markdown(grade: Grade) -> str:
    """A learner's feedback: the scoreboard, the flags, and every message a failing check showed."""
    lines = [f"# Feedback for {grade.learner}", "",
             "| Exercise | Status | Public checks passed | Further checks passed |", "|---|---|---|---|"]
    for number, entry in exercises().items():
        key = f"ex{number}"
        lines.append(f"| {number} · {entry.title} | {grade.status(key)} | {_count(grade.public.get(key)) or '–'} "
                     f"| {_count(grade.hidden.get(key)) or '–'} |")
    if grade.flags:
        lines += ["", "Noticed while grading:", "", *[f"- {flag}" for flag in grade.flags]]
        if any(flag.startswith(("edited", "added")) for flag in grade.flags):
            lines += ["", "Check files and conftest.py are always the released ones: edits to them change nothing."]
    sections = [("public", "What the checks said"),
                ("hidden", "What the further checks said (checks you did not see, on other data)")]
    for kind, title in sections:
        # A stub's checks all say "not started"; the scoreboard already does.
        said = [message.rstrip() for key, message in grade.messages[kind] if grade.status(key) != "not started"]
        if said:
            lines += ["", f"## {title}", "", fenced("\n\n".join(said))]
    if grade.stopped:
        why = ", ".join(f"{kind} checks: {reason}" for kind, reason in grade.stopped.items())
        lines += ["", "## The run was stopped", "", f"{why}. The last lines it printed:", "", fenced(grade.output_tail)]
    return "\n".join(lines) + "\n"


def fenced(text: str) -> str:
    """``text`` as a Markdown code block whose fence no backticks inside it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def feedback_name(learner: str) -> str:
    """A file name for a learner's feedback that stays inside the feedback folder."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", learner).lstrip(".") or "learner"


SYMBOLS = {"done": "✔", "not started": "·", "not graded": "-"}


def _cell(status: str, score: Score | None) -> str:
    if status in SYMBOLS:
        return SYMBOLS[status]
    counts = f" {score.passed}/{score.total}" if score else ""
    if status.startswith("stopped"):
        return "⏱" + counts
    return "✘" + counts


def summary_table(grades: list[Grade]) -> str:
    """The class at a glance: one line per learner."""
    width = max([len("learner"), *(len(grade.learner) for grade in grades)])
    numbers = list(exercises())
    header = f"{'learner':<{width}}  " + "".join(f"{'ex' + str(n):<8}" for n in numbers)
    header += f"{'public':>9}{'hidden':>9}{'time':>8}  flags"
    lines = [header, "-" * len(header)]
    for grade in grades:
        cells = "".join(f"{_cell(grade.status(f'ex{n}'), grade.public.get(f'ex{n}')):<8}" for n in numbers)
        public, hidden = grade.totals("public"), grade.totals("hidden")
        flags = "; ".join(grade.flags)
        lines.append(f"{grade.learner:<{width}}  {cells}{public[0]:>4}/{public[1]:<4}{hidden[0]:>4}/{hidden[1]:<4}"
                     f"{grade.seconds:>7.0f}s  {flags[:60] + ('…' if len(flags) > 60 else '')}")
    lines += ["", "✔ done   · not started   ✘ failing (public checks passed/run)   ⏱ stopped at the time limit"
              "   - not graded"]
    return "\n".join(lines)


# --- command line --------------------------------------------------------------------------------

def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be more than 0")
        return value
    return parse


def add_grade_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``grade`` to ``python -m grader``'s subcommands."""
    parser = commands.add_parser(
        "grade", help="(instructors) grade a class's submissions, each in a sandbox",
        description="Grade learners' exercise modules with the released and hidden checks, each submission "
                    "in its own process with time and memory limits and no network.")
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                        help="a learner's exercises/ folder, a .zip of one, or a folder of them (one per learner)")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV to write (default grades.csv)")
    parser.add_argument("--feedback", type=Path, help="folder for each learner's Markdown feedback "
                        "(default: feedback/ beside the CSV)")
    parser.add_argument("--hidden", type=Path, action="append", default=[], metavar="DIR",
                        help="a folder of your own hidden checks (test_*.py); may be given more than once")
    parser.add_argument("--no-builtin-hidden", action="store_true", help="skip the course's built-in hidden checks")
    parser.add_argument("--workers", type=_positive(int), default=os.cpu_count() or 1,
                        help="submissions graded at once (default: the number of cores, %(default)s)")
    parser.add_argument("--timeout", type=_positive(float), default=Limits.seconds, metavar="SECONDS",
                        help="wall time per submission, public and hidden checks together (default %(default)g)")
    parser.add_argument("--check-timeout", type=_positive(float), default=Limits.check_seconds, metavar="SECONDS",
                        help="time per check (default %(default)g)")
    parser.add_argument("--memory", type=_positive(float), default=Limits.memory_bytes / 2**30, metavar="GIB",
                        help="memory per submission in GiB (default %(default)g)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _shared_data(workspace: Path) -> Path:
    """One read-only copy of verified MNIST for every sandbox, so that no learner can spoil the instructor's."""
    from solutions.data import RAW_MD5, prepare_mnist

    source = prepare_mnist(download=False) / "MNIST" / "raw"
    raw = workspace / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in RAW_MD5:
        shutil.copyfile(source / name, raw / name)
        (raw / name).chmod(0o444)
    return workspace / "data"


def isolation_summary(limits: Limits) -> str:
    """One line on how submissions are fenced in on this machine."""
    network = "no network" if network_isolation() else "NETWORK NOT ISOLATED (no usable unshare on this system)"
    account = ""
    if runs_as_nobody():
        account = ", as nobody"
    elif hasattr(os, "geteuid") and os.geteuid() == 0:
        account = ", AS ROOT (the account nobody cannot run this Python)"
    return (f"each submission: own process, {limits.seconds:g} s, {limits.memory_bytes / 2**30:g} GiB, "
            f"{limits.check_seconds:g} s per check, {network}{account}")


def grade_command(args: argparse.Namespace) -> int:
    """Run ``python -m grader grade`` with parsed arguments; returns the exit status."""
    if sys.platform == "win32":
        print("error: grading a class needs Linux or macOS (on Windows, use WSL)", file=sys.stderr)
        return 2
    try:
        submissions = find_submissions(args.submissions)
        hidden = hidden_checks(args.hidden, builtin=not args.no_builtin_hidden)
        released = released_checks()
    except (CourseError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    limits = Limits(seconds=args.timeout, memory_bytes=int(args.memory * 2**30), check_seconds=args.check_timeout)
    given = {name: text.encode() for name, text in expected_exercises().items()}
    workspace = Path(tempfile.mkdtemp(prefix="grader-"))
    workspace.chmod(0o755)  # the sandbox may run as nobody
    try:
        data_dir = _shared_data(workspace)
        setting = Setting(given, released, hidden, limits, data_dir, workspace)
        print(f"Grading {len(submissions)} submission(s), {args.workers} at a time; {isolation_summary(limits)}",
              file=sys.stderr)
        started = time.monotonic()
        grades = grade_class(submissions, setting, args.workers, progress=not args.quiet)
        elapsed = time.monotonic() - started
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    write_csv(grades, args.out)
    feedback = args.feedback or args.out.parent / "feedback"
    feedback.mkdir(parents=True, exist_ok=True)
    for grade in grades:
        (feedback / f"{feedback_name(grade.learner)}.md").write_text(feedback_markdown(grade), encoding="utf-8")
    print(summary_table(grades))
    print(f"\n{len(grades)} submission(s) graded in {elapsed:.0f} s. Grades: {args.out}   Feedback: {feedback}/")
    return 0

