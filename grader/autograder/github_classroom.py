"""GitHub Classroom: the workflow that grades a learner's repository on every push, and its results.

The workflow (``.github/workflows/classroom.yml`` of the template repository) installs the
course from your repository (never from the learner's copy, whose grader and checks they may
have edited), grades the learner's exercises with ``python -m grader autograder run``, and hands
one result per exercise to GitHub Classroom's reporter
(``classroom-resources/autograding-grading-reporter``), which prints every check and a table of
points per exercise in the run's log, and reports the total to GitHub Classroom.
"""

from __future__ import annotations

import base64
import json
import re
import shlex

from ..catalog import exercises
from .scoring import check_title, point_options, score_checks
from .submission import Outcome

WORKFLOW_PATH = ".github/workflows/classroom.yml"
#: OWNER/NAME@REF of the repository the grader is installed from.
COURSE_SOURCE = re.compile(r"(?P<repository>[\w.-]+/[\w.-]+)@(?P<ref>[\w./-]+)")

WORKFLOW = """\
# Written by `python -m grader autograder github-classroom`: on every push, grade the learner's
# exercises with the course's class grading and report points per exercise to GitHub Classroom.
# GitHub Classroom's reporter needs this name, one job, and that job's name.
name: Autograding Tests
on:
  - push
  - workflow_dispatch
  - repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 30
    env:
      MNIST_COURSE_DATA: ${{{{ github.workspace }}}}/mnist
    steps:
      - name: Check out the learner's work
        uses: actions/checkout@v5
        with:
          path: submission
      - name: Check out the grader from the course's own repository, not the learner's copy
        uses: actions/checkout@v5
        with:
          repository: {repository}
          ref: {ref}
          path: course
      - name: Set up Python
        uses: actions/setup-python@v6
        with:
          python-version: "3.12"
          cache: pip
          cache-dependency-path: course/pyproject.toml
      - name: Install the course with CPU-only PyTorch
        run: |
          python -m pip install --extra-index-url https://download.pytorch.org/whl/cpu torch torchvision
          python -m pip install -e "./course[test]"
      - name: Keep MNIST between runs
        uses: actions/cache@v5
        with:
          path: mnist
          key: mnist-v1
      - name: Download MNIST unless kept
        run: python -c "from course.data import prepare_mnist; prepare_mnist()"
      - name: Grade
        id: grade
        run: >-
          {command}
      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{environment}
        with:
          runners: {runners}
"""


def runner_name(number: int) -> str:
    """The reporter's name for an exercise's results: ``ex3`` (read from the variable ``EX3_RESULTS``)."""
    return f"ex{number}"


def runner_results(outcome: Outcome, points: dict[int, float]) -> dict[str, dict]:
    """One result per exercise in the reporter's format: its checks with their share of its points."""
    results = {}
    for number, checks in score_checks(outcome.verdicts, points).items():
        tests = [{"name": check_title(check), "status": "pass" if check.passed else "fail",
                  "score": check.score, "message": check.message or None,
                  "test_code": exercises()[number].command, "filename": "", "line_no": 0, "duration": 0}
                 for check in checks]
        results[runner_name(number)] = {"version": 1, "max_score": points[number], "tests": tests,
                                        "status": "pass" if all(check.passed for check in checks) else "fail"}
    return results


def github_output(results: dict[str, dict]) -> str:
    """The lines for ``$GITHUB_OUTPUT`` that make each result a step output, base64 as the reporter reads them."""
    return "".join(f"{runner}={base64.b64encode(json.dumps(result).encode()).decode()}\n"
                   for runner, result in results.items())


def workflow(points: dict[int, float], course: str, hidden: bool = True) -> str:
    """The workflow file's text; ``course`` is ``OWNER/NAME@REF``, the repository to install the grader from.

    Raises:
        ValueError: ``course`` is not ``OWNER/NAME@REF``.
    """
    source = COURSE_SOURCE.fullmatch(course)
    if not source:
        raise ValueError(f"{course!r} is not OWNER/NAME@REF, e.g. my-school/mnist-cnn-course@v1")
    options = point_options(points) + ([] if hidden else ["--no-hidden"])
    command = "\n          ".join([
        "python -m grader autograder run submission --format github-classroom --allow-unsandboxed",
        shlex.join(options), '--out "$GITHUB_OUTPUT"'])
    runners = [runner_name(number) for number in points]
    environment = "\n".join(f'          {runner.upper()}_RESULTS: "${{{{ steps.grade.outputs.{runner} }}}}"'
                            for runner in runners)
    return WORKFLOW.format(repository=source["repository"], ref=source["ref"], command=command,
                           environment=environment, runners=",".join(runners))
