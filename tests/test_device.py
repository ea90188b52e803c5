import pytest
import torch

from course import device as device_module
from course.device import select_device
from course.errors import CourseError


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(device_module, "mps_available", lambda: True)
    assert select_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto").type == "mps"
    monkeypatch.setattr(device_module, "mps_available", lambda: False)
    assert select_device("auto").type == "cpu"


@pytest.mark.parametrize("name", ["cuda", "mps"])
def test_asking_for_a_missing_accelerator_says_what_to_use(monkeypatch, name):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "mps_available", lambda: False)
    with pytest.raises(CourseError, match="use --device cpu or auto"):
        select_device(name)


def test_unknown_device_is_refused():
    with pytest.raises(CourseError, match="choose one of"):
        select_device("tpu")
