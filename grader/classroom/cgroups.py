"""A control group for each learner: the kernel limits the memory, processes and CPU of all of a
learner's processes together, and ends them all at once.

The limits a worker sets on itself (``RLIMIT_AS``, ``RLIMIT_NPROC``) hold per process, and the watch
from outside looks only every half second; a control group holds every process the learner's code
starts, shared memory included, from the first byte. cgroup v2 is used where this grader may make
groups with the memory and pids controllers, else v1's separately mounted ``memory``, ``pids`` and
``cpu``. Where neither can be made (no permission, not Linux), :meth:`LearnerGroup.make` gives
``None`` and the worker's own limits and the outside watch are the fence.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

CPU_PERIOD_MICROSECONDS = 100_000
NEEDED = ("memory", "pids")  # without these two a group adds nothing the worker's own limits lack
WANTED = (*NEEDED, "cpu")
KILL_ROUNDS = 100  # a process that forks while being killed needs another round; pids.max bounds them


@dataclass(frozen=True)
class Hierarchy:
    """One mounted cgroup hierarchy and this process's own group in it."""

    version: int  # 1 or 2
    own_group: Path  # the folder of the group this grader runs in
    controllers: frozenset[str]  # v1: those of this mount; v2: every controller it offers


def hierarchies(proc: Path = Path("/proc/self")) -> list[Hierarchy]:
    """The cgroup hierarchies mounted here with a controller a learner's group wants, v2 first."""
    try:
        mounts = (proc / "mountinfo").read_text().splitlines()
        membership = (proc / "cgroup").read_text().splitlines()
    except OSError:
        return []
    own = {}  # controllers ("" for v2) -> this process's path in that hierarchy
    for line in membership:
        _, controllers, path = line.split(":", 2)
        own[controllers] = path
    found = []
    for line in mounts:
        before, _, after = line.partition(" - ")
        fields, (fstype, _, options) = before.split(), after.split()[:3]
        root, mount_point = fields[3], Path(fields[4])
        if fstype == "cgroup2" and "" in own:
            offered = _read(mount_point / "cgroup.controllers").split()
            found.append(Hierarchy(2, _inside(mount_point, root, own[""]), frozenset(offered)))
        elif fstype == "cgroup":
            controllers = frozenset(options.split(",")) & set(WANTED)
            path = next((path for names, path in own.items() if set(names.split(",")) & controllers), None)
            if controllers and path is not None:
                found.append(Hierarchy(1, _inside(mount_point, root, path), controllers))
    return sorted(found, key=lambda hierarchy: -hierarchy.version)


def _inside(mount_point: Path, root: str, path: str) -> Path:
    """Where the group at ``path`` of a hierarchy is, for a mount showing that hierarchy from ``root``."""
    relative = path[len(root):] if root != "/" and path.startswith(root) else path
    return mount_point / relative.lstrip("/")


class LearnerGroup:
    """The control group (one folder per hierarchy) that holds every process of one learner's worker."""

    def __init__(self, version: int, folders: list[Path]) -> None:
        self.version, self.folders = version, folders

    @classmethod
    def make(cls, name: str, memory_bytes: int, processes: int, proc: Path = Path("/proc/self")) -> LearnerGroup | None:
        """A new group ``name`` with these limits, for one core of CPU; ``None`` where none can be made."""
        found = hierarchies(proc)
        unified = next((hierarchy for hierarchy in found if hierarchy.version == 2
                        and set(NEEDED) <= hierarchy.controllers), None)
        group = cls._make_v2(name, unified) if unified else None
        if group is None:
            separate = [hierarchy for hierarchy in found if hierarchy.version == 1]
            if set(NEEDED) <= set().union(*(hierarchy.controllers for hierarchy in separate)):
                group = cls._make(1, [hierarchy.own_group / name for hierarchy in separate])
        if group is not None and not group._limit(memory_bytes, processes):
            group.remove()
            return None
        return group

    @classmethod
    def _make_v2(cls, name: str, hierarchy: Hierarchy) -> LearnerGroup | None:
        try:  # refused (EBUSY) where the grader's own group holds processes: v2 keeps them at the leaves
            (hierarchy.own_group / "cgroup.subtree_control").write_text(
                " ".join(f"+{controller}" for controller in WANTED if controller in hierarchy.controllers))
        except OSError:
            return None
        return cls._make(2, [hierarchy.own_group / name])

    @classmethod
    def _make(cls, version: int, folders: list[Path]) -> LearnerGroup | None:
        made = []
        try:
            for folder in folders:
                folder.mkdir(exist_ok=True)
                made.append(folder)
        except OSError:
            cls(version, made).remove()
            return None
        return cls(version, made)

    def _limit(self, memory_bytes: int, processes: int) -> bool:
        """Set the limits; whether memory and processes are held (CPU and swap are kept where offered)."""
        core = f"{CPU_PERIOD_MICROSECONDS}"
        if self.version == 2:
            needed = {"memory.max": memory_bytes, "pids.max": processes}
            offered = {"memory.swap.max": 0, "cpu.max": f"{core} {core}"}
        else:
            needed = {"memory.limit_in_bytes": memory_bytes, "pids.max": processes}
            offered = {"memory.memsw.limit_in_bytes": memory_bytes, "cpu.cfs_period_us": core,
                       "cpu.cfs_quota_us": core}
        held = all([self._write(name, value) for name, value in needed.items()])
        for name, value in offered.items():  # after the memory limit: v1's memory+swap may not be below it
            self._write(name, value)
        return held

    def _write(self, name: str, value: object) -> bool:
        for folder in self.folders:
            if (folder / name).exists():
                try:
                    (folder / name).write_text(str(value))
                    return True
                except OSError:
                    return False
        return False

    def join_command(self, command: list[str]) -> list[str]:
        """``command``, started by a shell that first moves itself into this group: everything it becomes
        and starts is counted from its first instruction."""
        join = 'count=$1; shift; while [ "$count" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; ' \
               'count=$((count - 1)); done; exec "$@"'
        procs = [str(folder / "cgroup.procs") for folder in self.folders]
        return ["/bin/sh", "-c", join, "join-cgroup", str(len(procs)), *procs, *command]

    def memory_kills(self) -> int:
        """How many of the group's processes the kernel has ended for going over its memory limit."""
        events = "memory.events" if self.version == 2 else "memory.oom_control"
        for folder in self.folders:
            for line in _read(folder / events).splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        return 0

    def processes(self) -> list[int]:
        return sorted({int(pid) for folder in self.folders for pid in _read(folder / "cgroup.procs").split()})

    def kill(self) -> None:
        """End every process in the group, including those forked while the others were being ended."""
        if self.version == 2 and self._write("cgroup.kill", 1):
            return
        for _ in range(KILL_ROUNDS):
            remaining = self.processes()
            if not remaining:
                return
            for pid in remaining:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        """End what is left in the group and remove it (the kernel frees a group once its processes are reaped)."""
        self.kill()
        for folder in self.folders:
            for _ in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)


def kernel_limits() -> str:
    """How a learner's processes are limited together on this machine, for the grading's first line."""
    group = LearnerGroup.make(f"mnist-course-grader-{os.getpid()}-probe", 1 << 30, 8)
    if group is None:
        return "limits per process (no control group can be made here; as root there would be one)"
    group.remove()
    return f"limits per learner held by a control group (cgroup v{group.version})"


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
