"""The instructor's command line, end to end, on every device this machine has."""

import subprocess
import sys

import pytest
import torch
from PIL import Image

from course import data as data_module
from course.checkpoint import load_checkpoint, save_checkpoint
from course.cli import INTERRUPTED, main
from course.data import Loaders, make_loaders
from course.device import mps_available
from course.recipes import FAST
from course.training import fit

DEVICES = [
    pytest.param("cpu"),
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")),
    pytest.param("mps", marks=pytest.mark.skipif(not mps_available(), reason="no Apple MPS backend on this machine")),
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def checkpoint_path(tmp_path_factory, trained_model):
    return save_checkpoint(tmp_path_factory.mktemp("cli") / "model.pt", trained_model, normalize=True)


@pytest.mark.parametrize("device", DEVICES)
def test_train_dry_run_then_evaluate_and_predict(device, tmp_path, capsys):
    save = tmp_path / "dry.pt"
    assert main(["train", "--dry-run", "--device", device, "--save", str(save), "--log-dir", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert f"on {device}" in output and "Test set: Average loss:" in output
    assert load_checkpoint(save, device)[1]["epoch"] == 1
    assert main(["evaluate", "--checkpoint", str(save), "--device", device]) == 0
    assert "Accuracy: " in capsys.readouterr().out
    assert main(["predict", "--checkpoint", str(save), "--test-index", "0", "--device", device]) == 0
    assert "test image 0 (label 7): digit" in capsys.readouterr().out


def test_train_own_parts_names_them_and_its_checkpoint_predicts(tmp_path, capsys):
    save = tmp_path / "own.pt"
    assert main(["train", "--own-parts", "--dry-run", "--save", str(save), "--log-dir", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert ("Own parts: solutions.convolution.conv2d and solutions.convolution.max_pool2d in the layers, "
            "solutions.losses.cross_entropy as the loss, solutions.optimisers.Adam as the optimiser.") in output
    assert "Test set: Average loss:" in output and (tmp_path / "cnn_experiment").is_dir()
    assert main(["predict", "--checkpoint", str(save), "--test-index", "0"]) == 0  # the ordinary CNN reads it
    assert "test image 0 (label 7): digit" in capsys.readouterr().out


def test_evaluate_reports_every_digit_and_saves_a_confusion_matrix(checkpoint_path, tmp_path, capsys):
    figure = tmp_path / "confusion.png"
    assert main(["evaluate", "--checkpoint", str(checkpoint_path), "--figure", str(figure), "--device", "cpu"]) == 0
    output = capsys.readouterr().out
    assert all(f"digit {digit}:" in output for digit in range(10))
    accuracy = float(output.split("(")[1].split("%")[0])
    assert accuracy > 94
    assert figure.read_bytes().startswith(PNG_SIGNATURE)


def test_predict_reads_an_image_file_and_draws_the_figure(checkpoint_path, tmp_path, capsys):
    seven = make_loaders("tensor", normalize=False, train_limit=1, test_limit=1).test.images[0, 0]
    drawing = tmp_path / "seven.png"
    Image.fromarray((255 - seven * 255).byte().numpy()).resize((200, 200)).save(drawing)
    figure = tmp_path / "prediction.png"
    assert main(["predict", "--checkpoint", str(checkpoint_path), str(drawing), "--figure", str(figure)]) == 0
    output = capsys.readouterr().out
    assert f"{drawing}: digit 7 (top: 7: " in output
    assert figure.read_bytes().startswith(PNG_SIGNATURE)


def test_predict_reads_every_file_and_reports_each_bad_one(checkpoint_path, tmp_path, capsys):
    seven = make_loaders("tensor", normalize=False, train_limit=1, test_limit=1).test.images[0, 0]
    good = tmp_path / "seven.png"
    Image.fromarray((255 - seven * 255).byte().numpy()).resize((200, 200)).save(good)
    notes, blank, missing = tmp_path / "notes.png", tmp_path / "blank.png", tmp_path / "missing.png"
    notes.write_text("not a picture")
    Image.new("L", (50, 50), 255).save(blank)
    assert main(["predict", "--checkpoint", str(checkpoint_path), str(notes), str(good), str(blank), str(missing)]) == 2
    captured = capsys.readouterr()
    assert f"{good}: digit 7" in captured.out
    errors = captured.err.splitlines()
    assert errors[0].startswith(f"error: {notes} is not an image")
    assert errors[1] == f"error: {blank}: the image is blank: there is no drawing on it to read"
    assert errors[2] == f"error: image {missing} does not exist"
    assert errors[3] == "error: 3 of 4 image files could not be read (see above)"
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["evaluate", "--checkpoint", "missing.pt"], "does not exist"),
        (["predict", "--checkpoint", "{checkpoint}"], "give image files"),
        (["predict", "--checkpoint", "{checkpoint}", "--test-index", "10000"], "between 0 and 9999"),
        (["predict", "--checkpoint", "{checkpoint}", "{not_an_image}"], "not an image"),
        (["train", "--device", "cpu", "--data-dir", "{empty}", "--dry-run"], "MNIST files missing"),
    ],
)
def test_bad_input_exits_with_a_message_and_no_traceback(arguments, message, checkpoint_path, tmp_path, capsys,
                                                           monkeypatch):
    def offline(name, target):
        raise OSError("no network")

    monkeypatch.setattr(data_module, "_fetch", offline)
    (tmp_path / "notes.png").write_text("not a picture")
    (tmp_path / "empty").mkdir()
    values = {"checkpoint": checkpoint_path, "not_an_image": tmp_path / "notes.png", "empty": tmp_path / "empty"}
    assert main([argument.format(**values) for argument in arguments]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and message in error and "Traceback" not in error


class InterruptedBatches:
    """Training batches whose second epoch is cut short by Ctrl-C."""

    def __init__(self, batches):
        self.batches, self.epoch = batches, 0

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        self.epoch += 1
        for index, batch in enumerate(self.batches):
            if self.epoch == 2 and index == 3:
                raise KeyboardInterrupt
            yield batch


def test_ctrl_c_stops_cleanly_and_keeps_the_last_finished_checkpoint(small_loaders, cpu, tmp_path):
    loaders = Loaders(train=InterruptedBatches(small_loaders.train), test=small_loaders.test)
    messages = []
    save = tmp_path / "run.pt"
    result = fit(FAST.with_overrides(epochs=5), loaders, cpu, save=save, log_dir=tmp_path, report=messages.append)
    assert result.interrupted and len(result.epochs) == 1
    assert messages[-1] == f"Interrupted during epoch 2; the checkpoint of epoch 1 is kept at {save}."
    assert load_checkpoint(save)[1]["epoch"] == 1
    assert INTERRUPTED == 130


def test_module_entry_point_shows_help():
    completed = subprocess.run([sys.executable, "-m", "solutions", "train", "--help"], capture_output=True, text=True)
    assert completed.returncode == 0
    for option in ("--recipe", "--epochs", "--batch-size", "--lr", "--device", "--seed", "--run-name", "--save",
                   "--data-dir", "--dry-run"):
        assert option in completed.stdout
