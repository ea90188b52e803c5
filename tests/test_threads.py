"""How PyTorch's threads share the machine: every program of the course starts measuring before
PyTorch loads, the work runs on the cores other programs leave free, and a value set by the user wins.

The programs are started with none of the thread settings in their environment, as from a learner's
shell; a probe (``tests/thread_probe/sitecustomize.py``) records from inside each what it had when
PyTorch loaded and how many threads it used last.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from course import threads
from course.threads import THREAD_SETTING, WAIT_SETTINGS, CoreShare, configure_threads
from grader.classroom.sandbox import bubblewrap
from grader.classroom.sandbox import environment as sandbox_environment

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "tests" / "thread_probe"
CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
BUSY_LOOP = [sys.executable, "-c", "while True: pass"]


def started(command: list[str], tmp_path: Path, busy: int = 0, timeout: float = 300) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """Run ``command`` from the course's folder, with no thread setting in its environment and ``busy``
    busy loops beside it; what the probe recorded."""
    record = tmp_path / "probe.jsonl"
    env = {name: value for name, value in os.environ.items() if name not in (*WAIT_SETTINGS, THREAD_SETTING)}
    env.update(PYTHONPATH=os.pathsep.join([str(PROBE), str(ROOT)]), THREAD_PROBE_FILE=str(record))
    loops = [subprocess.Popen(BUSY_LOOP) for _ in range(busy)]
    try:
        completed = subprocess.run(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                   text=True, timeout=timeout)
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()
    seen = [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []
    return completed, seen


def loads(seen: list[dict]) -> list[dict]:
    """What each process had when PyTorch loaded."""
    return [entry for entry in seen if "configured" in entry]


def python(*arguments: str) -> list[str]:
    return [sys.executable, *arguments]


def course_started_first(seen: list[dict], completed: subprocess.CompletedProcess) -> None:
    assert loads(seen), f"PyTorch was never loaded:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}"
    assert all(entry["configured"] for entry in loads(seen)), (seen, completed.stderr[-2000:])


@pytest.mark.parametrize("command", [
    python("-m", "solutions", "evaluate", "--checkpoint", "{tmp}/missing.pt"),
    python("-m", "exercises", "train", "--dry-run", "--device", "cpu"),
    python("-m", "solutions", "draw", "--checkpoint", "{tmp}/missing.pt"),
    python("benchmarks/profile_step.py", "--images", "200", "--batch-size", "100"),
    python("-c", "import runpy; runpy.run_path('docs/hooks.py'); import torch"),
], ids=["solutions", "exercises", "drawing pad", "benchmark", "site build hooks"])
def test_each_program_starts_measuring_before_pytorch_loads(command: list[str], tmp_path: Path) -> None:
    completed, seen = started([part.replace("{tmp}", str(tmp_path)) for part in command], tmp_path)
    course_started_first(seen, completed)


@pytest.mark.parametrize("command", [
    python("-m", "solutions", "train", "--dry-run", "--device", "cpu", "--log-dir", "{tmp}/runs", "--save", "{tmp}/a.pt"),
    python("-m", "pytest", "exercises/", "--solutions", "-q", "-p", "no:cacheprovider", "-m", "ex1"),
], ids=["training", "self-grading"])
def test_beside_busy_programs_the_work_runs_on_one_thread(command: list[str], tmp_path: Path) -> None:
    """Every core kept busy by another program: the course's threads would only wait for each other."""
    completed, seen = started([part.replace("{tmp}", str(tmp_path)) for part in command], tmp_path, busy=CORES)
    course_started_first(seen, completed)
    assert [entry["threads"] for entry in seen if "threads" in entry] == [1], (seen, completed.stderr[-2000:])


@pytest.mark.skipif(bubblewrap() is None, reason="bubblewrap cannot run here (Debian: apt-get install bubblewrap)")
def test_the_graders_own_programs_start_measuring_before_pytorch_loads(tmp_path: Path) -> None:
    """Gradescope and GitHub Classroom both run ``python -m grader autograder run``, here on the stubs."""
    completed, seen = started(python("-m", "grader", "autograder", "run", "exercises", "--format", "gradescope",
                                     "--out", str(tmp_path / "results.json"), "--no-hidden"), tmp_path, timeout=600)
    assert (tmp_path / "results.json").exists(), completed.stderr[-2000:]
    course_started_first(seen, completed)


@pytest.mark.slow
def test_torchrun_processes_start_measuring_and_keep_torchruns_one_thread(tmp_path: Path) -> None:
    completed, seen = started(python("-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
                                     "solutions", "train", "--dry-run", "--device", "cpu", "--log-dir",
                                     str(tmp_path / "runs"), "--save", str(tmp_path / "a.pt")), tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    workers = [entry for entry in loads(seen) if entry["OMP_NUM_THREADS"] == "1"]  # torchrun itself has none
    assert len(workers) == 2 and all(entry["configured"] for entry in workers), seen
    assert [entry["threads"] for entry in seen if entry["pid"] in {worker["pid"] for worker in workers}
            and "threads" in entry] == [1, 1], seen


def test_class_grading_workers_use_one_thread_each() -> None:
    settings = sandbox_environment("/tree", "", "/program", "/data", "/scratch")
    assert settings["OMP_NUM_THREADS"] == "1"


def test_every_notebook_starts_measuring_in_its_first_cell(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "docs"))
    notebooks = pytest.importorskip("notebooks", reason="the docs extra is not installed: pip install -e '.[docs]'")
    first_cells = {[cell for cell in notebooks.lesson_notebook(lesson).cells if cell.cell_type == "code"][0].source
                   for lesson in sorted((ROOT / "lessons").glob("[0-9][0-9]-*.md"))}
    assert len(first_cells) == 1, "every lesson's notebook starts with the same set-up cell"
    completed, seen = started(python("-c", first_cells.pop() + "\nimport torch"), tmp_path)
    course_started_first(seen, completed)


@pytest.mark.parametrize("command", [
    python("-m", "solutions", "--help"), python("-m", "solutions", "train", "--epochs", "0"),
    python("-m", "solutions", "predict", "--checkpoint", "a.pt", "--figure", "a.xyz"),
    python("-m", "exercises", "draw", "--help"), python("-m", "solutions", "draw", "--port", "0"),
    python("-m", "grader", "--help"), python("-m", "grader", "hint", "99"), python("-m", "grader", "reset", "1"),
], ids=["help", "argument error", "figure error", "draw help", "draw port", "grader help", "hint error",
        "reset without a yes"])
def test_answers_that_need_no_network_never_load_pytorch(command: list[str], tmp_path: Path) -> None:
    completed, seen = started(command, tmp_path)
    assert seen == [], f"{command} loaded PyTorch"
    assert completed.stdout or completed.stderr.startswith(("usage:", "error:", "python -m grader"))
    assert "Traceback" not in completed.stderr


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*WAIT_SETTINGS, THREAD_SETTING):
        monkeypatch.delenv(name, raising=False)


def test_starting_to_measure_changes_nothing_in_the_environment(clean_environment) -> None:
    """How OpenMP waits stays PyTorch's (or the user's): the course only chooses how many threads run."""
    before = dict(os.environ)
    configure_threads()
    assert dict(os.environ) == before


class Counters:
    """Stands in for /proc/stat: each measurement is (seconds, CPU seconds of all programs, CPU seconds of ours)."""

    def __init__(self, *measurements: tuple[float, float, float]) -> None:
        self.measurements = list(measurements)

    def __call__(self) -> tuple[float, float, float]:
        return self.measurements.pop(0)


@pytest.fixture
def restore_threads():
    threads_before = torch.get_num_threads()
    yield
    torch.set_num_threads(threads_before)


@pytest.mark.parametrize("others_busy, expected", [(0.0, 2), (0.3, 2), (0.8, 1), (1.0, 1), (2.0, 1), (3.5, 1)])
def test_the_threads_fit_the_cores_the_others_leave(others_busy, expected, clean_environment, restore_threads,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    share = CoreShare()
    share.cores, share.most = [0, 1], 2
    ours = 1.9  # CPU seconds of this process during the second: whatever it is, it is not the others'
    share.mark = (10.0, 100.0, 50.0)
    monkeypatch.setattr(share, "_measure", Counters((11.0, 100.0 + ours + others_busy, 50.0 + ours)))
    monkeypatch.setattr(threads.time, "monotonic", lambda: 11.0)
    share.update()
    assert torch.get_num_threads() == expected


def test_the_threads_come_back_when_the_others_stop(clean_environment, restore_threads,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    share = CoreShare()
    share.cores, share.most, share.mark = [0, 1], 2, (0.0, 0.0, 0.0)
    clock = iter([1.0, 1.2, 2.0])
    monkeypatch.setattr(threads.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(share, "_measure", Counters((1.0, 1.5, 0.5), (2.0, 2.4, 1.4)))
    share.update()
    assert torch.get_num_threads() == 1, "one core's worth of others"
    share.update()  # 0.2 s later: not measured again
    assert torch.get_num_threads() == 1
    share.update()
    assert torch.get_num_threads() == 2, "the others have stopped"


def test_a_thread_count_set_by_the_user_is_kept(restore_threads, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(THREAD_SETTING, "2")
    torch.set_num_threads(2)
    share = CoreShare()
    share.cores, share.mark = [0, 1], (0.0, 0.0, 0.0)
    monkeypatch.setattr(share, "_measure", Counters((1.0, 5.0, 0.0)))
    share.update()
    assert torch.get_num_threads() == 2 and share.mark == (0.0, 0.0, 0.0)


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="no /proc/stat on this system")
def test_the_real_counters_count_this_process_apart() -> None:
    share = CoreShare()
    now, everyone, ours = share._measure()
    assert everyone >= ours > 0 and now > 0


def _spin_for(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="no /proc/stat on this system")
def test_a_dataloaders_workers_count_as_this_process_not_as_others() -> None:
    worker = multiprocessing.get_context("fork").Process(target=_spin_for, args=(30.0,))
    worker.start()
    try:
        deadline = time.monotonic() + 60
        while threads._workers_ticks() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert threads._workers_ticks() > 0, "the worker's CPU time is not counted"
    finally:
        worker.terminate()
        worker.join()
