"""Every measured number the lessons and pages quote comes from a run.

The runs are ``docs/make_figures.py`` (its ``lessons/figures/results.json``) and the
benchmark scripts (``benchmarks/README.md``). A few numbers are printed by the
lessons' own code; those are computed here again. Quoted are: accuracies with two
decimals (``92.73%``), losses with four (``1.5358``), counts of misread test
digits, training times ("about 13 seconds", "14.5 s") and ratios of times ("2.11x").
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from course.data import MNIST_MEAN, MNIST_STD

ROOT = Path(__file__).resolve().parent.parent
RESULTS = json.loads((ROOT / "lessons" / "figures" / "results.json").read_text())
BENCHMARKS = (ROOT / "benchmarks" / "README.md").read_text()
PAGES = sorted((ROOT / "lessons").glob("[0-9][0-9]-*.md")) + sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]

ACCURACY = re.compile(r"(?<![\d.])(\d{1,3}\.\d{2})%")
LOSS = re.compile(r"(?<![\d./])(\d\.\d{4})(?![\d%])")
MISREAD = re.compile(r"(?<![\d,])(\d+) (?:of the 10,000 )?test digits")
DURATION = re.compile(r"about \**(\d+) (?:s|seconds)\b")
RATIO = re.compile(r"(?<![\d.])(\d+\.\d{2})(?:x|×)")
SECONDS = re.compile(r"(?<![\d.,])(\d+\.\d) s\b")


def numbers(value: object) -> Iterator[float]:
    if isinstance(value, dict):
        for item in value.values():
            yield from numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield float(value)


def printed_by_the_lessons() -> set[str]:
    """Numbers the lessons' own code prints (lesson 3's softmax and loss), computed again."""
    logits = torch.tensor([[2.0, 1.0, 0.1]])
    probabilities = F.softmax(logits, dim=1)[0].tolist()
    loss = F.cross_entropy(logits, torch.tensor([0])).item()
    return {f"{value:.4f}" for value in [*probabilities, loss, MNIST_MEAN, MNIST_STD]}


MEASURED = {f"{value:.{places}f}" for value in numbers(RESULTS) for places in (2, 4)} | printed_by_the_lessons()


def quoted(path: Path, pattern: re.Pattern) -> list[str]:
    # Code blocks are checked by running them (tests/test_lessons.py); prose and outputs are checked here.
    text = re.sub(r"```(?:python|py|bash)\n.*?```", "", path.read_text(), flags=re.DOTALL)
    return pattern.findall(" ".join(text.split()))


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_quoted_accuracies_and_losses_were_measured(page: Path) -> None:
    unknown = [number for pattern in (ACCURACY, LOSS) for number in quoted(page, pattern)
               if number not in MEASURED and number not in BENCHMARKS]
    assert not unknown, f"{page.name} quotes {unknown}, found in neither results.json nor benchmarks/README.md"


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_misread_counts_and_training_times_were_measured(page: Path) -> None:
    for count in quoted(page, MISREAD):
        assert int(count) == RESULTS["fast_recipe"]["mistakes"], f"{page.name}: {count} test digits"
    timed = {round(float(seconds)) for seconds in re.findall(r"in (\d+\.\d)(?:–\d+\.\d)? s", BENCHMARKS)}
    for seconds in quoted(page, DURATION):
        assert int(seconds) in timed, f"{page.name}: 'about {seconds} s', benchmarks measured {sorted(timed)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_quoted_ratios_and_seconds_were_benchmarked(page: Path) -> None:
    unknown = [f"{number}x" for number in quoted(page, RATIO) if f"{number}x" not in BENCHMARKS]
    unknown += [f"{number} s" for number in quoted(page, SECONDS) if f"{number} s" not in BENCHMARKS]
    assert not unknown, f"{page.name} quotes {unknown}, not measured in benchmarks/README.md"


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_no_number_is_left_to_fill_in(page: Path) -> None:
    assert "@@" not in page.read_text()


def test_the_checks_can_fail() -> None:
    assert "93.99" not in MEASURED and "1.2345" not in MEASURED
    assert ACCURACY.findall("reaches 99.20% and 5%") == ["99.20"]
    assert LOSS.findall("loss 0.0246, lr 1e-4, 0.1307%") == ["0.0246"]
    assert RATIO.findall("**2.11x** and 3.36× but not 1.5x") == ["2.11", "3.36"]
    assert SECONDS.findall("took 14.5 s, 1,234.5 s, 15.3 seconds") == ["14.5"]
    assert "9.87x" not in BENCHMARKS and "98.7 s" not in BENCHMARKS


def test_the_confusion_matrix_is_the_quoted_run() -> None:
    """Lesson 6's table of it on a phone is made from results.json: its counts are the fast recipe's test run."""
    run = RESULTS["fast_recipe"]
    matrix = torch.tensor(run["confusion_matrix"])
    assert matrix.shape == (10, 10) and int(matrix.sum()) == 10_000
    assert int(matrix.sum() - matrix.trace()) == run["mistakes"]
    assert round(float(matrix.trace()) / 100, 2) == run["epochs"][-1]["accuracy"]
