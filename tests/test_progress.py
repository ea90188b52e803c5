"""What the grader remembers between runs: the last result, and every recent content that passed."""

import json

from grader.catalog import exercises
from grader.progress import (
    PASSING_KEPT, dropped_by_the_move, load_results, moved_note, record, remembered, save_results,
)

MONITOR = exercises()[9]


def remember(folder, status, results):
    results[MONITOR.marker] = record(folder, MONITOR, status, [], results.get(MONITOR.marker))


def test_undoing_a_variation_brings_back_the_pass(tmp_path):
    work, results = tmp_path / MONITOR.module, {}
    work.write_text("right")
    remember(tmp_path, "done", results)
    work.write_text("a variation")
    remember(tmp_path, "failing (3/4 checks pass)", results)
    assert remembered(tmp_path, MONITOR, results)["status"].startswith("failing")
    work.write_text("right")
    kept = remembered(tmp_path, MONITOR, results)
    assert kept["status"] == "done" and kept["finished"] == results[MONITOR.marker]["passing"][0]["finished"]
    work.write_text("never graded")
    assert remembered(tmp_path, MONITOR, results) is None


def test_a_failing_content_is_never_remembered_as_passing(tmp_path):
    work, results = tmp_path / MONITOR.module, {}
    work.write_text("wrong")
    remember(tmp_path, "failing (1/4 checks pass)", results)
    work.write_text("other")
    remember(tmp_path, "failing (2/4 checks pass)", results)
    work.write_text("wrong")
    assert remembered(tmp_path, MONITOR, results) is None


def test_only_the_latest_passing_contents_are_kept(tmp_path):
    work, results = tmp_path / MONITOR.module, {}
    for version in range(PASSING_KEPT + 5):
        work.write_text(f"version {version}")
        remember(tmp_path, "done", results)
    assert len(results[MONITOR.marker]["passing"]) == PASSING_KEPT
    work.write_text("version 0")
    assert remembered(tmp_path, MONITOR, results) is None
    work.write_text(f"version {PASSING_KEPT + 4}")
    assert remembered(tmp_path, MONITOR, results)["status"] == "done"


def test_records_written_before_passing_contents_were_kept_still_load(tmp_path):
    (tmp_path / MONITOR.module).write_text("right")
    old = record(tmp_path, MONITOR, "done", [])
    del old["passing"]
    assert remembered(tmp_path, MONITOR, {MONITOR.marker: old})["status"] == "done"
    (tmp_path / MONITOR.module).write_text("changed")
    assert remembered(tmp_path, MONITOR, {MONITOR.marker: old}) is None


def test_results_from_before_the_runtime_moved_carry_over_unless_their_files_changed(tmp_path):
    """Results saved while exercises/ held the runtime (no layout stamp): those whose files are as they were
    carry over; the others are named in one line."""
    tensors, monitor = exercises()[1], MONITOR
    (tmp_path / tensors.module).write_text("my mean_and_std")
    (tmp_path / monitor.module).write_text("my logging")
    before = {entry.marker: record(tmp_path, entry, "done", []) for entry in (tensors, monitor)}
    (tmp_path / ".grader").mkdir()
    (tmp_path / ".grader" / "results.json").write_text(json.dumps({"numbering": "lessons", **before}))
    (tmp_path / "test_ex1_tensors.py").write_text("from course.data import load_split")  # its check file changed
    assert dropped_by_the_move(tmp_path) == [tensors]
    assert remembered(tmp_path, monitor, load_results(tmp_path))["status"] == "done"
    assert moved_note([tensors]).count("\n") == 0 and "exercise 1 no longer match" in moved_note([tensors])
    save_results(tmp_path, load_results(tmp_path))
    assert dropped_by_the_move(tmp_path) == [], "said once: the results are saved under the new layout"
