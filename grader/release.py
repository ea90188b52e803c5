"""``python -m grader release --out DIR``: the learner's repository for a class, as nbgrader's release step makes it.

A class gets the lessons and the site's pages, the runtime (``course/``), the exercises as stubs with their
public checks and the answers those compare with (``exercises/answers.pt``, see :mod:`grader.answers`), and
the learner's side of the grader (hints, reset, watch, the checks' plugin). The instructor keeps the reference
answers (``solutions/``), the class grading and its hidden checks (``grader/classroom/``), the autograders
(``grader/autograder/``), the test suite, the benchmarks, CI, and the scripts that make the lessons' figures
from the reference. Commands and imports of the reference in the lessons and pages name the learner's
``exercises`` instead; prose that only says where the reference lives is kept, as it gives nothing away.

The release is written to a folder beside ``DIR`` and renamed to ``DIR`` at the end: a failure leaves nothing.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from pathlib import Path

from .catalog import EXERCISES, PRISTINE, REPO, SOLUTIONS
from .stubs import expected_exercises

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

COPIED = ("LICENSE", ".gitignore", "mkdocs.yml", "course", "grader", "lessons", "docs")
INSTRUCTORS_ONLY = (  # inside what is copied: never in a class's release
    "grader/classroom", "grader/autograder", "grader/release.py", "grader/release-readme.md",
    "docs/make_figures.py", "docs/lab_figures.py", "docs/drawing_pad_figures.py",
)
NEVER_COPIED = shutil.ignore_patterns("__pycache__", "*.pyc", ".grader", ".cache")
REWRITTEN = ("lessons", "docs", "mkdocs.yml")  # the lessons' and pages': commands and imports may name the reference
KEPT_AS_WRITTEN = ("docs/instructors.md",)  # about the reference, for instructors: nothing to run in a release
LEARNER_PACKAGES = ("course", "exercises", "grader")  # what the release's pyproject.toml installs
# The reference, named as code: `python -m solutions`, `torchrun ... -m solutions`, `from solutions.model import`,
# `import solutions`, `::: solutions.engine`. Never `--solutions` or the folder `solutions/` in prose, nor a line that
# names exercises too: it compares the two ("python -m solutions train and python -m exercises train run ...").
REFERENCE_AS_CODE = re.compile(r"(?<=-m )solutions\b|(?<=from )solutions\b|(?<=import )solutions\b"
                               r"|(?<![\w/.-])solutions(?=\.[a-z_])")


class ReleaseError(Exception):
    """The release cannot be written: the message says why, in one line."""


def release(out: Path, repo: Path = REPO) -> list[str]:
    """Write the learner's repository to ``out`` (a new or empty folder); returns what was written."""
    out = out.absolute()
    refuse_destination(out)
    refuse_stale_answers(repo / EXERCISES.name)
    out.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        report = write_release(building, repo)
        building.chmod(0o755)
        building.replace(out)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return report + [f"wrote   {out}: install it with pip install -e {out}, then pytest exercises/"]


def refuse_destination(out: Path) -> None:
    """A release never replaces or mixes with what is there: ``out`` must be missing or an empty folder."""
    if out.is_file() or (out.exists() and not out.is_dir()):
        raise ReleaseError(f"{out} is a file: --out needs a new or empty folder")
    if out.is_dir() and any(out.iterdir()):
        raise ReleaseError(f"{out} is not empty: --out needs a new or empty folder, so that nothing is mixed in")


def refuse_stale_answers(exercises: Path) -> None:
    """The checks a class gets must compare with the current reference's answers."""
    from .answers import answers_out_of_date  # loads PyTorch

    problems = answers_out_of_date(exercises)
    if problems:
        raise ReleaseError(f"{problems[0]}; run python -m grader generate first")


def write_release(folder: Path, repo: Path) -> list[str]:
    """The release's whole content, in ``folder``."""
    for name in COPIED:
        source = repo / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=NEVER_COPIED)
        elif source.exists():
            shutil.copy2(source, folder / name)
    for name in INSTRUCTORS_ONLY:
        remove(folder / name)
    rewritten = rewrite_reference_names(folder)
    write_exercises(folder, repo)
    (folder / "pyproject.toml").write_text(learner_pyproject((repo / "pyproject.toml").read_text()))
    (folder / "README.md").write_text((repo / "grader" / "release-readme.md").read_text())
    return [f"rewrote {len(rewritten)} lessons and pages to name exercises where they named the reference"]


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def rewrite_reference_names(folder: Path) -> list[Path]:
    """Name ``exercises`` wherever the lessons, pages and site configuration run or import the reference."""
    changed = []
    texts = [path for name in REWRITTEN for path in sorted([folder / name, *(folder / name).rglob("*")])
             if path.suffix in (".md", ".py", ".yml") and path.is_file()
             and path.relative_to(folder).as_posix() not in KEPT_AS_WRITTEN]
    for path in texts:
        text = path.read_text()
        new = "".join(line if "exercises" in line else REFERENCE_AS_CODE.sub("exercises", line)
                      for line in text.splitlines(keepends=True))
        if new != text:
            path.write_text(new)
            changed.append(path)
    return changed


def write_exercises(folder: Path, repo: Path) -> None:
    """The stubs, their checks and stored answers in ``exercises/``, and the stubs again in ``grader/pristine/``
    for ``python -m grader reset``."""
    from .answers import ANSWERS_FILE

    exercises, target, pristine = repo / EXERCISES.name, folder / EXERCISES.name, folder / PRISTINE.relative_to(REPO)
    target.mkdir()
    pristine.mkdir()
    for name, text in expected_exercises(repo / SOLUTIONS.name).items():
        (target / name).write_text(text)
        (pristine / name).write_text(text)
    for check in [*sorted(exercises.glob("test_*.py")), exercises / "conftest.py", exercises / ANSWERS_FILE]:
        shutil.copy2(check, target / check.name)


def learner_pyproject(text: str) -> str:
    """``pyproject.toml`` installing the runtime, the exercises and the grader: no reference, no class grading."""
    packages = tomllib.loads(text)["tool"]["setuptools"]["packages"]
    kept = [name for name in packages if name in LEARNER_PACKAGES] + [
        name for name in LEARNER_PACKAGES if name not in packages]
    listed = ", ".join(f'"{name}"' for name in kept)
    new, count = re.subn(r"(?m)^packages = \[.*\]$", f"packages = [{listed}]", text)
    if count != 1:
        raise ReleaseError("pyproject.toml has no one-line `packages = [...]` under [tool.setuptools] to rewrite")
    return new


def add_release_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("release", help="(instructors) write the learner's repository for a class, "
                                                 "without the reference answers")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="a new or empty folder")


def release_command(args: argparse.Namespace) -> int:
    """``python -m grader release --out DIR``: the report, or a one-line error and exit status 2."""
    try:
        print("\n".join(release(args.out)))
    except (ReleaseError, OSError) as error:
        print(f"python -m grader release: {error}", file=sys.stderr)
        return 2
    return 0
