"""The lessons cannot rot: their Python runs, and the numbers they quote are the measured ones."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from mktestdocs import check_md_file

from grader.catalog import exercises

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]-*.md"))
RESULTS = ROOT / "lessons" / "figures" / "results.json"


def test_there_are_seven_lessons() -> None:
    assert [path.name[:2] for path in LESSONS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_code_blocks_run(lesson: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every ```python block runs, in order, sharing names like a notebook (```py marks fragments)."""
    monkeypatch.chdir(tmp_path)  # whatever a lesson writes lands here, not in the repository
    check_md_file(lesson, memory=True)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_lesson_states_goal_and_ends_with_its_check(lesson: Path) -> None:
    text = lesson.read_text()
    assert '!!! abstract "Goal"' in text.split("\n## ")[0], "a lesson opens with its goal"
    last_block = re.findall(r"```bash\n(.*?)```", text, re.DOTALL)[-1]
    assert "pytest exercises/" in last_block, "a lesson ends with the command that checks it"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_lesson_has_self_checks_and_an_experiment_with_its_outcome(lesson: Path) -> None:
    """3 to 5 questions with folded answers, then one experiment and what it measured."""
    section = lesson.read_text().split("\n## Check yourself\n", 1)
    assert len(section) == 2, "a lesson has a 'Check yourself' section"
    body = section[1].split("\n## ")[0]
    questions = re.findall(r'^\?\?\? question "(.+)"\n((?: {4}.+\n|\n)+)', body, re.MULTILINE)
    assert 3 <= len(questions) <= 5, [title for title, _ in questions]
    assert all(answer.strip() for _, answer in questions), "every question has its answer"
    experiment = body.split("\n### Try it: ", 1)
    assert len(experiment) == 2, "one experiment to try"
    assert "Measured" in experiment[1].split("\n### ")[0], "the experiment states its measured outcome"


@pytest.mark.parametrize("number", sorted(exercises()), ids=lambda number: f"ex{number}")
def test_exercise_has_its_section_hints_and_command_in_its_lesson(number: int) -> None:
    entry = exercises()[number]
    text = (ROOT / entry.lesson).read_text()
    section = text.split(f"## {entry.section}\n", 1)
    assert len(section) == 2, f"{entry.lesson} has no section '## {entry.section}'"
    body = section[1].split("\n## ")[0]
    assert f"<!-- hints ex{number} -->" in body
    assert entry.command in body


def test_figures_named_by_lessons_exist() -> None:
    for lesson in LESSONS:
        for name in re.findall(r"\]\((figures/[^)]+)\)", lesson.read_text()):
            assert (lesson.parent / name).is_file(), f"{lesson.name} shows {name}, which is missing"


def table_row(text: str, label: str) -> list[str]:
    row = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
    return [cell.strip() for cell in row.strip("|").split("|")]


def fast_recipe_run(results: dict) -> dict:
    """The fast recipe's run that every lesson quotes, its last epoch's numbers with the rest of what was measured."""
    run = results["fast_recipe"]
    return {**run, "accuracy": run["epochs"][-1]["accuracy"], "loss": run["epochs"][-1]["loss"]}


def test_lesson_3_quotes_the_measured_runs() -> None:
    """The table in lesson 3 holds the last epoch of each run made by docs/make_figures.py."""
    results = json.loads(RESULTS.read_text())
    text = (ROOT / "lessons" / "03-loss-and-softmax.md").read_text()
    rows = {
        "`python -m solutions train --recipe notebook`": "notebook (softmax twice)",
        "the same recipe with logits": "notebook recipe, logits",
        "the course's fast recipe, 3 epochs": "fast_recipe",
    }
    for label, run in rows.items():
        last = results[run]["epochs"][-1]
        _, accuracy, loss = table_row(text, label)
        assert accuracy.startswith(f"{last['accuracy']:.2f}%"), (label, accuracy, last)
        assert loss == f"{last['loss']:.4f}", (label, loss, last)
    assert f"{results['softmax_twice_floor']:.3f}" in text


def table_rows(text: str, header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header line starts with ``header``."""
    lines = text.split(f"\n{header}", 1)[1].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_lesson_3_quotes_the_measured_gradient_reweighting() -> None:
    """Every row of the gradient table is one case of make_figures' gradient_reweighting, as measured."""
    measured = json.loads(RESULTS.read_text())["gradient_reweighting"]
    text = (ROOT / "lessons" / "03-loss-and-softmax.md").read_text()
    rows = table_rows(text, "| situation | p of the right digit |")
    assert rows == [[case["case"], f"{case['p_right']:.4f}", f"{case['logits']:.4f}", f"{case['softmax_twice']:.3g}",
                     f"{case['weaker']:,.1f}×"] for case in measured]
    weaker = [case["weaker"] for case in measured]
    assert weaker[2] < 2 < 100 < weaker[3], "right and sure barely weaker, wrong and sure hugely: the reweighting"


def test_lesson_2_quotes_the_measured_baselines() -> None:
    results = json.loads(RESULTS.read_text())
    text = (ROOT / "lessons" / "02-convolutions-and-pooling.md").read_text()
    runs = {"logistic regression": results["baselines"]["logistic_regression"],
            "small MLP (784 → 100 → 10)": results["baselines"]["mlp"],
            "the course's CNN": fast_recipe_run(results)}
    rows = table_rows(text, "| model | parameters | test accuracy |")
    assert rows == [[label, f"{run['parameters']:,}", f"{run['accuracy']:.2f}%", f"{run['loss']:.4f}",
                     f"{run['mistakes']}"] for label, run in runs.items()]
    mlp, cnn = runs["small MLP (784 → 100 → 10)"], runs["the course's CNN"]
    words = " ".join(text.split())
    assert f"{mlp['parameters'] / cnn['parameters']:.1f} times the CNN's parameters" in words
    assert mlp["mistakes"] > 2 * cnn["mistakes"], "the lesson says: more than twice as many"


def test_lesson_7_quotes_the_measured_lab() -> None:
    results = json.loads(RESULTS.read_text())
    lab = {"plain": fast_recipe_run(results), **results["lab"]}  # the plain CNN is the run every lesson quotes
    text = (ROOT / "lessons" / "07-going-further.md").read_text()
    labels = {"plain": "the fast recipe's CNN", "augmented": "with rotation", "batchnorm": "with BatchNorm"}
    rows = table_rows(text, "| model | test accuracy | test loss | turned 15° |")
    assert rows == [[labels[name], f"{run['accuracy']:.2f}%", f"{run['loss']:.4f}",
                     *(f"{run['rotated_test_accuracy'][angle]:.2f}%" for angle in ("15", "30", "45"))]
                    for name, run in lab.items()]
    plain, augmented, batchnorm = lab["plain"], lab["augmented"], lab["batchnorm"]
    turned = {name: run["rotated_test_accuracy"]["45"] for name, run in lab.items()}
    assert turned["augmented"] > turned["plain"] + 10, "the lesson says: augmentation rescues the turned digits"
    assert augmented["accuracy"] < plain["accuracy"], "the lesson says: it costs on the upright test set"
    assert abs(batchnorm["accuracy"] - plain["accuracy"]) < 0.2, "the lesson says: BatchNorm changes little here"


def test_lesson_5_quotes_the_diagnosing_runs() -> None:
    """The sanity checks, learning rates, overfitting and one-cycle numbers are those of make_figures' runs."""
    results = json.loads(RESULTS.read_text())
    words = " ".join((ROOT / "lessons" / "05-training-loop-and-tensorboard.md").read_text().split())
    sanity, cycle = results["sanity_checks"], results["one_cycle"]
    best, last = results["overfitting"]["best"], results["overfitting"]["last"]
    assert f"step 0: loss {sanity['step0_loss']:.4f}, ln 10 = {sanity['ln10']:.4f}" in words
    assert f"Average loss: {sanity['one_batch_loss']:.4f}, Accuracy: 64/64" in words
    assert f"Over its {cycle['steps']:,} steps" in words and f"at step {cycle['peak_step']:,}" in words
    assert f"to {cycle['last']:.0e}" in words and f"the peak, {cycle['peak']:.3f}" in words
    assert f"epoch {best['epoch']} ({best['validation_loss']:.4f})" in words
    assert f"to {last['train_loss']:.4f} at epoch {last['epoch']}" in words
    assert last["validation_loss"] > best["validation_loss"], "the lesson says: the held-out loss creeps back up"
    rates = results["learning_rates"]
    assert rates["0.1"]["validation_accuracy"] < 15 < rates["0.0001"]["validation_accuracy"] < rates["0.001"]["validation_accuracy"]


def test_lesson_7_shows_the_batchnorm_model_that_was_measured() -> None:
    """The BatchNormCNN the lesson prints is the one docs/lab_figures.py trains."""
    text = (ROOT / "lessons" / "07-going-further.md").read_text()
    source = (ROOT / "docs" / "lab_figures.py").read_text()
    shown = re.search(r"^class BatchNormCNN\(CNN\):\n.*?(?=\n\n\n)", text, re.MULTILINE | re.DOTALL).group(0)
    assert shown in source


def test_lesson_6_quotes_the_measured_drawing_and_turned_digits() -> None:
    run = fast_recipe_run(json.loads(RESULTS.read_text()))
    words = " ".join((ROOT / "lessons" / "06-inference-and-your-drawings.md").read_text().split())
    assert f"the model reads {run['drawing']['naive']}" in words
    assert f"it is read as {run['drawing']['prepared']}" in words
    turned = run["rotated_test_accuracy"]
    assert (f"{turned['0']:.2f}% upright, {turned['15']:.2f}% turned by 15°, {turned['30']:.2f}% by 30° "
            f"and {turned['45']:.2f}% by 45°") in words, "lesson 7's lab quotes the same run"


def test_lesson_7_quotes_the_benchmarks() -> None:
    """'Going further' shows the same headline figures as benchmarks/README.md."""
    lesson = (ROOT / "lessons" / "07-going-further.md").read_text()
    benchmarks = (ROOT / "benchmarks" / "README.md").read_text()
    quoted = re.findall(r"\*\*(\d[\d.,]*(?:x| ms)|\d[\d.]*% in [\d.]+ s = [\d.]+ notebook epochs)\*\*", lesson)
    assert len(quoted) >= 3, quoted
    for figure in quoted:
        assert figure in benchmarks, f"lesson 7 quotes {figure!r}, which benchmarks/README.md does not"


def test_lesson_7_quotes_the_measured_torchrun_runs() -> None:
    """The 1- and 2-process table is the output of benchmarks/torchrun_scaling.py kept in benchmarks/README.md."""
    text = (ROOT / "lessons" / "07-going-further.md").read_text()
    benchmarks = (ROOT / "benchmarks" / "README.md").read_text()
    rows = table_rows(text, "| processes | test accuracy | training time |")
    assert [row[0] for row in rows] == ["1", "2"]
    for count, accuracy, seconds in rows:
        line = f"{count} process{'es' if count != '1' else ''}: {accuracy} in {seconds} of training"
        assert line in benchmarks, f"lesson 7 quotes {line!r}, which benchmarks/README.md does not"
