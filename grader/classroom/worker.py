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
ADDRESS_SPACE_SLACK = 6 << 30  # address space mapped but never used: PyTorch alone maps over 3 GiB
MAX_ITEMS = 100_000  # numbers, strings, tensors and containers in one frame, each shared one counted each time
MAX_DEPTH = 32  # containers within containers: the deepest question or answer has 4
MAX_ELEMENTS = 1 << 26  # elements of one tensor, as its shape says (a stride of 0 costs nothing to send)
NOTICED_LIMIT = 20
WATCHED = {"open", "socket.connect", "socket.bind", "socket.sendto", "os.kill", "os.killpg", "os.fork", "os.forkpty",
           "os.posix_spawn", "subprocess.Popen", "os.system", "os.exec"}
#: How each kind of notice begins: the grader keeps only notices that begin so (the rest could be forged flags).
WROTE_OUTSIDE, REACHED_OUT = "tried to write outside its tree: ", "tried to reach the network or the host: "
SIGNALLED, STARTED = "tried to signal other processes (it can reach only its own)", \
    "started another process (it cannot outlive the run)"
NOTICES = (WROTE_OUTSIDE, REACHED_OUT, SIGNALLED, STARTED)
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
    """The value in one frame's bytes, loaded without ever running code from it, and only if it is no
    larger once loaded than its bytes allow: nothing compressed, nothing nested without end."""
    import torch

    stored_only(data)
    try:
        value = torch.load(io.BytesIO(data), weights_only=True)
    except Exception as error:  # noqa: BLE001 - anything the other side sent that is not plain data
        raise FrameError(f"not plain data ({type(error).__name__})") from None
    bounded(value)
    return value


def stored_only(data: bytes) -> None:
    """Refuse a frame that is not the archive ``torch.save`` writes, each file stored as it is: a
    compressed member, or the old format's declared storage sizes, would be inflated by ``torch.load``."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except Exception as error:  # noqa: BLE001 - whatever zipfile makes of bytes that are not an archive
        raise FrameError(f"not plain data ({type(error).__name__})") from None
    if any(member.compress_type != zipfile.ZIP_STORED or member.file_size > len(data) for member in members):
        raise FrameError("not plain data (a compressed part)")


def bounded(value: object) -> None:
    """Refuse a loaded value with more than :data:`MAX_ITEMS` parts, :data:`MAX_DEPTH` levels, or a tensor
    of more than :data:`MAX_ELEMENTS` elements: comparing or printing it would take without end."""
    import torch

    pending, items = [(value, 0)], 0
    while pending:
        item, depth = pending.pop()
        items += 1
        if items > MAX_ITEMS or depth > MAX_DEPTH:
            raise FrameError(f"not plain data (more than {MAX_ITEMS} parts or {MAX_DEPTH} levels)")
        if isinstance(item, torch.Tensor) and item.numel() > MAX_ELEMENTS:
            raise FrameError(f"not plain data (a tensor of more than {MAX_ELEMENTS} elements)")
        if isinstance(item, dict):
            pending += [(part, depth + 1) for pair in item.items() for part in pair]
        elif isinstance(item, list | tuple):
            pending += [(part, depth + 1) for part in item]


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
    so that a fork bomb stops at its own limit. The data limit leaves out shared mappings, so the
    address space is capped too (above what the libraries map without using it); the memory of all
    the learner's processes together is watched from outside, by the grader.
    """
    limits = [(resource.RLIMIT_DATA, memory_bytes), (resource.RLIMIT_AS, memory_bytes + ADDRESS_SPACE_SLACK),
              (resource.RLIMIT_FSIZE, file_bytes), (resource.RLIMIT_CORE, 0)]
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
                    self.note(f"{WROTE_OUTSIDE}{where}")
        elif event in ("socket.connect", "socket.bind", "socket.sendto"):
            self.note(f"{REACHED_OUT}{event.split('.')[1]} to {args[1]!r}")
        elif event in ("os.kill", "os.killpg"):
            self.note(SIGNALLED)
        else:
            self.note(STARTED)

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

    Only what the learner's own modules do is noticed: the course's runtime and the libraries
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
