"""Proof that ``python -m grader grade`` grades a class without trusting it.

A generated class of nine submissions is graded once, two at a time: complete, partial,
pristine stubs, tampered checks, an endless loop that survives the check timeout, a syntax
error, unbounded memory, a correct variant given as a .zip, and a zip with unsafe members.
Every row of the CSV is checked.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.__main__ import main
from grader.catalog import SOLUTIONS, exercises
from grader.grading import feedback_name
from grader.sandbox import network_isolation
from grader.submissions import MAX_FILE_BYTES, find_submissions, read_zip
from tests.learners.variants import VARIANTS
from tests.test_grader import edit, learner_tree, replace_blocks

TIMEOUT = 180  # seconds per submission: long enough for a complete one (twelve exercises) on a busy machine, short for the loop
pytestmark = pytest.mark.timeout(20 * TIMEOUT)  # the first test also waits for the whole class to be graded
ALL = [f"ex{number}" for number in exercises()]

TAMPERED_CONFTEST = '''
import pytest
from grader.fixtures import *  # noqa
from grader.plugin import *  # noqa


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    report.outcome = "passed"  # every check green, whatever the code does
    return report
'''
ALWAYS_PASSES = '''
import pytest

pytestmark = pytest.mark.ex3


def test_builds():
    """CNN() builds a torch module"""
'''
# A retry loop with a bare except: it swallows pytest-timeout's one interruption, so only the
# submission's wall-time limit can stop it.
ENDLESS = '''    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
'''
HOARD = '''    hoard = []
    while True:
        hoard.append(bytearray(1 << 26))
'''


def zip_folder(folder: Path, archive: Path, prefix: str) -> Path:
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(folder.iterdir()):
            bundle.write(path, f"{prefix}/{path.name}")
    return archive


def solved(*modules: str) -> dict[str, str]:
    return {module: (SOLUTIONS / module).read_text() for module in modules}


def make_class(root: Path) -> Path:
    """The class: one folder per learner, or a .zip."""
    class_folder = root / "class"
    learner_tree(class_folder / "ana")
    learner_tree(class_folder / "ben", solved("model.py", "monitor.py"), solved=False)
    learner_tree(class_folder / "cara", solved=False)
    learner_tree(class_folder / "eve", {"conftest.py": TAMPERED_CONFTEST, "test_ex3_model.py": ALWAYS_PASSES,
                                        "test_mine.py": ALWAYS_PASSES}, solved=False)
    learner_tree(class_folder / "finn", edit("monitor.py", '    writer.add_scalar("Loss/Test", loss, epoch)\n', ENDLESS))
    learner_tree(class_folder / "gus", edit("model.py", "        x = torch.flatten(x, 1)\n", "        x = torch.flatten(x, 1\n"))
    learner_tree(class_folder / "hana", edit("engine.py", "    model.train()\n", "    model.train()\n" + HOARD))
    variant = {module: replace_blocks((SOLUTIONS / module).read_text(), bodies)
               for module, bodies in next(iter(VARIANTS.values())).items()}
    zip_folder(learner_tree(root / "ivan", variant), class_folder / "ivan.zip", "ivan/exercises")
    jo = learner_tree(root / "jo")
    (jo / "preprocess.py").unlink()
    unsafe = zip_folder(jo, class_folder / "jo.zip", "exercises")
    with zipfile.ZipFile(unsafe, "a") as bundle:
        bundle.writestr("../../escaped.py", "print('outside')")
        link = zipfile.ZipInfo("exercises/preprocess.py")
        link.external_attr = 0o120777 << 16  # a symbolic link to the reference
        bundle.writestr(link, str(SOLUTIONS / "preprocess.py"))
    return class_folder


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[dict[str, dict[str, str]], Path, str]:
    """The class graded once: CSV rows by learner, the feedback folder, and what was printed."""
    root = tmp_path_factory.mktemp("grading")
    out = root / "grades.csv"
    result = subprocess.run(
        [sys.executable, "-m", "grader", "grade", str(make_class(root)), "--out", str(out), "--workers", "2",
         "--timeout", str(TIMEOUT), "--check-timeout", "30", "--memory", "2", "--quiet"],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (root / "summary.txt").write_text(result.stdout)  # kept with pytest's temporary folders, for the record
    with out.open(newline="") as stream:
        rows = {row["learner"]: row for row in csv.DictReader(stream)}
    return rows, root / "feedback", result.stdout


DONE, TODO, FAILING, STOPPED = "done", "not started", "failing (", "stopped: time limit"
CONCEPTS = ["ex1", "ex2", "ex4", "ex5", "ex6", "ex8"]  # computed by hand: nobody in the class edits them
PLUMBING = ["ex3", "ex7", "ex9", "ex11", "ex12", "ex10"]  # the CNN, loops, logging, inference, drawing, end to end


def statuses(concepts: str, plumbing: list[str]) -> dict[str, str]:
    """Each exercise's expected public status (a failing one by its start)."""
    return {**dict.fromkeys(CONCEPTS, concepts), **dict(zip(PLUMBING, plumbing))}


#: Each learner's expected public statuses and flags.
EXPECTED = {
    "ana": (statuses(DONE, [DONE] * 6), ""),
    "ben": (statuses(TODO, [DONE, TODO, DONE, TODO, TODO, TODO]), ""),
    "cara": (statuses(TODO, [TODO] * 6), ""),
    "eve": (statuses(TODO, [TODO] * 6), "edited conftest.py; edited test_ex3_model.py; added test_mine.py"),
    "finn": (statuses(DONE, [DONE, DONE, STOPPED, STOPPED, STOPPED, STOPPED]),
             f"public checks stopped: time limit of {TIMEOUT} s"),
    "gus": (statuses(DONE, [FAILING, DONE, DONE, DONE, DONE, FAILING]), ""),
    "hana": (statuses(DONE, [DONE, FAILING, DONE, DONE, DONE, FAILING]), ""),
    "ivan": (statuses(DONE, [DONE] * 6), ""),
    "jo": (statuses(DONE, [DONE, DONE, DONE, DONE, TODO, DONE]), "unsafe path in zip: ../../escaped.py (ignored); "
           "preprocess.py is a symbolic link (ignored); missing preprocess.py (graded as the stub)"),
}


def test_every_learner_has_one_row_and_feedback(graded):
    rows, feedback, output = graded
    assert sorted(rows) == sorted(EXPECTED)
    for learner in rows:
        assert (feedback / f"{feedback_name(learner)}.md").is_file()
        assert learner in output


@pytest.mark.parametrize("learner", EXPECTED)
def test_each_row_has_the_expected_statuses_counts_and_flags(graded, learner):
    row = graded[0][learner]
    wanted, flags = EXPECTED[learner]
    for key in ALL:
        status = wanted[key]
        assert row[key].startswith(status), (key, row)
        public, hidden = row[f"{key}_public"], row[f"{key}_hidden"]
        if status == DONE:
            assert public.split(" of ") == [public.split(" of ")[1]] * 2, (key, row)
        if status == TODO:
            assert public.startswith("0 of ") and (hidden == "" or hidden.startswith("0 of ")), (key, row)
    assert row["exercises_done"] == str(sum(row[key] == DONE for key in ALL))
    assert row["flags"] == flags
    if STOPPED not in wanted.values():
        assert float(row["seconds"]) < TIMEOUT
        assert int(row["public_checks"]) == int(graded[0]["ana"]["public_checks"]) > 0


def test_correct_code_passes_the_hidden_checks_too(graded):
    rows = graded[0]
    for learner in ("ana", "ivan"):
        assert rows[learner]["hidden_passed"] == rows[learner]["hidden_checks"] != "0"
    assert rows["ben"]["ex3_hidden"] == "2 of 2" and rows["ben"]["ex9_hidden"] == "1 of 1"
    assert rows["gus"]["ex3_hidden"] == "0 of 2" and rows["gus"]["ex7_hidden"] == "2 of 2"
    assert rows["ivan"]["source"].endswith("ivan.zip")


def test_tampered_checks_pass_nothing(graded):
    rows, feedback, _ = graded
    assert rows["eve"]["public_passed"] == rows["eve"]["hidden_passed"] == "0"
    assert "edits to them change nothing" in (feedback / "eve.md").read_text()


def test_an_endless_loop_is_stopped_at_its_limit_and_keeps_what_finished(graded):
    rows, feedback, _ = graded
    assert TIMEOUT <= float(rows["finn"]["seconds"]) < TIMEOUT + 30
    assert rows["finn"]["hidden_checks"] == "0"
    assert "The run was stopped" in (feedback / "finn.md").read_text()


def test_broken_code_is_explained_in_the_feedback(graded):
    feedback = graded[1]
    assert "exercises/model.py has a syntax error on line" in (feedback / "gus.md").read_text()
    assert "MemoryError" in (feedback / "hana.md").read_text()


def test_the_summary_table_lists_the_class(graded):
    output = graded[2]
    assert "learner" in output.splitlines()[0] and "✔ done" in output
    assert "9 submission(s) graded" in output


def test_oversized_and_nested_zips(tmp_path):
    archive = tmp_path / "kim.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("kim/work/exercises/model.py", "x = 1\n")
        bundle.writestr("kim/work/exercises/engine.py", "#" * (MAX_FILE_BYTES + 1))
        bundle.writestr("kim/monitor.py", "a folder called exercises wins over a shallower one")
    submission = read_zip(archive, "kim")
    assert submission.modules == {"model.py": b"x = 1\n"}
    assert submission.flags == ["engine.py is larger than 1024 KiB (ignored)"]
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    assert read_zip(tmp_path / "broken.zip", "broken").error.startswith("cannot read the zip")


def test_symbolic_links_in_a_folder_are_not_followed(tmp_path):
    folder = tmp_path / "lee" / "exercises"
    folder.mkdir(parents=True)
    (folder / "model.py").write_text("x = 1\n")
    (folder / "engine.py").symlink_to(SOLUTIONS / "engine.py")
    [submission] = find_submissions([tmp_path])
    assert (submission.learner, submission.modules) == ("lee", {"model.py": b"x = 1\n"})
    assert submission.flags == ["engine.py is a symbolic link (ignored)"]


def test_a_path_without_submissions_is_a_clear_error(tmp_path, capsys):
    assert main(["grade", str(tmp_path), "--out", str(tmp_path / "grades.csv")]) == 2
    assert "holds no submission" in capsys.readouterr().err
    assert main(["grade", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "grades.csv").exists()
    with pytest.raises(Exception, match="does not exist"):
        find_submissions([tmp_path / "missing"])


@pytest.mark.skipif(not network_isolation(), reason="no usable unshare on this system")
def test_the_sandbox_has_no_network():
    probe = "import socket; print(sorted(name for _, name in socket.if_nameindex()))"
    inside = subprocess.run([*network_isolation(), sys.executable, "-c", probe], capture_output=True, text=True)
    assert inside.stdout.strip() == "['lo']", inside.stderr
