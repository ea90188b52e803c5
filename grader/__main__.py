"""``python -m grader``: hints, resetting an exercise, watch mode, and regenerating the stubs.

    python -m grader hint 2          the next hint of exercise 2 (a nudge first, then more)
    python -m grader reset 2         put exercises/engine.py back to its stub (asks first)
    python -m grader watch -m ex2    re-run `pytest exercises/ -m ex2` on every save
    python -m grader generate        (instructors) write exercises/ from solutions/
    python -m grader grade class/    (instructors) grade every submission in class/, each in a sandbox
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .catalog import EXERCISES, exercise, exercises
from .grading import add_grade_parser, grade_command
from .stubs import generate, out_of_sync, reset

HINTS_SEEN = EXERCISES / ".hints-seen.json"


def _load_seen(path: Path) -> dict[str, int]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def next_hint(number: int, seen_file: Path = HINTS_SEEN, show_all: bool = False) -> str:
    """The next hint step of an exercise (all shown so far with ``show_all``); remembers how far you got."""
    entry = exercise(number)
    seen = _load_seen(seen_file)
    shown = len(entry.steps) if show_all else min(seen.get(entry.marker, 0) + 1, len(entry.steps))
    seen[entry.marker] = max(shown, seen.get(entry.marker, 0))
    seen_file.parent.mkdir(parents=True, exist_ok=True)
    seen_file.write_text(json.dumps(seen, indent=2))
    lines = [f"Exercise {number} · {entry.title} — hint {shown} of {len(entry.steps)}", ""]
    lines += [f"{step}. {text}" for step, text in enumerate(entry.steps[:shown], start=1)]
    if shown < len(entry.steps):
        lines += ["", f"Still stuck? Run it again for hint {shown + 1}."]
    lines += ["", f"Read: {entry.reading}", f"Check: {entry.command}"]
    return "\n".join(lines)


def confirm_and_reset(number: int, ask: Callable[[str], str] = input, yes: bool = False) -> str:
    """Reset exercise ``number`` to its stub once the learner agrees."""
    entry = exercise(number)
    if not entry.module:
        return f"Exercise {number} has no stub of its own: it runs your exercises 1 to 3 together."
    target = EXERCISES / entry.module
    prompt = f"Replace exercises/{entry.module} with the original stub? Your code in it will be lost. [y/N] "
    if not yes and ask(prompt).strip().lower() not in ("y", "yes"):
        return "Nothing changed."
    reset(number)
    return f"exercises/{entry.module} is back to its stub." if target.exists() else "Nothing changed."


def watch(pytest_arguments: Sequence[str]) -> None:
    """Run the checks now and again after every save of a Python file in exercises/."""
    from watchfiles import PythonFilter, run_process

    command = shlex.join([sys.executable, "-m", "pytest", str(EXERCISES), *pytest_arguments])
    print(f"Watching {EXERCISES} (Ctrl-C stops): {command}")
    run_process(EXERCISES, target=command, target_type="command", watch_filter=PythonFilter())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    numbers = list(exercises())
    hint = commands.add_parser("hint", help="show the next hint of an exercise")
    hint.add_argument("number", type=int, choices=numbers)
    hint.add_argument("--all", action="store_true", help="show every hint at once")
    reset_parser = commands.add_parser("reset", help="put an exercise back to its stub")
    reset_parser.add_argument("number", type=int, choices=numbers)
    reset_parser.add_argument("--yes", action="store_true", help="do not ask")
    watch_parser = commands.add_parser("watch", help="re-run the checks on every save")
    watch_parser.add_argument("pytest_arguments", nargs=argparse.REMAINDER, help="passed on to pytest, e.g. -m ex2")
    generate_parser = commands.add_parser("generate", help="(instructors) write exercises/ from solutions/")
    generate_parser.add_argument("--force", action="store_true", help="overwrite files that have edits")
    generate_parser.add_argument("--check", action="store_true", help="only report what is out of sync")
    add_grade_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "hint":
        print(next_hint(args.number, show_all=args.all))
    elif args.command == "reset":
        print(confirm_and_reset(args.number, yes=args.yes))
    elif args.command == "watch":
        watch(args.pytest_arguments)
    elif args.command == "grade":
        return grade_command(args)
    elif args.check:
        problems = out_of_sync()
        print("\n".join(problems) or "exercises/ is in sync with solutions/")
        return 1 if problems else 0
    else:
        print("\n".join(generate(force=args.force)) or "exercises/ is already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
