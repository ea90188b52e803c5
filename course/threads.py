"""How PyTorch's CPU threads share the machine with other programs.

PyTorch runs each operator on a team of OpenMP threads, one per core, and between two
operators the idle threads spin, waiting for the next one. On an idle machine that is the
fastest way to wait. When anything else wants the cores (a browser, a second training, a
test run), the spinning threads take the time slices the work needs, and the course's small
operators wait often: on 2 busy cores a training step ran 5 to 20 times slower (see
lesson 7, "Sharing the machine"). Two settings fix it, and every program of the course
applies both:

- :func:`configure_threads`, before ``torch`` is imported, shortens the spin
  (``GOMP_SPINCOUNT``): idle threads still catch the next operator of the same step, then
  sleep instead of spinning through the gap between steps;
- :func:`share_cores`, called between steps, uses one thread for each core that the other
  programs leave free, measured over the last half second.

A value set in the environment always wins: ``OMP_NUM_THREADS`` fixes the number of
threads (and turns :func:`share_cores` off), ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` how
they wait.
"""

from __future__ import annotations

import os
import time

SPIN_COUNT = 10_000  # libgomp's default is 300,000; at 10,000 the idle speed is unchanged (lesson 7)
REMEASURE_SECONDS = 0.5
WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
THREAD_SETTING = "OMP_NUM_THREADS"


def configure_threads() -> None:
    """Shorten how long PyTorch's idle threads spin, unless the environment already says how they wait.

    Call it first, before anything imports ``torch``: OpenMP reads the setting once, when
    PyTorch loads it. Programs started from this one inherit the setting. It also takes
    the first measurement of the cores' use, so that :func:`share_cores` can decide at
    once when the work starts.
    """
    if not any(name in os.environ for name in WAIT_SETTINGS):
        os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    _CORES.start()


class CoreShare:
    """Measures how much of this process's cores other programs use, and sets PyTorch's threads to fit.

    It reads the kernel's CPU counters (``/proc/stat``) for the cores this process may
    run on and subtracts this process's own CPU time; where there are no such counters
    (macOS, Windows), it leaves PyTorch's threads as they are.
    """

    def __init__(self) -> None:
        self.cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        self.mark: tuple[float, float, float] | None = None
        self.most: int | None = None  # PyTorch's own choice, the most threads ever used

    def start(self) -> None:
        """Take the first measurement, if none was taken yet."""
        if self.mark is None:
            self.mark = self._measure()

    def update(self) -> None:
        """Re-measure if half a second has passed, and use one thread per core the others leave free."""
        if THREAD_SETTING in os.environ or not self.cores:
            return
        previous = self.mark
        if previous is not None and time.monotonic() - previous[0] < REMEASURE_SECONDS:
            return
        self.mark = self._measure()
        if previous is None or self.mark is None:
            return
        elapsed = self.mark[0] - previous[0]
        others = (self.mark[1] - previous[1]) - (self.mark[2] - previous[2])
        self._use(len(self.cores) - max(0.0, others) / elapsed)

    def _use(self, free_cores: float) -> None:
        import torch  # already loaded by the caller: it is training

        if self.most is None:
            self.most = torch.get_num_threads()
        threads = max(1, min(self.most, round(free_cores)))
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)

    def _measure(self) -> tuple[float, float, float] | None:
        """(now, CPU seconds all programs spent on our cores, CPU seconds this process spent)."""
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                lines = stat.read().splitlines()
        except OSError:
            self.cores = []
            return None
        wanted = {f"cpu{core}" for core in self.cores}
        busy_ticks = 0
        for line in lines:
            name, *ticks = line.split()
            if name in wanted:
                values = [int(tick) for tick in ticks]
                busy_ticks += sum(values[:8]) - values[3] - values[4]  # all but idle and iowait; no guest twice
        return time.monotonic(), busy_ticks / os.sysconf("SC_CLK_TCK"), time.process_time()


_CORES = CoreShare()


def share_cores() -> None:
    """Between two steps of work: use one PyTorch thread per core other programs leave free.

    Cheap enough to call after every step; it measures at most every half second.
    """
    _CORES.update()
