"""Hostile submissions: each starts from the pristine stubs and adds a few lines to one module that
run when the grader imports it. ``{host_file}``, ``{other_learner}``, ``{instructor_file}``,
``{socket}``, ``{port}`` and ``{grades}`` are filled in with paths and ports of the test's host.

Each entry: the module the lines go into, the lines, and the flags its attempt must raise
(``""``: nothing it does is visible from inside the sandbox).
"""

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

STARTED = "started another process (it cannot outlive the run)"
OUTSIDE = "tried to write outside its tree"
OUTLIVED = "tried to outlive its run"
REACHED = "tried to reach the network or the host"
GARBLED = "answer(s) that were not plain data (forged or corrupted output)"

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
    "killer": ("inference.py", KILLER, []),
}
