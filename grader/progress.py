"""What the grader remembers between runs, in ``exercises/.grader/`` (git-ignored).

Each exercise's last complete result is kept with a fingerprint of the files it
grades, so that ``pytest exercises/ -m ex9`` does not forget the others,
and a result is dropped as soon as its file changes (as rustlings does). The
fingerprints of the last contents that passed are kept too: trying a variation
and undoing it brings the exercise back to "done".
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

from .catalog import Exercise, exercises

STATE_FOLDER = ".grader"
RESULTS_FILE = "results.json"
PASSING_KEPT = 20  # passing contents remembered per exercise

# Until the concept exercises joined, there were six exercises, numbered differently. What the grader
# remembered under those numbers is recognised by the missing stamp: hints carry over, results do not
# (their fingerprints cover check files that have since been renamed).
NUMBERING_KEY, NUMBERING = "numbering", "lessons"
OLD_NUMBERS = {1: 3, 2: 7, 3: 9, 4: 11, 5: 12, 6: 10}
RENUMBERED_NOTE = ("The exercises now follow the lessons, 12 of them (building the CNN is exercise 3): results "
                   "remembered under the old numbers were dropped, your code is untouched; run pytest exercises/ "
                   "to grade it again.")

# Until the runtime moved out of exercises/ into course/, the checks of exercises 1 and 12 imported it from
# solutions/ and exercises/preprocess.py from its copy: results remembered from before name the files as they
# were. Those whose files have changed since are dropped, in one line; the others carry over as they are.
LAYOUT_KEY, LAYOUT = "layout", "rooms"
STAMPS = (NUMBERING_KEY, LAYOUT_KEY)


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


def _read_state(path: Path) -> dict:
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(path: Path, state: dict) -> None:
    """Write ``state`` with the numbering stamp, atomically: a run stopped half-way leaves the previous file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial")
    partial.write_text(json.dumps({NUMBERING_KEY: NUMBERING, LAYOUT_KEY: LAYOUT, **state}, indent=2))
    os.replace(partial, path)


def _under_old_numbers(state: dict) -> bool:
    return bool(state) and state.get(NUMBERING_KEY) != NUMBERING


def load_results(exercises_folder: Path) -> dict[str, dict]:
    """The remembered results by marker (``"ex3"``); nothing if there are none, they are unreadable,
    or they were kept under the old numbering."""
    results = _read_state(state_folder(exercises_folder) / RESULTS_FILE)
    if _under_old_numbers(results):
        return {}
    return {marker: record for marker, record in results.items() if marker not in STAMPS}


def renumbered_since_last_run(exercises_folder: Path) -> bool:
    """Whether the learner's remembered results date from the old numbering (and are now dropped)."""
    return _under_old_numbers(_read_state(state_folder(exercises_folder) / RESULTS_FILE))


def dropped_by_the_move(exercises_folder: Path) -> list[Exercise]:
    """The exercises whose results, remembered before the runtime moved to course/, no longer match their files."""
    state = _read_state(state_folder(exercises_folder) / RESULTS_FILE)
    if not state or _under_old_numbers(state) or state.get(LAYOUT_KEY) == LAYOUT:
        return []
    results = load_results(exercises_folder)
    return [entry for entry in exercises().values()
            if entry.marker in results and remembered(exercises_folder, entry, results) is None]


def moved_note(dropped: list[Exercise]) -> str:
    """The one line that says which remembered results the move of the runtime dropped."""
    numbers = " and ".join(", ".join(str(entry.number) for entry in dropped).rsplit(", ", 1))
    markers = " or ".join(entry.marker for entry in dropped)
    return (f"The runtime moved out of exercises/ into course/: the remembered results of exercise"
            f"{'s' if len(dropped) > 1 else ''} {numbers} no longer match their files and were dropped, "
            f"your code is untouched; run pytest exercises/ -m '{markers}' to grade them again.")


def load_hints_seen(path: Path) -> dict[str, int]:
    """How many hints of each exercise (by marker) the learner has seen, old numbers carried over."""
    seen = _read_state(path)
    if _under_old_numbers(seen):
        seen = {f"ex{OLD_NUMBERS[int(marker[2:])]}": count for marker, count in seen.items()
                if marker[2:].isdigit() and int(marker[2:]) in OLD_NUMBERS}
    return {marker: count for marker, count in seen.items() if marker not in STAMPS and isinstance(count, int)}


def save_hints_seen(path: Path, seen: dict[str, int]) -> None:
    """Remember how far the learner got in each exercise's hints."""
    _write_state(path, seen)


def save_results(exercises_folder: Path, results: dict[str, dict]) -> None:
    """Write the results atomically: a run stopped half-way leaves the previous file intact."""
    _write_state(state_folder(exercises_folder) / RESULTS_FILE, results)


def remembered(exercises_folder: Path, entry: Exercise, results: dict[str, dict]) -> dict | None:
    """The remembered result of ``entry`` for its files as they are now: the last result if they have not
    changed since, "done" if they are back to a content that passed, else ``None``."""
    record = results.get(entry.marker)
    if not isinstance(record, dict):
        return None
    now = fingerprint(exercises_folder, entry)
    if record.get("fingerprint") == now:
        return record
    passed = next((state for state in _passing(record) if state["fingerprint"] == now), None)
    return None if passed is None else {"status": "done", "checks": [], "fingerprint": now,
                                        "finished": passed["finished"]}


def _passing(record: object) -> list[dict]:
    states = record.get("passing", []) if isinstance(record, dict) else []
    return [state for state in states if isinstance(state, dict) and {"fingerprint", "finished"} <= state.keys()]


def record(exercises_folder: Path, entry: Exercise, status: str, checks: list[dict[str, str]],
           earlier: object = None) -> dict:
    """A result to remember, with the passing contents of the ``earlier`` record and this one's if it passed."""
    now, finished = fingerprint(exercises_folder, entry), datetime.now().isoformat(timespec="minutes")
    passing = [state for state in _passing(earlier) if state["fingerprint"] != now]
    if status == "done":
        passing.append({"fingerprint": now, "finished": finished})
    return {"status": status, "checks": checks, "fingerprint": now, "finished": finished,
            "passing": passing[-PASSING_KEPT:]}
