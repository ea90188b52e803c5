"""The class's results: ``grades.csv`` (one row per learner), a feedback file per row, and a summary table.

:class:`ClassReport` writes as each learner finishes, each file whole or not at all, so an
interrupted run keeps every learner graded so far.
"""

from __future__ import annotations

import csv
import io
import os
import re
import threading
from pathlib import Path

from course.errors import CourseError

from ..catalog import exercises
from .grading import NOT_STARTED, Grade
from .submissions import readable


def csv_row(grade: Grade, feedback: str) -> dict[str, object]:
    """One learner: each exercise's status and checks passed, public and hidden, time, flags, feedback file."""
    row: dict[str, object] = {"learner": grade.learner, "source": readable(grade.source)}
    row["exercises_done"] = sum(grade.done(number) for number in exercises())
    for number in exercises():
        row[f"ex{number}"] = grade.status(number)
        row[f"ex{number}_public"] = _count(grade.counts(number))
        row[f"ex{number}_hidden"] = _count(grade.counts(number, hidden=True))
    row["public_passed"], row["public_checks"] = grade.counts()
    row["hidden_passed"], row["hidden_checks"] = grade.counts(hidden=True)
    row["seconds"] = round(grade.seconds, 1)
    row["flags"] = "; ".join(grade.flags)
    row["feedback"] = feedback
    return row


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """``value``, with a text that a spreadsheet would run as a formula made plain text by a leading quote
    (OWASP's rule for CSV injection: ``= + - @``, tab and carriage return)."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _count(counts: tuple[int, int]) -> str:
    return f"{counts[0]} of {counts[1]}" if counts[1] else ""


def write_whole(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then put it in place: never half a file."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def feedback_name(learner: str, taken: set[str]) -> str:
    """A file name for a learner's feedback: inside the feedback folder, no other learner's, and beginning with a
    letter or digit (never taken for a formula in grades.csv, or for an option on a command line)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", learner).strip("._-") or "learner"
    name, number = f"{base}.md", 1
    while name.lower() in taken:
        number += 1
        name = f"{base}-{number}.md"
    taken.add(name.lower())
    return name


class ClassReport:
    """Adds each learner's row and feedback as soon as the learner is graded."""

    def __init__(self, csv_path: Path, feedback: Path, learners: list[str]) -> None:
        self.csv_path, self.feedback = csv_path, feedback
        self.order = {learner: index for index, learner in enumerate(learners)}  # rows keep the submissions' order
        self.rows: list[dict[str, object]] = []
        self.grades: list[Grade] = []
        self.taken: set[str] = set()
        self.lock = threading.Lock()
        if csv_path.is_dir():
            raise CourseError(f"--out {readable(csv_path)} is a folder: give the CSV file to write, e.g. grades.csv")
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        feedback.mkdir(parents=True, exist_ok=True)

    def add(self, grade: Grade) -> None:
        with self.lock:
            name = feedback_name(grade.learner, self.taken)
            write_whole(self.feedback / name, feedback_markdown(grade))
            self.grades.append(grade)
            self.rows.append(csv_row(grade, name))
            self.grades.sort(key=lambda graded: self.order.get(graded.learner, len(self.order)))
            self.rows.sort(key=lambda row: self.order.get(str(row["learner"]), len(self.order)))
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(self.rows[0]))
            writer.writeheader()
            writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in self.rows)
            write_whole(self.csv_path, buffer.getvalue())


def feedback_markdown(grade: Grade) -> str:
    """A learner's feedback: the scoreboard, what was noticed, and what each failing check said."""
    lines = [f"# Feedback for {grade.learner}", "",
             "| Exercise | Status | Checks passed | Further checks passed |", "|---|---|---|---|"]
    for number, entry in exercises().items():
        lines.append(f"| {number} · {entry.title} | {grade.status(number)} | {_count(grade.counts(number)) or '–'} "
                     f"| {_count(grade.counts(number, hidden=True)) or '–'} |")
    if grade.flags:
        lines += ["", "Noticed while grading:", "", *[f"- {flag}" for flag in grade.flags]]
        if any(flag.startswith(("edited", "added")) for flag in grade.flags):
            lines += ["", "Check files and conftest.py are never run in class grading: edits to them change nothing."]
    sections = [(False, "What the checks said"), (True, "What the further checks said (on inputs you did not see)")]
    for hidden, title in sections:
        said = [verdict.message for verdict in grade.verdicts if verdict.hidden == hidden and not verdict.passed
                and grade.status(verdict.exercise) != NOT_STARTED]
        if said:
            lines += ["", f"## {title}", "", fenced("\n\n".join(said))]
    if grade.output_tail.strip():
        lines += ["", "## What your code printed before it was stopped", "", fenced(grade.output_tail.rstrip())]
    return "\n".join(lines) + "\n"


def fenced(text: str) -> str:
    """``text`` as a Markdown code block whose fence no backticks inside it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


SYMBOLS = {"done": "✔", NOT_STARTED: "·", "not graded": "-"}


def _cell(grade: Grade, number: int) -> str:
    status = grade.status(number)
    if status in SYMBOLS:
        return SYMBOLS[status]
    passed, total = grade.counts(number)
    hidden_passed, hidden_total = grade.counts(number, hidden=True)
    return f"✘{passed + hidden_passed}/{total + hidden_total}"


def summary_table(grades: list[Grade]) -> str:
    """The class at a glance: one line per learner."""
    width = max([len("learner"), *(len(grade.learner) for grade in grades)])
    numbers = list(exercises())
    header = f"{'learner':<{width}}  " + "".join(f"{'ex' + str(n):<7}" for n in numbers)
    header += f"{'done':>5}{'public':>9}{'hidden':>9}{'time':>7}  flags"
    lines = [header, "-" * len(header)]
    for grade in grades:
        cells = "".join(f"{_cell(grade, number):<7}" for number in numbers)
        public, hidden = grade.counts(), grade.counts(hidden=True)
        done = sum(grade.done(number) for number in numbers)
        flags = "; ".join(grade.flags)
        lines.append(f"{grade.learner:<{width}}  {cells}{done:>5}{public[0]:>4}/{public[1]:<4}{hidden[0]:>4}/"
                     f"{hidden[1]:<4}{grade.seconds:>6.0f}s  {flags[:60] + ('…' if len(flags) > 60 else '')}")
    lines += ["", "✔ done   · not started   ✘ failing (checks passed/asked, public and hidden)   - not graded"]
    return "\n".join(lines)
