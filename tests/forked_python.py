"""``python -m MODULE ARGS`` in forks of one Python that has imported the heavy libraries already.

A fresh Python spends about eight seconds of CPU importing torch, torchvision and the course before
it does anything; the tests that run the grader on a hundred learner trees, or the command line on
thirty kinds of bad input, would spend most of their time there. :class:`ForkedPython` starts one
Python that imports ``preload`` and then forks a child for each run. The child finds those modules
imported and otherwise is ``cd CWD && env ENV python -m MODULE ARGS``: its own working folder,
environment, argument list, output files and exit, run by :func:`runpy.run_module` at the top level
of the process, so that uncaught exceptions, ``atexit`` handlers and threads end it as they end a
Python started from a shell.

What a fresh Python reads only at start-up is the server's: the environment the preloaded modules
read when imported (``OMP_NUM_THREADS`` for torch, for instance) and ``PYTHONPATH``, which a run
cannot change. A test that needs those, or a signal sent to the process, starts a real one.
"""

from __future__ import annotations

import gc
import json
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path


class ForkedPython:
    """A Python that has imported ``preload`` and runs each ``python -m`` in a fork of itself, one at a time."""

    def __init__(self, preload: Sequence[str], env: dict[str, str]) -> None:
        self.env = dict(env)
        self.lock = threading.Lock()
        self.outputs = Path(tempfile.mkdtemp(prefix="forked-python-"))
        self.server = subprocess.Popen([sys.executable, __file__, *preload], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True, env=self.env)

    def run(self, module: str, arguments: Sequence[str], cwd: Path, env: dict[str, str] | None = None,
            umask: int | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
        """What ``python -m MODULE ARGUMENTS`` returns and prints in ``cwd`` with ``env`` (the server's by default)
        and ``umask`` (the server's by default); :class:`subprocess.TimeoutExpired` once it has run ``timeout``
        seconds and been killed, as from ``subprocess.run``."""
        env = dict(self.env if env is None else env)
        assert env.get("PYTHONPATH") == self.env.get("PYTHONPATH"), "PYTHONPATH is read at start-up: start a real Python"
        with self.lock:
            stdout, stderr = self.outputs / "stdout", self.outputs / "stderr"
            request = {"module": module, "args": list(arguments), "cwd": str(cwd), "env": env,
                       "stdout": str(stdout), "stderr": str(stderr), "umask": umask, "timeout": timeout}
            self.server.stdin.write(json.dumps(request) + "\n")
            self.server.stdin.flush()
            answer = self.server.stdout.readline()
            assert answer, "the forking Python stopped"
            returncode = json.loads(answer)["returncode"]
            printed = stdout.read_text(errors="replace"), stderr.read_text(errors="replace")
        command = [sys.executable, "-m", module, *arguments]
        if returncode is None:
            raise subprocess.TimeoutExpired(command, timeout, *printed)
        return subprocess.CompletedProcess(command, returncode, *printed)

    def close(self) -> None:
        self.server.stdin.close()
        self.server.wait(timeout=60)
        for output in self.outputs.iterdir():
            output.unlink()
        self.outputs.rmdir()


def wait_for(child: int, timeout: float) -> int | None:
    """The exit code of ``child`` (negative: the signal that ended it), or ``None`` once it ran too long and was killed."""
    deadline = time.monotonic() + timeout
    while True:
        pid, status = os.waitpid(child, os.WNOHANG)
        if pid:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.killpg(child, signal.SIGKILL)
            os.waitpid(child, 0)
            return None
        time.sleep(0.02)


def serve() -> dict | None:
    """Answer requests until standard input closes (``None``); in each forked child, return its request."""
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        child = os.fork()
        if child == 0:
            os.setpgid(0, 0)  # its own group, so that a run that is too long is killed with what it started
            return request
        print(json.dumps({"returncode": wait_for(child, request["timeout"])}), flush=True)
    return None


def become(request: dict) -> None:
    """Make this child what ``cd CWD && umask UMASK && env ENV python -m MODULE ARGS > STDOUT 2> STDERR`` starts."""
    os.chdir(request["cwd"])
    if request["umask"] is not None:
        os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path[0] = os.getcwd()  # where ``python -m`` looks first; the server's own was this folder
    sys.argv = [sys.executable, *request["args"]]  # run_module puts the module's file first
    for fd, path, mode in ((0, os.devnull, os.O_RDONLY), (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                           (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
        opened = os.open(path, mode, 0o600)
        os.dup2(opened, fd)
        os.close(opened)


if __name__ == "__main__":
    for name in sys.argv[1:]:
        __import__(name)
    gc.freeze()  # what is imported stays shared with the children, and no collection of theirs walks it
    request = serve()
    if request is not None:
        become(request)
        runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
