"""``python -m grader autograder``: export autograders for Gradescope and GitHub Classroom, and grade for them.

    python -m grader autograder gradescope --out autograder.zip [--points ex3=20]
    python -m grader autograder github-classroom --out template/ --course my-school/mnist-cnn-course@v1
    python -m grader autograder run SUBMISSION --format gradescope --out results.json   (what both run)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course.errors import CourseError

from . import github_classroom, gradescope
from .scoring import points_per_exercise, score_checks, total
from .submission import Outcome, grade_submission

FORMATS = ("gradescope", "github-classroom")


def add_autograder_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``autograder`` and its subcommands to ``python -m grader``'s subcommands."""
    parser = commands.add_parser(
        "autograder", help="(instructors) autograders for Gradescope and GitHub Classroom",
        description=__doc__.splitlines()[0], epilog=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    platforms = parser.add_subparsers(dest="platform", required=True)
    scored = argparse.ArgumentParser(add_help=False)
    scored.add_argument("--points", nargs="+", action="extend", default=[], metavar="exN=POINTS",
                        help="an exercise's points instead of grader/exercises.toml's (default 10 each)")
    scored.add_argument("--no-hidden", action="store_true", help="grade with the public checks only")
    zip_parser = platforms.add_parser("gradescope", parents=[scored], help="write the zip to upload to Gradescope")
    zip_parser.add_argument("--out", type=Path, default=Path("autograder.zip"), help="default: autograder.zip")
    workflow_parser = platforms.add_parser("github-classroom", parents=[scored],
                                           help="write the workflow of a GitHub Classroom template repository")
    workflow_parser.add_argument("--out", type=Path, required=True, help="the template repository's folder")
    workflow_parser.add_argument("--course", required=True, metavar="OWNER/NAME@REF",
                                 help="your repository of the course, that the grader is installed from")
    run_parser = platforms.add_parser("run", parents=[scored], help="grade one submission for a platform")
    run_parser.add_argument("submission", type=Path, help="an exercises/ folder, its files, or a .zip of either")
    run_parser.add_argument("--format", choices=FORMATS, required=True)
    run_parser.add_argument("--out", type=Path, required=True,
                            help="gradescope: results.json to write; github-classroom: the $GITHUB_OUTPUT file")
    run_parser.add_argument("--allow-unsandboxed", action="store_true",
                            help="grade even where bubblewrap cannot run (the platform's container is the fence)")


def autograder_command(args: argparse.Namespace) -> int:
    """Run ``python -m grader autograder`` with parsed arguments; returns the exit status."""
    try:
        points = points_per_exercise(args.points)
        if args.platform == "gradescope":
            names = gradescope.export_zip(args.out, points, hidden=not args.no_hidden)
            print(f"Wrote {args.out}: {len(names)} files, {args.out.stat().st_size / 2**20:.1f} MiB, "
                  f"{sum(points.values()):g} points. Upload it under Configure Autograder.")
        elif args.platform == "github-classroom":
            export_workflow(args.out, github_classroom.workflow(points, args.course, hidden=not args.no_hidden))
        else:
            # On GitHub's runner the learner owns the machine and the workflow: no user of its own protects anything
            report(grade_submission(args.submission, hidden=not args.no_hidden, allow_unsandboxed=args.allow_unsandboxed,
                                    as_grader=args.format == "github-classroom"), points, args.format, args.out)
    except (CourseError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def export_workflow(folder: Path, text: str) -> None:
    """Write the workflow into the template repository's folder."""
    path = folder / github_classroom.WORKFLOW_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"Wrote {path}. Commit it to the template repository; it grades every push.")


def report(outcome: Outcome, points: dict[int, float], platform: str, out: Path) -> None:
    """Write ``outcome`` for ``platform`` to ``out`` and print what was graded (the platforms keep the log)."""
    if platform == "gradescope":
        gradescope.write_results(outcome, points, out)
    else:
        with out.open("a", encoding="utf-8") as outputs:  # GitHub collects every step's outputs in one file
            outputs.write(github_classroom.github_output(github_classroom.runner_results(outcome, points)))
    scored = score_checks(outcome.verdicts, points)
    print(outcome.summary(scored))
    for number, checks in scored.items():
        passed = sum(check.passed for check in checks)
        earned = total({number: checks})
        print(f"  exercise {number:>2}: {passed:>2} of {len(checks):>2} checks passed, {earned:g} of {points[number]:g} points")
    print(f"Graded in {outcome.seconds:.0f} s.")
