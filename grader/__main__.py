"""``python -m grader``: hints, resetting an exercise, watch mode, and regenerating the stubs.

    python -m grader hint 7          the next hint of exercise 7 (a nudge first, then more; --restart)
    python -m grader reset 7         put exercises/engine.py back to its stub (asks first, keeps a backup)
    python -m grader watch -m ex7    re-run `pytest exercises/ -m ex7` on every save
    python -m grader generate        (instructors) write exercises/ from solutions/, and the answers its checks use
    python -m grader grade class/    (instructors) grade every submission in class/, each in a sandbox
    python -m grader autograder gradescope --out autograder.zip   (instructors) Gradescope, GitHub Classroom
    python -m grader release --out DIR   (instructors) the learner's repository for a class: no reference answers
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from course.threads import configure_threads

from .catalog import EXERCISES, SOLUTIONS, exercise, exercises, stub_sources
from .progress import load_hints_seen, save_hints_seen, state_folder
from .stubs import generate, make_stub, out_of_sync, reset

HINTS_SEEN = state_folder(EXERCISES) / "hints-seen.json"
# The instructors' commands load PyTorch and the class-grading machinery, seconds a learner asking for a
# hint should not wait: their parsers are built only when one of them is run.
INSTRUCTOR_COMMANDS = {
    "grade": "(instructors) grade a class's submissions, each in a sandbox",
    "autograder": "(instructors) autograders for Gradescope and GitHub Classroom",
    "release": "(instructors) write the learner's repository for a class, without the reference answers",
}


def next_hint(number: int, seen_file: Path | None = None, show_all: bool = False) -> str:
    """The next hint step of an exercise (all shown so far with ``show_all``); remembers how far you got."""
    seen_file = seen_file or HINTS_SEEN
    entry = exercise(number)
    seen = load_hints_seen(seen_file)
    seen_before = seen.get(entry.marker, 0)
    shown = len(entry.steps) if show_all else min(seen_before + 1, len(entry.steps))
    seen[entry.marker] = max(shown, seen_before)
    save_hints_seen(seen_file, seen)
    lines = [f"Exercise {number} · {entry.title} — hint {shown} of {len(entry.steps)}", ""]
    lines += [f"{step}. {text}" for step, text in enumerate(entry.steps[:shown], start=1)]
    if shown < len(entry.steps):
        lines += ["", f"Still stuck? Run it again for hint {shown + 1}."]
    elif seen_before >= len(entry.steps) and not show_all:
        lines += ["", (f"That was the last hint, shown again: there are {len(entry.steps)}. "
                       f"python -m grader hint {number} --restart starts again from the first.")]
    else:
        lines += ["", "This is the last hint."]
    lines += ["", f"Read: {entry.reading}", f"Check: {entry.command}"]
    return "\n".join(lines)


def forget_hints(number: int, seen_file: Path | None = None) -> None:
    """Start the hints of exercise ``number`` again from the first."""
    seen_file = seen_file or HINTS_SEEN
    seen = load_hints_seen(seen_file)
    if seen.pop(exercise(number).marker, None) is not None:
        save_hints_seen(seen_file, seen)


def back_up(path: Path) -> Path:
    """Copy ``path`` to ``exercises/.grader/backups/`` under a name with the time; returns the copy.

    A copy is never overwritten: a second backup within the same microsecond gets a counter."""
    folder = state_folder(path.parent) / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = f"{path.stem}-{datetime.now():%Y%m%d-%H%M%S-%f}"
    for attempt in itertools.count(1):
        copy = folder / f"{stamp}{'' if attempt == 1 else f'-{attempt}'}{path.suffix}"
        try:
            with copy.open("xb") as backup:  # "x": fails rather than replace an earlier backup
                backup.write(path.read_bytes())
        except FileExistsError:
            continue
        shutil.copystat(path, copy)
        return copy


class NeedsConfirmation(Exception):
    """``reset`` would replace the learner's work but cannot ask."""


def confirm_and_reset(number: int, ask: Callable[[str], str] = input, yes: bool = False) -> str:
    """Reset exercise ``number`` to its stub once the learner agrees, keeping a backup and restarting its hints."""
    entry = exercise(number)
    if not entry.module:
        return f"Exercise {number} has no stub of its own: it runs your exercises 3, 7 and 9 together."
    target = EXERCISES / entry.module
    prompt = (f"Replace exercises/{entry.module} with the original stub? "
              f"A copy of your version is kept in exercises/.grader/backups/. [y/N] ")
    if not yes:
        cannot_ask = NeedsConfirmation(f"reset replaces exercises/{entry.module} and needs a yes: run it in a "
                                       f"terminal, or add --yes: python -m grader reset {number} --yes")
        if ask is input and not sys.stdin.isatty():  # e.g. in a script: nobody to answer
            raise cannot_ask
        try:
            answer = ask(prompt)
        except EOFError:
            raise cannot_ask from None
        if answer.strip().lower() not in ("y", "yes"):
            return "Nothing changed."
    unchanged = target.exists() and target.read_text() == make_stub((stub_sources() / entry.module).read_text())
    kept = back_up(target) if target.exists() and not unchanged else None
    reset(number)
    forget_hints(number, state_folder(EXERCISES) / HINTS_SEEN.name)
    if unchanged:
        return f"exercises/{entry.module} was already its stub: nothing to save. Its hints start again from the first."
    saved = f" Your version is saved as {kept.relative_to(EXERCISES.parent)}." if kept else ""
    return f"exercises/{entry.module} is back to its stub.{saved} Its hints start again from the first."


def watch(pytest_arguments: Sequence[str]) -> None:
    """Run the checks now and again after every save of a Python file in exercises/; Ctrl-C or SIGTERM stops."""
    from watchfiles import PythonFilter
    from watchfiles import watch as changes

    command = [sys.executable, "-m", "pytest", str(EXERCISES), *pytest_arguments]
    print(f"Watching {EXERCISES} (Ctrl-C stops): {shlex.join(command)}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    checks = subprocess.Popen(command)
    try:
        for _ in changes(EXERCISES, watch_filter=PythonFilter(ignore_paths=[state_folder(EXERCISES)]),
                             stop_event=stop, debounce=400):
            _end(checks)
            checks = subprocess.Popen(command)
    except KeyboardInterrupt:
        pass
    finally:
        _end(checks)


def _end(process: subprocess.Popen) -> None:
    """Stop a run of the checks at once (a newer save or Ctrl-C makes its result useless)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def build_parser(instructors: bool = False) -> argparse.ArgumentParser:
    """The parser of ``python -m grader``; the instructors' commands are parsed in full only if ``instructors``."""
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    numbers = list(exercises())
    hint = commands.add_parser("hint", help="show the next hint of an exercise")
    hint.add_argument("number", type=int, choices=numbers)
    hint.add_argument("--all", action="store_true", help="show every hint at once")
    hint.add_argument("--restart", action="store_true", help="start again from the first hint")
    reset_parser = commands.add_parser("reset", help="put an exercise back to its stub")
    reset_parser.add_argument("number", type=int, choices=numbers)
    reset_parser.add_argument("--yes", action="store_true", help="do not ask")
    watch_parser = commands.add_parser("watch", help="re-run the checks on every save")
    watch_parser.add_argument("pytest_arguments", nargs=argparse.REMAINDER,
                              help="passed on to pytest, e.g. -m ex7 (options included)")
    generate_parser = commands.add_parser("generate", help="(instructors) write exercises/ from solutions/")
    generate_parser.add_argument("--force", action="store_true", help="overwrite files that have edits")
    generate_parser.add_argument("--check", action="store_true", help="only report what is out of sync")
    if instructors:
        from .autograder.cli import add_autograder_parser
        from .classroom.command import add_grade_parser
        from .release import add_release_parser

        add_grade_parser(commands)
        add_autograder_parser(commands)
        add_release_parser(commands)
    else:
        for name, summary in INSTRUCTOR_COMMANDS.items():
            commands.add_parser(name, help=summary, add_help=False).add_argument("options", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_threads()  # before anything loads PyTorch
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["watch"] and not {"-h", "--help"} & set(argv):
        watch(argv[1:])  # everything after `watch` is pytest's, options included
        return 0
    instructors = bool(argv) and argv[0] in INSTRUCTOR_COMMANDS
    if (instructors or argv[:1] == ["generate"]) and not SOLUTIONS.is_dir():
        print(f"python -m grader: {argv[0]} is for instructors, and this copy of the course has no reference "
              "answers (solutions/): it is a class's release", file=sys.stderr)
        return 2
    args = build_parser(instructors=instructors).parse_args(argv)
    if args.command == "hint":
        if args.restart:
            forget_hints(args.number)
        print(next_hint(args.number, show_all=args.all))
    elif args.command == "reset":
        try:
            print(confirm_and_reset(args.number, yes=args.yes))
        except NeedsConfirmation as error:
            print(f"python -m grader: {error}", file=sys.stderr)
            return 2
    elif args.command == "watch":
        watch(args.pytest_arguments)
    elif args.command == "grade":
        from .classroom.command import grade_command

        return grade_command(args)
    elif args.command == "autograder":
        from .autograder.cli import autograder_command

        return autograder_command(args)
    elif args.command == "release":
        from .release import release_command

        return release_command(args)
    elif args.check:
        from .answers import answers_out_of_date  # loads PyTorch: only for the instructors' generate

        problems = out_of_sync() + answers_out_of_date()
        print("\n".join(problems) or "exercises/ is in sync with solutions/")
        return 1 if problems else 0
    else:
        from .answers import answers_out_of_date, record_answers

        report = generate(force=args.force)
        if args.force or answers_out_of_date():
            report.append(record_answers())
        print("\n".join(report) or "exercises/ is already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
