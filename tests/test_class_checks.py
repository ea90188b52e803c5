"""The trusted half of class grading, without a sandbox: the checks, the judges and the answer channel."""

from __future__ import annotations

import io
import os
import pickle
import struct
import threading
from dataclasses import replace

import pytest
import torch

from grader.catalog import exercises
from grader.classroom.checks import PUBLIC_SEED, class_checks, close_tensors, same_log_probabilities
from grader.classroom.grading import judged
from grader.classroom.asking import Reply
from grader.classroom.worker import FrameError, Notice, decode_frame, read_frame, write_frame


@pytest.fixture(scope="module")
def public_and_hidden():
    return class_checks(PUBLIC_SEED, end_to_end=False), class_checks(31337, hidden=True)


def test_every_check_names_a_hint_of_its_exercise(public_and_hidden):
    for check in [*public_and_hidden[0], *public_and_hidden[1]]:
        assert check.hint in exercises()[check.exercise].hints, check.name


def test_every_exercise_has_public_and_hidden_checks(public_and_hidden):
    public, hidden = public_and_hidden
    assert {check.exercise for check in public} == set(exercises()) - {10}
    assert {check.exercise for check in hidden} == set(exercises()) - {10}
    assert all(check.hidden for check in hidden) and not any(check.hidden for check in public)


def test_hidden_inputs_differ_from_the_public_ones(public_and_hidden):
    public, hidden = public_and_hidden
    conv = [check for check in public if check.procedure == "conv2d"][1]
    hidden_conv = [check for check in hidden if check.procedure == "conv2d"][1]
    assert not torch.equal(conv.inputs["weight"].flatten()[:4], hidden_conv.inputs["weight"].flatten()[:4])


def test_the_reference_passes_its_own_checks(public_and_hidden):
    for check in [*public_and_hidden[0], *public_and_hidden[1]]:
        answer = check.ask_reference()
        assert check.judge(answer, answer) is None, check.name


def test_wrong_answers_are_wrong_and_say_what_was_found():
    wanted = torch.randn(3, 10)
    judge = close_tensors(atol=1e-5)
    assert judge(wanted.T, wanted) == "a tensor of shape (10, 3)"
    assert judge(wanted + 1e-3, wanted).startswith("values up to 0.001")
    assert judge(torch.full_like(wanted, float("nan")), wanted).startswith("values up to inf")
    assert judge("a ndarray", wanted) == "a ndarray"
    logits = same_log_probabilities(atol=1e-5)
    assert logits(wanted.log_softmax(1), wanted) is None  # log-probabilities are logits too
    assert logits(wanted.softmax(1), wanted) is not None  # probabilities are not


def test_a_failing_verdict_says_what_was_expected_found_and_the_hint():
    check = class_checks(PUBLIC_SEED, end_to_end=False)[0]
    entry = exercises()[check.exercise]
    wanted = {"statistics": [0.5, 0.25], "batches held": 1}
    verdict = judged(check, entry, Reply(answer={"statistics": [0.0, 1.0], "batches held": 1}), wanted)
    assert not verdict.passed
    assert verdict.message.splitlines()[:3] == [
        f"Exercise 1 · {entry.title} — {check.name}", f"  expected: {check.expected}",
        "  found:    statistics: answer 1 of 2: 0"]
    assert entry.hint(check.hint) in verdict.message
    assert judged(check, entry, Reply(error="not started"), None).message.endswith("(write exercises/tensors.py)")
    assert not judged(check, entry, Reply(answer={"passed": True}), wanted).passed


def test_judging_an_answer_has_a_time_limit(monkeypatch):
    """An answer no judge foresaw cannot hold a grader thread: comparing it stops after a time limit."""
    check = class_checks(PUBLIC_SEED, end_to_end=False)[0]

    def endless(found, wanted):
        while True:
            pass

    monkeypatch.setattr("grader.classroom.grading.JUDGING_SECONDS", 0.2)
    outcome: list = []
    judging = threading.Thread(target=lambda: outcome.append(
        judged(replace(check, judge=endless), exercises()[check.exercise], Reply(answer={}), {})))
    judging.start()
    judging.join(timeout=60)
    assert not judging.is_alive()
    assert "an answer that took more than 0.2 s to compare" in outcome[0].message


def test_answers_are_plain_data_never_code(tmp_path):
    class Payload:
        def __reduce__(self):
            return os.system, (f"touch {tmp_path / 'ran'}",)

    forged = pickle.dumps({"answer": Payload()}, protocol=2)
    with pytest.raises(FrameError):
        decode_frame(forged)
    assert not (tmp_path / "ran").exists()
    buffer = io.BytesIO()
    write_frame(buffer, {"answer": [torch.ones(2), 3, "x"]})
    buffer.seek(0)
    assert read_frame(buffer)["answer"][1:] == [3, "x"]
    with pytest.raises(FrameError):
        read_frame(io.BytesIO(struct.pack(">I", 1 << 30)))


def test_only_what_the_learners_own_modules_do_is_noticed(tmp_path):
    learner_file = str(tmp_path / "engine.py")
    notice = Notice(str(tmp_path / "scratch"), {learner_file})
    code = compile("notice('open', ('/etc/passwd', 'w', 0))\nnotice('open', ('/etc/hosts', 'r', 0))", learner_file, "exec")
    exec(code, {"notice": notice})
    notice("open", ("/elsewhere", "w", 0))  # not called from the learner's file: the libraries' own doing
    assert notice.take() == ["tried to write outside its tree: /etc/passwd"]


def test_what_a_library_does_for_the_learner_is_its_own(tmp_path):
    learner_file = str(tmp_path / "inference.py")
    notice = Notice(str(tmp_path / "scratch"), {learner_file})
    library = compile("def build_cache(notice):\n    notice('subprocess.Popen', ('fc-list', [], None, None))\n",
                      str(tmp_path / "site-packages" / "matplotlib.py"), "exec")
    namespace = {"notice": notice}
    exec(library, namespace)
    exec(compile("build_cache(notice)\nimport os\nnotice('os.fork', ())", learner_file, "exec"), namespace)
    assert notice.take() == ["started another process (it cannot outlive the run)"]


def test_the_instructors_page_counts_the_catalogue():
    import re

    from grader.catalog import REPO
    from tests.learners.mistakes import MISTAKES
    from tests.learners.variants import VARIANTS

    page = (REPO / "docs" / "instructors.md").read_text()
    assert re.search(r"mistakes\.py`, (\d+) entries", page)[1] == str(len(MISTAKES))
    words = {8: "Eight", 9: "Nine", 10: "Ten", 11: "Eleven", 12: "Twelve", 13: "Thirteen", 14: "Fourteen"}
    assert f"{words[len(VARIANTS)]} different correct" in page


def test_the_instructors_page_quotes_the_limits_the_grader_applies():
    from grader.catalog import REPO
    from grader.classroom.asking import BUSY_THREADS, CROWDED_WATCHES, WATCH_SECONDS
    from grader.classroom.worker import ADDRESS_SPACE_SLACK, MAX_DEPTH, MAX_ELEMENTS, MAX_ITEMS

    page = " ".join((REPO / "docs" / "instructors.md").read_text().split())
    assert f"more than {MAX_ITEMS:,} parts, {MAX_DEPTH} levels or a tensor of more than 2^{MAX_ELEMENTS.bit_length() - 1} " \
           "elements" in page
    assert f"{ADDRESS_SPACE_SLACK >> 30} GiB more for what the libraries map" in page
    assert WATCH_SECONDS == 0.5 and "measured from outside every half second" in page
    assert f"more than {BUSY_THREADS} threads running at once" in page
    assert f"stopped when {CROWDED_WATCHES} measurements in a row see it" in page
