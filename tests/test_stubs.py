"""The single source: exercises/ is generated from solutions/ and must stay in sync."""

import datetime
import io
import json

import pytest

from grader.__main__ import back_up, confirm_and_reset, main, next_hint
from grader.progress import load_hints_seen
from grader.catalog import SOLUTIONS, exercises
from grader.stubs import MarkerError, generate, make_stub, out_of_sync, reset


def test_exercises_are_in_sync_with_the_solutions():
    assert out_of_sync() == [], "run: python -m grader generate --force"


def test_given_code_is_identical_and_only_solution_blocks_differ():
    source = (SOLUTIONS / "engine.py").read_text()
    stub = make_stub(source)
    assert "loss.backward()" in source and "loss.backward()" not in stub
    assert 'raise NotImplementedError("Exercise 7 (Write train and test) is not started' in stub
    assert "lessons/05-training-loop-and-tensorboard.md" in stub and "pytest exercises/ -m ex7" in stub
    given = [line for line in source.splitlines() if "SOLUTION" not in line]
    assert all(line in stub.splitlines() for line in given[:20])
    assert make_stub((SOLUTIONS / "__main__.py").read_text()) == (SOLUTIONS / "__main__.py").read_text()


def test_every_exercise_with_a_module_has_solution_blocks():
    for entry in exercises().values():
        if entry.module:
            assert f"# BEGIN SOLUTION ex{entry.number}" in (SOLUTIONS / entry.module).read_text()


@pytest.mark.parametrize("source, problem", [
    ("# BEGIN SOLUTION ex3\nx = 1\n", "never closed"),
    ("x = 1\n# END SOLUTION\n", "without BEGIN"),
    ("# BEGIN SOLUTION ex3\n# BEGIN SOLUTION ex3\n# END SOLUTION\n", "inside another"),
])
def test_broken_markers_are_refused(source, problem):
    with pytest.raises(MarkerError, match=problem):
        make_stub(source)


def test_generate_keeps_a_learners_edits_unless_forced(tmp_path):
    assert all(line.startswith("wrote") for line in generate(exercises=tmp_path))
    assert out_of_sync(exercises=tmp_path) == []
    model = tmp_path / "model.py"
    model.write_text(model.read_text() + "\n# my work\n")
    assert generate(exercises=tmp_path) == ["kept    exercises/model.py (it has your edits; --force overwrites it)"]
    assert model.read_text().endswith("# my work\n")
    assert out_of_sync(exercises=tmp_path) == ["model.py: differs from the stub generated from solutions/model.py"]
    assert generate(exercises=tmp_path, force=True) == ["wrote   exercises/model.py"]
    assert out_of_sync(exercises=tmp_path) == []


def test_reset_puts_one_exercise_back_and_asks_first(tmp_path, monkeypatch):
    generate(exercises=tmp_path)
    engine, model = tmp_path / "engine.py", tmp_path / "model.py"
    engine.write_text("my engine")
    model.write_text("my model")
    monkeypatch.setattr("grader.__main__.EXERCISES", tmp_path)
    monkeypatch.setattr("grader.__main__.reset", lambda number: reset(number, exercises=tmp_path))
    assert confirm_and_reset(7, ask=lambda prompt: "n") == "Nothing changed."
    assert engine.read_text() == "my engine"
    seen = tmp_path / ".grader" / "hints-seen.json"
    next_hint(7, seen)
    next_hint(3, seen)
    answer = confirm_and_reset(7, ask=lambda prompt: "y")
    assert answer.startswith("exercises/engine.py is back to its stub. Your version is saved as ")
    assert "NotImplementedError" in engine.read_text() and model.read_text() == "my model"
    backups = list((tmp_path / ".grader" / "backups").glob("engine-*.py"))
    assert [backup.read_text() for backup in backups] == ["my engine"]
    assert load_hints_seen(seen) == {"ex3": 1}, "the reset exercise's hints start again"
    assert "no stub of its own" in confirm_and_reset(10, ask=lambda prompt: "y")


def test_reset_twice_in_a_second_keeps_both_backups_and_never_saves_a_stub(tmp_path, monkeypatch):
    generate(exercises=tmp_path)
    engine = tmp_path / "engine.py"
    monkeypatch.setattr("grader.__main__.EXERCISES", tmp_path)
    monkeypatch.setattr("grader.__main__.reset", lambda number: reset(number, exercises=tmp_path))
    assert "was already its stub: nothing to save" in confirm_and_reset(7, yes=True)
    assert not (tmp_path / ".grader" / "backups").exists()
    for version in ("first try", "second try", "third try"):
        engine.write_text(version)
        assert "Your version is saved as" in confirm_and_reset(7, yes=True)
    backups = sorted((tmp_path / ".grader" / "backups").glob("engine-*.py"))
    assert sorted(backup.read_text() for backup in backups) == ["first try", "second try", "third try"]


def test_a_backup_never_replaces_an_earlier_one(tmp_path, monkeypatch):
    class FrozenClock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2026, 12, 2, 6, 0, 0, 0)

    monkeypatch.setattr("grader.__main__.datetime", FrozenClock)
    work = tmp_path / "engine.py"
    copies = []
    for version in ("one", "two"):
        work.write_text(version)
        copies.append(back_up(work))
    assert copies[0] != copies[1] and [copy.read_text() for copy in copies] == ["one", "two"]


def test_reset_without_a_terminal_asks_for_yes_and_changes_nothing(tmp_path, monkeypatch):
    generate(exercises=tmp_path)
    (tmp_path / "engine.py").write_text("my engine")
    monkeypatch.setattr("grader.__main__.EXERCISES", tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["reset", "7"]) == 2
    assert (tmp_path / "engine.py").read_text() == "my engine"


def test_watch_passes_every_option_on_to_pytest(monkeypatch):
    calls = []
    monkeypatch.setattr("grader.__main__.watch", calls.append)
    assert main(["watch", "-m", "ex9", "-x"]) == 0
    assert calls == [["-m", "ex9", "-x"]]


def test_hints_come_in_steps_and_remember_how_far_you_got(tmp_path):
    seen = tmp_path / "seen.json"
    first = next_hint(3, seen)
    assert "hint 1 of 3" in first and "2. " not in first and "Run it again for hint 2" in first
    second = next_hint(3, seen)
    assert "hint 2 of 3" in second and "1. " in second and "2. " in second
    third, past_the_last = next_hint(3, seen), next_hint(3, seen)
    assert "hint 3 of 3" in third and "This is the last hint." in third and "That was the last" not in third
    assert "hint 3 of 3" in past_the_last and "That was the last hint, shown again: there are 3" in past_the_last
    assert "--restart starts again from the first" in past_the_last and "Still stuck?" not in past_the_last
    assert "hint 1 of 3" in next_hint(7, seen)
    assert "hint 3 of 3" in next_hint(9, tmp_path / "other.json", show_all=True)


def test_hints_can_start_again_from_the_first(tmp_path, monkeypatch, capsys):
    seen = tmp_path / "seen.json"
    monkeypatch.setattr("grader.__main__.HINTS_SEEN", seen)
    next_hint(11, seen)
    next_hint(11, seen)
    assert main(["hint", "11", "--restart"]) == 0
    assert "hint 1 of 3" in capsys.readouterr().out


def test_hints_seen_under_the_old_numbers_carry_over(tmp_path):
    """Before the concept exercises joined, the CNN was exercise 1 and train-and-test exercise 2."""
    seen = tmp_path / "hints-seen.json"
    seen.write_text(json.dumps({"ex1": 2, "ex2": 3, "ex5": 1}))
    assert load_hints_seen(seen) == {"ex3": 2, "ex7": 3, "ex12": 1}
    assert "hint 3 of 3" in next_hint(3, seen), "the CNN's third hint follows the two seen before"
    assert load_hints_seen(seen) == {"ex3": 3, "ex7": 3, "ex12": 1}, "carried over once, not again"


def test_generate_moves_the_former_runtime_copies_aside_in_one_line(tmp_path):
    """An exercises/ of the layout before course/ held the runtime: its copies go, kept in the grader's folder."""
    generate(exercises=tmp_path)
    (tmp_path / "cli.py").write_text("the old command line")
    (tmp_path / "data.py").write_text("the old data module")
    assert out_of_sync(exercises=tmp_path) == ["cli.py: in exercises/ but not in solutions/ (the runtime is course/ now)",
                                               "data.py: in exercises/ but not in solutions/ (the runtime is course/ now)"]
    [line] = generate(exercises=tmp_path)
    assert line.startswith("moved   2 runtime copies (cli.py, data.py) out of exercises/") and "course/" in line
    assert (tmp_path / ".grader" / "runtime-copies" / "cli.py").read_text() == "the old command line"
    assert out_of_sync(exercises=tmp_path) == [] and generate(exercises=tmp_path) == []
