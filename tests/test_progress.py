"""What the grader remembers between runs: the last result, and every recent content that passed."""

from grader.catalog import exercises
from grader.progress import PASSING_KEPT, record, remembered

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
