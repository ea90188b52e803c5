"""How PyTorch's CPU threads share the machine with other programs.

PyTorch runs each operator on a team of OpenMP threads, one per core, and between two
operators the idle threads spin, waiting for the next one. On an idle machine that is the
fastest way to wait. When anything else wants the cores (a browser, a second training, a
test run), there are more threads than cores: a spinning thread takes the time slice that
another thread of its own team needs to finish the operator it waits for, and the course's
small operators wait often. On 2 busy cores a training step ran 5 to 10 times slower (see
lesson 7, "Sharing the machine").

The course keeps the spinning, which idle is the fastest (waiting less, or sleeping at once,
cost 5 to 35% of the idle speed), and removes what makes it harmful: it never runs more
threads than there are free cores. :func:`configure_threads`, called by every program of
the course before ``torch`` is imported, starts measuring; :func:`share_cores`, called
between steps of work, uses one thread for each core that the other programs left free
over the last half second.

A value set in the environment always wins: ``OMP_NUM_THREADS`` fixes the number of threads
(and turns :func:`share_cores` off), ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` how they wait.
"""

from __future__ import annotations

import multiprocessing
import os
import time

REMEASURE_SECONDS = 0.5
THREAD_SETTING = "OMP_NUM_THREADS"
WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")  # OpenMP's own, read once when PyTorch loads


def configure_threads() -> None:
    """Start measuring how busy this process's cores are, so that :func:`share_cores` can decide at once.

    Call it first, before anything imports ``torch``: the time PyTorch takes to load is then the
    first measurement, and the first step of work already runs on the threads that fit.
    """
    _CORES.start()


class CoreShare:
    """Measures how much of this process's cores other programs use, and sets PyTorch's threads to fit.

    It reads the kernel's CPU counters (``/proc/stat``) for the cores this process may
    run on and subtracts the CPU time of this process and of the worker processes it
    started (a ``DataLoader``'s); where there are no such counters (macOS, Windows), it
    leaves PyTorch's threads as they are.
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
        ticks_per_second = os.sysconf("SC_CLK_TCK")
        return time.monotonic(), busy_ticks / ticks_per_second, time.process_time() + _workers_ticks() / ticks_per_second


def _workers_ticks() -> int:
    """CPU ticks of the worker processes this one started with multiprocessing (a DataLoader's workers)."""
    ticks = 0
    for worker in multiprocessing.active_children():
        try:
            with open(f"/proc/{worker.pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # it has just ended
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime and stime, the 14th and 15th fields
    return ticks


_CORES = CoreShare()


def share_cores() -> None:
    """Between two steps of work: use one PyTorch thread per core other programs leave free.

    Cheap enough to call after every step; it measures at most every half second.
    """
    _CORES.update()
