"""Time limits for checks, so that a learner's endless loop cannot hang the grader.

Only the check itself is timed: preparing its data and the trained reference model
(pytest fixtures) never counts against the learner's time.
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class CheckTimedOut(BaseException):
    """A check ran longer than its limit. A ``BaseException``, so that ``except Exception`` in learner code
    cannot swallow it."""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CheckTimedOut` in the block once ``seconds`` have passed (no limit when ``seconds <= 0``)."""
    if seconds <= 0:
        yield
        return
    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        def stop(signum, frame):
            raise CheckTimedOut(seconds)

        previous = signal.signal(signal.SIGALRM, stop)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        return
    # Without SIGALRM (Windows): raise the exception in this thread from a timer thread.
    target = threading.get_ident()
    timer = threading.Timer(seconds, lambda: ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(target), ctypes.py_object(CheckTimedOut)))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def seconds_within(limit: float, work: Callable[[], object]) -> float | None:
    """How long ``work`` takes, whatever it raises; ``None`` if it needs more than ``limit`` seconds."""
    started = time.perf_counter()
    try:
        with time_limit(limit):
            work()
    except CheckTimedOut:
        return None
    except Exception:  # noqa: BLE001 - only the time matters here
        pass
    return time.perf_counter() - started
