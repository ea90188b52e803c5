"""Proof that the grader grades: it passes the reference and correct variants, fails the stubs,
catches typical mistakes with the right exercise and hint, and survives broken learner code.

Each case grades a copy of the exercise tree in a pytest session of its own, as a learner would:
in a process forked from one that has imported torch and the grader already
(``tests/forked_python.py``); the busy-machine test starts a fresh Python, as a learner does."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import types
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from course.threads import THREAD_SETTING, WAIT_SETTINGS
from grader.answers import ANSWERS_FILE
from grader.catalog import EXERCISES, REPO, SOLUTIONS, exercises
from grader.plugin import _with_line_numbers
from grader.stubs import BEGIN, END, make_stub
from tests.forked_python import ForkedPython
from tests.learners.mistakes import MISTAKES
from tests.learners.variants import VARIANTS

ALL_DONE = {f"ex{number}": "done" for number in exercises()}
GRADING_TIMEOUT = 600  # seconds for one grading of one learner tree
PRELOADED = ("torch", "torchvision", "pytest", "grader.plugin", "grader.fixtures")  # what every grading imports


def replace_blocks(source: str, bodies: list[str]) -> str:
    """``source`` with its solution blocks replaced, in order, by ``bodies`` (``None`` keeps the reference's)."""
    output, bodies, inside, keep = [], list(bodies), False, False
    for line in source.splitlines(keepends=True):
        if BEGIN.match(line):
            body = bodies.pop(0)
            inside, keep = True, body is None
            output.append(body or "")
        elif END.match(line):
            inside = False
        elif not inside or keep:
            output.append(line)
    assert not bodies, "more bodies than solution blocks"
    return "".join(output)


def learner_tree(root: Path, edits: dict[str, str] | None = None, solved: bool = True) -> Path:
    """A copy of exercises/ (checks and conftest) whose modules are the reference's, or the stubs."""
    folder = root / "exercises"
    folder.mkdir(parents=True)
    for check in [*EXERCISES.glob("test_*.py"), EXERCISES / "conftest.py", EXERCISES / ANSWERS_FILE]:
        shutil.copy(check, folder / check.name)
    for module in SOLUTIONS.glob("*.py"):
        text = module.read_text()
        (folder / module.name).write_text(text if solved else make_stub(text))
    for name, text in (edits or {}).items():
        (folder / name).write_text(text)
    return folder


def edit(module: str, old: str, new: str, *more: tuple[str, str]) -> dict[str, str]:
    """``module`` of the reference with ``old`` replaced by ``new``, and each further pair of ``more`` likewise."""
    source = (SOLUTIONS / module).read_text()
    for before, after in [(old, new), *more]:
        assert source.count(before) == 1, f"{before!r} must occur once in solutions/{module}"
        source = source.replace(before, after)
    return {module: source}


def grading_environment(one_thread: bool = True) -> dict[str, str]:
    """This checkout's grader and reference; the learner's exercises/ comes first, from the working folder.
    One thread each, unless asked otherwise: the cases are graded two at a time on two cores. Otherwise no
    thread setting at all, as in a learner's shell: the course chooses (course/threads.py)."""
    threads = {THREAD_SETTING: "1"} if one_thread else {}
    inherited = {key: value for key, value in os.environ.items() if key not in (*WAIT_SETTINGS, THREAD_SETTING)}
    return {**inherited, "PYTHONPATH": str(REPO), **threads}


def grade(folder: Path, *arguments: str, one_thread: bool = True, forks: ForkedPython | None = None) -> tuple[dict, str]:
    """Run the grader on ``folder``, in a fork of ``forks`` or a fresh Python: the JSON report and what pytest printed."""
    report = folder.parent / "report.json"
    arguments = [str(folder), "-p", "no:cacheprovider", f"--grader-report={report}", *arguments]
    if forks is not None:
        completed = forks.run("pytest", arguments, cwd=folder.parent, timeout=GRADING_TIMEOUT)
    else:
        completed = subprocess.run([sys.executable, "-m", "pytest", *arguments], cwd=folder.parent, capture_output=True,
                                   text=True, timeout=GRADING_TIMEOUT, env=grading_environment(one_thread))
    assert report.exists(), f"the grader wrote no report:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    return json.loads(report.read_text()), completed.stdout


def statuses(report: dict) -> dict[str, str]:
    return {key: value["status"] for key, value in report.items()}


def failing_hints(report: dict, exercise: int) -> set[str]:
    return {check["hint"] for check in report[f"ex{exercise}"]["checks"] if check["outcome"] == "failed"}


CASES = {
    "reference": lambda root: (learner_tree(root), ()),
    "stubs": lambda root: (learner_tree(root, solved=False), ()),
    **{f"mistake: {m.name}": (lambda root, m=m: (learner_tree(root, edit(m.module, m.old, m.new, *m.more)), ("-m", f"ex{m.exercise}")))
       for m in MISTAKES},
    **{f"variant: {name}": (lambda root, variant=variant: (learner_tree(root, {
        module: replace_blocks((SOLUTIONS / module).read_text(), bodies) for module, bodies in variant.items()}), ()))
       for name, variant in VARIANTS.items()},
    "syntax error": lambda root: (learner_tree(root, edit("model.py", "        x = torch.flatten(x, 1)\n",
                                                          "        x = torch.flatten(x, 1\n")), ()),
    "exception": lambda root: (learner_tree(root, edit("engine.py", "    model.train()\n",
                                                       "    model.train()\n    1 / 0\n")), ("-m", "ex7 or ex9")),
    "infinite loop": lambda root: (learner_tree(root, edit("monitor.py", '    writer.add_scalar("Loss/Test", loss, epoch)\n',
                                                           "    while True:\n        pass\n")),
                                   ("-m", "ex9 or ex11", "--check-timeout=3")),
    "syntax error in a module another imports": lambda root: (learner_tree(root, edit(
        "engine.py", "        loss.backward()\n", "        loss.backward(\n")), ("-m", "ex10")),
    "slow machine": lambda root: (learner_tree(root), ("-m", "ex7", "--check-timeout=0.0001")),
    "nan loss": lambda root: (learner_tree(root, edit("engine.py", "    return loss_sum / seen\n",
                                                      "    return float('nan')\n")), ("-m", "ex7")),
    "misnamed class": lambda root: (learner_tree(root, edit("model.py", "class CNN(nn.Module):", "class Cnn(nn.Module):")),
                                    ("-m", "ex3 or ex12")),
}


class GradedCases:
    """Each case of ``CASES`` graded once, on demand, two at a time (one per core).

    Asking for a case also starts the few after it, so that the next tests' cases are graded while
    this test checks its own; a run that selects a few tests grades little more than they need."""

    AHEAD = 3

    def __init__(self, root: pytest.TempPathFactory) -> None:
        self.root, self.names = root, list(CASES)
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.idle: queue.SimpleQueue[ForkedPython] = queue.SimpleQueue()
        self.started: list[ForkedPython] = []
        self.futures: dict[str, Future] = {}
        self.lock = threading.Lock()

    def __getitem__(self, name: str) -> tuple[dict, str]:
        position = self.names.index(name)
        with self.lock:
            for later in [name, *self.names[position + 1:position + 1 + self.AHEAD]]:
                if later not in self.futures:
                    self.futures[later] = self.pool.submit(self.grade, later)
        return self.futures[name].result()

    def grade(self, name: str) -> tuple[dict, str]:
        return self.grade_tree(*CASES[name](self.root.mktemp("learner")))

    def grade_tree(self, folder: Path, arguments: Sequence[str] = ()) -> tuple[dict, str]:
        """``grade(folder, *arguments)``, in a fork of a Python with the grader imported."""
        try:
            forks = self.idle.get_nowait()
        except queue.Empty:
            forks = ForkedPython(PRELOADED, grading_environment())
            self.started.append(forks)
        try:
            return grade(folder, *arguments, forks=forks)
        finally:
            self.idle.put(forks)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)
        for forks in self.started:
            forks.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Iterator[GradedCases]:
    cases = GradedCases(tmp_path_factory)
    yield cases
    cases.close()


def test_every_check_passes_on_the_reference(graded):
    report, output = graded["reference"]
    assert statuses(report) == ALL_DONE, output[-3000:]
    assert f"{len(exercises())}/{len(exercises())} exercises complete" in output


def test_every_exercise_fails_kindly_on_the_pristine_stubs(graded):
    report, output = graded["stubs"]
    assert statuses(report) == {key: "not started" for key in ALL_DONE}
    assert f"0/{len(exercises())} exercises complete" in output
    assert "Next: exercise 1, Count pixels and steps" in output
    assert "Traceback" not in output and "NotImplementedError" not in output


@pytest.mark.parametrize("mistake", MISTAKES, ids=[mistake.name for mistake in MISTAKES])
def test_typical_mistakes_are_caught_with_the_right_hint(graded, mistake):
    report, output = graded[f"mistake: {mistake.name}"]
    entry = exercises()[mistake.exercise]
    assert report[f"ex{mistake.exercise}"]["status"].startswith("failing"), output[-3000:]
    assert mistake.hint in failing_hints(report, mistake.exercise), output[-3000:]
    assert entry.hint(mistake.hint).split(":")[0] in " ".join(output.split())
    assert mistake.shows in " ".join(output.split()), output[-3000:]


def test_the_catalogue_covers_every_exercise_with_a_stub():
    covered = {mistake.exercise for mistake in MISTAKES}
    assert covered == {number for number, entry in exercises().items() if entry.module}
    assert len(MISTAKES) >= 35 and len(VARIANTS) >= 8


def test_a_failure_that_follows_from_another_says_so_in_one_line(graded):
    report, output = graded["mistake: no ReLU after fc1"]
    text = " ".join(output.split())
    assert "follows from the failing check: with the same weights, forward gives the reference's scores" in text
    assert "rows summing to" not in text, "rows that sum to 1 are no evidence of a failure"
    report, output = graded["mistake: argmax over the wrong dim"]
    assert failing_hints(report, 7) == {"argmax"}, "the device and eval-mode checks it breaks only refer to it"
    assert "found: argmax over dim=0: across the images of a batch" in " ".join(output.split())
    report, output = graded["mistake: softmax before CrossEntropyLoss in the training loop"]
    assert failing_hints(report, 7) == {"softmax_in_loop"}, "not zero_grad: the gradients are ten times smaller"


def test_the_shape_message_names_the_dtype(graded):
    report, output = graded["mistake: no channel dimension"]
    assert "found:    a torch.float32 tensor of shape (28, 28)" in output


@pytest.mark.parametrize("name", VARIANTS)
def test_different_correct_solutions_pass(graded, name):
    report, output = graded[f"variant: {name}"]
    assert statuses(report) == ALL_DONE, output[-3000:]


def test_a_syntax_error_is_explained_and_hides_no_other_exercise(graded):
    report, output = graded["syntax error"]
    assert report["ex3"]["status"].startswith("failing")
    assert {report[f"ex{number}"]["status"] for number in (7, 9, 11, 12)} == {"done"}
    assert "exercises/model.py has a syntax error on line" in output


def test_an_exception_is_reported_in_one_line_with_its_place(graded):
    report, output = graded["exception"]
    assert report["ex7"]["status"].startswith("failing") and report["ex9"]["status"] == "done"
    assert "ZeroDivisionError: division by zero (exercises/engine.py, line" in output
    assert "Traceback" not in output


def test_an_infinite_loop_is_stopped_with_a_clear_message(graded):
    report, output = graded["infinite loop"]
    assert report["ex9"]["status"].startswith("failing") and report["ex11"]["status"] == "done"
    text = " ".join(output.split())
    assert "your code was still running after 3 s, while the reference does the same check in" in text
    assert "a loop that never ends" in text and "--check-timeout=" in text
    assert re.search(r"It was stopped at exercises/monitor\.py, line \d+: (while True:|pass)", text), text
    assert "Stack of" not in output and "Traceback" not in output


def test_a_slow_machine_is_told_from_an_endless_loop(graded):
    report, output = graded["slow machine"]
    assert report["ex7"]["status"].startswith("failing"), "no check of exercise 7 runs in 0.1 ms"
    text = " ".join(output.split())
    assert "but this machine is busy or slow: the reference itself needs" in text
    assert "allow more time: pytest exercises/ --check-timeout=" in text and "never ends" not in text


def test_the_header_states_the_time_limit_that_applies(graded):
    _, output = graded["infinite loop"]
    assert "grader: each check may run 3 s, end to end 30 s, not counting the time to prepare its data" in output
    assert "timeout: 600" not in output


def test_a_syntax_error_names_the_file_it_is_in(graded):
    report, output = graded["syntax error in a module another imports"]
    assert report["ex10"]["status"].startswith("failing")
    assert "exercises/engine.py has a syntax error on line" in output
    assert "Next: exercise 10, End to end" in output
    assert "fix exercises/model.py, exercises/engine.py, exercises/monitor.py, then run" in output


def test_a_nan_loss_is_named(graded):
    report, output = graded["nan loss"]
    assert "nan" in failing_hints(report, 7)
    assert "The loss became NaN" in output


def test_a_misnamed_class_is_explained(graded):
    report, output = graded["misnamed class"]
    assert "expected a class `CNN` in exercises/model.py" in output
    assert report["ex12"]["status"] == "done"


def test_results_are_remembered_until_the_file_changes(graded, tmp_path):
    folder = learner_tree(tmp_path)
    graded.grade_tree(folder, ["-m", "ex3"])
    report, output = graded.grade_tree(folder, ["-m", "ex9"])
    assert report["ex3"]["status"] == "not run", "the JSON report holds this run's results only"
    assert "done   (earlier run," in output and f"2/{len(exercises())} exercises complete" in output
    assert "remembered from a run before this one" in output
    model = folder / "model.py"
    model.write_text(model.read_text() + "\n# an edit\n")
    _, output = graded.grade_tree(folder, ["-m", "ex9"])
    assert f"1/{len(exercises())} exercises complete" in output and "earlier run" not in output
    assert "not run   (changed since its last run)" in output


def test_results_under_the_old_numbers_are_dropped_with_one_line(graded, tmp_path):
    folder = learner_tree(tmp_path)
    state = folder / ".grader"
    state.mkdir()
    (state / "results.json").write_text(json.dumps({"ex1": {"status": "done", "checks": [], "fingerprint": "x",
                                                            "finished": "2026-11-30T10:00"}}))
    _, output = graded.grade_tree(folder, ["-m", "ex1"])
    assert output.count("results remembered under the old numbers were dropped") == 1
    assert "earlier run" not in output and f"1/{len(exercises())} exercises complete" in output
    _, output = graded.grade_tree(folder, ["-m", "ex2"])
    assert "old numbers" not in output and "done   (earlier run," in output


@pytest.mark.slow
def test_a_busy_machine_fails_nothing(tmp_path):
    """Two processes keep both cores busy while the grader grades the reference."""
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        report, output = grade(learner_tree(tmp_path), one_thread=False)  # as a learner runs it
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert statuses(report) == ALL_DONE, output[-3000:]


def test_a_traceback_entry_without_a_line_number_does_not_break_the_report():
    """A time limit's signal can land on an instruction without a line; pytest cannot show such an entry."""
    try:
        1 / 0
    except ZeroDivisionError as error:
        entry = error.__traceback__
        lineless = types.TracebackType(None, entry.tb_frame, 10**6, -1)
        assert lineless.tb_lineno is None
        error.__traceback__ = types.TracebackType(lineless, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
        info = pytest.ExceptionInfo.from_exception(error)
    with pytest.raises(TypeError):
        info.getrepr()
    shown = _with_line_numbers(info)
    assert "ZeroDivisionError" in str(shown.getrepr()) and len(shown.traceback) == 1
