"""``python -m grader grade``: grade a whole class, trusting none of it.

Each submission's code runs in a bubblewrap sandbox that only answers questions (see
:mod:`grader.classroom.sandbox`); the verdicts are made here. Rows and feedback are written
as each learner finishes; Ctrl-C stops the workers and keeps every finished learner.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

from course.errors import CourseError

from .cgroups import kernel_limits
from .checks import PUBLIC_SEED, class_checks
from .grading import Grade, Setting, grade_submission
from .report import ClassReport, summary_table
from .sandbox import MAX_WORKERS, Limits, bubblewrap, network_folder, program_folder, worker_uid
from .submissions import Submission, find_submissions, readable

INTERRUPTED = 130
NO_SANDBOX = ("bubblewrap (bwrap) cannot run here, so submissions cannot be fenced in: install it "
              "(Debian/Ubuntu: apt-get install bubblewrap) or, only for code you trust, add --allow-unsandboxed")
SAME_USER = ("without a sandbox, learner code would run as the grader's own user (uid {uid}) and could rewrite "
             "the results after the grader ends: install bubblewrap, or grade as root with a Python environment "
             "other users can run (not one under /root), so that each learner runs as a user of its own")


def shared_data(workspace: Path) -> Path:
    """One read-only copy of verified MNIST for every sandbox, so that no learner can spoil the instructor's."""
    from course.data import RAW_MD5, prepare_mnist

    source = prepare_mnist(download=False) / "MNIST" / "raw"
    raw = workspace / "data" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in RAW_MD5:
        shutil.copyfile(source / name, raw / name)
        (raw / name).chmod(0o444)
    for folder in (raw, raw.parent, raw.parent.parent):
        folder.chmod(0o755)
    return workspace / "data"


@contextmanager
def prepared(limits: Limits, hidden_seed: int | None, allow_unsandboxed: bool, seconds: float = 900.0,
             end_to_end: bool = True, as_grader: bool = False):
    """A :class:`Setting` for a class: the checks, the reference's answers, a workspace that is removed after.
    Without a sandbox, learner code runs as the grader's own user only with ``as_grader`` (where the learner
    owns the machine anyway: GitHub Classroom's runner)."""
    sandboxed = bubblewrap() is not None
    if not sandboxed and not allow_unsandboxed:
        raise CourseError(NO_SANDBOX)
    if not sandboxed and worker_uid(0, sandboxed) < 0 and not as_grader:
        raise CourseError(SAME_USER.format(uid=os.geteuid()))
    checks = class_checks(PUBLIC_SEED, end_to_end=end_to_end)
    if hidden_seed is not None:
        checks += class_checks(hidden_seed, hidden=True)
    workspace = Path(tempfile.mkdtemp(prefix="grader-"))
    workspace.chmod(0o755)  # the sandbox's unprivileged user walks through it to its mounts
    try:
        yield Setting(checks, [check.ask_reference() for check in checks], limits, shared_data(workspace),
                      program_folder(workspace), network_folder(workspace), workspace, sandboxed, seconds)
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


def grade_one(path: Path, *, hidden: bool = True, allow_unsandboxed: bool = False,
              limits: Limits | None = None, as_grader: bool = False) -> Grade:
    """Grade one submission (an ``exercises/`` folder, a folder of its files, or a .zip of either).

    Raises:
        CourseError: ``path`` holds no submission, or bubblewrap cannot run and ``allow_unsandboxed`` is off.
    """
    submissions = find_submissions([path])
    with prepared(limits or Limits(), secrets.randbelow(1 << 31) if hidden else None, allow_unsandboxed,
                  as_grader=as_grader) as setting:
        return grade_submission(submissions[0], setting)


def grade_class(submissions: list[Submission], setting: Setting, workers: int, report: ClassReport,
                progress: bool = True) -> None:
    """Grade every submission, ``workers`` at a time, adding each to ``report`` as it finishes.

    On Ctrl-C (or a report that cannot be written) the live workers are stopped and the
    unfinished submissions dropped; the exception goes on to the caller.
    """
    from tqdm import tqdm

    cancelled, live, slots = threading.Event(), set(), list(range(workers))
    slot_lock = threading.Lock()

    def grade(submission: Submission) -> Grade:
        with slot_lock:
            slot = slots.pop()
        try:
            return grade_submission(submission, setting, slot, cancelled, live)
        except Exception as error:  # noqa: BLE001 - one submission's trouble must not end the class's grading
            return Grade(submission.learner, submission.source, flags=[f"not graded: {type(error).__name__}: {error}"])
        finally:
            with slot_lock:
                slots.append(slot)

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(grade, submission) for submission in submissions]
        for future in tqdm(as_completed(futures), total=len(futures), desc="grading", unit="learner",
                           disable=not progress, file=sys.stderr):
            if not cancelled.is_set():
                report.add(future.result())
    except BaseException:
        cancelled.set()
        for worker in list(live):
            worker.stop()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be more than 0")
        return value
    return parse


def _workers(text: str) -> int:
    count = _positive(int)(text)
    if count > MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{count} is more than {MAX_WORKERS} submissions at once")
    return count


def add_grade_parser(commands: argparse._SubParsersAction) -> None:
    """Add ``grade`` to ``python -m grader``'s subcommands."""
    parser = commands.add_parser(
        "grade", help="(instructors) grade a class's submissions, each in a sandbox",
        description="Grade learners' exercise modules: each submission's code runs in a bubblewrap sandbox "
                    "that only answers questions, on the public checks' inputs and on hidden ones made "
                    "for this run; the verdicts are made outside it.")
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                        help="a learner's exercises/ folder, a .zip of one, or a folder of them (one per learner)")
    parser.add_argument("--out", type=Path, default=Path("grades.csv"), help="the CSV to write (default grades.csv)")
    parser.add_argument("--feedback", type=Path, help="folder for each learner's Markdown feedback "
                        "(default: feedback/ beside the CSV)")
    parser.add_argument("--hidden-seed", type=int, metavar="N",
                        help="make the hidden inputs from N, to grade again exactly alike (default: a new secret seed)")
    parser.add_argument("--no-hidden", action="store_true", help="ask only the public checks' questions")
    parser.add_argument("--workers", type=_workers, default=os.cpu_count() or 1,
                        help="submissions graded at once (default: the number of cores, %(default)s)")
    parser.add_argument("--timeout", type=_positive(float), default=900.0, metavar="SECONDS",
                        help="wall time per submission, every check together (default %(default)g)")
    parser.add_argument("--check-timeout", type=_positive(float), default=Limits.check_seconds, metavar="SECONDS",
                        help="time per question (default %(default)g; the end-to-end training gets ten times as long)")
    parser.add_argument("--memory", type=_positive(float), default=Limits.memory_bytes / 2**30, metavar="GIB",
                        help="memory per submission in GiB (default %(default)g)")
    parser.add_argument("--disk", type=_positive(float), default=Limits.disk_bytes / 2**20, metavar="MIB",
                        help="scratch space per submission in MiB (default %(default)g)")
    parser.add_argument("--allow-unsandboxed", action="store_true",
                        help="grade even where bubblewrap cannot run (only code you trust; every row says so)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def grade_command(args: argparse.Namespace) -> int:
    """Run ``python -m grader grade`` with parsed arguments; returns the exit status."""
    if not sys.platform.startswith("linux") and not args.allow_unsandboxed:
        print(f"error: {NO_SANDBOX} (bubblewrap needs Linux; on Windows use WSL)", file=sys.stderr)
        return 2
    limits = Limits(check_seconds=args.check_timeout, memory_bytes=int(args.memory * 2**30),
                    disk_bytes=int(args.disk * 2**20))
    hidden_seed = None if args.no_hidden else (args.hidden_seed if args.hidden_seed is not None
                                               else secrets.randbelow(1 << 31))
    feedback = args.feedback or args.out.parent / "feedback"
    report = None
    started = time.monotonic()
    try:
        submissions = find_submissions(args.submissions)
        report = ClassReport(args.out, feedback, [submission.learner for submission in submissions])
        with prepared(limits, hidden_seed, args.allow_unsandboxed, args.timeout) as setting:
            fence = "in a bubblewrap sandbox" if setting.sandboxed else "WITHOUT A SANDBOX (--allow-unsandboxed)"
            print(f"Grading {len(submissions)} submission(s), {args.workers} at a time, each {fence}, "
                  f"{kernel_limits()}; "
                  f"{len(setting.checks)} checks" + ("" if hidden_seed is None else f", hidden seed {hidden_seed}"),
                  file=sys.stderr)
            grade_class(submissions, setting, args.workers, report, progress=not args.quiet)
    except KeyboardInterrupt:
        kept = len(report.rows) if report else 0
        print(f"\ninterrupted: {kept} finished learner(s) kept in {readable(args.out)}", file=sys.stderr)
        return INTERRUPTED
    except (CourseError, OSError) as error:
        print(f"error: {readable(error)}", file=sys.stderr)
        return 2
    print(summary_table(report.grades))
    print(f"\n{len(report.grades)} submission(s) graded in {time.monotonic() - started:.0f} s. "
          f"Grades: {readable(args.out)}   Feedback: {readable(feedback)}/")
    return 0
