"""Gradescope: the ``autograder.zip`` to upload, and the ``results.json`` it writes for each submission.

The zip holds ``setup.sh`` (run once, as root, while Gradescope builds the autograder's image:
Python, CPU-only PyTorch, the course from the copy in the zip, MNIST checked), ``run_autograder``
(run for each submission: grades ``/autograder/submission`` and writes
``/autograder/results/results.json``), the course itself (``course/``) and MNIST (``data/``).
results.json follows Gradescope's autograder specification: one test per check, hidden checks
shown only once grades are published.
"""

from __future__ import annotations

import json
import os
import shlex
import zipfile
from pathlib import Path

from ..catalog import REPO
from .scoring import check_title, point_options, score_checks, total
from .submission import Outcome

#: Where everything lives, /autograder on Gradescope; tests point it at a copy of that layout.
ROOT_ENV_VAR = "MNIST_COURSE_AUTOGRADER_ROOT"
VISIBLE, AFTER_PUBLISHED = "visible", "after_published"
#: The parts of the course the autograder needs: the runtime, the grader, the reference, the released exercises.
COURSE_PARTS = ("pyproject.toml", "README.md", "LICENSE", "course", "grader", "solutions", "exercises")
EXECUTABLE = 0o100755 << 16  # a zip member's Unix mode: a regular file anyone may run

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image.
set -euo pipefail
ROOT="${{{root_var}:-/autograder}}"  # only tests set it, and then install nothing system-wide
if [[ -z "${{{root_var}:-}}" ]]; then
    # bubblewrap fences learner code in where the container allows it
    apt-get install -y --no-install-recommends python3 python3-venv python3-pip bubblewrap
fi
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/python" -m pip install --upgrade pip
# PyTorch's CPU-only build: the default one carries gigabytes of CUDA that Gradescope cannot use
"$ROOT/venv/bin/python" -m pip install --extra-index-url https://download.pytorch.org/whl/cpu torch torchvision
"$ROOT/venv/bin/python" -m pip install -e "$ROOT/source/course[test]"
# Where bubblewrap cannot run, each learner's code runs as a user of its own, never as root: that user
# must be able to run this Python and read the course (never write it)
chmod o+x "$ROOT"
chmod -R go+rX,go-w "$ROOT/venv" "$ROOT/source"
# MNIST comes in the zip: verify it now rather than at each submission
MNIST_COURSE_DATA="$ROOT/source/data" "$ROOT/venv/bin/python" -c \\
    "from course.data import prepare_mnist; prepare_mnist(download=False)"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for each submission: grade it with the course's class grading
# (verdicts decided outside the learner's code) and write the results Gradescope shows.
set -euo pipefail
ROOT="${{{root_var}:-/autograder}}"  # only tests set it
mkdir -p "$ROOT/results"
export MNIST_COURSE_DATA="$ROOT/source/data"
# Unsandboxed only where bubblewrap cannot run in Gradescope's container: each submission has
# a container of its own, and the grade says so in its flags.
exec "$ROOT/venv/bin/python" -m grader autograder run "$ROOT/submission" --format gradescope \\
    --out "$ROOT/results/results.json" --allow-unsandboxed {options}
"""


def results(outcome: Outcome, points: dict[int, float]) -> dict:
    """Gradescope's results.json for one graded submission: a test per check, the score, the time."""
    scored = score_checks(outcome.verdicts, points)
    tests = [{"name": check_title(check), "number": f"{number}.{index}",
              "score": check.score, "max_score": check.max_score,
              "status": "passed" if check.passed else "failed", "output": check.message,
              "visibility": AFTER_PUBLISHED if check.hidden else VISIBLE}
             for number, checks in scored.items() for index, check in enumerate(checks, start=1)]
    return {"score": total(scored), "execution_time": round(outcome.seconds), "output": learner_note(outcome),
            "output_format": "text", "stdout_visibility": "hidden", "tests": tests}


def learner_note(outcome: Outcome) -> str:
    """What the learner reads above the checks. No total: Gradescope keeps it hidden until the grades are
    published while hidden checks count, and so must this (the instructor's log has it)."""
    if outcome.grade is None:
        return outcome.summary({})
    lines = ["Each exercise's points are shared evenly among its checks."]
    if any(verdict.hidden for verdict in outcome.verdicts):
        lines.append("Further checks, on data you did not see, appear once your instructor publishes the grades.")
    lines += [f"Noticed while grading: {flag}" for flag in outcome.grade.flags]
    return "\n".join(lines)


def write_results(outcome: Outcome, points: dict[int, float], path: Path) -> dict:
    """Write results.json all at once (a half-written file would cost the learner their grade)."""
    content = results(outcome, points)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(content, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, path)
    return content


def course_files(repo: Path = REPO) -> list[Path]:
    """The course's files the autograder needs, without caches, build output or the learner's state."""
    files = []
    for part in COURSE_PARTS:
        path = repo / part
        found = sorted(path.rglob("*")) if path.is_dir() else [path]
        files += [file for file in found if file.is_file() and _shipped(file.relative_to(repo))]
    return files


def _shipped(relative: Path) -> bool:
    hidden = any(part.startswith(".") for part in relative.parts)  # e.g. exercises/.grader: a learner's progress
    built = any(part == "__pycache__" or part.endswith(".egg-info") for part in relative.parts)
    return not hidden and not built and relative.suffix != ".pyc"


def export_zip(out: Path, points: dict[int, float], hidden: bool = True) -> list[str]:
    """Write Gradescope's ``autograder.zip`` to ``out``; returns the names of its files.

    Raises:
        CourseError: MNIST cannot be found here (it goes into the zip).
    """
    from course.data import RAW_MD5, prepare_mnist

    mnist = prepare_mnist(download=False) / "MNIST" / "raw"
    options = shlex.join(point_options(points) + ([] if hidden else ["--no-hidden"]))
    scripts = {"setup.sh": SETUP_SH.format(root_var=ROOT_ENV_VAR),
               "run_autograder": RUN_AUTOGRADER.format(root_var=ROOT_ENV_VAR, options=options)}
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, text in scripts.items():
            member = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            member.external_attr = EXECUTABLE
            bundle.writestr(member, text, zipfile.ZIP_DEFLATED)
        for file in course_files():
            bundle.write(file, f"course/{file.relative_to(REPO).as_posix()}")
        for name in RAW_MD5:  # uncompressed in torchvision's layout: read in place, never unpacked again
            bundle.write(mnist / name, f"data/MNIST/raw/{name}")
        names = bundle.namelist()
    os.replace(partial, out)
    return names
