"""A pytest plugin the class grader loads: it logs every check as it finishes, one JSON line each.

The log survives a run that is killed at its time limit, so the checks that did finish
still count, and it keeps the message each failing check showed.
"""

from __future__ import annotations

import gc
import json
import re
import sys
from pathlib import Path

import pytest

EXERCISE_MARKER = re.compile(r"ex\d+")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("grader").addoption("--recorder-log", metavar="PATH", help="(class grading) log checks to PATH")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--recorder-log")
    if path:
        config.pluginmanager.register(Recorder(Path(path)), "grader-recorder")


def exercise_of(keywords) -> str:
    """The ``exN`` marker among a check's keywords, or ``""``."""
    return next((name for name in keywords if EXERCISE_MARKER.fullmatch(name)), "")


class Recorder:
    """Appends the checks pytest collected, then each check's outcome as soon as it is known."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ran_out_of_memory = False

    def _write(self, entry: dict) -> None:
        with self.path.open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        checks = [{"check": item.nodeid, "exercise": exercise_of(item.keywords)} for item in session.items]
        self._write({"collected": [check for check in checks if check["exercise"]]})

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        exercise = exercise_of(report.keywords)
        if not exercise or not (report.when == "call" or (report.when == "setup" and not report.passed)):
            return
        self._write({"check": report.nodeid, "exercise": exercise, "outcome": report.outcome,
                     "message": report.longreprtext if report.failed else ""})
        self.ran_out_of_memory |= report.failed and "MemoryError" in report.longreprtext

    def pytest_runtest_logfinish(self) -> None:
        """After a check ran out of memory, free what its failure still holds before the next one starts.

        The failure's traceback keeps the learner's frames, and with them a runaway list, alive:
        pytest keeps the last failure for post-mortem debugging, and the rest waits for the garbage
        collector. Without this, every check after it would run out of memory too.
        """
        if self.ran_out_of_memory:
            self.ran_out_of_memory = False
            sys.last_type = sys.last_value = sys.last_traceback = None
            gc.collect()
