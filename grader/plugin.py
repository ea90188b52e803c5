"""The pytest plugin that grades ``exercises/``: kind failures, hints, timeouts and a scoreboard.

``exercises/conftest.py`` loads it. ``pytest exercises/`` grades the learner's code;
``pytest exercises/ --solutions`` runs the same checks against the reference.
"""

from __future__ import annotations

import json
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .catalog import Exercise, exercises
from .checks import CheckFailed, LearnerCodeBroken, Target

CHECK_TIMEOUT = 60  # seconds; a learner's infinite loop must not hang the whole run
TIMEOUT_MARK = "from pytest-timeout"

PASSED, NOT_STARTED, FAILED = "passed", "not started", "failed"


@dataclass
class Gradebook:
    """The outcome and hint of every check, by exercise number."""

    checks: dict[int, list[dict[str, str]]] = field(default_factory=lambda: defaultdict(list))

    def record(self, number: int, name: str, outcome: str, hint: str = "") -> None:
        self.checks[number].append({"check": name, "outcome": outcome, "hint": hint})

    def status(self, number: int) -> str:
        outcomes = [check["outcome"] for check in self.checks.get(number, [])]
        if not outcomes:
            return "not run"
        if all(outcome == PASSED for outcome in outcomes):
            return "done"
        if FAILED not in outcomes and PASSED not in outcomes:
            return NOT_STARTED
        return f"failing ({outcomes.count(PASSED)}/{len(outcomes)} checks pass)"


GRADEBOOK = pytest.StashKey[Gradebook]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "MNIST CNN course grader")
    group.addoption("--solutions", action="store_true", help="grade the reference solution instead of exercises/")
    group.addoption("--grader-report", metavar="PATH", help="also write the results as JSON to PATH")
    group.addoption("--check-timeout", type=float, default=CHECK_TIMEOUT, metavar="SECONDS",
                    help=f"stop a check that runs longer than this (default {CHECK_TIMEOUT})")


def pytest_configure(config: pytest.Config) -> None:
    for entry in exercises().values():
        config.addinivalue_line("markers", f"{entry.marker}: checks of exercise {entry.number}, {entry.title}")
    config.stash[GRADEBOOK] = Gradebook()
    # The scoreboard says what failed; a FAILED line per check would bury it. Skips keep their reasons.
    config.option.reportchars = "s"


def reference_target() -> Target:
    """The reference solution, wherever it is installed from."""
    import solutions

    return Target("solutions", Path(solutions.__file__).parent)


def graded_target(config: pytest.Config, checks_folder: Path) -> Target:
    """The learner's package beside the checks, or the reference with ``--solutions``."""
    if config.getoption("--solutions"):
        return reference_target()
    return Target("exercises", checks_folder)


@pytest.fixture
def learner(request: pytest.FixtureRequest) -> Target:
    """The code being graded: the ``exercises/`` folder these checks sit in, or the reference."""
    return graded_target(request.config, request.path.parent)


@pytest.fixture
def reference() -> Target:
    """The reference solution, for everything an exercise does not ask for."""
    return reference_target()


def exercise_of(item: pytest.Item) -> Exercise | None:
    for entry in exercises().values():
        if item.get_closest_marker(entry.marker):
            return entry
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(config.getoption("--check-timeout")))


def _check_name(item: pytest.Item) -> str:
    doc = getattr(item.function, "__doc__", None) or item.name
    return doc.strip().splitlines()[0]


def explain(entry: Exercise, check: str, error: BaseException) -> tuple[str, str, str]:
    """The outcome, hint key and message of a check that did not pass."""
    header = f"Exercise {entry.number} · {entry.title} — {check}"
    more = f"more help: python -m grader hint {entry.number}   ·   read {entry.reading}"
    if isinstance(error, NotImplementedError):
        return NOT_STARTED, "", f"{header}: not started ({_where_to_write(entry)})"
    if isinstance(error, CheckFailed):
        body = f"  expected: {error.expected}\n  found:    {error.found}\n  hint:     {entry.hint(error.hint)}"
        return FAILED, error.hint, f"{header}\n{_wrap(body)}\n  {more}"
    if isinstance(error, LearnerCodeBroken):
        return FAILED, "", f"{header}\n{_wrap('  problem:  ' + str(error))}\n  {more}"
    if TIMEOUT_MARK in str(error):
        message = (f"  stopped:  the check ran out of time ({str(error).split('(')[1].split(')')[0]}). "
                   "Look for a loop that never ends, "
                   "e.g. a while loop whose condition never changes, or a loop over a growing list.")
        return FAILED, "", f"{header}\n{_wrap(message)}\n  {more}"
    message = f"  problem:  {type(error).__name__}: {error}"
    return FAILED, "", f"{header}\n{_wrap(message)}\n  {more}"


def _where_to_write(entry: Exercise) -> str:
    return f"write exercises/{entry.module}" if entry.module else "finish exercises 1 to 3"


def _wrap(text: str) -> str:
    return "\n".join(
        textwrap.fill(line, width=100, subsequent_indent=" " * 12) for line in text.splitlines()
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    entry = exercise_of(item)
    if entry is None or report.when == "teardown" or (report.when == "setup" and report.passed) or report.skipped:
        return report
    book = item.config.stash[GRADEBOOK]
    if report.passed:
        book.record(entry.number, _check_name(item), PASSED)
        return report
    outcome, hint, message = explain(entry, _check_name(item), call.excinfo.value)
    book.record(entry.number, _check_name(item), outcome, hint)
    report.longrepr = message
    report.outcome = "failed"
    return report


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    book = config.stash[GRADEBOOK]
    if not book.checks:
        return
    graded = "the reference solution" if config.getoption("--solutions") else "your progress"
    write = terminalreporter.write_line
    terminalreporter.section(f"MNIST CNN course: {graded}")
    statuses = {number: book.status(number) for number in exercises()}
    symbols = {"done": "✔", NOT_STARTED: "·", "not run": " "}
    for number, entry in exercises().items():
        write(f" {symbols.get(statuses[number], '✘')} {number}  {entry.title:<28} {statuses[number]}")
    complete = sum(status == "done" for status in statuses.values())
    write(f"\n{complete}/{len(statuses)} exercises complete.")
    upcoming = [number for number, status in statuses.items() if status not in ("done", "not run")]
    if upcoming:
        entry = exercises()[upcoming[0]]
        write(f"Next: exercise {entry.number}, {entry.title}. Read {entry.reading};")
        write(f"      edit exercises/{entry.module or '(exercises 1-3)'}, then run: {entry.command}")
        write(f"      stuck? python -m grader hint {entry.number}")
    elif complete == len(statuses):
        write("All done: train your own model with  python -m exercises train  and try your own drawing.")
    write("These are the public checks: passing them means your code behaves like the reference on them.")
    report_path = config.getoption("--grader-report")
    if report_path:
        payload = {f"ex{number}": {"status": statuses[number], "checks": book.checks.get(number, [])}
                   for number in exercises()}
        Path(report_path).write_text(json.dumps(payload, indent=2))
