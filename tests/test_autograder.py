"""Proof that the Gradescope and GitHub Classroom autograders grade as class grading does.

The pure parts (points, results.json, the reporter's results, the zip, the workflow) are
checked on hand-made verdicts. Then the exported Gradescope autograder runs in a copy of
Gradescope's layout on three submissions, an honest one, the pristine stubs and a partial
one, each graded once for the whole module; the workflow's grading command grades them too.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest
import torch
import torchvision

from course.errors import CourseError
from grader.autograder import github_classroom, gradescope
from grader.autograder.scoring import NOT_GRADED, points_per_exercise, score_checks, shares, total
from grader.autograder.submission import Outcome
from grader.catalog import REPO, SOLUTIONS, exercises
from grader.classroom import Grade, Verdict
from grader.stubs import make_stub
from tests.learners.attacks import ATTACKS, DEEP_ERROR, corrupt_deflate
from tests.test_grader import learner_tree
from tests.test_grading import Host, attacked, solved, zip_folder

SCHEMA = json.loads((Path(__file__).parent / "gradescope_results.schema.json").read_text())
POINTS = points_per_exercise()
FULL_MARKS = sum(POINTS.values())
#: The partial learner solved exercises 3 and 9 (model.py, monitor.py) and nothing else.
PARTIAL_MARKS = POINTS[3] + POINTS[9]


def grade(*verdicts: Verdict, flags: tuple[str, ...] = ()) -> Outcome:
    return Outcome(Grade("ana", Path("ana"), list(flags), list(verdicts), 12.4))


def verdict(exercise: int, check: str, passed: bool, hidden: bool = False) -> Verdict:
    return Verdict(exercise, check, hidden, passed, "" if passed else f"hint for {check}")


# --- points ---------------------------------------------------------------------------------------

def test_points_come_from_exercises_toml_and_can_be_overridden():
    assert POINTS == {number: entry.points for number, entry in exercises().items()}
    assert points_per_exercise(["ex3=20", "ex10=2.5"]) == {**POINTS, 3: 20.0, 10: 2.5}


@pytest.mark.parametrize("override", ["ex14=5", "ex3", "3=20", "ex3=-1", "ex3=lots"])
def test_a_bad_override_is_refused_with_the_form_to_use(override):
    with pytest.raises(CourseError, match="exN=POINTS"):
        points_per_exercise([override])


def test_an_exercise_points_are_shared_evenly_among_its_checks_to_the_cent():
    assert shares(10, 3) == [3.33, 3.34, 3.33]
    assert round(sum(shares(10, 7)), 2) == 10
    scored = score_checks([verdict(3, "a", True), verdict(3, "b", False, hidden=True), verdict(3, "c", True),
                           verdict(3, "d", True)], POINTS)
    assert [(check.check, check.hidden, check.score) for check in scored[3]] == [
        ("a", False, 2.5), ("c", False, 2.5), ("d", False, 2.5), ("b", True, 0.0)]  # public first, then hidden
    assert total(scored) == 7.5


def test_an_exercise_that_was_never_graded_still_counts_in_the_maximum():
    scored = score_checks([verdict(1, "a", True)], POINTS)
    assert sum(check.max_score for checks in scored.values() for check in checks) == FULL_MARKS
    assert [check.check for check in scored[2]] == [NOT_GRADED]


# --- Gradescope's results.json ----------------------------------------------------------------------

def test_results_follow_gradescope_format_with_hidden_checks_shown_after_publishing():
    outcome = grade(verdict(3, "builds", True), verdict(3, "forward", False), verdict(3, "other sizes", False, True),
                    flags=("missing engine.py (graded as the stub)",))
    results = gradescope.results(outcome, POINTS)
    jsonschema.validate(results, SCHEMA)
    ex3 = [test for test in results["tests"] if test["number"].startswith("3.")]
    assert [(test["status"], test["visibility"], test["score"]) for test in ex3] == [
        ("passed", "visible", 3.33), ("failed", "visible", 0.0), ("failed", "after_published", 0.0)]
    assert ex3[1]["output"] == "hint for forward" and ex3[0]["output"] == ""
    assert ex3[2]["name"] == "3 · Build the CNN (further check): other sizes"
    assert results["score"] == 3.33 and results["execution_time"] == 12
    assert results["output"].endswith("\nNoticed while grading: missing engine.py (graded as the stub)")


def test_the_schema_refuses_what_gradescope_does_not_document():
    results = gradescope.results(grade(verdict(1, "a", True)), POINTS)
    for broken in ({**results, "scroe": 1}, {**results, "tests": [{**results["tests"][0], "visibility": "later"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)


def test_a_submission_with_nothing_to_grade_scores_zero_and_says_why():
    results = gradescope.results(Outcome(None, "submission holds no submission: none of model.py in it"), POINTS)
    jsonschema.validate(results, SCHEMA)
    assert results["score"] == 0 and results["output"].startswith("Nothing was graded: submission holds no")
    assert sum(test["max_score"] for test in results["tests"]) == FULL_MARKS


def test_a_submission_folder_that_does_not_exist_is_an_error_not_a_zero(tmp_path, capsys):
    out = tmp_path / "results.json"
    assert main_quietly("autograder", "run", str(tmp_path / "nowhere"), "--format", "gradescope", "--out", str(out)) == 2
    assert "nowhere does not exist" in capsys.readouterr().err and not out.exists()


# --- GitHub Classroom's reporter --------------------------------------------------------------------

def decode_outputs(text: str) -> dict[str, dict]:
    """The step outputs the workflow's reporter reads, decoded as it decodes them."""
    pairs = (line.split("=", 1) for line in text.splitlines())
    return {name: json.loads(base64.b64decode(value)) for name, value in pairs}


def test_reporter_results_give_each_exercise_its_points_and_checks():
    outcome = grade(verdict(3, "builds", True), verdict(3, "forward", False), verdict(9, "logs", True))
    runners = decode_outputs(github_classroom.github_output(github_classroom.runner_results(outcome, POINTS)))
    assert list(runners) == [f"ex{number}" for number in exercises()]
    ex3 = runners["ex3"]
    assert (ex3["status"], ex3["max_score"]) == ("fail", POINTS[3])
    assert [(test["status"], test["score"], test["message"]) for test in ex3["tests"]] == [
        ("pass", 5.0, None), ("fail", 0.0, "hint for forward")]
    assert runners["ex9"]["status"] == "pass" and runners["ex9"]["tests"][0]["score"] == POINTS[9]


def reporter_total(runners: dict[str, dict]) -> tuple[float, float]:
    """Points and maximum as the reporter adds them up for GitHub Classroom (notify-classroom.js)."""
    counted = [result for result in runners.values() if result.get("max_score")]
    earned = sum(test["score"] for result in counted for test in result["tests"])
    return round(earned, 2), sum(result["max_score"] for result in counted)


# --- the exported files ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "autograder.zip"
    assert main_quietly("autograder", "gradescope", "--out", str(out), "--points", "ex3=20") == 0
    return out


def main_quietly(*argv: str) -> int:
    from grader.__main__ import main

    return main(list(argv))


def test_the_zip_holds_gradescope_scripts_at_its_root_the_course_and_mnist(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as bundle:
        members = {member.filename: member for member in bundle.infolist()}
        run_autograder = bundle.read("run_autograder").decode()
    for script in ("setup.sh", "run_autograder"):
        assert stat.S_IMODE(members[script].external_attr >> 16) == 0o755
    names = set(members)
    assert {"course/pyproject.toml", "course/grader/exercises.toml", "course/exercises/conftest.py",
            "course/course/threads.py", "course/solutions/model.py", "data/MNIST/raw/train-images-idx3-ubyte"} <= names
    assert not [name for name in names if "__pycache__" in name or "/." in name or name.startswith("course/tests/")]
    assert "--points ex1=10 ex2=10 ex3=20 " in run_autograder


def test_scripts_pass_shellcheck(autograder_zip, tmp_path):
    if not shutil.which("shellcheck"):
        message = "shellcheck is not installed (Debian: apt-get install shellcheck)"
        if os.environ.get("REQUIRE_SHELLCHECK") == "1":
            pytest.fail(message + " (REQUIRE_SHELLCHECK=1)")
        pytest.skip(message)
    with zipfile.ZipFile(autograder_zip) as bundle:
        bundle.extractall(tmp_path, ["setup.sh", "run_autograder"])
    result = subprocess.run(["shellcheck", "setup.sh", "run_autograder"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("template")
    assert main_quietly("autograder", "github-classroom", "--out", str(folder), "--course",
                        "my-school/mnist-cnn-course@v1") == 0
    return folder / github_classroom.WORKFLOW_PATH


def test_the_workflow_passes_actionlint(template):
    actionlint = shutil.which("actionlint", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert actionlint, "actionlint comes with the dev extra"
    result = subprocess.run([actionlint, "-no-color", str(template)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_reports_every_exercise_to_github_classroom(template):
    text = template.read_text()
    assert text.startswith("#") and "\nname: Autograding Tests\n" in text and "\n  run-autograding-tests:\n" in text
    assert "repository: my-school/mnist-cnn-course\n" in text and "ref: v1\n" in text
    assert "python -m grader autograder run submission --format github-classroom" in text
    for number in exercises():
        assert f'EX{number}_RESULTS: "${{{{ steps.grade.outputs.ex{number} }}}}"' in text
    assert "runners: " + ",".join(f"ex{number}" for number in exercises()) + "\n" in text


def test_a_course_that_is_not_a_repository_at_a_ref_is_refused(tmp_path, capsys):
    assert main_quietly("autograder", "github-classroom", "--out", str(tmp_path), "--course", "mnist") == 2
    assert "is not OWNER/NAME@REF" in capsys.readouterr().err
    assert not (tmp_path / ".github").exists()


# --- end to end: the Gradescope autograder in Gradescope's layout ---------------------------------

def learner(root: Path, name: str) -> Path:
    """One of the three learners' ``exercises/`` folder: honest (the reference), the stubs, or partial."""
    if name == "partial":  # exercises 3 and 9 solved, nothing else
        return learner_tree(root, solved("model.py", "monitor.py"), solved=False)
    return learner_tree(root, solved=name == "honest")


def submissions(root: Path) -> dict[str, Path]:
    """The three learners, each as Gradescope may hand them over: the files, a repository, a zip; and two
    hostile ones: a zip that breaks the reader, and answers that would break the grader."""
    corrupt = root / "corrupt" / "corrupt.zip"
    corrupt.parent.mkdir(parents=True)
    corrupt_deflate(corrupt, "model.py")
    deep_error = {"preprocess.py": make_stub((SOLUTIONS / "preprocess.py").read_text()) + DEEP_ERROR.format()}
    return {"honest": learner(root / "honest", "honest"),
            "stubs": learner(root / "stubs", "stubs").parent,
            "partial": zip_folder(learner(root / "partial", "partial"), root / "partial.zip", "exercises"),
            "corrupt": corrupt,
            "deep-error": learner_tree(root / "deep-error", deep_error, solved=False)}


def gradescope_layout(root: Path, autograder: Path, submission: Path) -> Path:
    """``/autograder`` as Gradescope lays it out: source/ (the zip), run_autograder, submission/, results/."""
    with zipfile.ZipFile(autograder) as bundle:
        bundle.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    (root / "results").mkdir()
    target = root / "submission"
    if submission.is_dir():
        shutil.copytree(submission, target)
    else:
        target.mkdir()
        shutil.copy(submission, target)
    return root


def run_autograder(root: Path, environment: dict[str, str]) -> dict:
    """Run it as Gradescope does, from /autograder; results.json with the log (``stdout``, the instructor's)."""
    result = subprocess.run([str(root / "run_autograder")], cwd=root, capture_output=True, text=True,
                            env={**environment, gradescope.ROOT_ENV_VAR: str(root)})
    assert result.returncode == 0, result.stdout + result.stderr
    return {**json.loads((root / "results" / "results.json").read_text()), "stdout": result.stdout}


def setup_sh_python(root: Path) -> None:
    """What setup.sh leaves behind, without installing: a venv/bin/python that runs this test's Python."""
    (root / "venv" / "bin").mkdir(parents=True)
    (root / "venv" / "bin" / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (root / "venv" / "bin" / "python").chmod(0o755)


@pytest.fixture(scope="module")
def learners(tmp_path_factory) -> dict[str, Path]:
    return submissions(tmp_path_factory.mktemp("learners"))


@pytest.fixture(scope="module")
def gradescope_results(tmp_path_factory, autograder_zip, learners) -> dict[str, dict]:
    """Each learner graded once by run_autograder, running the course copied into the zip."""
    graded = {}
    for name, submission in learners.items():
        root = gradescope_layout(tmp_path_factory.mktemp(f"autograder-{name}"), autograder_zip, submission)
        setup_sh_python(root)
        environment = {**os.environ, "PYTHONPATH": str(root / "source" / "course"), "OMP_NUM_THREADS": "1"}
        graded[name] = run_autograder(root, environment)
        (root / "results" / "stdout").write_text(graded[name].pop("stdout"))  # as Gradescope keeps it
    return graded


def test_gradescope_gives_full_marks_zero_and_partial_marks(gradescope_results):
    maximum = FULL_MARKS + 10  # exported with ex3=20
    scores = {name: results["score"] for name, results in gradescope_results.items()}
    assert scores == {"honest": maximum, "stubs": 0, "partial": PARTIAL_MARKS + 10, "corrupt": 0, "deep-error": 0}
    for results in gradescope_results.values():
        jsonschema.validate(results, SCHEMA)
        assert round(sum(test["max_score"] for test in results["tests"]), 2) == maximum
        assert round(sum(test["score"] for test in results["tests"]), 2) == results["score"]


def test_gradescope_reports_a_zip_it_cannot_read_and_answers_it_will_not_load(gradescope_results):
    assert "cannot read the zip" in gradescope_results["corrupt"]["output"]
    assert "not plain data" in gradescope_results["deep-error"]["output"]


def test_gradescope_shows_hidden_checks_only_after_publishing(gradescope_results):
    tests = gradescope_results["honest"]["tests"]
    hidden = [test for test in tests if "(further check)" in test["name"]]
    assert hidden and all(test["visibility"] == "after_published" for test in hidden)
    assert all(test["visibility"] == "visible" for test in tests if test not in hidden)


def test_gradescope_tells_the_partial_learner_what_each_failing_check_said(gradescope_results):
    tests = gradescope_results["partial"]["tests"]
    assert all(test["status"] == "passed" for test in tests if test["number"].split(".")[0] in ("3", "9"))
    failing = [test for test in tests if test["status"] == "failed"]
    assert failing and all(test["output"] and test["score"] == 0 for test in failing)
    assert "Further checks, on data you did not see, appear once" in gradescope_results["partial"]["output"]
    assert "of 130" not in gradescope_results["partial"]["output"]  # Gradescope hides the total until published


@pytest.fixture(scope="module")
def attacked_on_gradescope(tmp_path_factory, autograder_zip) -> tuple[dict[str, dict], Host, Path]:
    """Every hostile learner of :mod:`tests.learners.attacks`, graded by run_autograder as Gradescope runs it."""
    root = tmp_path_factory.mktemp("attacks")
    host, honest = Host(root), learner(root / "honest", "honest")
    graded = {}
    for name, (module, lines, _) in ATTACKS.items():
        places = host.places(other_learner=honest / "engine.py", grades=root / "grades.csv")
        submission = learner_tree(root / "learners" / name, attacked(module, lines, **places), solved=False)
        layout = gradescope_layout(root / "autograder" / name, autograder_zip, submission)
        setup_sh_python(layout)
        environment = {**os.environ, "PYTHONPATH": str(layout / "source" / "course"), "OMP_NUM_THREADS": "1"}
        graded[name] = run_autograder(layout, environment)
    return graded, host, honest


@pytest.mark.slow
def test_gradescope_gives_every_attack_nothing_and_its_flags(attacked_on_gradescope):
    """The same hostile learners as class grading's, each in a Gradescope layout of its own: no marks, every
    attempt that shows is named in the output, the host's file and the honest learner's code untouched."""
    graded, host, honest = attacked_on_gradescope
    for name, results in graded.items():
        jsonschema.validate({key: value for key, value in results.items() if key != "stdout"}, SCHEMA)
        assert results["score"] == 0, name
        assert all(flag in results["output"] for flag in ATTACKS[name][2]), (name, results["output"][:2000])
    assert host.file.read_text() == "untouched"
    assert "written by a daemon" not in (honest / "engine.py").read_text()


# --- end to end: the workflow's grading command ---------------------------------------------------

def github_grading(repository: Path, out: Path) -> dict[str, dict]:
    """The workflow's grading step on a learner's checkout, its outputs read back as the reporter reads them."""
    command = [sys.executable, "-m", "grader", "autograder", "run", str(repository), "--format", "github-classroom",
               "--allow-unsandboxed", "--out", str(out)]
    result = subprocess.run(command, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    return decode_outputs(out.read_text())


@pytest.mark.parametrize("name", ["stubs", "partial", pytest.param("honest", marks=pytest.mark.slow)])
def test_the_workflow_grading_scores_as_gradescope(name, tmp_path):
    repository = learner(tmp_path / "repository", name).parent
    runners = github_grading(repository, tmp_path / "github_output")
    expected = {"honest": FULL_MARKS, "stubs": 0, "partial": PARTIAL_MARKS}[name]
    assert reporter_total(runners) == (expected, FULL_MARKS)


# --- setup.sh in a fresh virtual environment ------------------------------------------------------

@pytest.mark.slow
def test_setup_sh_installs_a_working_autograder_in_a_fresh_environment(tmp_path, autograder_zip, learners):
    """setup.sh for real (minus apt-get, which a test never runs), then one grading with what it installed."""
    root = gradescope_layout(tmp_path / "autograder", autograder_zip, learners["partial"])
    # PyTorch's CPU index is out of reach on this machine (only the package registries are): setup.sh then takes
    # PyTorch from the ones it reaches, pinned to this environment's versions so that torch and torchvision match.
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("".join(f"{package.__name__}=={package.__version__.split('+')[0]}\n"
                                   for package in (torch, torchvision)))
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment |= {gradescope.ROOT_ENV_VAR: str(root), "PIP_RETRIES": "0", "PIP_CONSTRAINT": str(constraints)}
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root, capture_output=True, text=True,
                           env=environment)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    installed = subprocess.run([str(root / "venv" / "bin" / "python"), "-c", "import grader, torch; print(grader.__file__)"],
                               capture_output=True, text=True, env=environment, cwd=root)
    assert installed.stdout.startswith(str(root / "source" / "course")), installed.stdout + installed.stderr
    results = run_autograder(root, {**environment, "OMP_NUM_THREADS": "1"})
    assert results["score"] == PARTIAL_MARKS + 10
