"""The drawing pad: reading drawings step by step, its errors, and the real page in headless Chromium."""

from __future__ import annotations

import base64
import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from course.checkpoint import save_checkpoint
from course.cli import main
from course.drawing_pad import STEP_TITLES, DigitReader, drawing_from, save_strip, step_strip
from course.errors import CourseError
from tests.drawing_pad_browser import DIGITS, ROOT, answer, draw, free_port, open_pad, running_pad
from tests.photos import write_all
from tests.test_site import browser  # noqa: F401  (the headless Chromium fixture)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, trained_model):
    return save_checkpoint(tmp_path_factory.mktemp("pad") / "model.pt", trained_model, normalize=True)


def seven_drawn() -> Image.Image:
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).line([(70, 50), (210, 50), (120, 240)], fill=(0, 0, 0, 255), width=18)
    return canvas


def test_a_drawing_is_read_with_every_step_shown(checkpoint):
    reading = DigitReader(checkpoint).read(seven_drawn())
    assert reading.digit == 7
    assert sum(reading.probabilities) == pytest.approx(1, abs=1e-4)
    assert [title for title, _ in reading.steps] == list(STEP_TITLES)
    shapes = [picture.shape for _, picture in reading.steps]
    assert shapes[0] == (280, 280, 3) and shapes[3] == (20, 20) and shapes[4] == shapes[5] == (28, 28)
    ink_on_black = reading.steps[1][1]
    assert ink_on_black[0, 0] == 0 and ink_on_black.max() == pytest.approx(1)
    assert step_strip(reading.steps).size == (3 * 136 + 8, 2 * 158 + 8)
    strip = step_strip(reading.steps, columns=6)
    assert strip.size == (6 * 136 + 8, 158 + 8) and np.asarray(strip).std() > 20


def test_a_strip_shown_twice_is_saved_twice_and_never_rewritten(checkpoint, tmp_path):
    """A page may still be loading the first file when the same reading comes again."""
    strip = step_strip(DigitReader(checkpoint).read(seven_drawn()).steps)
    first = Path(save_strip(strip, tmp_path / "cache"))
    saved, changed = first.read_bytes(), first.stat().st_mtime_ns
    second = Path(save_strip(strip, tmp_path / "cache"))
    assert first != second and second.read_bytes() == saved
    assert first.stat().st_mtime_ns == changed and first.read_bytes() == saved
    assert np.array_equal(np.asarray(Image.open(second)), np.asarray(strip))


def test_the_canvas_png_is_decoded_and_anything_else_refused():
    sent = io.BytesIO()
    seven_drawn().save(sent, format="PNG")
    value = "data:image/png;base64," + base64.b64encode(sent.getvalue()).decode()
    assert np.array_equal(np.asarray(drawing_from(value)), np.asarray(seven_drawn()))
    assert drawing_from(None) is None and drawing_from("") is None
    with pytest.raises(ValueError, match="other than a PNG"):
        drawing_from("data:text/html;base64,PGI+")
    with pytest.raises(ValueError, match="unreadable PNG"):
        drawing_from("data:image/png;base64,bm90IGEgcG5n")


def test_without_a_checkpoint_it_names_the_command_that_trains_one(tmp_path):
    with pytest.raises(CourseError, match="train one first with python -m solutions train"):
        DigitReader(tmp_path / "missing.pt")


def test_bad_options_exit_with_a_message(tmp_path, capsys):
    assert main(["draw", "--checkpoint", str(tmp_path / "missing.pt")]) == 2
    assert capsys.readouterr().err.startswith("error: no checkpoint at")
    with pytest.raises(SystemExit) as exited:
        main(["draw", "--port", "70000"])
    assert exited.value.code == 2
    assert "argument --port: must be a whole number from 1 to 65535, not '70000'" in capsys.readouterr().err


def test_a_taken_port_gives_a_clear_error(checkpoint, capsys):
    pytest.importorskip("gradio", reason="the draw extra is not installed: pip install -e '.[draw]'")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["draw", "--checkpoint", str(checkpoint), "--port", str(taken.getsockname()[1])]) == 2
    assert "is taken by another program; choose another with --port N" in capsys.readouterr().err


def learner_copy(folder: Path, written: tuple[str, ...]) -> Path:
    """A learner's exercises/ in ``folder`` with the modules ``written`` as the reference has them."""
    learner = folder / "exercises"
    shutil.copytree(ROOT / "exercises", learner, ignore=shutil.ignore_patterns("test_*", "conftest.py"))
    for done in written:
        shutil.copy(ROOT / "solutions" / done, learner / done)
    return folder


def exercises_draw(folder: Path, checkpoint: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exercises", "draw", "--checkpoint", str(checkpoint)],
                          cwd=folder, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])})


def test_the_exercises_pad_names_every_exercise_still_missing(checkpoint, tmp_path):
    """``python -m exercises draw`` runs the learner's code: on the stubs it names the three exercises it needs."""
    completed = exercises_draw(learner_copy(tmp_path, ()), checkpoint)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    for needed in ("exercise 3 (Build the CNN)", "exercise 11 (Run inference)", "exercise 12 (Prepare your own drawing)"):
        assert needed in completed.stderr, completed.stderr


def test_the_exercises_pad_names_exercise_12_once_the_model_and_inference_are_written(checkpoint, tmp_path):
    completed = exercises_draw(learner_copy(tmp_path, ("model.py", "inference.py")), checkpoint)
    assert completed.returncode == 2
    assert "exercise 12 (Prepare your own drawing) is not written yet" in completed.stderr, completed.stderr
    assert "exercise 3 " not in completed.stderr


def test_the_exercises_pad_without_a_checkpoint_says_how_to_train(tmp_path):
    folder = learner_copy(tmp_path, ("model.py", "inference.py", "preprocess.py"))
    completed = exercises_draw(folder, tmp_path / "no.pt")
    assert completed.returncode == 2 and "python -m exercises train" in completed.stderr, completed.stderr


def test_drawing_and_uploading_in_the_browser(checkpoint, browser, digits_for_upload, tmp_path):
    pytest.importorskip("gradio", reason="the draw extra is not installed: pip install -e '.[draw]'")
    with running_pad(checkpoint) as (url, process):
        page, problems = open_pad(browser, url)
        readings = []
        page.on("request", lambda request: readings.append(request.url)
                if "/queue/join" in request.url and "data:image/png" in (request.post_data or "") else None)
        latencies = {}
        drawn = (1, 7, 1, 4)  # the second 1 is the first again, stroke for stroke: it is read all the same
        for digit in drawn:
            latencies[digit] = draw(page, DIGITS[digit])
            assert answer(page) == str(digit), f"drew {digit}, the page reads {answer(page)!r}"
        strokes = sum(len(DIGITS[digit]) for digit in drawn)
        assert len(readings) == strokes, f"{strokes} strokes asked for {len(readings)} readings: one each"
        steps = page.locator("#steps img")
        assert steps.count() == 1 and steps.evaluate("image => image.naturalWidth") > 3 * 128

        pixels, label = digits_for_upload
        [photo] = write_all("photo_exif_6", pixels[None], tmp_path)
        page.locator("#clear").click()
        page.wait_for_function("() => !document.querySelector('#answer [data-testid=label-output-value]')")
        page.locator("#upload input[type=file]").set_input_files(str(photo))
        page.wait_for_function("() => document.querySelector('#answer [data-testid=label-output-value]')",
                               timeout=30_000)
        assert answer(page) == str(label)
        print("stroke-end to answer (ms):", {digit: round(ms) for digit, ms in latencies.items()})
        page.close()
        assert not problems, problems
    assert process.returncode == 0, process.stderr.read()
    assert "Traceback" not in process.stderr.read()


def test_one_photo_sent_from_two_pages_is_read_for_both(checkpoint, tmp_path):
    """Gradio stores equal uploads as one file: the first reading must not take it from the second."""
    pytest.importorskip("gradio", reason="the draw extra is not installed: pip install -e '.[draw]'")
    from course.drawing_pad import build_app

    photo = tmp_path / "seven.png"
    seven_drawn().save(photo)
    [on_upload] = [function.fn for function in build_app(DigitReader(checkpoint)).fns.values()
                   if function.name == "on_upload"]
    for page in ("first", "second"):
        confidences, strip, note = on_upload(str(photo))
        assert confidences and max(confidences, key=confidences.get) == "7", f"the {page} page: {note}"


def test_clearing_during_a_reading_leaves_the_page_clear(checkpoint, browser):
    """The reading under way finishes before the clear, not after it, whose answer would then show."""
    pytest.importorskip("gradio", reason="the draw extra is not installed: pip install -e '.[draw]'")
    with running_pad(checkpoint) as (url, process):
        page, problems = open_pad(browser, url)
        box, clear = page.locator("#pad canvas").first.bounding_box(), page.locator("#clear").bounding_box()
        for _ in range(3):
            page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.2 * box["height"])
            page.mouse.down()
            page.mouse.move(box["x"] + 0.7 * box["width"], box["y"] + 0.8 * box["height"], steps=4)
            page.mouse.up()
            page.mouse.click(clear["x"] + clear["width"] / 2, clear["y"] + clear["height"] / 2)  # at once
            page.wait_for_timeout(1500)  # time for a reading to end; on a slow machine this passes, never fails
            assert answer(page) == "" and not page.locator("#steps img").count(), "an answer on a clear canvas"
        page.close()
        assert not problems, problems


def test_a_termination_signal_while_starting_leaves_no_folder_behind(checkpoint, tmp_path):
    """A service manager may stop the pad at any moment: its folder for uploads goes as it does after Ctrl-C."""
    pytest.importorskip("gradio", reason="the draw extra is not installed: pip install -e '.[draw]'")
    process = subprocess.Popen([sys.executable, "-m", "solutions", "draw", "--checkpoint", str(checkpoint),
                                "--port", str(free_port())], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("drawing-pad-*")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)  # the page is not served yet: Gradio takes seconds to start
    _, stderr = process.communicate(timeout=120)
    assert process.returncode in (0, 130), stderr
    assert "Traceback" not in stderr and not list(tmp_path.glob("drawing-pad-*"))


@pytest.fixture(scope="module")
def digits_for_upload():
    from course.data import load_split

    test_set = load_split(train=False)
    return test_set.data[18].numpy(), int(test_set.targets[18])
