"""Starting the worker inside bubblewrap: its own PID, network, IPC and mount namespaces, and little else.

What the sandbox holds: the system's programs and libraries and the Python environment,
read-only; the submission's tree (the learner's modules, the released stubs for any missing), the
worker's program with the course's runtime (``course/``, which the learner's modules run in) and
MNIST, read-only; a size-capped scratch space, the only place it can write. The
reference package is never mounted: the questions that run a network the learner is not asked
to build get a copy of the course's CNN alone, in a sandbox of their own. Nothing else of this
computer is mounted: not the hidden checks, not the instructor's files, not other learners'
trees, no socket of the host. ``--die-with-parent`` and the PID
namespace end every process a submission starts when its run ends.

When the grader runs as root, bubblewrap runs privileged and the worker drops to a uid of
its own (one per worker slot, so that each one's process limit is its own); otherwise
bubblewrap's user namespace maps the instructor's account to ``nobody``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

import course
import solutions

from .. import pretend, tracing
from . import questions, worker
from .submissions import learner_modules

SANDBOX_UID = 200_000  # uids from here on belong to no account
MAX_WORKERS = 512  # worker slots per grading: each grading process has a block of uids of its own
TREE, NETWORK, PROGRAM, DATA, SCRATCH = "/sandbox/tree", "/sandbox/network", "/sandbox/worker", "/sandbox/data", "/scratch"
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/localtime")


@dataclass(frozen=True)
class Limits:
    """What one submission's worker may use."""

    check_seconds: float = 60.0  # per question; the end-to-end training gets its own, longer limit
    memory_bytes: int = 4 << 30
    disk_bytes: int = 256 << 20  # the scratch space, all files together
    file_bytes: int = 64 << 20
    processes: int = 64  # processes and threads of the worker's uid


@cache
def bubblewrap() -> str | None:
    """The ``bwrap`` program, if it is installed and can make namespaces here."""
    program = shutil.which("bwrap")
    if not program:
        return None
    probe = [program, *_namespaces(), "--ro-bind", "/", "/", "--", "true"]
    return program if subprocess.run(probe, capture_output=True).returncode == 0 else None


def _namespaces() -> list[str]:
    user = [] if os.geteuid() == 0 else ["--unshare-user", *_no_more_user_namespaces(), "--uid", "65534", "--gid", "65534"]
    return ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", *user]


@cache
def _no_more_user_namespaces() -> list[str]:
    """``--disable-userns`` where this bubblewrap has it (0.8 on): the sandbox's code cannot make a user
    namespace of its own, where it would be root."""
    program = shutil.which("bwrap")
    shown = subprocess.run([program, "--help"], capture_output=True, text=True).stdout if program else ""
    return ["--disable-userns"] if "--disable-userns" in shown else []


def python_roots() -> list[str]:
    """The folders the Python environment lives in: its prefixes and any site-packages outside them."""
    roots = {sys.prefix, sys.base_prefix, *(path for path in sys.path if path.endswith(("site-packages",
                                                                                        "dist-packages")))}
    kept: list[str] = []
    for root in sorted(roots, key=len):
        if Path(root).is_dir() and not any(root == kept_root or root.startswith(kept_root + "/")
                                           for kept_root in [*kept, *SYSTEM]):
            kept.append(root)
    return kept


def program_folder(workspace: Path) -> Path:
    """The worker and its questions, and the course's runtime package (``course``, which the exercises
    import), copied once per class where the sandbox mounts them (the grader itself is not mounted)."""
    folder = _read_only_copies(workspace / "program", {Path(module.__file__).name: Path(module.__file__)
                                                       for module in (worker, questions, tracing, pretend)})
    runtime = Path(course.__file__).parent
    _read_only_copies(folder / "course", {path.name: path for path in sorted(runtime.glob("*.py"))})
    return folder


def network_folder(workspace: Path) -> Path:
    """The course's CNN as ``reference_network.py``, for the questions that use it: mounted only in
    their sandbox, where no check of the learner's own CNN is asked."""
    return _read_only_copies(workspace / "network",
                             {"reference_network.py": Path(solutions.__file__).parent / "model.py"})


def _read_only_copies(folder: Path, files: dict[str, Path]) -> Path:
    folder.mkdir(mode=0o755)
    for name, source in files.items():
        shutil.copyfile(source, folder / name)
        (folder / name).chmod(0o444)
    return folder


def _readable_folders(*paths: str) -> list[str]:
    """``--dir`` for every folder above the mount points, so that an unprivileged worker may walk through them."""
    made: list[str] = []
    for path in paths:
        for parent in reversed(PurePosixPath(path).parents):
            if str(parent) != "/" and str(parent) not in made:
                made.append(str(parent))
    return [argument for folder in made for argument in ("--perms", "0755", "--dir", folder)]


def worker_uid(slot: int, sandboxed: bool) -> int:
    """The uid a worker drops to: one of its own when the grader is root (without a sandbox, only if that
    uid can run this Python), else ``-1``: it stays who it is."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return -1
    uid = SANDBOX_UID + os.getpid() * MAX_WORKERS + slot  # apart from any other grading's, run at the same time
    return uid if sandboxed or python_runs_as(uid) else -1


@cache
def python_runs_as(uid: int) -> bool:
    """Whether ``uid`` can start this Python and import what the course needs (a venv under /root cannot)."""
    probe = [sys.executable, "-s", "-c", "import numpy, PIL, torch"]
    try:
        return subprocess.run(probe, user=uid, group=uid, extra_groups=[], capture_output=True, cwd="/",
                              env={"PATH": "/usr/bin:/bin"}).returncode == 0
    except (OSError, subprocess.SubprocessError):  # not even allowed to start it
        return False


def sandbox_command(tree: Path, data: Path, program: Path, limits: Limits, uid: int,
                    network: Path | None = None, filtering: Sequence[str] = ()) -> list[str]:
    """The command that starts a worker for the submission in ``tree``, inside bubblewrap (with the
    course's CNN from ``network`` when it is given, and ``filtering``: the arguments that load a
    seccomp filter, see :mod:`grader.classroom.seccomp`)."""
    mounts = [(str(tree), TREE), (str(program), PROGRAM), (str(data), DATA),
              *([(str(network), NETWORK)] if network else []), *((root, root) for root in python_roots())]
    arguments = [*_namespaces(), *filtering, *_readable_folders(*(inside for _, inside in mounts), SCRATCH)]
    for folder in SYSTEM:
        if os.path.islink(folder):
            arguments += ["--symlink", os.readlink(folder), folder]
        elif os.path.isdir(folder):
            arguments += ["--ro-bind", folder, folder]
    for path in SYSTEM_FILES:
        arguments += ["--ro-bind-try", path, path]
    for outside, inside in mounts:
        arguments += ["--ro-bind", outside, inside]
    arguments += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(limits.disk_bytes),
                  "--tmpfs", SCRATCH, "--chdir", SCRATCH, "--clearenv"]
    for name, value in environment(TREE, NETWORK if network else "", PROGRAM, DATA, SCRATCH).items():
        arguments += ["--setenv", name, value]
    if uid >= 0:
        arguments += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return [bubblewrap() or "bwrap", *arguments, "--", *worker_command(f"{PROGRAM}/worker.py", uid, limits, SCRATCH)]


def unsandboxed_command(tree: Path, data: Path, program: Path, limits: Limits, scratch: Path,
                        uid: int, network: Path | None = None) -> tuple[list[str], dict]:
    """The worker as a plain process, for a machine without bubblewrap (the instructor said so)."""
    env = environment(str(tree), str(network or ""), str(program), str(data), str(scratch))
    env["PATH"] = os.environ.get("PATH", env["PATH"])
    if uid >= 0:
        os.chown(scratch, uid, uid)
    return worker_command(str(program / "worker.py"), uid, limits, str(scratch)), env


def worker_command(script: str, uid: int, limits: Limits, scratch: str) -> list[str]:
    return [sys.executable, "-s", "-B", script, str(uid), str(limits.memory_bytes), str(limits.file_bytes),
            str(limits.processes), scratch, ",".join(learner_modules())]


def environment(tree: str, network: str, program: str, data: str, scratch: str) -> dict[str, str]:
    """Nothing of the instructor's environment: only what the course's code needs (``network``: the
    folder of the course's CNN, or ``""``)."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": scratch,
        "TMPDIR": scratch,
        "XDG_CACHE_HOME": f"{scratch}/.cache",
        "MPLCONFIGDIR": f"{scratch}/.matplotlib",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join(folder for folder in (tree, network, program) if folder),
        "PYTHONHASHSEED": "0",
        "MNIST_COURSE_DATA": data,
        "LANG": "C.UTF-8",
        # One thread each: parallel submissions share the cores instead of fighting over them.
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }
