"""The pytest plugin that grades ``exercises/``: kind failures, hints, timeouts and a scoreboard.

``exercises/conftest.py`` loads it. ``pytest exercises/`` grades the learner's code;
``pytest exercises/ --solutions`` runs the same checks against the reference.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import textwrap
import types
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from course.threads import share_cores

from .answers import recording_session, write_recorded
from .catalog import Exercise, exercises
from .checks import CheckFailed, FollowsFrom, LearnerCodeBroken, Target, where_in
from .clock import CheckTimedOut, seconds_within, time_limit
from .progress import (
    RENUMBERED_NOTE, dropped_by_the_move, load_results, moved_note, record, remembered, renumbered_since_last_run,
    save_results,
)

CHECK_TIMEOUT = 60  # seconds per check; a learner's endless loop must not hang the whole run
END_TO_END_FACTOR = 10  # a check without a module of its own trains a model: it gets ten times as long

PASSED, NOT_STARTED, FAILED = "passed", "not started", "failed"


@dataclass
class Gradebook:
    """The outcome and hint of every check, by exercise number."""

    checks: dict[int, list[dict[str, str]]] = field(default_factory=lambda: defaultdict(list))
    collected: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    finished: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def complete(self, number: int) -> bool:
        """Whether every collected check of the exercise ran (no -k, -x or Ctrl-C cut it short)."""
        return self.collected[number] > 0 and self.finished[number] == self.collected[number]

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
EXERCISES_FOLDER = pytest.StashKey[Path]()  # the learner's exercises/, where progress is remembered


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "MNIST CNN course grader")
    group.addoption("--solutions", action="store_true", help="grade the reference solution instead of exercises/")
    group.addoption("--record-answers", metavar="PATH",
                    help="(instructors, with --solutions) store the reference's answers the checks ask for in PATH")
    group.addoption("--grader-report", metavar="PATH", help="also write the results as JSON to PATH")
    group.addoption("--check-timeout", type=float, default=CHECK_TIMEOUT, metavar="SECONDS",
                    help=f"stop a check that runs longer than this, not counting the time to prepare its data "
                         f"(default {CHECK_TIMEOUT}; end-to-end checks get {END_TO_END_FACTOR} times as long; "
                         "0 for no limit)")


def pytest_configure(config: pytest.Config) -> None:
    for entry in exercises().values():
        config.addinivalue_line("markers", f"{entry.marker}: checks of exercise {entry.number}, {entry.title}")
    config.stash[GRADEBOOK] = Gradebook()
    # The grader keeps the time itself (see time_limit_of): pytest-timeout would count the fixtures'
    # time against the learner, print thread dumps and announce a limit that is not the one applied.
    timeout_plugin = config.pluginmanager.get_plugin("timeout")
    if timeout_plugin is not None:
        config.pluginmanager.unregister(timeout_plugin)
    # The scoreboard says what failed; a FAILED line per check would bury it. Skips keep their reasons.
    config.option.reportchars = "s"


def reference_target() -> Target:
    """The reference solution, wherever it is installed from; a one-line error where there is none (a release)."""
    spec = importlib.util.find_spec("solutions")
    if spec is None or spec.origin is None:
        raise pytest.UsageError("the reference answers (solutions/) are not part of this repository")
    return Target("solutions", Path(spec.origin).parent)


def graded_target(config: pytest.Config, checks_folder: Path) -> Target:
    """The learner's package beside the checks, or the reference with ``--solutions``."""
    if config.getoption("--solutions"):
        return reference_target()
    return Target("exercises", checks_folder)


@pytest.fixture
def learner(request: pytest.FixtureRequest) -> Target:
    """The code being graded: the ``exercises/`` folder these checks sit in, or the reference."""
    return graded_target(request.config, request.path.parent)


def exercise_of(item: pytest.Item) -> Exercise | None:
    for entry in exercises().values():
        if item.get_closest_marker(entry.marker):
            return entry
    return None


def time_limit_of(item: pytest.Item) -> float:
    """Seconds the check ``item`` may run: ``--check-timeout``, ten times that end to end."""
    limit = item.config.getoption("--check-timeout")
    entry = exercise_of(item)
    return limit * END_TO_END_FACTOR if entry is not None and not entry.module else limit


def pytest_report_header(config: pytest.Config) -> str:
    limit = config.getoption("--check-timeout")
    if limit <= 0:
        return "grader: checks run without a time limit (--check-timeout=0)"
    return (f"grader: each check may run {limit:g} s, end to end {limit * END_TO_END_FACTOR:g} s, "
            "not counting the time to prepare its data (--check-timeout)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the checks in the exercises' order, as the lessons take them (pytest's own would put 10 before 2);
    recording the reference's answers runs only the checks that ask for some."""
    def number(item: pytest.Item) -> int:
        entry = exercise_of(item)
        return entry.number if entry is not None else 0

    items.sort(key=number)
    if recording_session(config):
        unused = [item for item in items if "answers" not in getattr(item, "fixturenames", ())]
        config.hook.pytest_deselected(items=unused)
        items[:] = [item for item in items if item not in unused]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if recording_session(session.config) and exitstatus == 0:
        write_recorded(session.config)


def pytest_collection_finish(session: pytest.Session) -> None:
    book = session.config.stash[GRADEBOOK]
    for item in session.items:
        entry = exercise_of(item)
        if entry is not None:
            book.collected[entry.number] += 1
            session.config.stash[EXERCISES_FOLDER] = item.path.parent.resolve()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    share_cores()  # a check run beside other programs uses only the cores they leave free
    if exercise_of(item) is None:
        return (yield)
    with time_limit(time_limit_of(item)):
        return (yield)


def _check_name(item: pytest.Item) -> str:
    doc = getattr(item.function, "__doc__", None) or item.name
    return doc.strip().splitlines()[0]


def explain(entry: Exercise, check: str, error: BaseException, timing: str = "") -> tuple[str, str, str]:
    """The outcome, hint key and message of a check that did not pass (``timing`` explains a timeout)."""
    header = f"Exercise {entry.number} · {entry.title} — {check}"
    more = f"more help: python -m grader hint {entry.number}   ·   read {entry.reading}"
    if isinstance(error, NotImplementedError):
        return NOT_STARTED, "", f"{header}: not started ({_where_to_write(entry)})"
    if isinstance(error, FollowsFrom):
        return FAILED, error.hint, f"{header}\n{_wrap('  follows from the failing check: ' + error.check)}"
    if isinstance(error, CheckFailed):
        body = f"  expected: {error.expected}\n  found:    {error.found}\n  hint:     {entry.hint(error.hint)}"
        return FAILED, error.hint, f"{header}\n{_wrap(body)}\n  {more}"
    if isinstance(error, LearnerCodeBroken):
        return FAILED, "", f"{header}\n{_wrap('  problem:  ' + str(error))}\n  {more}"
    if isinstance(error, CheckTimedOut):
        return FAILED, "", f"{header}\n{_wrap('  stopped:  ' + timing)}\n  {more}"
    message = f"  problem:  {type(error).__name__}: {error}"
    return FAILED, "", f"{header}\n{_wrap(message)}\n  {more}"


def _where_to_write(entry: Exercise) -> str:
    return f"write exercises/{entry.module}" if entry.module else f"finish {_files(entry)}"


def _files(entry: Exercise) -> str:
    return ", ".join(f"exercises/{name}" for name in entry.files)


def explain_timeout(item: pytest.Item, error: BaseException) -> str:
    """Tell an endless loop from a slow machine: time the reference on the same check, here and now
    (where there is no reference, as in a class's release, say what to look for)."""
    limit, per_check = time_limit_of(item), item.config.getoption("--check-timeout")
    place = where_in(error, graded_target(item.config, item.path.parent).folder)
    stopped_at = f" It was stopped at {place.strip(' ()')}." if place else ""
    if importlib.util.find_spec("solutions") is None:
        return (f"your code was still running after {limit:g} s. Look for a loop that never ends, e.g. a while loop "
                f"whose condition never changes, or a loop over a list that grows.{stopped_at} (If your code is only "
                f"slow, or this machine busy, allow more time: pytest exercises/ --check-timeout={2 * per_check:g}.)")
    parameters = inspect.signature(item.obj).parameters
    arguments = {name: value for name, value in item.funcargs.items() if name in parameters}
    arguments["learner"] = reference_target()
    reference = seconds_within(limit, lambda: item.obj(**arguments))
    needed = (limit if reference is None else reference) * per_check / limit  # in --check-timeout's units
    more_time = max(2 * per_check, math.ceil(3 * needed / 10) * 10)
    if reference is not None and reference < limit / 4:
        return (f"your code was still running after {limit:g} s, while the reference does the same check in "
                f"{reference:.1f} s on this machine right now. Look for a loop that never ends, e.g. a while loop "
                f"whose condition never changes, or a loop over a list that grows.{stopped_at} "
                f"(If your code is only slow, allow more time: pytest exercises/ --check-timeout={more_time:g}.)")
    needs = f"{reference:.0f} s" if reference is not None else f"more than {limit:g} s"
    return (f"the check ran out of its {limit:g} s, but this machine is busy or slow: the reference itself needs "
            f"{needs} for the same check here. Close other programs, or allow more time: "
            f"pytest exercises/ --check-timeout={more_time:g}")


def _wrap(text: str) -> str:
    return "\n".join(
        textwrap.fill(line, width=100, subsequent_indent=" " * 12) for line in text.splitlines()
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    if call.excinfo is not None and exercise_of(item) is not None:
        call.excinfo = _with_line_numbers(call.excinfo)
    report = yield
    entry = exercise_of(item)
    if entry is None or report.when == "teardown" or (report.when == "setup" and report.passed):
        return report
    book = item.config.stash[GRADEBOOK]
    book.finished[entry.number] += 1
    if report.skipped:
        return report
    if report.passed:
        book.record(entry.number, _check_name(item), PASSED)
        return report
    error = call.excinfo.value
    timing = explain_timeout(item, error) if isinstance(error, CheckTimedOut) else ""
    outcome, hint, message = explain(entry, _check_name(item), error, timing)
    book.record(entry.number, _check_name(item), outcome, hint)
    report.longrepr = message
    report.outcome = "failed"
    return report


def _with_line_numbers(excinfo: pytest.ExceptionInfo) -> pytest.ExceptionInfo:
    """The same exception without the traceback entries that have no line number.

    A time limit's signal can interrupt code at an instruction without one, and pytest's own
    report of such a traceback fails (an INTERNALERROR that ends the whole run)."""
    entries, tb = [], excinfo.tb
    while tb is not None:
        entries.append(tb)
        tb = tb.tb_next
    kept = [entry for entry in entries if entry.tb_lineno is not None]
    if len(kept) == len(entries):
        return excinfo
    rebuilt = None
    for entry in reversed(kept):
        rebuilt = types.TracebackType(rebuilt, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return pytest.ExceptionInfo.from_exception(excinfo.value.with_traceback(rebuilt))


def _remember(config: pytest.Config, book: Gradebook, statuses: dict[int, str]) -> dict[int, str]:
    """Save this run's complete results and return the remembered results of the exercises not run now."""
    folder = config.stash.get(EXERCISES_FOLDER, None)
    if folder is None or config.getoption("--solutions"):
        return {}
    results, earlier = load_results(folder), {}
    for number, entry in exercises().items():
        if statuses[number] != "not run" and book.complete(number):
            results[entry.marker] = record(folder, entry, statuses[number], book.checks.get(number, []),
                                           results.get(entry.marker))
        elif statuses[number] == "not run":
            kept = remembered(folder, entry, results)
            if kept is not None:
                when = datetime.fromisoformat(kept["finished"]).strftime("%d %b %H:%M")
                earlier[number] = f"{kept['status']}   (earlier run, {when})"
            elif entry.marker in results:
                earlier[number] = "not run   (changed since its last run)"
    try:
        save_results(folder, results)
    except OSError:  # a read-only copy of the exercises still gets graded
        pass
    return earlier


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    book = config.stash[GRADEBOOK]
    if not book.checks:
        return
    graded = "the reference solution" if config.getoption("--solutions") else "your progress"
    write = terminalreporter.write_line
    terminalreporter.section(f"MNIST CNN course: {graded}")
    statuses = {number: book.status(number) for number in exercises()}
    folder = config.stash.get(EXERCISES_FOLDER, None)
    if folder is not None and not config.getoption("--solutions") and renumbered_since_last_run(folder):
        write(RENUMBERED_NOTE)
    dropped = dropped_by_the_move(folder) if folder is not None and not config.getoption("--solutions") else []
    if dropped:
        write(moved_note(dropped))
    earlier = _remember(config, book, statuses)
    shown = {number: earlier.get(number, status) for number, status in statuses.items()}
    symbols = {"done": "✔", NOT_STARTED: "·", "not run": " "}
    width = max(len(entry.title) for entry in exercises().values())
    for number, entry in exercises().items():
        symbol = symbols.get(shown[number].split("   (")[0], "✘")
        write(f" {symbol} {number:>2}  {entry.title:<{width}}  {shown[number]}")
    complete = sum(status.startswith("done") for status in shown.values())
    write(f"\n{complete}/{len(shown)} exercises complete.")
    if any("earlier run" in status for status in earlier.values()):
        write("Results marked 'earlier run' are remembered from a run before this one, "
              "until you change the exercise's file.")
    upcoming = [number for number, status in shown.items() if not status.startswith(("done", "not run"))]
    if upcoming:
        entry = exercises()[upcoming[0]]
        write(f"Next: exercise {entry.number}, {entry.title}. Read {entry.reading};")
        write(f"      {'edit exercises/' + entry.module if entry.module else 'fix ' + _files(entry)}, "
              f"then run: {entry.command}")
        write(f"      stuck? python -m grader hint {entry.number}")
    elif complete == len(shown):
        write("All done: train your own model with  python -m exercises train  and try your own drawing.")
    write("These are the public checks: passing them means your code behaves like the reference on them.")
    report_path = config.getoption("--grader-report")
    if report_path:  # this run's results only: a class grader must not trust remembered ones
        payload = {f"ex{number}": {"status": statuses[number], "checks": book.checks.get(number, [])}
                   for number in exercises()}
        Path(report_path).write_text(json.dumps(payload, indent=2))
