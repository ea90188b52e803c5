"""Reading learners' submissions safely: an ``exercises/`` folder, a ``.zip`` of one, or a folder of them.

Only a few small text files are read from a submission, never executed here and never
extracted: the learner's exercise modules (which get graded) and their check files and
``conftest.py`` (which are only compared with the released ones, as tamper evidence).
Symbolic links, paths that leave the archive and oversized files are skipped and flagged.
"""

from __future__ import annotations

import ast
import os
import stat
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from course.errors import CourseError

from ..catalog import EXERCISES, exercises

MAX_FILE_BYTES = 1 << 20  # a learner's module is a few kilobytes; anything bigger is not one
MAX_ZIP_MEMBERS = 10_000
#: Importing these from an exercise module could reach into the grading itself or copy the reference.
SUSPICIOUS_IMPORTS = ("grader", "pytest", "_pytest", "pluggy", "solutions", "conftest")


def learner_modules() -> list[str]:
    """The files that hold exercise blocks (``model.py``, ``engine.py`` ...): the only files graded."""
    return sorted({entry.module for entry in exercises().values() if entry.module})


def released_checks(released: Path = EXERCISES) -> dict[str, bytes]:
    """The public check files and ``conftest.py`` exactly as released to learners."""
    files = [*sorted(released.glob("test_*.py")), released / "conftest.py"]
    return {path.name: path.read_bytes() for path in files}


def _is_check_file(name: str) -> bool:
    return name == "conftest.py" or (name.startswith("test_") and name.endswith(".py"))


@dataclass
class Submission:
    """One learner's files that matter, and what was noticed while reading them."""

    learner: str
    source: Path
    modules: dict[str, bytes] = field(default_factory=dict)
    checks: dict[str, bytes] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    error: str = ""

    def tamper_flags(self) -> list[str]:
        """Check files or ``conftest.py`` that differ from the released ones, and imports that reach the grader.

        Class grading never runs them: an edit changes nothing but shows intent.
        """
        released = released_checks()
        flags = [f"edited {name}" for name, text in sorted(self.checks.items())
                 if name in released and text != released[name]]
        flags += [f"added {name}" for name in sorted(self.checks.keys() - released.keys())]
        for name, text in sorted(self.modules.items()):
            flags += [f"{name} imports {module}" for module in sorted(suspicious_imports(text))]
        return flags


def suspicious_imports(source: bytes) -> set[str]:
    """Top-level packages from :data:`SUSPICIOUS_IMPORTS` that ``source`` imports (none if it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                "__import__", "import_module") and node.args and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value))
    return {name.split(".")[0] for name in names} & set(SUSPICIOUS_IMPORTS)


def _wanted(name: str) -> bool:
    return name in learner_modules() or _is_check_file(name)


def read_folder(folder: Path, learner: str) -> Submission:
    """The submission in an ``exercises/`` folder (nothing below it is read)."""
    submission = Submission(learner, folder)
    try:
        paths = sorted(folder.iterdir())
    except OSError as error:
        submission.error = f"cannot read the folder: {error.strerror}"
        return submission
    for path in paths:
        if not _wanted(path.name):
            continue
        try:
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                submission.flags.append(f"{path.name} is a symbolic link (ignored)")
            elif stat.S_ISREG(mode) and path.stat().st_size > MAX_FILE_BYTES:
                submission.flags.append(f"{path.name} is larger than {MAX_FILE_BYTES >> 10} KiB (ignored)")
            elif stat.S_ISREG(mode):
                _keep(submission, path.name, path.read_bytes())
        except OSError as error:
            submission.flags.append(f"cannot read {path.name}: {error.strerror} (ignored)")
    return submission


def _keep(submission: Submission, name: str, content: bytes) -> None:
    (submission.modules if name in learner_modules() else submission.checks)[name] = content


def _exercises_folder_in(names: list[str]) -> str | None:
    """The folder of an archive that holds the learner's modules: the shallowest called exercises, else the shallowest."""
    folders = [PurePosixPath(name).parent for name in names if PurePosixPath(name).name in learner_modules()]
    best = min(folders, key=lambda folder: (folder.name != "exercises", len(folder.parts), str(folder)), default=None)
    return None if best is None else str(best)


def read_zip(path: Path, learner: str) -> Submission:
    """The submission in a ``.zip`` of an ``exercises/`` folder, read in memory: nothing is extracted."""
    submission = Submission(learner, path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                submission.error = f"the zip holds more than {MAX_ZIP_MEMBERS} files"
                return submission
            safe = []
            for member in members:
                parts = PurePosixPath(member.filename.replace("\\", "/")).parts
                if member.filename.startswith(("/", "\\")) or ".." in parts or ":" in member.filename:
                    submission.flags.append(f"unsafe path in zip: {member.filename} (ignored)")
                elif stat.S_ISLNK(member.external_attr >> 16):
                    if PurePosixPath(member.filename).name in learner_modules():
                        submission.flags.append(f"{PurePosixPath(member.filename).name} is a symbolic link (ignored)")
                elif not member.is_dir():
                    safe.append(member)
            folder = _exercises_folder_in([member.filename for member in safe])
            for member in safe:
                name = PurePosixPath(member.filename)
                if str(name.parent) != (folder or ".") or not _wanted(name.name):
                    continue
                if member.file_size > MAX_FILE_BYTES:
                    submission.flags.append(f"{name.name} is larger than {MAX_FILE_BYTES >> 10} KiB (ignored)")
                    continue
                with archive.open(member) as stream:
                    content = stream.read(MAX_FILE_BYTES + 1)  # the header's size may lie
                if len(content) > MAX_FILE_BYTES:
                    submission.flags.append(f"{name.name} is larger than {MAX_FILE_BYTES >> 10} KiB (ignored)")
                else:
                    _keep(submission, name.name, content)
    except Exception as error:  # noqa: BLE001 - a corrupt stream (zlib, LZMA), a name that is not UTF-8...
        submission.error = f"cannot read the zip: {type(error).__name__}: {readable(str(error)[:200])}"
    return submission


def _holds_modules(folder: Path) -> bool:
    return any((folder / name).is_file() or (folder / name).is_symlink() for name in learner_modules())


def find_submissions(paths: list[Path]) -> list[Submission]:
    """Every submission in ``paths``, each under a name of its own, in a stable order.

    A path may be a learner's ``exercises/`` folder, a folder that holds one (``alice/exercises``),
    a ``.zip`` of either, or a folder of such submissions (one per learner).

    Raises:
        CourseError: a path does not exist or holds no submission.
    """
    found: list[Submission] = []
    for path in paths:
        if not path.exists():
            raise CourseError(f"{readable(path)} does not exist; pass learners' exercises/ folders, .zip files, "
                              "or a folder of them")
        here = _submissions_at(path)
        if not here:
            raise CourseError(f"{readable(path)} holds no submission: none of {', '.join(learner_modules())} "
                              "in it or below it")
        found += here
    for submission, name in zip(found, unique_names([_learner_path(submission.source) for submission in found])):
        submission.learner = name
    return found


def readable(value: object) -> str:
    """A path or name as text that prints and writes anywhere: bytes that are not UTF-8 and control
    characters become escapes (``caf\\xe9``)."""
    text = os.fsencode(str(value)).decode("utf-8", errors="backslashreplace")
    return "".join(char if unicodedata.category(char)[0] != "C" else repr(char)[1:-1] for char in text)


def unique_names(paths: list[Path]) -> list[str]:
    """A readable name for each learner: its folder's name, with as many parent folders as it takes
    to tell it from another learner's (``class/alice`` and ``class2/alice``), else a number."""
    parts = [path.parts[1:] if path.is_absolute() else path.parts for path in paths]
    depth = [1] * len(paths)
    while True:
        names = [readable("/".join(part[-level:])) for part, level in zip(parts, depth)]
        clashing = [index for index, name in enumerate(names)
                    if any(other == name and parts[at] != parts[index] for at, other in enumerate(names))
                    and depth[index] < len(parts[index])]
        if not clashing:
            break
        for index in clashing:
            depth[index] += 1
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            names[index] = f"{name} ({seen[name]})"
    return names


def _learner_path(source: Path) -> Path:
    """The path that names a learner: its folder (not ``exercises``), or its zip without the suffix."""
    path = source.resolve()
    if path.name == "exercises":
        return path.parent
    return path.with_suffix("") if path.suffix.lower() == ".zip" else path


def _submissions_at(path: Path) -> list[Submission]:
    if path.is_file():
        return [read_zip(path, path.stem)] if path.suffix.lower() == ".zip" else []
    if _holds_modules(path):
        return [read_folder(path, path.name)]
    if _holds_modules(path / "exercises"):
        return [read_folder(path / "exercises", path.name)]
    children = [child for child in sorted(path.iterdir())
                if not child.is_symlink() and not child.name.startswith((".", "__"))]
    return [submission for child in children for submission in _submissions_at(child)]
