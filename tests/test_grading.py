"""Proof that ``python -m grader grade`` grades a class that no submission can fake, escape or lose.

One class is graded once, two at a time: an honest learner, a correct variant given as a .zip, a
partial one, a "friend" who hands in the pristine stubs, ordinary trouble (tampered checks, an
endless loop, a syntax error, unbounded memory, an unsafe zip) and the hostile learners of
:mod:`tests.learners.attacks`. Every row of the CSV is checked, and so are the host's files,
sockets and processes after the run.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from grader.__main__ import main
from grader.catalog import SOLUTIONS, exercises
from grader.classroom.processes import all_pids, parent_of, pid_inside, pid_namespace, process_status, uid_of
from grader.classroom.report import FORMULA_STARTS, spreadsheet_safe
from grader.classroom.sandbox import SANDBOX_UID, bubblewrap
from grader.classroom.submissions import MAX_FILE_BYTES, find_submissions, read_zip, unique_names
from grader.stubs import make_stub
from tests.learners.attacks import ATTACKS, BROKEN_ZIPS, FORMULA_NAMES
from tests.learners.variants import VARIANTS
from tests.test_grader import edit, learner_tree, replace_blocks

pytestmark = pytest.mark.timeout(1800)
NUMBERS = list(exercises())
CHECK_TIMEOUT = 20  # seconds per question: the endless loop and the fork bomb are stopped after this
SECRET = "instructor-secret-5f1d"  # in the grader's environment and in a file of the instructor's
HONEST_MARK = "# honest-learner-mark-93c2"

TAMPERED_CONFTEST = '''
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    report.outcome = "passed"  # every check green, whatever the code does
    return report
'''
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


def attacked(module: str, lines: str, **places: object) -> dict[str, str]:
    """The pristine stub of ``module`` with hostile ``lines`` run at import."""
    return {module: make_stub((SOLUTIONS / module).read_text()) + lines.format(**places)}


class Host:
    """What the hostile learners aim at: a file, another learner's code, the instructor's files, sockets."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.file = root / "host-file.txt"
        self.file.write_text("untouched")
        self.instructor_file = root / "instructor" / "hidden-inputs.txt"
        self.instructor_file.parent.mkdir()
        self.instructor_file.write_text(SECRET)
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(str(root / "host.sock"))
        self.abstract = socket.socket(socket.AF_UNIX)
        self.tcp = socket.socket(socket.AF_INET)
        self.tcp.bind(("127.0.0.1", 0))
        self.port = self.tcp.getsockname()[1]
        self.abstract.bind(f"\0grader-test-{self.port}")
        self.connections: list[str] = []
        for server in (self.unix, self.abstract, self.tcp):
            server.listen()
            server.settimeout(0.5)
            threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                connection, _ = server.accept()
                self.connections.append(str(server.getsockname()))
                connection.close()
            except TimeoutError:
                continue
            except OSError:
                return

    def places(self, other_learner: Path, grades: Path) -> dict[str, object]:
        return {"host_file": self.file, "other_learner": other_learner, "instructor_file": self.instructor_file,
                "socket": self.root / "host.sock", "port": self.port, "grades": grades,
                "reference_model": SOLUTIONS / "model.py"}


def make_class(root: Path, host: Host, grades: Path) -> Path:
    """The class: one folder per learner, or a .zip."""
    class_folder = root / "class"
    honest = learner_tree(class_folder / "ana", {"engine.py": (SOLUTIONS / "engine.py").read_text() + HONEST_MARK})
    learner_tree(class_folder / "ben", solved("model.py", "monitor.py"), solved=False)
    learner_tree(class_folder / "friend", solved=False)
    learner_tree(class_folder / "eve", {"conftest.py": TAMPERED_CONFTEST, "test_mine.py": "def test_me(): pass\n"},
                 solved=False)
    learner_tree(class_folder / "finn", edit("monitor.py", '    writer.add_scalar("Loss/Test", loss, epoch)\n', ENDLESS))
    learner_tree(class_folder / "gus", edit("model.py", "        x = torch.flatten(x, 1)\n", "        x = torch.flatten(x, 1\n"))
    learner_tree(class_folder / "hana", edit("engine.py", "    model.train()\n", "    model.train()\n" + HOARD))
    variant = {module: replace_blocks((SOLUTIONS / module).read_text(), bodies)
               for module, bodies in VARIANTS["nn.Sequential style"].items()}
    zip_folder(learner_tree(root / "ivan", variant), class_folder / "ivan.zip", "ivan/exercises")
    jo = learner_tree(root / "jo")
    (jo / "preprocess.py").unlink()
    unsafe = zip_folder(jo, class_folder / "jo.zip", "exercises")
    with zipfile.ZipFile(unsafe, "a") as bundle:
        bundle.writestr("../../escaped.py", "print('outside')")
        link = zipfile.ZipInfo("exercises/preprocess.py")
        link.external_attr = 0o120777 << 16  # a symbolic link to the reference
        bundle.writestr(link, str(SOLUTIONS / "preprocess.py"))
    places = host.places(honest / "engine.py", grades)
    for name, (module, lines, _) in ATTACKS.items():
        learner_tree(class_folder / name, attacked(module, lines, **places), solved=False)
    for name, breaking in BROKEN_ZIPS.items():
        breaking(class_folder / f"{name}.zip", "model.py")
    for name in FORMULA_NAMES:
        learner_tree(class_folder / name, solved=False)
    return class_folder


def need_sandbox() -> None:
    """Skip where bubblewrap cannot run, unless ``REQUIRE_SANDBOX=1`` (CI sets it): there that fails."""
    if bubblewrap() is None:
        message = "bubblewrap (bwrap) cannot run here: apt-get install bubblewrap"
        if os.environ.get("REQUIRE_SANDBOX") == "1":
            pytest.fail(message + " (REQUIRE_SANDBOX=1)")
        pytest.skip(message)


def pid_namespaces() -> dict[str, list[int]]:
    """Every PID namespace on this machine, with the processes in it."""
    found: dict[str, list[int]] = {}
    for pid in all_pids():
        namespace = pid_namespace(pid)
        if namespace is not None:
            found.setdefault(namespace, []).append(pid)
    return found


def orphaned_sandboxes(before: dict[str, list[int]]) -> list[int]:
    """Processes in PID namespaces made since ``before`` whose bubblewrap is gone: a sandbox that
    outlived its run. (A sandbox of another grading that is still running has its bubblewrap.)"""
    survivors = []
    for namespace, pids in pid_namespaces().items():
        if namespace in before:
            continue
        parents = {parent_of(pid) for pid in pids if pid_inside(pid) == 1}
        if not any(process_status(parent).get("Name") == "bwrap" for parent in parents if parent):
            survivors += pids
    here = pid_namespace(os.getpid())
    return survivors + [pid for pid in pid_namespaces().get(here, [])  # a sandbox's user, out of any sandbox
                        if (uid_of(pid) or -1) >= SANDBOX_UID]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The class graded once: CSV rows by learner, the feedback folder, what was printed, and the host."""
    need_sandbox()
    root = tmp_path_factory.mktemp("grading")
    root.chmod(0o755)
    host = Host(root)
    out = root / "out" / "grades.csv"
    class_folder = make_class(root, host, out)
    before = pid_namespaces()
    result = subprocess.run(
        [sys.executable, "-m", "grader", "grade", str(class_folder), "--out", str(out), "--workers", "2",
         "--check-timeout", str(CHECK_TIMEOUT), "--memory", "2", "--quiet", "--hidden-seed", "11"],
        capture_output=True, text=True, env={**os.environ, "GRADER_SECRET": SECRET},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    survivors = orphaned_sandboxes(before)
    for _ in range(10):  # a sandbox of another run being torn down right now is gone a moment later
        if not survivors:
            break
        time.sleep(1)
        survivors = sorted(set(survivors) & set(orphaned_sandboxes(before)))
    (root / "summary.txt").write_text(result.stdout)  # kept with pytest's temporary folders, for the record
    with out.open(newline="") as stream:
        rows = {row["learner"]: row for row in csv.DictReader(stream)}
    return {"rows": rows, "feedback": out.parent / "feedback", "output": result.stdout, "host": host,
            "survivors": survivors, "class": class_folder}


def done_exercises(row: dict[str, str]) -> list[int]:
    return [number for number in NUMBERS if row[f"ex{number}"] == "done"]


def test_the_honest_learner_and_a_correct_variant_get_every_exercise(graded):
    for learner in ("ana", "ivan"):
        row = graded["rows"][learner]
        assert done_exercises(row) == NUMBERS, row
        assert row["public_passed"] == row["public_checks"] != "0"
        assert row["hidden_passed"] == row["hidden_checks"] != "0"
    assert graded["rows"]["ana"]["flags"] == ""
    assert graded["rows"]["ivan"]["source"].endswith("ivan.zip")


@pytest.mark.parametrize("learner", ["friend", "eve", *ATTACKS, *map(spreadsheet_safe, FORMULA_NAMES)])
def test_stubs_tampering_and_every_attack_get_nothing(graded, learner):
    row = graded["rows"][learner]
    assert row["exercises_done"] == "0" and row["public_passed"] == row["hidden_passed"] == "0", row
    assert row["public_checks"] == graded["rows"]["ana"]["public_checks"]


@pytest.mark.parametrize("learner", ATTACKS)
def test_an_attempt_that_shows_is_flagged(graded, learner):
    flags = graded["rows"][learner]["flags"]
    for flag in ATTACKS[learner][2]:
        assert flag in flags, (learner, flags)


@pytest.mark.parametrize("learner", BROKEN_ZIPS)
def test_a_zip_that_cannot_be_read_is_its_learners_row_alone(graded, learner):
    row = graded["rows"][learner]
    assert row["flags"].startswith("not graded: cannot read the zip: ")
    assert row["exercises_done"] == row["public_passed"] == row["public_checks"] == "0"


def test_no_cell_of_the_csv_is_a_formula_and_no_flag_is_forged(graded):
    cells = [cell for row in graded["rows"].values() for cell in [*row, *row.values()]]
    assert not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert all(spreadsheet_safe(name) in graded["rows"] for name in FORMULA_NAMES)
    assert "graded WITHOUT" not in graded["rows"]["flag-forger"]["flags"]
    assert "HYPERLINK" not in graded["rows"]["flag-forger"]["flags"]


def test_the_friend_is_not_started_and_tampering_is_flagged(graded):
    rows = graded["rows"]
    assert all(rows["friend"][f"ex{number}"] == "not started" for number in NUMBERS)
    assert rows["friend"]["flags"] == ""
    assert rows["eve"]["flags"] == "edited conftest.py; added test_mine.py"
    assert "never run in class grading" in (graded["feedback"] / rows["eve"]["feedback"]).read_text()


def test_ordinary_trouble_costs_only_what_it_breaks(graded):
    rows = graded["rows"]
    assert done_exercises(rows["ben"]) == [3, 9]
    assert rows["ben"]["ex1"] == "not started" and rows["ben"]["ex10"].startswith("failing")
    assert done_exercises(rows["finn"]) == [n for n in NUMBERS if n not in (9, 10)]  # the loop is in monitor.py
    assert done_exercises(rows["gus"]) == [n for n in NUMBERS if n not in (3, 10)]  # the syntax error in model.py
    assert done_exercises(rows["hana"]) == [n for n in NUMBERS if n not in (7, 10)]  # the hoard in engine.py
    assert done_exercises(rows["jo"]) == [n for n in NUMBERS if n != 12]
    assert rows["jo"]["flags"] == ("unsafe path in zip: ../../escaped.py (ignored); preprocess.py is a symbolic link "
                                   "(ignored); missing preprocess.py (graded as the stub)")
    finn = (graded["feedback"] / rows["finn"]["feedback"]).read_text()
    assert f"no answer within {CHECK_TIMEOUT} s" in finn and "not asked: an earlier question stopped" in finn
    assert "SyntaxError" in (graded["feedback"] / rows["gus"]["feedback"]).read_text()
    assert "MemoryError" in (graded["feedback"] / rows["hana"]["feedback"]).read_text()


def test_nothing_of_the_host_was_read_written_or_reached(graded):
    host = graded["host"]
    assert host.file.read_text() == "untouched"
    assert (graded["class"] / "ana" / "exercises" / "engine.py").read_text().endswith(HONEST_MARK)
    assert host.connections == []
    assert not (graded["class"].parent.parent / "escaped").exists()
    snoop = (graded["feedback"] / graded["rows"]["snoop"]["feedback"]).read_text()
    assert "RuntimeError" in snoop and "FileNotFoundError" in snoop  # what it tried to read was not there
    for feedback in graded["feedback"].iterdir():
        text = feedback.read_text()
        assert SECRET not in text and HONEST_MARK not in text, feedback.name


def test_no_process_of_the_class_is_alive_after_grading(graded):
    assert graded["survivors"] == []


def test_every_learner_has_one_row_and_a_feedback_file_of_its_own(graded):
    rows = graded["rows"]
    assert list(rows) == [spreadsheet_safe(submission.learner) for submission in find_submissions([graded["class"]])]
    assert len({row["feedback"] for row in rows.values()}) == len(rows)
    assert all((graded["feedback"] / row["feedback"]).is_file() for row in rows.values())
    assert "learner" in graded["output"].splitlines()[0] and f"{len(rows)} submission(s) graded" in graded["output"]


def test_learner_names_are_unique_and_readable(tmp_path):
    for path in ("class/alice", "class/alice-2", "class2/alice"):
        learner_tree(tmp_path / path, solved=False)
    strange = tmp_path / os.fsdecode(b"class/caf\xe9\nlatte")
    learner_tree(strange, solved=False)
    names = [submission.learner for submission in find_submissions([tmp_path / "class", tmp_path / "class2"])]
    assert names == ["class/alice", "alice-2", "caf\\xe9\\nlatte", "class2/alice"]
    assert unique_names([Path("a/x"), Path("a/x")]) == ["x", "x (2)"]


def test_ctrl_c_exits_130_and_keeps_every_finished_learner(tmp_path):
    need_sandbox()
    for name in ("quick", os.fsdecode(b"caf\xe9")):
        learner_tree(tmp_path / "class" / name, solved=False)
    learner_tree(tmp_path / "class" / "zz-slow", edit("tensors.py", "    for batch in batches:\n", ENDLESS + "    for batch in batches:\n"))
    out = tmp_path / "grades.csv"
    process = subprocess.Popen([sys.executable, "-m", "grader", "grade", str(tmp_path / "class"), "--out", str(out),
                                "--workers", "1", "--no-hidden", "--quiet"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 3):
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, error = process.communicate(timeout=120)
    assert process.returncode == 130, error
    assert error.strip().splitlines()[-1] == f"interrupted: 2 finished learner(s) kept in {out}"
    assert "Traceback" not in error
    with out.open(newline="") as stream:
        assert [row["learner"] for row in csv.DictReader(stream)] == ["caf\\xe9", "quick"]  # the submissions' order


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


def test_without_bubblewrap_grading_refuses_unless_told_and_never_as_the_graders_own_user(tmp_path, monkeypatch, capsys):
    import grader.classroom.command as command

    monkeypatch.setattr(command, "bubblewrap", lambda: None)
    friend = learner_tree(tmp_path / "friend", solved=False)
    assert main(["grade", str(friend), "--out", str(tmp_path / "grades.csv"), "--quiet"]) == 2
    assert "install it (Debian/Ubuntu: apt-get install bubblewrap)" in capsys.readouterr().err
    monkeypatch.setattr(command, "worker_uid", lambda slot, sandboxed: -1)  # no user of its own can run Python
    assert main(["grade", str(friend), "--out", str(tmp_path / "grades.csv"), "--quiet", "--allow-unsandboxed"]) == 2
    assert "learner code would run as the grader's own user" in capsys.readouterr().err
    assert not (tmp_path / "grades.csv").exists()


def test_the_sandbox_mounts_no_reference_and_the_cnn_only_for_its_questions(tmp_path):
    import solutions
    from grader.classroom.sandbox import NETWORK, Limits, network_folder, program_folder, sandbox_command

    reference = str(Path(solutions.__file__).resolve().parent)
    program, network = program_folder(tmp_path), network_folder(tmp_path)
    plain = sandbox_command(tmp_path / "tree", tmp_path / "data", program, Limits(), -1)
    assert not [argument for argument in plain if reference in argument or NETWORK in argument]
    with_network = sandbox_command(tmp_path / "tree", tmp_path / "data", program, Limits(), -1, network)
    assert with_network[with_network.index(str(network)) + 1] == NETWORK
    assert [path.name for path in network.iterdir()] == ["reference_network.py"]


REACHING = ['import sys', 'from importlib import util', 'import questions', '__import__("solu" + "tions")',
            'exec(open("x").read())', 'getattr(torch, "op" + "tim")', 'torch._C._EnableTorchFunction',
            'batches.gi_frame.f_locals', 'f.__globals__', 'torch.autograd.backward = None', 'os.sys.modules',
            'from torch.utils._python_dispatch import _disable_current_modes', 'torch.ops.aten.convolution',
            'id(object())', 'look = getattr']


@pytest.mark.parametrize("line", REACHING)
def test_code_that_can_reach_the_workers_measurements_is_found_by_reading_it(line):
    from grader.classroom.scrutiny import reaching

    assert reaching("model.py", f"import os, torch\n{line}\n".encode()), line


def test_every_correct_variant_reads_as_written_by_hand_and_reaching_nothing():
    from grader.classroom.scrutiny import Scrutiny
    from grader.classroom.submissions import learner_modules

    reference = {name: (SOLUTIONS / name).read_bytes() for name in learner_modules()}
    for name, variant in VARIANTS.items():
        modules = {**reference, **{module: replace_blocks((SOLUTIONS / module).read_text(), bodies).encode()
                                   for module, bodies in variant.items()}}
        scrutiny = Scrutiny(modules)
        assert scrutiny.reaching == [], name
        for function, files in (("conv2d", ("convolution.py",)), ("losses", ("losses.py",)),
                                ("forward_backward", ("backprop.py",)), ("optimisers", ("optimisers.py",))):
            assert scrutiny.library_calls(function, files) == [], (name, function)
    borrowed = Scrutiny({"losses.py": b"import torch.nn.functional as F\ndef log_softmax(x, d):\n"
                                      b"    return x.log_softmax(d)\n"})
    assert [str(place) for place in borrowed.library_calls("losses", ("losses.py",))] == ["losses.py line 3: .log_softmax"]
