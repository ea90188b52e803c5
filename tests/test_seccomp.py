"""The sandbox's seccomp filter: no user namespace of the learner's own, everything else as before."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from grader.classroom.sandbox import _namespaces, bubblewrap
from grader.classroom.seccomp import no_user_namespaces, program

NEW_USER_NAMESPACE = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                      "print('refused' if libc.unshare(0x10000000) else 'made', os.strerror(ctypes.get_errno()))")
ORDINARY = ("import os, subprocess, sys, threading\nthread = threading.Thread(target=print, args=('thread',))\n"
            "thread.start(); thread.join()\nprint(subprocess.run([sys.executable, '-c', 'print(6 * 7)'], "
            "capture_output=True, text=True).stdout.strip())\npid = os.fork()\nos._exit(0) if pid == 0 else "
            "print('forked', os.waitpid(pid, 0)[1])")


def test_the_filter_is_whole_instructions_and_only_for_architectures_it_knows():
    assert len(program("x86_64")) % 8 == 0 and len(program("aarch64")) % 8 == 0
    assert program("riscv64") is None


def in_sandbox(code: str, filtered: bool) -> str:
    if bubblewrap() is None:
        if os.environ.get("REQUIRE_SANDBOX"):
            pytest.fail("bubblewrap cannot run here")
        pytest.skip("bubblewrap cannot run here (apt-get install bubblewrap)")
    with no_user_namespaces() as (filtering, descriptors):
        if filtered and not filtering:
            pytest.skip("no seccomp filter for this architecture")
        command = [bubblewrap(), *_namespaces(), *(filtering if filtered else ()), "--ro-bind", "/", "/",
                   "--dev", "/dev", "--proc", "/proc", "--", sys.executable, "-c", code]
        return subprocess.run(command, capture_output=True, text=True, timeout=120,
                              pass_fds=descriptors if filtered else ()).stdout


def test_code_in_the_sandbox_cannot_make_a_user_namespace():
    if in_sandbox(NEW_USER_NAMESPACE, filtered=False).startswith("refused"):
        pytest.skip("this kernel refuses new user namespaces anyway: the filter cannot be told apart here")
    assert in_sandbox(NEW_USER_NAMESPACE, filtered=True).startswith("refused Operation not permitted")


def test_threads_processes_and_forks_still_start_under_the_filter():
    assert in_sandbox(ORDINARY, filtered=True).split() == ["thread", "42", "forked", "0"]


def test_every_process_of_a_graded_learner_runs_under_the_filter(tmp_path):
    from grader.classroom.asking import Worker
    from grader.classroom.processes import process_status
    from grader.classroom.sandbox import Limits, program_folder

    if bubblewrap() is None or program() is None:
        pytest.skip("needs bubblewrap and a known architecture")
    (tmp_path / "tree" / "exercises").mkdir(parents=True)
    (tmp_path / "tree" / "exercises" / "__init__.py").write_text("")  # a learner who has written nothing yet
    (tmp_path / "data").mkdir()
    worker = Worker(tmp_path / "tree", tmp_path / "data", program_folder(tmp_path), tmp_path / "network",
                    tmp_path, Limits(), slot=0, sandboxed=True)
    try:
        worker.start()
        for _ in range(600):
            if len(worker.processes()) >= 2:  # the sandbox's init and the worker
                break
            time.sleep(0.05)
        modes = {process_status(pid).get("Seccomp", "").strip() for pid in worker.processes()}
        output = worker.output.read_text()
    finally:
        worker.close()
    assert modes == {"2"}, output[-2000:]  # 2: a filter is loaded
