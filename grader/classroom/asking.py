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

from .processes import all_pids, parent_of, pid_inside, pid_namespace, uid_of
from .sandbox import Limits, sandbox_command, unsandboxed_command, worker_uid
from .worker import MAX_FRAME_BYTES, FrameError, decode_frame, write_frame

OUTPUT_TAIL_BYTES = 4096


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

    def __init__(self, tree: Path, data: Path, program: Path, workspace: Path, limits: Limits, slot: int,
                 sandboxed: bool) -> None:
        self.tree, self.data, self.program, self.workspace = tree, data, program, workspace
        self.limits, self.sandboxed = limits, sandboxed
        self.uid = worker_uid(slot, sandboxed)  # -1: the worker stays who the grader is
        self.process: subprocess.Popen | None = None
        self.output = workspace / "output.txt"
        self.lingering = 0  # processes found still running beside the worker when it was stopped

    def start(self) -> subprocess.Popen:
        if self.sandboxed:
            command, env = sandbox_command(self.tree, self.data, self.program, self.limits, self.uid), {}
        else:
            scratch = Path(tempfile.mkdtemp(prefix="scratch-", dir=self.workspace))
            command, env = unsandboxed_command(self.tree, self.data, self.program, self.limits, scratch, self.uid)
        with self.output.open("ab") as output:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=output,
                                            env=env, start_new_session=True, cwd=self.workspace)
        return self.process

    def ask(self, procedure: str, inputs: dict, seconds: float) -> Reply:
        """Put one question and wait at most ``seconds`` for its answer."""
        process = self.process or self.start()
        deadline = time.monotonic() + seconds
        if not _send(process, {"procedure": procedure, "inputs": inputs}, seconds):
            return self._stopped(f"it did not take the question within {seconds:g} s")
        try:
            data = _receive(process, deadline)
        except TimeoutError:
            return self._stopped(f"no answer within {seconds:g} s (an endless loop, or far too slow)")
        except EOFError as error:
            return self._stopped(self._ended(error))
        except FrameError as error:
            return self._stopped(f"its answer could not be read ({error})", garbled=True)
        try:
            reply = decode_frame(data)
        except FrameError as error:
            return self._stopped(f"its answer could not be read ({error})", garbled=True)
        return _reply(reply)

    def _ended(self, error: Exception) -> str:
        code = self.process.wait() if self.process else None
        if code is not None and code < 0:
            try:
                return f"the process running it was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"the process running it was killed by signal {-code}"
        return f"the process running it ended (exit code {code})"

    def _stopped(self, why: str, garbled: bool = False) -> Reply:
        self.stop()
        return Reply(error=why, stopped=True, garbled=garbled)

    def stop(self) -> None:
        """End the worker and everything it started; count what was still running beside it."""
        if self.process is None:
            return
        self.lingering += len(_sandbox_processes(self.process.pid)) if self.sandboxed else 0
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.uid >= 0:  # what left the process group (setsid) still has the worker's own uid
            _kill_all_of(self.uid)
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except (OSError, ValueError):
                pass
        self.process = None

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


def _receive(process: subprocess.Popen, deadline: float) -> bytes:
    header = _read(process, 4, deadline)
    (length,) = struct.unpack(">I", header)
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"an answer of {length} bytes, more than {MAX_FRAME_BYTES}")
    return _read(process, length, deadline)


def _read(process: subprocess.Popen, count: int, deadline: float) -> bytes:
    """Exactly ``count`` bytes of the worker's answers, or ``TimeoutError`` at ``deadline``."""
    stream = process.stdout.fileno()
    data = bytearray()
    while len(data) < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([stream], [], [], remaining)[0]:
            raise TimeoutError
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
    noticed = [str(item)[:200] for item in noticed[:20]] if isinstance(noticed, list) else []
    if "answer" in frame:
        return Reply(answer=frame["answer"], noticed=noticed)
    return Reply(error=str(frame.get("error", "no answer"))[:600], noticed=noticed)


def _sandbox_processes(bubblewrap_pid: int) -> list[int]:
    """Processes in the worker's PID namespace other than its init and the worker itself."""
    namespace = next((pid_namespace(pid) for pid in all_pids() if parent_of(pid) == bubblewrap_pid), None)
    if namespace is None:
        return []
    return [pid for pid in all_pids() if pid_namespace(pid) == namespace and pid_inside(pid) not in (1, 2)]


def _kill_all_of(uid: int) -> None:
    for pid in all_pids():
        if uid_of(pid) == uid:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
