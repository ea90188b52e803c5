"""What the grader remembers between runs, in ``exercises/.grader/`` (git-ignored).

Each exercise's last complete result is kept with a fingerprint of the files it
grades, so that ``pytest exercises/ -m ex3`` does not forget exercises 1 and 2,
and a result is dropped as soon as its file changes (as rustlings does).
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

from .catalog import Exercise

STATE_FOLDER = ".grader"
RESULTS_FILE = "results.json"


def state_folder(exercises_folder: Path) -> Path:
    """Where the grader keeps its files for the learner whose exercises are in ``exercises_folder``."""
    return exercises_folder / STATE_FOLDER


def fingerprint(exercises_folder: Path, entry: Exercise) -> str:
    """A hash of the learner's files and the check files of ``entry``."""
    digest = hashlib.sha256()
    paths = [exercises_folder / name for name in entry.files]
    paths += sorted(exercises_folder.glob(f"test_ex{entry.number}_*.py"))
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.is_file() else b"<missing>")
    return digest.hexdigest()


def load_results(exercises_folder: Path) -> dict[str, dict]:
    """The remembered results by marker (``"ex1"``), or nothing if there are none or they are unreadable."""
    try:
        results = json.loads((state_folder(exercises_folder) / RESULTS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return results if isinstance(results, dict) else {}


def save_results(exercises_folder: Path, results: dict[str, dict]) -> None:
    """Write the results atomically: a run stopped half-way leaves the previous file intact."""
    folder = state_folder(exercises_folder)
    folder.mkdir(exist_ok=True)
    partial = folder / f"{RESULTS_FILE}.partial"
    partial.write_text(json.dumps(results, indent=2))
    os.replace(partial, folder / RESULTS_FILE)


def remembered(exercises_folder: Path, entry: Exercise, results: dict[str, dict]) -> dict | None:
    """The remembered result of ``entry`` if its files have not changed since, else ``None``."""
    record = results.get(entry.marker)
    if not isinstance(record, dict) or record.get("fingerprint") != fingerprint(exercises_folder, entry):
        return None
    return record


def record(exercises_folder: Path, entry: Exercise, status: str, checks: list[dict[str, str]]) -> dict:
    """A result to remember."""
    return {"status": status, "checks": checks, "fingerprint": fingerprint(exercises_folder, entry),
            "finished": datetime.now().isoformat(timespec="minutes")}
