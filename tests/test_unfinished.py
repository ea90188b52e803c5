"""python -m exercises train / draw on unfinished exercises: one line naming them, no traceback."""

import subprocess
import sys

from course.unfinished import require_written, unfinished
from grader.catalog import EXERCISES, REPO, SOLUTIONS
from grader.stubs import generate


def test_the_reference_has_nothing_unfinished():
    require_written("train", ["model.py", "engine.py", "monitor.py", "inference.py", "preprocess.py"], SOLUTIONS)


def test_stubs_are_named_by_exercise_once_each(tmp_path):
    generate(exercises=tmp_path)
    assert unfinished(["model.py", "engine.py", "model.py", "data.py"], tmp_path) == [
        "exercise 3 (Build the CNN)", "exercise 7 (Write train and test)"]
    engine = tmp_path / "engine.py"
    engine.write_text((REPO / "solutions" / "engine.py").read_text())
    assert unfinished(["model.py", "engine.py"], tmp_path) == ["exercise 3 (Build the CNN)"]


def run_exercises(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "exercises", *arguments], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def test_train_and_draw_on_the_stubs_name_the_missing_exercises():
    assert unfinished(["model.py"], EXERCISES), "exercises/ holds the pristine stubs"
    train = run_exercises("train", "--dry-run")
    assert train.returncode == 2 and "Traceback" not in train.stderr
    assert ("error: train runs your own code, and exercise 3 (Build the CNN), exercise 7 (Write train and test), "
            "exercise 9 (Add TensorBoard) are not written yet") in train.stderr
    own = run_exercises("train", "--own-parts", "--dry-run")
    assert own.returncode == 2 and "Traceback" not in own.stderr and own.stderr.count("\n") == 1
    assert ("error: train --own-parts runs your own code, and exercise 2 (Convolution and pooling by hand), "
            "exercise 3 (Build the CNN), exercise 4") in own.stderr and "exercise 13 (Your own parts, together)" in own.stderr
    draw = run_exercises("draw", "--checkpoint", "missing.pt")
    assert draw.returncode == 2 and "Traceback" not in draw.stderr
    assert "exercise 11 (Run inference)" in draw.stderr and "exercise 12 (Prepare your own drawing)" in draw.stderr


def test_evaluate_and_predict_on_the_stubs_name_the_missing_exercises():
    for command in (["evaluate"], ["predict", "--test-index", "0"]):
        completed = run_exercises(*command, "--checkpoint", "missing.pt")
        assert completed.returncode == 2 and "Traceback" not in completed.stderr
        assert f"error: {command[0]} runs your own code, and exercise 3 (Build the CNN)" in completed.stderr
