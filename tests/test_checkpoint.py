import pytest
import torch

from course import checkpoint
from course.checkpoint import load_checkpoint, save_checkpoint
from course.errors import CourseError
from solutions.model import CNN


def test_round_trip_rebuilds_the_same_model_in_eval_mode(tmp_path):
    torch.manual_seed(0)
    model = CNN(double_softmax=True)
    path = save_checkpoint(tmp_path / "model.pt", model, epoch=3, recipe="notebook", normalize=False)
    loaded, metadata = load_checkpoint(path)
    assert metadata == {"epoch": 3, "recipe": "notebook", "normalize": False}
    assert loaded.double_softmax and not loaded.training
    images = torch.randn(4, 1, 28, 28)
    assert torch.equal(loaded(images), model.eval()(images))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]


def test_loading_is_safe_and_follows_the_device(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "model.pt", CNN())
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(checkpoint.torch, "load", spy)
    model, _ = load_checkpoint(path, device="cpu")
    assert calls == [{"map_location": "cpu", "weights_only": True}]
    assert next(model.parameters()).device.type == "cpu"


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "corrupt"),
        (b"certainly not a checkpoint", "corrupt"),
        (None, "corrupt"),  # a real checkpoint cut in half
    ],
)
def test_unreadable_files_give_a_clear_error(tmp_path, content, reason):
    path = tmp_path / "broken.pt"
    if content is None:
        whole = save_checkpoint(tmp_path / "whole.pt", CNN()).read_bytes()
        content = whole[: len(whole) // 2]
    path.write_bytes(content)
    with pytest.raises(CourseError, match=f"{path} cannot be read: it is {reason}"):
        load_checkpoint(path)


def test_foreign_or_mismatched_checkpoints_are_refused(tmp_path):
    foreign = tmp_path / "foreign.pt"
    torch.save(CNN().state_dict(), foreign)
    with pytest.raises(CourseError, match="not written by this course"):
        load_checkpoint(foreign)
    mismatched = tmp_path / "mismatched.pt"
    state_dict = {"fc1.weight": torch.zeros(1)}
    torch.save({"format": checkpoint.FORMAT, "model_config": {}, "state_dict": state_dict,
                "record_sha256": checkpoint.record_checksum({}, {}, state_dict), "metadata": {}}, mismatched)
    with pytest.raises(CourseError, match="do not fit"):
        load_checkpoint(mismatched)


def test_missing_checkpoint_says_how_to_make_one(tmp_path):
    with pytest.raises(CourseError, match="python -m solutions train --save"):
        load_checkpoint(tmp_path / "nowhere.pt")
