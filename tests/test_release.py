"""A class's release (``python -m grader release``): the learner's repository, without the reference answers
or the hidden checks, whose public checks work there with nothing but the answers stored beside them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import release as release_module
from grader.__main__ import main
from grader.answers import answers_out_of_date
from grader.catalog import REPO, SOLUTIONS, exercises
from grader.stubs import BEGIN, END

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ANSWERED = {f"ex{number}": "done" for number in exercises()}


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "class"
    assert main(["release", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def no_reference(tmp_path_factory) -> Path:
    """A folder for PYTHONPATH whose ``solutions`` refuses to import: the venv's editable install of the
    course would otherwise find the reference of the checkout it was installed from."""
    folder = tmp_path_factory.mktemp("no-reference")
    (folder / "solutions").mkdir()
    (folder / "solutions" / "__init__.py").write_text('raise ImportError("no reference answers in a release")\n')
    return folder


def solution_bodies() -> list[str]:
    """The text of every solution block of the reference, each without its markers."""
    bodies, body = [], None
    for path in sorted(SOLUTIONS.glob("*.py")):
        for line in path.read_text().splitlines(keepends=True):
            if BEGIN.match(line):
                body = []
            elif END.match(line):
                bodies.append("".join(body))
                body = None
            elif body is not None:
                body.append(line)
    return bodies


def texts(folder: Path) -> dict[Path, str]:
    return {path: path.read_bytes().decode(errors="replace") for path in folder.rglob("*") if path.is_file()}


def grade(folder: Path, no_reference: Path, *arguments: str) -> tuple[dict, str]:
    """``pytest exercises/`` in the release, as its learner runs it: its own packages first, no reference anywhere."""
    report = folder.parent / f"report-{folder.name}.json"
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(no_reference)])}
    completed = subprocess.run([sys.executable, "-m", "pytest", "exercises/", "-p", "no:cacheprovider",
                                f"--grader-report={report}", *arguments], cwd=folder, env=environment,
                               capture_output=True, text=True, timeout=600)
    assert report.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(report.read_text()), completed.stdout


def test_the_stored_answers_are_the_current_references():
    assert answers_out_of_date() == [], "run: python -m grader generate"


def test_no_reference_answer_and_no_hidden_check_is_released(released):
    assert not (released / "solutions").exists()
    assert not (released / "grader" / "classroom").exists() and not (released / "grader" / "autograder").exists()
    bodies = [body for body in solution_bodies() if body.strip()]
    assert len(bodies) >= len([entry for entry in exercises().values() if entry.module])
    for path, text in texts(released).items():
        assert not [body for body in bodies if body in text], f"{path} holds a solution block of the reference"
    hidden = {path.read_text() for path in (REPO / "grader" / "classroom").rglob("*.py")}
    assert not [path for path, text in texts(released).items() if text in hidden]


def test_the_release_installs_what_it_holds(released):
    packages = tomllib.loads((released / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert sorted(packages) == ["course", "exercises", "grader"]
    assert all((released / package / "__init__.py").is_file() for package in packages)
    assert "python -m solutions" not in (released / "README.md").read_text()
    lessons = "\n".join(text for path, text in texts(released / "lessons").items() if path.suffix == ".md")
    code = [line.strip() for line in lessons.splitlines()
            if line.lstrip().startswith(("from ", "import ", "python -m ", "torchrun ", "OMP_NUM_THREADS"))]
    assert not [line for line in code if "solutions" in line], "a lesson's code runs the reference"
    assert "from exercises.model import CNN, count_parameters" in code


def test_the_checks_run_on_the_stubs_as_on_a_learners_first_day(released, no_reference):
    report, output = grade(released, no_reference)
    assert {key: value["status"] for key, value in report.items()} == {key: "not started" for key in ANSWERED}
    assert f"0/{len(exercises())} exercises complete" in output
    assert not re.search(r"\d+ errors?\b", output.splitlines()[-1]), output[-3000:]  # none in collection


def test_the_public_checks_pass_with_the_reference_modules_and_no_reference(released, no_reference, tmp_path):
    """The reference's modules copied into the release's exercises/: every check passes without solutions/
    importable, so none of them needs it. Exercise 10 (a whole epoch of training) needs no answers: left out."""
    answered = tmp_path / "answered"
    shutil.copytree(released, answered)
    for module in SOLUTIONS.glob("*.py"):
        shutil.copy(module, answered / "exercises" / module.name)
    report, output = grade(answered, no_reference, "-m", "not ex10")
    assert {key: value["status"] for key, value in report.items()} == {**ANSWERED, "ex10": "not run"}, output[-3000:]


@pytest.mark.parametrize("kind", ["non-empty folder", "file"])
def test_a_bad_destination_is_refused_in_one_line_and_nothing_is_written(tmp_path, capsys, kind):
    out = tmp_path / "class"
    if kind == "file":
        out.write_text("notes")
    else:
        out.mkdir()
        (out / "mine.txt").write_text("notes")
    before = sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*"))
    assert main(["release", "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("python -m grader release: ") and error.count("\n") == 1, error
    assert sorted(path.relative_to(tmp_path) for path in tmp_path.rglob("*")) == before


def test_a_failure_half_way_leaves_nothing(tmp_path, monkeypatch):
    def full_disk(*arguments):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(release_module, "write_exercises", full_disk)
    assert main(["release", "--out", str(tmp_path / "class")]) == 2
    assert list(tmp_path.iterdir()) == []


def test_answers_older_than_the_checks_are_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("grader.answers.fingerprint", lambda **folders: "another reference")
    assert main(["release", "--out", str(tmp_path / "class")]) == 2
    assert "python -m grader generate" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
