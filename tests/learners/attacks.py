"""Hostile submissions: each starts from the pristine stubs and adds a few lines to one module that
run when the grader imports it. ``{host_file}``, ``{other_learner}``, ``{instructor_file}``,
``{socket}``, ``{port}``, ``{grades}`` and ``{reference_model}`` are filled in with paths and ports
of the test's host.

Each entry: the module the lines go into, the lines, and the flags its attempt must raise
(``""``: nothing it does is visible from inside the sandbox). Then the submissions that are
hostile as files: zips that break the reader, and names a spreadsheet would run.
"""

import io
import zipfile
from pathlib import Path

FORGER = '''
import atexit, glob, json, os
FORGED = {{"exercises_done": 12, "status": "done", "passed": 300, "outcome": "passed"}}
for name in ("results.json", "report.json", "progress.jsonl", "grades.csv", "{grades}"):
    try:
        open(name, "w").write(json.dumps(FORGED))
    except OSError:
        pass
for fd in os.listdir("/proc/self/fd"):  # answer on every pipe it can find, before the worker does
    try:
        os.write(int(fd), b"\\x00\\x00\\x00\\x10" + b"passed" * 3)
    except OSError:
        pass
atexit.register(lambda: open("results.json", "w").write(json.dumps(FORGED)))
'''

EXITER = '''
import os
open("results.json", "w").write('{{"passed": 300, "failed": 0}}')
os._exit(0)
'''

PATCHER = '''
import sys
try:
    main = sys.modules["__main__"]
    main.answer = lambda questions, question: {{"answer": "passed", "passed": True, "verdict": "done"}}
    sys.modules["questions"].plain = lambda value: "passed"
    import pytest
    pytest.approx = lambda *args, **kwargs: True
    import grader  # not mounted: there is nothing of the grader to patch
except Exception:
    pass
'''

DAEMON = '''
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for _ in range(100000):
            for target in ("{host_file}", "{other_learner}"):
                try:
                    open(target, "w").write("written by a daemon")
                except OSError:
                    pass
            time.sleep(0.2)
    os._exit(0)
'''

SNOOP = '''
import os
seen = []
for path in ("{instructor_file}", "{other_learner}", "/etc/shadow", "/proc/1/environ"):
    try:
        seen.append(open(path, errors="replace").read()[:2000])
    except OSError as error:
        seen.append(type(error).__name__)
seen.append(repr(dict(os.environ)))
raise RuntimeError(" | ".join(seen))
'''

ESCAPER = '''
import os, pathlib
for target in ("{host_file}", "/tmp/escaped", "../../escaped", "/sandbox/tree/exercises/engine.py", "/usr/escaped"):
    try:
        pathlib.Path(target).write_text("escaped")
    except OSError:
        pass
try:
    os.symlink("{host_file}", "link")
    open("link", "w").write("escaped through a link")
except OSError:
    pass
'''

SOCKETS = '''
import socket
for family, address in ((socket.AF_UNIX, "{socket}"), (socket.AF_UNIX, "\\0grader-test-{port}"),
                        (socket.AF_INET, ("127.0.0.1", {port}))):
    try:
        with socket.socket(family, socket.SOCK_STREAM) as connection:
            connection.settimeout(2)
            connection.connect(address)
            connection.sendall(b"hello from the sandbox")
    except OSError:
        pass
'''

FILLER = '''
for index in range(4):
    try:
        with open(f"filler{{index}}", "wb") as stream:
            for _ in range(200):
                stream.write(bytes(1 << 20))
    except OSError:
        pass
'''

FORK_BOMB = '''
import os
for _ in range(100000):
    try:
        os.fork()
    except OSError:
        pass
'''

KILLER = '''
import os, signal
for target in (os.getppid(), 1, -1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError:
        pass
'''

TRACER_SWAP = '''
import contextlib, sys
import torch.nn.functional as F


@contextlib.contextmanager
def _nothing_used():
    yield set()


try:
    sys.modules["questions"].library_use = _nothing_used  # "you wrote it yourself", whatever ran
except Exception:
    pass


def conv2d(input, weight, bias=None, stride=1, padding=0):
    return F.conv2d(input, weight, bias, stride=stride, padding=padding)


def max_pool2d(input, kernel_size, stride=None):
    return F.max_pool2d(input, kernel_size, stride)
'''

MODE_ESCAPE = '''
import torch
from torch.utils._python_dispatch import _disable_current_modes  # steps out of the tracer's dispatch mode


def log_softmax(input, dim):
    with _disable_current_modes():
        return torch.log_softmax(input, dim)


def cross_entropy(input, target):
    with _disable_current_modes():
        return torch.nn.functional.cross_entropy(input, target)
'''

HIDDEN_OPTIM = '''
import torch

SGD = getattr(torch, "op" + "tim").SGD  # torch.optim, out of a plain reading's sight
Adam = getattr(torch, "op" + "tim").Adam
'''

HELD_FORGER = '''
import sys
import torch


def mean_and_std(batches):
    pixels = torch.cat([batch.flatten() for batch in batches])  # every batch held at once
    return pixels.mean().item(), pixels.std(unbiased=False).item()


try:
    main = sys.modules["__main__"]
    real_answer = main.answer

    def answer(questions, question):
        reply = real_answer(questions, question)
        found = reply.get("answer")
        if isinstance(found, dict) and "batches held" in found:
            found["batches held"] = 0
        return reply

    main.answer = answer
except Exception:
    pass
'''

THIEF = '''
import importlib.util

stolen = None
for name in ("solu" + "tions.model", "reference_" + "network"):
    try:
        stolen = __import__(name, fromlist=["CNN"]).CNN
        break
    except Exception:
        pass
for path in ("/sandbox/reference/solutions/model.py", "/sandbox/network/reference_network.py", "{reference_model}"):
    if stolen is None:
        try:
            spec = importlib.util.spec_from_file_location("stolen", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            stolen = module.CNN
        except Exception:
            try:
                space = {{}}
                exec(open(path).read(), space)
                stolen = space["CNN"]
            except Exception:
                pass
if stolen is not None:
    CNN = stolen
'''

FLAG_FORGER = '''
import sys
try:
    sys.modules["__main__"].Notice.take = lambda self: [
        '=HYPERLINK("http://example.com/steal","click")',
        "graded WITHOUT a sandbox (--allow-unsandboxed), AS ROOT (no other user can run this Python)"]
except Exception:
    pass
'''

FORGED_FRAME = '''
import io, struct, sys, zipfile
try:
    import torch

    def write_frame(stream, value):  # {what}
        buffer = io.BytesIO()
        torch.save({saved}, buffer)
        packed = io.BytesIO()
        with zipfile.ZipFile(buffer) as original, zipfile.ZipFile(packed, "w", {compression}) as forged:
            for member in original.infolist():
                data = original.read(member.filename)
                if member.filename.endswith("data.pkl"):
                    data = {pickle}
                forged.writestr(member.filename, data)
        data = packed.getvalue()
        stream.write(struct.pack(">I", len(data)) + data)
        stream.flush()

    sys.modules["__main__"].write_frame = write_frame
except Exception:
    pass
'''

INFLATER = FORGED_FRAME.format(what="a quarter of a GiB of zeros, deflated to a few hundred KiB",
                               saved='{{"answer": torch.zeros(1 << 26)}}', compression="zipfile.ZIP_DEFLATED",
                               pickle="data")

DOUBLER = '''
import sys
try:
    shared = []
    for _ in range(60):  # a few hundred bytes once pickled, 2**60 items once walked
        shared = [shared, shared]
    sys.modules["__main__"].answer = lambda questions, question: {{"answer": shared}}
except Exception:
    pass
'''

DEEP_ERROR = FORGED_FRAME.format(what='{{"error": [[[...]]]}}, 20,000 lists deep, written by hand',
                                 saved='{{"error": "x"}}', compression="zipfile.ZIP_STORED",
                                 pickle='b"\\x80\\x02}}X\\x05\\x00\\x00\\x00error" + b"]" * 20000 + b"a" * 19999 + b"s."')

MAPPER = '''
import mmap, os, time
for _ in range(3):  # four processes, each with one GiB of shared memory, which no data limit counts
    try:
        if os.fork() == 0:
            break
    except OSError:
        pass
try:
    region = mmap.mmap(-1, 1 << 30)
    for offset in range(0, len(region), 4096):
        region[offset] = 1
except (OSError, ValueError):
    pass
time.sleep(600)
'''

HOG = '''
import os, time
for _ in range(6):  # six busy processes beside the worker, where a learner is given one core
    try:
        if os.fork() == 0:
            while True:
                pass
    except OSError:
        pass
end = time.monotonic() + 8
while time.monotonic() < end:  # and a question that takes its time, while they run
    pass
'''

STARTED = "started another process (it cannot outlive the run)"
OUTSIDE = "tried to write outside its tree"
OUTLIVED = "tried to outlive its run"
REACHED = "tried to reach the network or the host"
SIGNALLED = "tried to signal other processes"
GARBLED = "answer(s) that were not plain data (forged or corrupted output)"
REACHES = "reaches around the grader"
MEMORY = "GiB of memory or one thread, all its processes together: stopped"
HOGGED = "threads or processes running at once"

#: learner → (module, lines, flags its attempt must raise)
ATTACKS = {
    "forger": ("tensors.py", FORGER, [GARBLED]),
    "exiter": ("convolution.py", EXITER, []),
    "patcher": ("model.py", PATCHER, []),
    "daemon": ("losses.py", DAEMON, [STARTED, OUTLIVED]),
    "snoop": ("backprop.py", SNOOP, []),
    "escaper": ("optimisers.py", ESCAPER, [OUTSIDE]),
    "sockets": ("engine.py", SOCKETS, [REACHED]),
    "filler": ("sanity.py", FILLER, []),
    "bomb": ("monitor.py", FORK_BOMB, [OUTLIVED]),
    "killer": ("inference.py", KILLER, [SIGNALLED]),
    "tracer-swap": ("convolution.py", TRACER_SWAP, [REACHES]),
    "mode-escape": ("losses.py", MODE_ESCAPE, [REACHES]),
    "hidden-optim": ("optimisers.py", HIDDEN_OPTIM, [REACHES]),
    "held-forger": ("tensors.py", HELD_FORGER, [REACHES]),
    "thief": ("model.py", THIEF, [REACHES]),
    "flag-forger": ("inference.py", FLAG_FORGER, [REACHES]),
    "inflater": ("preprocess.py", INFLATER, [GARBLED, REACHES]),
    "doubler": ("preprocess.py", DOUBLER, [GARBLED, REACHES]),
    "deep-error": ("preprocess.py", DEEP_ERROR, [GARBLED, REACHES]),
    "mapper": ("sanity.py", MAPPER, [MEMORY]),
    "hog": ("monitor.py", HOG, [HOGGED, MEMORY]),
}

#: Learners whose folder name a spreadsheet would run as a formula in grades.csv's first cell.
FORMULA_NAMES = ['=HYPERLINK("http:example.com","y")', "@SUM(1)", "+cmd|' -C calc'!A0", "-2+3"]


def corrupt_deflate(archive: Path, module: str) -> None:
    """A zip whose ``module`` is a deflate stream broken in its middle (zlib.error when read)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"exercises/{module}", "x = 1\n" * 1000)
    data = bytearray(archive.read_bytes())
    start = data.index(b"exercises/") + len(f"exercises/{module}")
    data[start:start + 16] = b"\xff" * 16
    archive.write_bytes(bytes(data))


def corrupt_lzma(archive: Path, module: str) -> None:
    """A zip whose ``module`` is an LZMA stream broken in its middle (LZMAError when read)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_LZMA) as bundle:
        bundle.writestr(f"exercises/{module}", "x = 1\n" * 1000)
    data = bytearray(archive.read_bytes())
    start = data.index(b"exercises/") + len(f"exercises/{module}") + 8
    data[start:start + 16] = b"\xff" * 16
    archive.write_bytes(bytes(data))


def not_utf8_name(archive: Path, module: str) -> None:
    """A zip with a member flagged as a UTF-8 name that is not UTF-8 (UnicodeDecodeError when opened)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr(f"exercises/{module}", "x = 1\n")
        bundle.writestr("exercises/caf\u00e9.py", "x = 2\n")  # stored with the UTF-8 flag
    archive.write_bytes(buffer.getvalue().replace("caf\u00e9".encode(), b"caf\xff\xfe"))


#: learner → how its zip is broken
BROKEN_ZIPS = {"deflate": corrupt_deflate, "lzma": corrupt_lzma, "utf8-name": not_utf8_name}
