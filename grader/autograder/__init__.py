"""Autograders for the platforms instructors already grade on: Gradescope and GitHub Classroom.

Both run the trusted class grading of :mod:`grader.classroom` on one submission and report
its verdicts, with points per exercise, in the platform's own format:

- :mod:`grader.autograder.gradescope` exports ``autograder.zip`` and writes ``results.json``;
- :mod:`grader.autograder.github_classroom` exports a workflow and writes its reporter's results;
- :mod:`grader.autograder.scoring` shares an exercise's points among its checks;
- :mod:`grader.autograder.cli` adds ``python -m grader autograder``.
"""
