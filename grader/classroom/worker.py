"""The sandboxed worker: it runs a learner's code and answers questions about it, nothing more.

This file is copied into the sandbox with :mod:`grader.classroom.questions` and runs there,
so it imports nothing of the grader. Before any learner code is imported it caps what the
process may use and, when started as root inside bubblewrap, becomes an unprivileged user.
Then it reads questions from standard input and writes each answer to the answer channel,
one frame at a time. Everything it sends is an answer to be compared by the trusted grader,
never a verdict: a forged answer can only be wrong or be the right answer.

Frames are a 4-byte big-endian length followed by ``torch.save`` bytes, read back with
``torch.load(weights_only=True)``: tensors, numbers, strings, lists, tuples and dicts only.
"""

from __future__ import annotations

import io
import os
import resource
import struct
import sys
import traceback
from typing import BinaryIO

MAX_FRAME_BYTES = 64 << 20  # the largest answer is a state dict of 21,840 floats; far below this
NOTICED_LIMIT = 20
WATCHED = {"open", "socket.connect", "socket.bind", "socket.sendto", "os.fork", "os.forkpty", "os.posix_spawn",
           "subprocess.Popen", "os.system", "os.exec"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


class FrameError(Exception):
    """A frame that is too large, cut short or not made of plain data."""


def write_frame(stream: BinaryIO, value: object) -> None:
    """Send ``value`` as one frame."""
    import torch

    buffer = io.BytesIO()
    torch.save(value, buffer)
    data = buffer.getvalue()
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def decode_frame(data: bytes) -> object:
    """The value in one frame's bytes, loaded without ever running code from it."""
    import torch

    try:
        return torch.load(io.BytesIO(data), weights_only=True)
    except Exception as error:  # noqa: BLE001 - anything the other side sent that is not plain data
        raise FrameError(f"not plain data ({type(error).__name__})") from None


def read_exactly(stream: BinaryIO, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = stream.read(count - len(data))
        if not chunk:
            raise FrameError("the stream ended inside a frame")
        data += chunk
    return data


def read_frame(stream: BinaryIO) -> object:
    """Read one frame (blocking); raises :class:`FrameError` or ``EOFError`` at the end."""
    header = stream.read(4)
    if not header:
        raise EOFError
    if len(header) < 4:
        header += read_exactly(stream, 4 - len(header))
    (length,) = struct.unpack(">I", header)
    if length > MAX_FRAME_BYTES:
        raise FrameError(f"a frame of {length} bytes, more than {MAX_FRAME_BYTES}")
    return decode_frame(read_exactly(stream, length))


# --- inside the sandbox ----------------------------------------------------------------------------

def confine(uid: int, memory_bytes: int, file_bytes: int, processes: int) -> None:
    """Cap memory, file size, core dumps and processes, then drop to ``uid`` (``-1``: stay who we are).

    The process limit counts every process and thread of ``uid``: each worker has a uid of its own,
    so that a fork bomb stops at its own limit.
    """
    limits = [(resource.RLIMIT_DATA, memory_bytes), (resource.RLIMIT_FSIZE, file_bytes), (resource.RLIMIT_CORE, 0)]
    if uid >= 0:
        limits.append((resource.RLIMIT_NPROC, processes))
    for limit, value in limits:
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):  # a system that does not enforce it (macOS: RLIMIT_DATA)
            pass
    if uid >= 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)


STANDARD_LIBRARY = os.path.dirname(os.__file__) + os.sep


def _in_standard_library(filename: str) -> bool:
    return filename.startswith("<frozen") or (filename.startswith(STANDARD_LIBRARY) and "-packages" not in filename)


class Notice:
    """What the learner's code tried that the sandbox forbids, seen from inside (so, only when it does not hide)."""

    def __init__(self, scratch: str, learner_files: set[str]) -> None:
        self.scratch = scratch.rstrip("/") + "/"
        self.learner_files = learner_files
        self.seen: list[str] = []

    def by_learner(self) -> bool:
        """Whether the learner's own code asked for it: the first caller outside Python's standard library
        is one of its modules (a library, matplotlib building its font cache say, does its own things)."""
        frame = sys._getframe(2)
        while frame is not None and _in_standard_library(frame.f_code.co_filename):
            frame = frame.f_back
        return frame is not None and frame.f_code.co_filename in self.learner_files

    def note(self, text: str) -> None:
        if len(self.seen) < NOTICED_LIMIT and text not in self.seen:
            self.seen.append(text[:200])

    def __call__(self, event: str, args: tuple) -> None:
        if event not in WATCHED or not self.by_learner():
            return
        if event == "open":
            path, mode, flags = args
            writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE_FLAGS)
            if writes and isinstance(path, (str, bytes)):
                where = os.path.abspath(os.fsdecode(path))
                if not (where + "/").startswith(self.scratch) and where != "/dev/null":
                    self.note(f"tried to write outside its tree: {where}")
        elif event in ("socket.connect", "socket.bind", "socket.sendto"):
            self.note(f"tried to reach the network or the host: {event.split('.')[1]} to {args[1]!r}")
        else:
            self.note("started another process (it cannot outlive the run)")

    def take(self) -> list[str]:
        seen, self.seen = self.seen, []
        return seen


def answer(questions, question: dict) -> dict:
    """Run one question's procedure on the learner's code; its answer, or what went wrong."""
    try:
        procedure = getattr(questions, question["procedure"])
        return {"answer": procedure(questions.Course("exercises"), **question["inputs"])}
    except NotImplementedError:
        return {"error": "not started"}
    except BaseException as error:  # noqa: BLE001 - the learner's code may raise anything, even SystemExit
        return {"error": describe(error)}


def describe(error: BaseException) -> str:
    """``Type: message (file.py, line N)``, naming the last line of the learner's own code it passed."""
    place = ""
    for frame in traceback.extract_tb(error.__traceback__):
        if "/exercises/" in frame.filename:
            place = f" ({os.path.basename(frame.filename)}, line {frame.lineno})"
    return f"{type(error).__name__}: {error}"[:500] + place


def serve(scratch: str, learner_modules: list[str]) -> None:
    """Answer questions from standard input until it closes; learner output goes to standard error.

    Only what the learner's own modules do is noticed: the given modules and the libraries
    (``ctypes`` runs ``ldconfig`` when torch looks for CUDA) do their own ordinary things.
    """
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # print() in learner code must not mix with the answers
    sys.stdin = open(os.devnull)
    questions_in = os.fdopen(0, "rb")
    import exercises
    import questions

    folder = os.path.dirname(exercises.__file__)
    notice = Notice(scratch, {os.path.join(folder, name) for name in learner_modules})
    sys.addaudithook(notice)

    while True:
        try:
            question = read_frame(questions_in)
        except EOFError:
            return
        reply = answer(questions, question)
        reply["noticed"] = notice.take()
        write_frame(answers, reply)


def main(argv: list[str]) -> None:
    uid, memory, file_bytes, processes = (int(value) for value in argv[1:5])
    scratch, learner_modules = argv[5], argv[6].split(",")
    confine(uid, memory, file_bytes, processes)
    os.chdir(scratch)
    serve(scratch, learner_modules)


if __name__ == "__main__":
    main(sys.argv)
