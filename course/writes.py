"""Checking every destination before the work starts, and writing files all or nothing.

A run that trains for ten minutes and then finds it cannot save has lost ten
minutes; so the command line checks each file and folder it will write first,
by actually creating (and removing) a probe file where the output will go.
That catches read-only folders, read-only mounts, a file where a folder should
be and a full disk alike, whoever runs the command.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from pathlib import Path

from .errors import CourseError

TEMPORARY_SUFFIX = ".tmp"


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest ancestor that exists (the folder new folders would be made in)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _reason(error: OSError, folder: Path) -> str:
    """Why writing in ``folder`` failed, in words."""
    if error.errno == errno.ENOSPC:
        return f"the disk holding {folder} is full"
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"you are not allowed to write in {folder}"
    if error.errno == errno.EROFS:
        return f"{folder} is on a read-only file system"
    return f"{folder}: {error.strerror or error}"


def _probe(folder: Path, needed_bytes: int) -> None:
    """Create, fill and remove a file in ``folder``; raise the ``OSError`` that stops it."""
    probe = folder / f".write-probe-{os.getpid()}{TEMPORARY_SUFFIX}"
    descriptor = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        if needed_bytes and shutil.disk_usage(folder).free < needed_bytes:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    finally:
        os.close(descriptor)
        probe.unlink()


def check_folder(path: str | os.PathLike, what: str, option: str) -> Path:
    """Make sure the folder ``path`` exists or can be created, and that files can be written in it.

    Nothing is created except a probe file that is removed at once.

    Args:
        what: what goes into the folder, for the message, e.g. ``"the TensorBoard logs"``.
        option: the option that chooses the folder, for the advice, e.g. ``"--log-dir"``.

    Raises:
        CourseError: ``path`` is a file, lies under a file, or cannot be written to.
    """
    path = Path(path)
    existing = _nearest_existing(path)
    if not existing.is_dir():
        raise CourseError(f"cannot write {what} to {path}: {existing} is a file, not a folder; choose another {option}")
    try:
        _probe(existing, 0)
    except OSError as error:
        raise CourseError(f"cannot write {what} to {path}: {_reason(error, existing)}; choose another {option}") from None
    return path


def check_file(
    path: str | os.PathLike, what: str, option: str, example: str = "model.pt", needed_bytes: int = 0
) -> Path:
    """Make sure a file can be written at ``path`` (and ``needed_bytes`` fit), before any work is done.

    Args:
        what: what the file holds, for the message, e.g. ``"the checkpoint"``.
        option: the option that names the file, for the advice, e.g. ``"--save"``.
        example: a file name to suggest when ``path`` is a folder.
        needed_bytes: room the file needs on the disk.

    Raises:
        CourseError: ``path`` is a folder, its folder is a file, or the folder is not writable or full.
    """
    raw = os.fspath(path)
    path = Path(raw)
    if path.is_dir() or raw.endswith(("/", os.sep)):
        raise CourseError(f"cannot write {what} to {raw}: it is a folder; give a file name inside it, "
                          f"e.g. {option} {path / example}")
    existing = _nearest_existing(path.parent)
    if not existing.is_dir():
        raise CourseError(f"cannot write {what} to {raw}: {existing} is a file, not a folder; choose another {option}")
    try:
        _probe(existing, needed_bytes)
    except OSError as error:
        raise CourseError(f"cannot write {what} to {raw}: {_reason(error, existing)}; choose another {option}") from None
    return path


def refuse_special_file(path: Path, what: str) -> None:
    """Refuse a device, pipe or socket where a file is to be read, naming it for what it is.

    ``/dev/zero`` or a named pipe exists but is no regular file: reading it would never end.

    Raises:
        CourseError: ``path`` exists and is neither a regular file nor a folder.
    """
    if path.exists() and not path.is_file() and not path.is_dir():
        raise CourseError(f"{what} {path} is not a regular file (it is a device, a pipe or a socket); "
                          "give a file saved on the disk")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(path: Path) -> None:
    """Delete the temporary files a killed save to ``path`` left behind.

    Temporaries are named ``.<name>.<pid>.tmp`` after the process that wrote them,
    so a save still running in another process keeps its own. Names such as
    ``.<name>.k3j_x9a2``, from ``tempfile`` in earlier versions of the course, are
    always stale.
    """
    ours = re.compile(rf"^\.{re.escape(path.name)}\.(\d+){re.escape(TEMPORARY_SUFFIX)}$")
    earlier = re.compile(rf"^\.{re.escape(path.name)}\.[a-z0-9_]{{8}}$")
    for candidate in path.parent.glob(f".{path.name}.*"):
        match = ours.match(candidate.name)
        if earlier.match(candidate.name) or (
            match and (int(match[1]) == os.getpid() or not _process_alive(int(match[1])))
        ):
            candidate.unlink(missing_ok=True)


def followed_link(path: str | os.PathLike) -> Path:
    """``path``, or where it points if it is a symbolic link (to be written there, the link kept)."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half of one.

    The bytes go to a temporary file beside ``path``, are flushed to the disk,
    then renamed over ``path``. The file gets the usual permissions (``0666``
    less the umask), so that classmates and instructors can read it when the
    umask allows. Temporaries left by earlier killed saves are removed first. A
    symbolic link at ``path`` stays a link: the file it points to is replaced.

    Raises:
        CourseError: the file cannot be written (full disk, read-only folder, ...);
            any file already at ``path`` is then unchanged.
    """
    path = followed_link(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(path)
        temporary = path.with_name(f".{path.name}.{os.getpid()}{TEMPORARY_SUFFIX}")
        descriptor = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o666)
    except OSError as error:
        raise CourseError(f"cannot write {path}: {_reason(error, path.parent)}; choose another path") from None
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
        _sync_folder(path.parent)
    except OSError as error:
        kept = " (the file already there is unchanged)" if path.exists() else ""
        raise CourseError(
            f"cannot write {path}: {_reason(error, path.parent)}{kept}; free some space or choose another path"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)
    return path


def _sync_folder(folder: Path) -> None:
    """Flush the rename itself to the disk (POSIX only; Windows has no folder handles)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
