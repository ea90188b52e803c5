"""The trusted side of the conversation with a sandboxed worker: ask, wait within a limit, read the answer.

A worker that does not answer in time is killed with everything it started; one that dies
is noted; either way the next question starts a fresh worker. An answer is only ever data:
it is decoded without running code, and it never says whether it is right.
"""

from __future__ import annotations

import os
import select
import signal
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .cgroups import LearnerGroup
from .processes import all_pids, memory_of, parent_of, pid_inside, pid_namespace, running_threads, uid_of
from .sandbox import Limits, sandbox_command, unsandboxed_command, worker_uid
from .seccomp import no_user_namespaces
from .submissions import readable
from .worker import MAX_FRAME_BYTES, NOTICES, FrameError, decode_frame, write_frame

OUTPUT_TAIL_BYTES = 4096
WATCH_SECONDS = 0.5  # how often a learner's processes are measured while it answers
BUSY_THREADS = 2  # a worker computes in one thread; more running at once, seen from outside, is on purpose
CROWDED_WATCHES = 3  # measurements in a row with more running than that, before the worker is stopped


class OverLimit(Exception):
    """The learner's processes, all together, take more than a learner is given."""


@dataclass
class Reply:
    """What came back for one question: an answer, or why there is none."""

    answer: object = None
    error: str = ""  # what the learner's code raised, "not started", or why no answer came
    stopped: bool = False  # the worker had to be stopped or died: its later questions start a new one
    garbled: bool = False  # what came back was not a frame of plain data: forged or corrupted output
    noticed: list[str] = field(default_factory=list)


class Worker:
    """The sandboxed process that answers questions about one submission."""

    def __init__(self, tree: Path, data: Path, program: Path, network: Path, workspace: Path, limits: Limits,
                 slot: int, sandboxed: bool) -> None:
        self.tree, self.data, self.program, self.network, self.workspace = tree, data, program, network, workspace
        self.limits, self.sandboxed = limits, sandboxed
        self.uid = worker_uid(slot, sandboxed)  # -1: the worker stays who the grader is
        self.process: subprocess.Popen | None = None
        self.holds_network = False  # whether the running worker was given the course's CNN
        self.busiest = 0  # the most threads of the learner's processes seen running at once, from outside
        self.crowded = 0  # measurements in a row that found more than BUSY_THREADS running
        self.over_limit = 0  # runs stopped for taking more memory or threads than given, all processes together
        self.output = workspace / "output.txt"
        self.lingering = 0  # processes found still running beside the worker when it was stopped
        # Made once per submission and kept across its workers; None where no control group can be made.
        self.group = LearnerGroup.make(f"mnist-course-grader-{os.getpid()}-{slot}", limits.memory_bytes,
                                       limits.processes)
        self.memory_kills = 0  # the group's count when last read: a rise means the kernel ended a process
        # Ctrl-C stops every live worker from the main thread while its grading thread may be stopping it too.
        self._stopping = threading.Lock()

    def start(self, network: bool = False) -> subprocess.Popen:
        """Start a worker; with ``network``, one that holds the course's CNN."""
        folder = self.network if network else None
        with no_user_namespaces() as (filtering, descriptors):
            if self.sandboxed:
                command = sandbox_command(self.tree, self.data, self.program, self.limits, self.uid, folder,
                                          filtering)
                env = {}
            else:
                scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=self.workspace))
                command, env = unsandboxed_command(self.tree, self.data, self.program, self.limits, scratch,
                                                   self.uid, folder)
                descriptors = ()
            if self.group:
                command = self.group.join_command(command)
            with self.output.open("ab") as output:
                self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                stderr=output, env=env, start_new_session=True, cwd=self.workspace,
                                                pass_fds=descriptors)
        self.holds_network = network
        return self.process

    def ask(self, procedure: str, inputs: dict, seconds: float, network: bool = False) -> Reply:
        """Put one question and wait at most ``seconds`` for its answer; ``network``: it needs the course's CNN,
        which a worker holds only for such questions (a new worker starts when that changes)."""
        if self.process is not None and self.holds_network != network:
            self.stop()
        process = self.process or self.start(network)
        deadline = time.monotonic() + seconds
        if not _send(process, {"procedure": procedure, "inputs": inputs}, seconds):
            return self._stopped(f"it did not take the question within {seconds:g} s")
        try:
            data = _receive(process, deadline, self._watch)
        except OverLimit as error:
            self.over_limit += 1
            return self._stopped(str(error))
        except TimeoutError:
            return self._stopped(f"no answer within {seconds:g} s (an endless loop, or far too slow)")
        except EOFError as error:
            if self._killed_for_memory():
                self.over_limit += 1
                return self._stopped(self._over_memory())
            return self._stopped(self._ended(error))
        except FrameError as error:
            return self._stopped(f"its answer could not be read ({error})", garbled=True)
        try:
            reply = decode_frame(data)
        except FrameError as error:
            return self._stopped(f"its answer could not be read ({error})", garbled=True)
        return _reply(reply)

    def _killed_for_memory(self) -> bool:
        """Whether the kernel ended one of the learner's processes for its group's memory, since last asked."""
        kills, self.memory_kills = self.memory_kills, self.group.memory_kills() if self.group else 0
        return self.memory_kills > kills

    def _over_memory(self) -> str:
        return f"its processes held more than {self.limits.memory_bytes / 2**30:g} GiB of memory together"

    def _ended(self, error: Exception) -> str:
        code = self.process.wait() if self.process else None
        if code is not None and code < 0:
            try:
                return f"the process running it was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"the process running it was killed by signal {-code}"
        return f"the process running it ended (exit code {code})"

    def processes(self) -> list[int]:
        """Every process of the learner's run: all of its sandbox's, or all of its own user's."""
        return self._processes_of(self.process) if self.process is not None else []

    def _processes_of(self, process: subprocess.Popen) -> list[int]:
        if self.sandboxed:
            return _namespace_processes(process.pid)
        return [pid for pid in all_pids() if uid_of(pid) == self.uid]

    def _watch(self) -> None:
        """Measure the learner's processes, all together: the threads they keep running, and their memory."""
        processes = self.processes()
        running = self._count_running(processes)
        if self.crowded >= CROWDED_WATCHES:
            raise OverLimit(f"it kept {running} threads or processes running at once, where it is given one")
        if sum(map(memory_of, processes)) > self.limits.memory_bytes:
            raise OverLimit(self._over_memory())

    def _count_running(self, processes: list[int]) -> int:
        running = sum(map(running_threads, processes))
        self.busiest = max(self.busiest, running)
        self.crowded = self.crowded + 1 if running > BUSY_THREADS else 0
        return running

    def _stopped(self, why: str, garbled: bool = False) -> Reply:
        self.stop()
        return Reply(error=why, stopped=True, garbled=garbled)

    def stop(self) -> None:
        """End the worker and everything it started; count what was still running beside it."""
        with self._stopping:
            process, self.process = self.process, None
            if process is not None:
                self._end(process)

    def _end(self, process: subprocess.Popen) -> None:
        self.lingering += len(_sandbox_processes(process.pid)) if self.sandboxed else 0
        self._count_running(self._processes_of(process))
        self.crowded = 0
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.uid >= 0:  # what left the process group (setsid) still has the worker's own uid
            _kill_all_of(self.uid)
        if self.group:  # and whatever changed its uid or session is still in the group
            self.group.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except (OSError, ValueError):
                pass

    def close(self) -> None:
        """Stop the worker and give back its control group: the submission is graded."""
        self.stop()
        if self.group:
            self.group.remove()
            self.group = None

    def output_tail(self) -> str:
        """The last lines the learner's code printed."""
        try:
            with self.output.open("rb") as stream:
                stream.seek(max(self.output.stat().st_size - OUTPUT_TAIL_BYTES, 0))
                return stream.read().decode("utf-8", errors="replace")
        except OSError:
            return ""


def _send(process: subprocess.Popen, question: dict, seconds: float) -> bool:
    """Write the question from a thread of its own: a worker that stops reading must not block the grader."""
    def write() -> None:
        try:
            write_frame(process.stdin, question)
        except (BrokenPipeError, OSError, ValueError):
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    writer.join(seconds)
    return not writer.is_alive()


def _receive(process: subprocess.Popen, deadline: float, watch) -> bytes:
    header = _read(process, 4, deadline, watch)
    (length,) = struct.unpack(">I", header)
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"an answer of {length} bytes, more than {MAX_FRAME_BYTES}")
    return _read(process, length, deadline, watch)


def _read(process: subprocess.Popen, count: int, deadline: float, watch) -> bytes:
    """Exactly ``count`` bytes of the worker's answers, or ``TimeoutError`` at ``deadline``; ``watch()``
    runs every :data:`WATCH_SECONDS` while it waits (and may raise to stop waiting)."""
    stream = process.stdout.fileno()
    data = bytearray()
    while len(data) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        if not select.select([stream], [], [], min(remaining, WATCH_SECONDS))[0]:
            watch()
            continue
        chunk = os.read(stream, min(count - len(data), 1 << 20))
        if not chunk:
            raise EOFError
        data += chunk
    return bytes(data)


def _reply(frame: object) -> Reply:
    """A reply from a decoded frame; anything not shaped like one is an answer that says nothing."""
    if not isinstance(frame, dict):
        return Reply(error="its answer was not a reply")
    noticed = frame.get("noticed")
    noticed = [readable(item[:200]) for item in noticed[:20] if isinstance(item, str) and item.startswith(NOTICES)] \
        if isinstance(noticed, list) else []
    if "answer" in frame:
        return Reply(answer=frame["answer"], noticed=noticed)
    error = frame.get("error", "no answer")
    return Reply(error=readable(error[:600]) if isinstance(error, str) else "its answer was not a reply",
                 noticed=noticed)


def _namespace_processes(bubblewrap_pid: int) -> list[int]:
    """Every process in the worker's PID namespace: its init, the worker, and whatever they started."""
    namespace = next((pid_namespace(pid) for pid in all_pids() if parent_of(pid) == bubblewrap_pid), None)
    return [] if namespace is None else [pid for pid in all_pids() if pid_namespace(pid) == namespace]


def _sandbox_processes(bubblewrap_pid: int) -> list[int]:
    """Processes in the worker's PID namespace other than its init and the worker itself."""
    return [pid for pid in _namespace_processes(bubblewrap_pid) if pid_inside(pid) not in (1, 2)]


def _kill_all_of(uid: int) -> None:
    for pid in all_pids():
        if uid_of(pid) == uid:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
