"""Running the checks on one submission in a process of its own, fenced in.

The process gets a fresh temporary tree (the released checks and given modules, the
learner's exercise modules), a clean environment, one CPU thread, a memory limit, a
wall-time limit after which its whole process group is killed, no network where the
operating system allows it (a new network namespace through ``unshare``), and, when
the grader runs as root, the ``nobody`` account.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import grader
import solutions

NOBODY = 65534
MAX_WRITE_BYTES = 256 << 20  # the checks write a few small files; a runaway writer stops here
REPORT, PROGRESS, OUTPUT = "report.json", "progress.jsonl", "output.txt"

# Runs inside the sandbox before pytest: limits and its own core first, then drop root, then become pytest.
_LAUNCHER = """\
import os, resource, sys
memory, uid, core = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
if core >= 0 and hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {{core}})
for limit, value in ((resource.RLIMIT_DATA, memory), (resource.RLIMIT_FSIZE, {fsize}), (resource.RLIMIT_CORE, 0)):
    try:
        resource.setrlimit(limit, (value, value))
    except (ValueError, OSError):  # a system that does not enforce it (macOS: RLIMIT_DATA)
        pass
if uid >= 0:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
os.execv(sys.executable, [sys.executable, "-m", "pytest", *sys.argv[4:]])
""".format(fsize=MAX_WRITE_BYTES)


@dataclass(frozen=True)
class Limits:
    """What one submission may use."""

    seconds: float = 600.0
    memory_bytes: int = 4 << 30
    check_seconds: float = 60.0


@dataclass
class Run:
    """What one pytest process in the sandbox left behind."""

    stopped: str = ""  # "" when pytest finished; else why it did not ("time limit", "crashed ...")
    report: dict | None = None  # the plugin's --grader-report JSON
    checks: list[dict] = field(default_factory=list)  # per finished check: check, exercise, outcome, message
    collected: list[dict] = field(default_factory=list)  # every check pytest found: check, exercise
    output: str = ""
    seconds: float = 0.0


@cache
def network_isolation() -> list[str]:
    """The command prefix that cuts a process off the network, or ``[]`` where this system cannot."""
    unshare = shutil.which("unshare")
    if not unshare or not sys.platform.startswith("linux"):
        return []
    for prefix in ([unshare, "--net"], [unshare, "--user", "--map-root-user", "--net"]):
        if subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    return []


@cache
def runs_as_nobody() -> bool:
    """Whether the sandbox drops to ``nobody``: when the grader runs as root and ``nobody`` can run the checks."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False
    probe = f"import os; os.setgroups([]); os.setgid({NOBODY}); os.setuid({NOBODY}); import pytest, torch, grader"
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join(import_roots())}
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, env=environment, cwd="/").returncode == 0


def import_roots() -> list[str]:
    """Where the instructor's ``grader`` and ``solutions`` are imported from, for the sandbox's PYTHONPATH."""
    roots = [str(Path(package.__file__).resolve().parent.parent) for package in (grader, solutions)]
    return list(dict.fromkeys(roots))


def clean_environment(work: Path, data_dir: Path) -> dict[str, str]:
    """Nothing of the instructor's environment but what the checks need."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(work),
        "TMPDIR": str(work),
        "XDG_CACHE_HOME": str(work / ".cache"),
        "MPLCONFIGDIR": str(work / ".matplotlib"),
        "PYTHONPATH": os.pathsep.join(import_roots()),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "MNIST_COURSE_DATA": str(data_dir),
        "MPLBACKEND": "Agg",
        "LANG": "C.UTF-8",
        # One thread each: parallel submissions share the cores instead of fighting over them.
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }


def build_tree(root: Path, files: dict[str, bytes]) -> Path:
    """A fresh ``root/tree/exercises`` holding ``files``, and a private ``root/work`` the checks may write in.

    The tree is read-only; when the sandbox runs as ``nobody``, nobody can change it either.
    """
    tree, work = root / "tree", root / "work"
    folder = tree / "exercises"
    folder.mkdir(parents=True)
    work.mkdir()
    (tree / "pytest.ini").write_text("[pytest]\n")  # pins the rootdir: no ini file from above applies
    for name, content in files.items():
        (folder / name).write_bytes(content)
        (folder / name).chmod(0o444)
    for path in (folder, tree, root):
        path.chmod(0o755)
    if runs_as_nobody():
        os.chown(work, NOBODY, NOBODY)
    return folder


def run_checks(root: Path, files: dict[str, bytes], targets: list[str], limits: Limits, data_dir: Path,
               deadline: float, core: int = -1) -> Run:
    """Run pytest on ``targets`` (paths relative to the tree's ``exercises/``) until ``deadline`` at the latest.

    With ``core`` >= 0 the run is pinned to that CPU core, so that code starting threads of its
    own slows down only itself.
    """
    folder = build_tree(root, files)
    work = root / "work"
    command = [
        *network_isolation(), sys.executable, "-c", _LAUNCHER,
        str(limits.memory_bytes), str(NOBODY if runs_as_nobody() else -1), str(core),
        *[str(folder / target) for target in targets],
        "-p", "pytest_timeout", "-p", "grader.recorder", "-p", "no:cacheprovider",
        f"--rootdir={folder.parent}", f"--grader-report={work / REPORT}",
        f"--recorder-log={work / PROGRESS}", f"--check-timeout={limits.check_seconds}",
    ]
    started = time.monotonic()
    with (root / OUTPUT).open("wb") as output:
        process = subprocess.Popen(command, cwd=work, env=clean_environment(work, data_dir), stdin=subprocess.DEVNULL,
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            code = None
        finally:
            _kill_group(process)
    run = Run(seconds=time.monotonic() - started, output=_read_text(root / OUTPUT, from_end=True))
    run.report = _read_json(work / REPORT)
    for line in _read_text(work / PROGRESS, MAX_WRITE_BYTES).splitlines():
        entry = _parse(line)
        if isinstance(entry.get("collected"), list):
            run.collected = [check for check in entry["collected"] if _well_formed(check)]
        elif _well_formed(entry, ("check", "exercise", "outcome", "message")):
            run.checks.append(entry)
    if code is None:
        run.stopped = "time limit"
    elif run.report is None:
        run.stopped = f"crashed ({_exit_reason(code)})"
    return run


def _exit_reason(code: int) -> str:
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _kill_group(process: subprocess.Popen) -> None:
    """Kill the sandbox and anything it started, even if its leader already exited."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _read_text(path: Path, limit: int = 1 << 20, from_end: bool = False) -> str:
    """At most ``limit`` bytes of a file the sandbox wrote (the last ones with ``from_end``)."""
    try:
        with path.open("rb") as stream:
            if from_end:
                stream.seek(max(path.stat().st_size - limit, 0))
            return stream.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return ""


def _read_json(path: Path) -> dict | None:
    try:
        report = json.loads(_read_text(path, MAX_WRITE_BYTES))
    except ValueError:
        return None
    return report if isinstance(report, dict) else None


def _well_formed(check: object, fields: tuple[str, ...] = ("check", "exercise")) -> bool:
    """Whether a line of the check log has the fields the grader reads (the sandbox could write anything)."""
    return isinstance(check, dict) and all(isinstance(check.get(name), str) for name in fields)


def _parse(line: str) -> dict:
    try:
        entry = json.loads(line)
    except ValueError:
        return {}
    return entry if isinstance(entry, dict) else {}
