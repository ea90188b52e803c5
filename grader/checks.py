"""What the exercise checks use: the code being graded, and failures that carry a hint."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from course.parts import PART_MODULES, Parts

from .tracing import library_use  # noqa: F401 - the checks use it from here


class CheckFailed(AssertionError):
    """A check found something wrong; the plugin shows ``expected``, ``found`` and the hint ``hint``."""

    def __init__(self, hint: str, expected: str, found: str) -> None:
        super().__init__(f"expected {expected}, found {found}")
        self.hint, self.expected, self.found = hint, expected, found


class FollowsFrom(CheckFailed):
    """A check fails only because an earlier check fails: the plugin says so in one line, with that check's hint key."""

    def __init__(self, hint: str, check: str) -> None:
        super().__init__(hint, "", f"the failure of: {check}")
        self.check = check


class LearnerCodeBroken(Exception):
    """A module being graded cannot be imported, or lacks a name the exercise asks for."""


def expect(condition: object, hint: str, expected: str, found: object) -> None:
    """Raise :class:`CheckFailed` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(hint, expected, str(found))


def apart(found: float, wanted: float) -> tuple[str, str]:
    """``found`` and ``wanted`` written with just enough digits to look different (a failure's evidence
    must never read as equal)."""
    for digits in range(4, 18):
        shown = f"{found:.{digits}g}", f"{wanted:.{digits}g}"
        if shown[0] != shown[1]:
            return shown
    return shown


def where_in(error: BaseException, folder: Path) -> str:
    """`` (exercises/model.py, line 37: x = self.fc1(x))`` for the deepest frame inside ``folder``."""
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if Path(frame.filename).resolve().is_relative_to(folder)]
    if not frames:
        return ""
    frame = frames[-1]
    return f" ({folder.name}/{Path(frame.filename).name}, line {frame.lineno}: {(frame.line or '').strip()})"


class Target:
    """The package being graded (``exercises`` or ``solutions``), imported from one folder only."""

    def __init__(self, package: str, folder: Path) -> None:
        self.package, self.folder = package, folder.resolve()

    def _package(self) -> ModuleType:
        loaded = sys.modules.get(self.package)
        if loaded is not None and Path(loaded.__file__).resolve().parent == self.folder:
            return loaded
        for name in [name for name in sys.modules if name == self.package or name.startswith(f"{self.package}.")]:
            del sys.modules[name]
        spec = importlib.util.spec_from_file_location(
            self.package, self.folder / "__init__.py", submodule_search_locations=[str(self.folder)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[self.package] = package
        spec.loader.exec_module(package)
        return package

    def module(self, name: str) -> ModuleType:
        """Import ``<package>.<name>`` from this folder, explaining any failure."""
        self._package()
        path = f"{self.folder.name}/{name}.py"
        try:
            return importlib.import_module(f"{self.package}.{name}")
        except NotImplementedError:
            raise
        except SyntaxError as error:
            # the error may lie in a module this one imports: name the file it is in
            broken = f"{self.folder.name}/{Path(error.filename).name}" if error.filename else path
            raise LearnerCodeBroken(f"{broken} has a syntax error on line {error.lineno}: {error.msg}") from error
        except Exception as error:  # noqa: BLE001 - whatever the learner's module raised
            raise LearnerCodeBroken(
                f"importing {path} failed with {type(error).__name__}: {error}{where_in(error, self.folder)}"
            ) from error

    def parts(self) -> Parts:
        """This package's modules as the course's runtime runs them (see :mod:`course.parts`)."""
        return Parts(package=self.package, folder=self.folder, **{name: self.module(name) for name in PART_MODULES})

    def running(self, hint: str) -> contextmanager:
        """``with learner.running("flatten"): ...`` reports an exception inside with that hint."""
        return learner_code(hint, self.folder)

    def get(self, module: str, name: str, kind: str = "function") -> Any:
        """``<package>.<module>.<name>``, or a clear message when it is missing."""
        found = getattr(self.module(module), name, None)
        if found is None:
            raise LearnerCodeBroken(f"expected a {kind} `{name}` in {self.folder.name}/{module}.py")
        return found


@contextmanager
def learner_code(hint: str, folder: Path) -> Iterator[None]:
    """Turn an unexpected exception from the learner's code into a failure with ``hint``."""
    try:
        yield
    except (NotImplementedError, CheckFailed, LearnerCodeBroken):
        raise
    except Exception as error:  # noqa: BLE001 - any error in learner code is reported the same way
        raise CheckFailed(
            hint, "your code to run without an error", f"{type(error).__name__}: {error}{where_in(error, folder)}"
        ) from error


