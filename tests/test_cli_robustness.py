"""Bad arguments, unwritable paths, diverging runs, corrupt files and Ctrl-C, as a user meets them.

Every case runs ``python -m solutions ...`` in a process of its own, the way a user types it, and
checks the exit code, the one-line message and that nothing was lost or left behind. The processes
are forked from one that has imported torch already (``tests/forked_python.py``), except where
Ctrl-C is sent: those start a fresh Python.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import random
import re
import signal
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from course import writes
from course.checkpoint import FORMAT, load_checkpoint, record_checksum, save_checkpoint
from course.errors import CourseError
from solutions.model import CNN
from tests.forked_python import ForkedPython

REPO = Path(__file__).resolve().parent.parent
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def cli_environment(**overrides: str) -> dict[str, str]:
    """This process's environment, with this checkout's package first on the path."""
    search_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": search_path, **overrides}


PYTHON_WITH_TORCH: list[ForkedPython] = []  # the one below, while this module's tests run


@pytest.fixture(scope="module", autouse=True)
def python_with_torch() -> Iterator[None]:
    """A Python that has imported torch, for :func:`run_cli` to fork: no case spends seconds importing it again."""
    forks = ForkedPython(("torch", "torchvision"), cli_environment())
    PYTHON_WITH_TORCH.append(forks)
    yield
    PYTHON_WITH_TORCH.remove(forks)
    forks.close()


def run_cli(*arguments: object, cwd: Path, env: dict[str, str] | None = None,
            umask: int | None = None) -> subprocess.CompletedProcess:
    """``python -m solutions <arguments>`` in ``cwd``, with this checkout's package, forked from a Python with torch."""
    return PYTHON_WITH_TORCH[0].run("solutions", list(map(str, arguments)), cwd=cwd, env=cli_environment(**(env or {})),
                                    umask=umask)


def refused(completed: subprocess.CompletedProcess, *fragments: str, code: int = 2) -> str:
    """The one line that says why ``completed`` failed, once its exit code and wording are checked."""
    assert "Traceback" not in completed.stderr + completed.stdout, completed.stderr
    assert completed.returncode == code, completed.stdout + completed.stderr
    message = completed.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in message
    return message


def tmpfs(folder: Path, options: str) -> None:
    """Mount a small RAM file system on ``folder`` (root only), or skip the test."""
    folder.mkdir(exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()})")


@pytest.fixture
def read_only_folder(tmp_path):
    """An empty folder nobody can write to, root included (a read-only mount when running as root)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if IS_ROOT:
        tmpfs(folder, "ro,size=64k")
        yield folder
        subprocess.run(["umount", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)


@pytest.fixture
def full_disk(tmp_path):
    """A folder on a 64 KiB file system: too small for a 90 KB checkpoint."""
    folder = tmp_path / "full"
    if not IS_ROOT:
        pytest.skip("mounting a small file system needs root")
    tmpfs(folder, "size=64k")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


@pytest.fixture
def good_checkpoint(tmp_path):
    """A checkpoint whose metadata says 97% (what the weights are does not matter to these tests)."""
    torch.manual_seed(0)
    return save_checkpoint(tmp_path / "good.pt", CNN(), recipe="fast", epoch=2, seed=0, normalize=True,
                           accuracy=97.0, test_samples=10_000)


def write_payload(path: Path, forged: bool = False, **changes) -> Path:
    """A checkpoint file in the course's format with some of its entries replaced.

    ``forged`` computes the checksum over the changed record, as someone who changes a file on
    purpose would; otherwise the checksum is the unchanged record's, as when bits flip on a disk.
    """
    original = {"format": FORMAT, "model_config": {"double_softmax": False}, "state_dict": CNN().state_dict(),
                "metadata": {"normalize": True}}
    payload = {**original, **changes}
    summed = payload if forged else original
    checksum = record_checksum(summed["model_config"], summed["metadata"], summed["state_dict"])
    torch.save({"record_sha256": checksum, **payload}, path)
    return path


def temporaries(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(writes.TEMPORARY_SUFFIX))


# --- Arguments: refused at parse time, with the allowed range --------------------------------------------

@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["--epochs", "0"], "argument --epochs: must be a whole number from 1 to 1000, not '0'"),
        (["--epochs", "-1"], "argument --epochs: must be a whole number from 1 to 1000"),
        (["--recipe", "notebook", "--epochs", "0"], "argument --epochs: must be a whole number from 1 to 1000"),
        (["--batch-size", "0"], "argument --batch-size: must be a whole number from 1 to 60000"),
        (["--batch-size", "-5"], "argument --batch-size: must be a whole number from 1 to 60000"),
        (["--lr", "nan"], "argument --lr: must be a number greater than 0"),
        (["--lr", "-1"], "argument --lr: must be a number greater than 0"),
        (["--lr", "inf"], "argument --lr: must be a number greater than 0"),
        (["--lr", "0"], "0 would never change the weights"),
        (["--seed", str(2**70)], "argument --seed: must be a whole number from 0 to 4294967295"),
        (["--run-name", "../escape"], "argument --run-name: run name '../escape' is not a plain name"),
        (["--run-name", "/tmp/elsewhere"], "is not a plain name"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_bad_training_arguments_are_refused_before_anything_runs(arguments, expected, tmp_path):
    completed = run_cli("train", "--dry-run", *arguments, cwd=tmp_path)
    message = refused(completed, expected)
    assert message.startswith("python -m solutions train: error: ")
    assert list(tmp_path.iterdir()) == [], "nothing may be written for refused arguments"


def test_a_figure_format_matplotlib_cannot_write_is_refused_before_evaluating(good_checkpoint, tmp_path):
    completed = run_cli("evaluate", "--checkpoint", good_checkpoint, "--figure", "x.xyz", cwd=tmp_path)
    refused(completed, "argument --figure: cannot save a figure as '.xyz': use .png, or one of", ".pdf", ".svg")
    assert "Accuracy" not in completed.stdout


def test_a_figure_without_extension_is_saved_as_png_and_reported_so(good_checkpoint, tmp_path):
    completed = run_cli("predict", "--checkpoint", good_checkpoint, "--test-index", "0", "--figure", "fig",
                        cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert "saved to fig.png" in completed.stdout
    assert (tmp_path / "fig.png").read_bytes().startswith(b"\x89PNG")


# --- Writes: every destination checked before the first epoch -------------------------------------------

def test_save_in_a_read_only_folder_is_refused_before_training(read_only_folder, tmp_path):
    completed = run_cli("train", "--dry-run", "--save", read_only_folder / "model.pt", "--log-dir", tmp_path / "runs",
                        cwd=tmp_path)
    refused(completed, "error: cannot write the checkpoint to", str(read_only_folder), "choose another --save")
    assert "Epoch" not in completed.stdout and not (tmp_path / "runs").exists()


def test_save_naming_a_folder_is_refused(tmp_path):
    (tmp_path / "models").mkdir()
    completed = run_cli("train", "--dry-run", "--save", "models", cwd=tmp_path)
    refused(completed, "cannot write the checkpoint to models: it is a folder", "--save models/model.pt")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["models"]


def test_save_under_a_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    completed = run_cli("train", "--dry-run", "--save", "notes.txt/model.pt", cwd=tmp_path)
    refused(completed, f"{tmp_path / 'notes.txt'} is a file, not a folder; choose another --save")


def test_save_on_a_full_disk_is_refused_before_training(full_disk, tmp_path):
    completed = run_cli("train", "--dry-run", "--save", full_disk / "model.pt", "--log-dir", tmp_path / "runs",
                        cwd=tmp_path)
    refused(completed, f"the disk holding {full_disk} is full")
    assert "Epoch" not in completed.stdout and list(full_disk.iterdir()) == []


def test_read_only_log_dir_is_refused_before_training(read_only_folder, tmp_path):
    completed = run_cli("train", "--dry-run", "--log-dir", read_only_folder, cwd=tmp_path)
    refused(completed, "error: cannot write the TensorBoard logs to", "choose another --log-dir")
    assert list(tmp_path.iterdir()) == [read_only_folder]


def test_read_only_working_directory_is_refused_before_training(read_only_folder):
    completed = run_cli("train", "--dry-run", cwd=read_only_folder)
    refused(completed, "cannot write the checkpoint to checkpoints/cnn_experiment.pt", str(read_only_folder))


def test_read_only_cache_folder_is_named_with_what_to_do(read_only_folder, tmp_path):
    completed = run_cli("train", "--dry-run", "--log-dir", "runs", cwd=tmp_path,
                        env={"XDG_CACHE_HOME": str(read_only_folder)})
    refused(completed, "into the cache folder", "Set XDG_CACHE_HOME to a folder you can write to")
    assert not (tmp_path / "checkpoints").exists()


def test_figure_in_a_read_only_folder_is_refused_before_evaluating(good_checkpoint, read_only_folder, tmp_path):
    completed = run_cli("evaluate", "--checkpoint", good_checkpoint, "--figure", read_only_folder / "confusion.png",
                        cwd=tmp_path)
    refused(completed, "cannot write the figure to", "choose another --figure")
    assert "Accuracy" not in completed.stdout


def test_figure_naming_a_folder_is_refused(good_checkpoint, tmp_path):
    completed = run_cli("predict", "--checkpoint", good_checkpoint, "--test-index", "0", "--figure", tmp_path,
                        cwd=tmp_path)
    refused(completed, "it is a folder", "figure.png")


def test_a_full_disk_during_the_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "model.pt", CNN(), epoch=1)
    before = path.read_bytes()

    def disk_full(_descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writes.os, "fsync", disk_full)
    with pytest.raises(CourseError, match=r"the disk holding .* is full \(the file already there is unchanged\)"):
        save_checkpoint(path, CNN(), epoch=2)
    assert path.read_bytes() == before and temporaries(tmp_path) == []


# --- Divergence never replaces good work -----------------------------------------------------------------

def test_an_exploding_run_stops_with_advice_and_keeps_the_checkpoint(good_checkpoint, tmp_path):
    before = good_checkpoint.read_bytes()
    completed = run_cli("train", "--lr", "1e6", "--epochs", "1", "--save", good_checkpoint, "--log-dir", "runs",
                        cwd=tmp_path)
    refused(completed, "the training loss exploded", "try --lr 0.005 or lower", f"{good_checkpoint} is unchanged")
    assert good_checkpoint.read_bytes() == before


def test_an_exploding_first_run_saves_nothing(tmp_path):
    completed = run_cli("train", "--lr", "1e6", "--epochs", "1", "--log-dir", "runs", cwd=tmp_path)
    refused(completed, "the training loss exploded", "nothing was saved")
    assert not (tmp_path / "checkpoints").exists()


def test_a_one_batch_run_whose_test_loss_explodes_saves_nothing(tmp_path):
    completed = run_cli("train", "--dry-run", "--lr", "1e6", cwd=tmp_path)
    refused(completed, "the test loss exploded", "try --lr 0.005 or lower", "nothing was saved")
    assert not (tmp_path / "checkpoints").exists()


def test_a_clearly_worse_run_does_not_replace_a_good_checkpoint(good_checkpoint, tmp_path):
    before = good_checkpoint.read_bytes()
    completed = run_cli("train", "--dry-run", "--save", good_checkpoint, "--log-dir", "runs", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    side = tmp_path / "good.new.pt"
    assert f"Kept the existing checkpoint {good_checkpoint} (97.00%)" in completed.stdout
    assert f"saved to {side}" in completed.stdout and f"Checkpoint: {side}" in completed.stdout
    assert good_checkpoint.read_bytes() == before
    assert load_checkpoint(side)[1]["epoch"] == 1


def test_overwrite_replaces_a_better_checkpoint_when_asked(good_checkpoint, tmp_path):
    completed = run_cli("train", "--dry-run", "--overwrite", "--save", good_checkpoint, "--log-dir", "runs",
                        cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert load_checkpoint(good_checkpoint)[1]["test_samples"] == 64
    assert not (tmp_path / "good.new.pt").exists()


@pytest.mark.parametrize("command", [["evaluate"], ["predict", "--test-index", "0"]])
def test_nan_weights_are_refused(command, tmp_path):
    state_dict = {name: torch.full_like(tensor, float("nan")) for name, tensor in CNN().state_dict().items()}
    nan = write_payload(tmp_path / "nan.pt", forged=True, state_dict=state_dict)
    completed = run_cli(command[0], "--checkpoint", nan, *command[1:], cwd=tmp_path)
    refused(completed, "holds weights that are NaN or infinite", "lower --lr")
    assert "nan%" not in completed.stdout


# --- Names and files -------------------------------------------------------------------------------------

def test_a_flipped_byte_in_the_weights_is_detected(good_checkpoint, tmp_path):
    with zipfile.ZipFile(good_checkpoint) as archive:
        weights = max(archive.infolist(), key=lambda entry: entry.file_size)  # fc1's 16,000 floats
    content = bytearray(good_checkpoint.read_bytes())
    header = weights.header_offset
    name_length, extra_length = struct.unpack("<HH", content[header + 26 : header + 30])
    start = header + 30 + name_length + extra_length
    for flip in random.Random(0).sample(range(weights.file_size), 20):
        spoiled = content.copy()
        spoiled[start + flip] ^= 0x10
        good_checkpoint.write_bytes(spoiled)
        with pytest.raises(CourseError, match="corrupt"):
            load_checkpoint(good_checkpoint)
    completed = run_cli("evaluate", "--checkpoint", good_checkpoint, cwd=tmp_path)
    refused(completed, "is corrupt or", "Train it again")


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_checkpoints_respect_the_umask(umask, mode, tmp_path):
    completed = run_cli("train", "--dry-run", "--save", "model.pt", "--log-dir", "runs", cwd=tmp_path, umask=umask)
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "model.pt").stat().st_mode & 0o777 == mode


def test_the_checkpoint_is_flushed_to_disk_before_the_rename(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = writes.os.fsync, writes.os.replace
    monkeypatch.setattr(writes.os, "fsync", lambda descriptor: calls.append("fsync") or real_fsync(descriptor))
    monkeypatch.setattr(writes.os, "replace", lambda *paths: calls.append("replace") or real_replace(*paths))
    save_checkpoint(tmp_path / "model.pt", CNN())
    assert calls[:2] == ["fsync", "replace"]


def test_stale_temporaries_are_removed_by_the_next_save(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / f".model.pt.{dead.stdout.strip()}.tmp").write_bytes(b"half a checkpoint")
    (tmp_path / ".model.pt.k3j_x9a2").write_bytes(b"half a checkpoint from an earlier version")
    (tmp_path / f".model.pt.{os.getpid()}.tmp").write_bytes(b"a save running in another process")
    completed = run_cli("train", "--dry-run", "--save", "model.pt", "--log-dir", "runs", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".")) == [
        f".model.pt.{os.getpid()}.tmp"]


@pytest.mark.parametrize("option", ["--checkpoint", "image"])
def test_a_folder_given_as_a_file_is_called_a_folder(option, good_checkpoint, tmp_path):
    (tmp_path / "drawings").mkdir()
    arguments = (["--checkpoint", "drawings", "--test-index", "0"] if option == "--checkpoint"
                 else ["--checkpoint", good_checkpoint, "drawings"])
    completed = run_cli("predict", *arguments, cwd=tmp_path)
    if option == "image":  # predict reads every file, says what was wrong with each, then sums up
        refused(completed, "1 of 1 image files could not be read")
        assert "error: image drawings is a folder; give the image files inside it" in completed.stderr.splitlines()
    else:
        refused(completed, "drawings is a folder")


def test_an_empty_data_dir_is_left_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    # A proxy on a closed port makes the download fail at once, as offline.
    offline = {"http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "no_proxy": ""}
    completed = run_cli("train", "--dry-run", "--data-dir", "empty", cwd=tmp_path, env=offline)
    refused(completed, "MNIST files missing from empty")
    assert list((tmp_path / "empty").iterdir()) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"model_config": {"double_softmax": False, "hidden": 64}},
        {"model_config": "double_softmax"},
        {"state_dict": ["conv1.weight"]},
        {"state_dict": {"conv1.weight": 3}},
        {"metadata": None},
        {"record_sha256": None},
    ],
    ids=["unknown model option", "model_config not a table", "state_dict a list", "weight not a tensor",
         "no metadata", "no checksum"],
)
def test_bad_model_config_or_state_dict_is_called_corrupt_or_from_another_version(changes, tmp_path):
    write_payload(tmp_path / "odd.pt", **changes)
    completed = run_cli("evaluate", "--checkpoint", "odd.pt", cwd=tmp_path)
    refused(completed, "is corrupt or from another version of the course")


# --- Interrupts ------------------------------------------------------------------------------------------

def interrupt_after(line_start: str, arguments: list[object], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    """Send Ctrl-C to ``python -m solutions <arguments>`` once it prints a line starting with ``line_start``."""
    environment = cli_environment(**env)
    # Ctrl-C reaches it as from a terminal even when the suite runs in the background (tests/conftest.py).
    process = subprocess.Popen([sys.executable, "-m", "solutions", *map(str, arguments)], cwd=cwd, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(line_start):
            process.send_signal(signal.SIGINT)
            break
    output, errors = process.communicate(timeout=600)
    return process.returncode, "".join(lines) + output + errors


def test_ctrl_c_while_the_data_loads_exits_130_and_keeps_the_checkpoint(good_checkpoint, tmp_path):
    before = good_checkpoint.read_bytes()
    # An empty cache makes the data load take a second or more: the gzipped files are unpacked again.
    code, output = interrupt_after("Training recipe", ["train", "--save", good_checkpoint, "--log-dir", "runs"],
                                   tmp_path, {"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert code == 130 and "Traceback" not in output, output
    assert f"Interrupted while loading the data; {good_checkpoint} is unchanged." in output
    assert good_checkpoint.read_bytes() == before


def test_ctrl_c_during_evaluation_exits_130(good_checkpoint, tmp_path):
    code, output = interrupt_after("Evaluating", ["evaluate", "--checkpoint", good_checkpoint], tmp_path,
                                   {"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert code == 130 and "Traceback" not in output, output
    assert "Interrupted; nothing was written." in output


# --- Fault injection: SIGKILL in the middle of saves -----------------------------------------------------

def _save_forever(path: Path, ready) -> None:
    torch.manual_seed(os.getpid())
    model = CNN()
    ready.set()
    while True:
        save_checkpoint(path, model, epoch=os.getpid())


def test_killing_saves_never_spoils_the_previous_checkpoint(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", CNN(), epoch=0)
    context = multiprocessing.get_context("fork")
    generator = random.Random(0)
    left_behind = 0
    for _ in range(30):
        ready = context.Event()
        saver = context.Process(target=_save_forever, args=(path, ready))
        saver.start()
        ready.wait(timeout=60)
        time.sleep(generator.uniform(0.0, 0.05))
        os.kill(saver.pid, signal.SIGKILL)
        saver.join()
        load_checkpoint(path)  # never half a file
        left_behind += bool(temporaries(tmp_path))
    assert left_behind, "no kill landed in the middle of a save: the test proved nothing"
    save_checkpoint(path, CNN(), epoch=31)
    assert load_checkpoint(path)[1]["epoch"] == 31
    assert temporaries(tmp_path) == [], f"temporaries of {left_behind} killed saves should have been removed"


# --- Hostile and odd checkpoints: every one ends in the one-line "cannot be read" ------------------------

def one_weight_changed(change) -> dict[str, torch.Tensor]:
    state_dict = CNN().state_dict()
    state_dict["fc2.bias"] = change(state_dict["fc2.bias"])
    return state_dict


@pytest.mark.parametrize(
    "content",
    [b"target-content", b"hello", b"\x80", b"PK\x03\x04" + b"\0" * 100, "bfloat16", "sparse", "old format",
     "metadata not plain"],
)
def test_a_file_that_is_not_a_checkpoint_is_refused_in_one_line(content, tmp_path):
    path = tmp_path / "odd.pt"
    if content == "bfloat16":
        write_payload(path, state_dict=one_weight_changed(lambda bias: bias.to(torch.bfloat16)))
    elif content == "sparse":
        write_payload(path, state_dict=one_weight_changed(lambda bias: bias.to_sparse()))
    elif content == "old format":
        write_payload(path, format="mnist-cnn-course/1")
    elif content == "metadata not plain":
        write_payload(path, metadata={"normalize": True, "accuracy": torch.zeros(1)})
    else:
        path.write_bytes(content)
    completed = run_cli("evaluate", "--checkpoint", path, cwd=tmp_path)
    refused(completed, f"error: checkpoint {path} cannot be read", "Train it again")
    assert "Evaluating" not in completed.stdout


def test_a_file_that_is_not_a_checkpoint_at_save_is_kept_and_named_before_training(tmp_path):
    (tmp_path / "notes.pt").write_text("target-content")
    completed = run_cli("train", "--dry-run", "--save", "notes.pt", "--log-dir", "runs", cwd=tmp_path)
    refused(completed, "checkpoint notes.pt cannot be read", "add --overwrite to replace it, or choose another --save")
    assert "Training recipe" not in completed.stdout and (tmp_path / "notes.pt").read_text() == "target-content"
    replaced = run_cli("train", "--dry-run", "--overwrite", "--save", "notes.pt", "--log-dir", "runs", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert load_checkpoint(tmp_path / "notes.pt")[1]["epoch"] == 1


@pytest.mark.parametrize("entry", ["normalize", "double_softmax"])
def test_one_flipped_bit_in_the_model_configuration_or_metadata_is_detected(entry, good_checkpoint, tmp_path):
    """``True`` and ``False`` differ by one bit in a pickle: such a flip would change what the model answers."""
    content = bytearray(good_checkpoint.read_bytes())
    # The entry's name, then a memo (BINPUT n), then NEWTRUE (0x88) or NEWFALSE (0x89).
    [stored] = re.finditer(re.escape(entry.encode()) + rb"q.[\x88\x89]", content, re.DOTALL)
    content[stored.end() - 1] ^= 0x01
    good_checkpoint.write_bytes(content)
    completed = run_cli("evaluate", "--checkpoint", good_checkpoint, cwd=tmp_path)
    refused(completed, "cannot be read: it is corrupt", "does not match the checksum")


@pytest.mark.parametrize(
    "metadata, expected",
    [
        ({"normalize": True, "accuracy": float("nan")}, "accuracy=nan"),
        ({"normalize": True, "accuracy": 250.0}, "accuracy=250.0"),
        ({"normalize": "no"}, "normalize='no'"),
        ({"normalize": True, "epoch": True}, "epoch=True"),
        ({"normalize": True, "teacher": "me"}, "unknown metadata entry 'teacher'"),
    ],
    ids=["NaN accuracy", "accuracy above 100", "normalize a string", "epoch a bool", "unknown entry"],
)
def test_metadata_of_the_wrong_type_or_range_is_refused_even_with_a_matching_checksum(metadata, expected, tmp_path):
    write_payload(tmp_path / "odd.pt", forged=True, metadata=metadata)
    completed = run_cli("predict", "--checkpoint", "odd.pt", "--test-index", "0", cwd=tmp_path)
    refused(completed, "cannot be read", expected)
    with pytest.raises(ValueError, match="wrong type or out of range|unknown metadata"):
        save_checkpoint(tmp_path / "never.pt", CNN(), **metadata)
    assert not (tmp_path / "never.pt").exists()


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("option", ["--checkpoint", "image"])
def test_a_device_is_called_a_device_not_missing(option, good_checkpoint, tmp_path):
    arguments = (["--checkpoint", "/dev/zero", "--test-index", "0"] if option == "--checkpoint"
                 else ["--checkpoint", good_checkpoint, "/dev/zero"])
    completed = run_cli("predict", *arguments, cwd=tmp_path)
    refused(completed)
    assert "/dev/zero is not a regular file (it is a device, a pipe or a socket)" in completed.stderr
    assert "does not exist" not in completed.stderr


def test_save_through_a_symbolic_link_writes_where_it_points_and_says_so(tmp_path):
    (tmp_path / "models").mkdir()
    link = tmp_path / "latest.pt"
    link.symlink_to(tmp_path / "models" / "run1.pt")
    completed = run_cli("train", "--dry-run", "--save", "latest.pt", "--log-dir", "runs", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert (f"note: --save latest.pt is a symbolic link; the checkpoint is written where it points, "
            f"{tmp_path / 'models' / 'run1.pt'}") in completed.stderr
    assert link.is_symlink() and load_checkpoint(link)[1]["epoch"] == 1
