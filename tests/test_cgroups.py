"""Class grading's control groups: found in ``/proc`` as the kernel shows them, and, where this machine
lets the grader make one, holding a learner's processes to their memory and number together."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.classroom.cgroups import Hierarchy, LearnerGroup, hierarchies

MOUNTS_V1 = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
"""
MEMBERSHIP_V1 = "8:pids:/\n4:memory:/jobs/grader\n1:cpu:/\n2:devices:/\n0::/\n"


def fake_proc(tmp_path: Path, mounts: str, membership: str) -> Path:
    (tmp_path / "mountinfo").write_text(mounts)
    (tmp_path / "cgroup").write_text(membership)
    return tmp_path


def test_v1_hierarchies_are_found_with_the_graders_own_group_in_each(tmp_path):
    found = hierarchies(fake_proc(tmp_path, MOUNTS_V1, MEMBERSHIP_V1))
    assert {hierarchy.own_group: hierarchy.controllers for hierarchy in found} == {
        Path("/sys/fs/cgroup/cpu"): {"cpu"},
        Path("/sys/fs/cgroup/memory/jobs/grader"): {"memory"},
        Path("/sys/fs/cgroup/pids"): {"pids"},
    }
    assert {hierarchy.version for hierarchy in found} == {1}


def test_a_v2_hierarchy_comes_first_and_a_mount_of_part_of_it_is_followed(tmp_path):
    mount = tmp_path / "unified"
    (mount / "grader").mkdir(parents=True)
    (mount / "cgroup.controllers").write_text("cpu memory pids\n")
    mounts = MOUNTS_V1 + f"41 31 0:38 /machine /{mount.relative_to('/')} rw - cgroup2 cgroup2 rw\n"
    found = hierarchies(fake_proc(tmp_path, mounts, MEMBERSHIP_V1.replace("0::/", "0::/machine/grader")))
    assert found[0] == Hierarchy(2, mount / "grader", frozenset({"cpu", "memory", "pids"}))


def test_without_proc_there_is_no_hierarchy_and_no_group(tmp_path):
    assert hierarchies(tmp_path / "missing") == []
    assert LearnerGroup.make("nothing", 1 << 30, 8, proc=tmp_path / "missing") is None


@pytest.fixture
def group():
    made = LearnerGroup.make(f"mnist-course-test-{os.getpid()}", 256 << 20, 8)
    if made is None:
        pytest.skip("no control group can be made here (needs root, or a delegated cgroup v2)")
    yield made
    made.remove()
    assert not any(folder.exists() for folder in made.folders)


def run_in(group: LearnerGroup, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(group.join_command([sys.executable, "-c", code]), capture_output=True, text=True,
                          timeout=120)


def test_a_process_over_the_groups_memory_is_ended_by_the_kernel_and_counted(group):
    shared_pages = "import mmap; region = mmap.mmap(-1, 512 << 20); region.write(b'x' * (512 << 20))"
    assert run_in(group, shared_pages).returncode == -9  # shared memory counts, which RLIMIT_DATA misses
    assert group.memory_kills() >= 1
    assert run_in(group, "print(len(bytearray(64 << 20)))").stdout.strip() == str(64 << 20)


def test_the_group_holds_its_processes_to_their_number_together(group):
    forks = ("import os, time\nmade = 0\ntry:\n    for _ in range(20):\n        if os.fork() == 0:\n"
             "            os.closerange(0, 3)\n            time.sleep(30)\n            os._exit(0)\n"
             "        made += 1\nexcept OSError:\n    pass\nprint(made)")
    started = run_in(group, forks)
    assert 0 < int(started.stdout) < 8
    group.kill()
    assert group.processes() == []


def test_killing_the_group_ends_processes_that_left_the_session_and_the_process_group(group):
    escape = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\nelse:\n    time.sleep(60)"
    process = subprocess.Popen(group.join_command([sys.executable, "-c", escape]))
    for _ in range(200):
        if len(group.processes()) == 2:
            break
        time.sleep(0.05)
    assert len(group.processes()) == 2
    group.kill()
    assert process.wait(timeout=30) == -9
    assert group.processes() == []
