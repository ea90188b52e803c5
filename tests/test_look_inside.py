"""The website's Look inside page and its weights file: export, and the page against PyTorch in Chromium.

The page is tested as published: the site built by ``mkdocs build --strict`` with the
course's own network (``docs/site_network.py``), served by a plain static file server,
opened in headless Chromium. The page must prepare drawings as ``prepare_drawing`` does
and compute the probabilities PyTorch computes.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from course.checkpoint import load_checkpoint, save_checkpoint
from course.cli import main
from course.data import load_split, match_input_scale, to_model_input
from course.errors import CourseError
from course.export import LAYERS, check_layers, export_weights
from solutions.inference import predict
from solutions.preprocess import prepare_drawing
from tests.look_inside_browser import (
    DIGITS, TEST_IMAGES, canvas_rgba, draw, drawn_from_test_digit, open_look_inside, page_forward,
    page_prepare, serve, touch_draw,
)
from tests.test_site import ROOT, browser  # noqa: F401  (the headless Chromium fixture)

sys.path.insert(0, str(ROOT / "docs"))
from site_network import site_checkpoint  # noqa: E402

PROBABILITY_TOLERANCE = 1e-4  # the bar; measured differences are about 1e-7 (float64 sums in JS)
# The page repeats prepare_drawing's arithmetic in float32 where numpy works in float32, and Pillow's
# resampling filters coefficient for coefficient; what may still differ is the last bit of a sum
# (numpy's pairwise float32 sums, C's sin()). Measured: 0 on every drawing below. Allowed: 1e-5 of the
# normalised input, a thousandth of one 8-bit grey level (1/255/0.3081 = 0.0127).
INPUT_TOLERANCE = 1e-5


def decoded(record: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(record["data"]), dtype="<f4").reshape(record["shape"])


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, trained_model) -> Path:
    return save_checkpoint(tmp_path_factory.mktemp("export") / "model.pt", trained_model, normalize=True,
                           recipe="fast", accuracy=97.5)


def test_export_writes_every_weight_exactly(checkpoint, tmp_path, capsys) -> None:
    out = tmp_path / "web" / "weights.json"
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(out)]) == 0
    assert "Use your own network" in capsys.readouterr().out
    document = json.loads(out.read_text())
    model, _ = load_checkpoint(checkpoint)
    assert set(document["layers"]) == set(LAYERS)
    for name, tensor in model.state_dict().items():
        if name in LAYERS:
            assert np.array_equal(decoded(document["layers"][name]), tensor.numpy()), name
    assert document["normalize"] is True
    assert document["source"] == {"name": "model.pt", "recipe": "fast", "accuracy": 97.5}


def test_export_refuses_what_it_cannot_use_and_writes_nothing(checkpoint, tmp_path, capsys) -> None:
    out = tmp_path / "weights.json"
    assert main(["export", "--checkpoint", str(tmp_path / "missing.pt"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err and not out.exists()
    assert main(["export", "--checkpoint", str(checkpoint), "--out", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "is a folder" in error and error.count("\n") == 1


def test_only_the_course_cnn_can_be_exported() -> None:
    wider = nn.Sequential()
    wider.conv1 = nn.Conv2d(1, 16, 5)
    with pytest.raises(CourseError, match=r"conv1.weight has shape \(16, 1, 5, 5\)"):
        check_layers(wider)
    with pytest.raises(CourseError, match="has no conv1.weight"):
        check_layers(nn.Linear(2, 2))


def run_exercises_export(folder: Path, checkpoint: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exercises", "export", "--checkpoint", str(checkpoint), "--out", str(out)],
                          cwd=folder, capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)])})


def test_exercises_export_runs_the_learners_own_model(checkpoint, tmp_path) -> None:
    learner = tmp_path / "exercises"
    shutil.copytree(ROOT / "exercises", learner, ignore=shutil.ignore_patterns("test_*", "conftest.py"))
    unfinished = run_exercises_export(tmp_path, checkpoint, tmp_path / "a.json")
    assert unfinished.returncode == 2 and "Traceback" not in unfinished.stderr
    assert "(Build the CNN) is not started yet" in unfinished.stderr and not (tmp_path / "a.json").exists()
    shutil.copy(ROOT / "solutions" / "model.py", learner / "model.py")  # "Build the CNN" written as the reference has it
    finished = run_exercises_export(tmp_path, checkpoint, tmp_path / "b.json")
    assert finished.returncode == 0, finished.stderr
    export_weights(checkpoint, tmp_path / "reference.json")
    assert json.loads((tmp_path / "b.json").read_text()) == json.loads((tmp_path / "reference.json").read_text())


# ---- The page in the browser -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site_url(site) -> str:
    """The built site, as a plain static file server serves it."""
    with serve(site) as url:
        yield url


@pytest.fixture(scope="module")
def desktop(browser, site_url):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page, problems = open_look_inside(context, site_url)
    yield page, problems
    context.close()


def test_the_page_computes_pytorchs_probabilities(desktop) -> None:
    page, problems = desktop
    model, metadata = load_checkpoint(site_checkpoint())
    test_set = load_split(train=False)
    images = to_model_input(test_set.data[:TEST_IMAGES], metadata["normalize"])
    expected = predict(model, images).probabilities.numpy()
    measured = page_forward(page, images)
    assert np.abs(measured - expected).max() <= PROBABILITY_TOLERANCE
    assert (measured.argmax(1) == expected.argmax(1)).all()
    assert not problems, problems


def test_the_page_prepares_drawings_as_prepare_drawing_does(desktop) -> None:
    page, problems = desktop
    test_set = load_split(train=False)
    worst = 0.0
    for index in range(40):
        rgba = drawn_from_test_digit(test_set.data[index].numpy(), index)
        expected = prepare_drawing(Image.fromarray(rgba, "RGBA")).numpy()
        worst = max(worst, float(np.abs(page_prepare(page, rgba) - expected).max()))
    assert worst <= INPUT_TOLERANCE
    assert not problems, problems


@pytest.mark.slow
def test_200_drawings_end_to_end_match_python(desktop) -> None:
    """Each of 200 test digits, drawn on the canvas: the page's probabilities are PyTorch's on prepare_drawing's input."""
    page, problems = desktop
    model, metadata = load_checkpoint(site_checkpoint())
    test_set = load_split(train=False)
    drawings = [drawn_from_test_digit(test_set.data[index].numpy(), index) for index in range(TEST_IMAGES)]
    inputs = match_input_scale(torch.stack([prepare_drawing(Image.fromarray(rgba, "RGBA")) for rgba in drawings]),
                               metadata["normalize"])
    expected = predict(model, inputs).probabilities.numpy()
    prepared = np.stack([page_prepare(page, rgba) for rgba in drawings])
    assert np.abs(prepared - inputs.numpy()).max() <= INPUT_TOLERANCE
    assert np.abs(page_forward(page, torch.from_numpy(prepared)) - expected).max() <= PROBABILITY_TOLERANCE
    assert not problems, problems


def test_mouse_strokes_are_read_and_prepared_as_in_python(desktop) -> None:
    page, problems = desktop
    read = {}
    for digit, strokes in DIGITS.items():
        read[digit] = draw(page, strokes)
        shown = np.array(page.evaluate("Array.from(lookInside.page.reading.input)")).reshape(1, 28, 28)
        expected = prepare_drawing(Image.fromarray(canvas_rgba(page), "RGBA")).numpy()
        assert np.abs(shown - expected).max() <= INPUT_TOLERANCE, digit
    assert read == {digit: digit for digit in DIGITS}
    assert len(DIGITS) >= 5
    assert not problems, problems


def test_every_layer_is_shown_and_a_map_explains_its_kernel(desktop) -> None:
    page, problems = desktop
    draw(page, DIGITS[3])
    assert page.locator("#li-conv1 canvas").count() == 10 and page.locator("#li-conv2 canvas").count() == 20
    assert page.locator("#li-fc1 .li-unit").count() == 50 and page.locator("#li-probabilities meter").count() == 10
    bright = page.evaluate("""() => [...document.querySelectorAll('#li-conv1 canvas')].map(c =>
        Math.max(...c.getContext('2d').getImageData(0, 0, 12, 12).data.filter((_, i) => i % 4 === 0)))""")
    assert max(bright) == 255, "the strongest conv1 map is drawn at full brightness"
    page.hover("#li-conv1 .li-map >> nth=2")
    assert page.inner_text("#li-detail h3") == "conv1, map 3" and page.locator("#li-detail canvas").count() == 1
    page.hover("#li-conv2 .li-map >> nth=0")
    assert page.locator("#li-detail canvas").count() == 10, "a conv2 map has a kernel for each conv1 map"
    page.hover("#li-fc1 .li-unit >> nth=0")
    assert "pushes the answer towards" in page.inner_text("#li-detail")
    assert not problems, problems


def test_a_learners_weights_file_is_used_and_a_wrong_file_refused(desktop, checkpoint, tmp_path) -> None:
    page, problems = desktop
    own = export_weights(checkpoint, tmp_path / "mine.json")
    page.set_input_files("#li-own", str(own))
    page.wait_for_function("() => document.querySelector('#li-status').textContent.includes('mine.json')")
    model, _ = load_checkpoint(checkpoint)
    images = to_model_input(load_split(train=False).data[:20], True)
    assert np.abs(page_forward(page, images) - predict(model, images).probabilities.numpy()).max() <= PROBABILITY_TOLERANCE
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"format": "something else"}')
    page.set_input_files("#li-own", str(wrong))
    page.wait_for_function("() => document.querySelector('#li-status').classList.contains('li-error')")
    assert "python -m solutions export" in page.inner_text("#li-status")
    page.reload()
    page.wait_for_function("() => window.lookInside.page.network !== null")
    assert not problems, problems


def test_on_a_phone_a_finger_draws_and_a_tap_explains(browser, site_url) -> None:  # noqa: F811
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
                                  device_scale_factor=2)
    page, problems = open_look_inside(context, site_url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing sticks out sideways"
    assert page.locator("#li-canvas").bounding_box()["width"] >= 250
    assert [touch_draw(page, DIGITS[digit]) for digit in (7, 3)] == [7, 3]
    page.locator("#li-conv2 .li-map >> nth=4").tap()
    assert page.inner_text("#li-detail h3") == "conv2, map 5"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not problems, problems
    context.close()
