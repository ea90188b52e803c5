"""Saving and loading trained models safely."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from torch import nn

from .errors import CourseError
from .parts import Parts, chosen
from .writes import check_file, refuse_special_file, write_atomically

FORMAT = "mnist-cnn-course/2"
EARLIER_FORMATS = ("mnist-cnn-course/1",)  # written before the checksum covered the whole record
MAX_BYTES = 16 << 20  # far above the course CNN's 90 KB: anything larger is not one of its checkpoints
MODEL_OPTIONS = {"double_softmax": bool}  # what ``model_config`` may hold, and its type
# What ``metadata`` may hold: each entry's type and the values it may take.
METADATA: dict[str, tuple[type, Callable[[Any], bool]]] = {
    "recipe": (str, lambda value: 0 < len(value) <= 100),
    "epoch": (int, lambda value: 0 <= value <= 1_000_000),
    "seed": (int, lambda value: 0 <= value < 2**32),
    "normalize": (bool, lambda value: True),
    "accuracy": (float, lambda value: 0.0 <= value <= 100.0),
    "test_samples": (int, lambda value: 0 < value <= 1_000_000),
}


def record_checksum(model_config: dict[str, Any], metadata: dict[str, Any], state_dict: dict[str, torch.Tensor]) -> str:
    """The SHA-256 of everything that decides what a checkpoint answers and what the guards make of it.

    It covers the format, the model configuration, the metadata (normalisation, recorded
    accuracy, ...) and every weight's name, type, shape and bytes, so that one flipped bit
    anywhere in them is noticed.
    """
    digest = hashlib.sha256(FORMAT.encode())
    for table in (model_config, metadata):
        digest.update(json.dumps(table, sort_keys=True, allow_nan=True).encode())
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def metadata_problem(metadata: dict[str, Any]) -> str | None:
    """What is wrong with ``metadata`` (an unknown entry, a wrong type, a value out of range), else ``None``."""
    for key, value in metadata.items():
        if key not in METADATA:
            return f"unknown metadata entry {key!r}"
        kind, allowed = METADATA[key]
        if not _of_type(value, kind) or not allowed(value):
            return f"metadata {key}={value!r} is of the wrong type or out of range"
    return None


def _of_type(value: Any, kind: type) -> bool:
    if kind is float:  # a whole-number accuracy is fine; NaN and infinity are not
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return type(value) is kind  # exactly: True is an int to isinstance, not an epoch


def all_finite(state_dict: dict[str, torch.Tensor]) -> bool:
    """Whether no weight is NaN or infinite, as after a diverged training run."""
    return all(torch.isfinite(tensor).all() for tensor in state_dict.values() if tensor.is_floating_point())


def _serialize(model: nn.Module, metadata: dict[str, Any]) -> bytes:
    state_dict = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    model_config = {"double_softmax": model.double_softmax}
    payload = {
        "format": FORMAT,
        "model_config": model_config,
        "state_dict": state_dict,
        "metadata": metadata,
        "record_sha256": record_checksum(model_config, metadata, state_dict),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def check_checkpoint_destination(path: str | os.PathLike, parts: Parts | None = None) -> Path:
    """Make sure a checkpoint of ``parts``' CNN can be saved at ``path``, with room for it, before any training.

    Raises:
        CourseError: ``path`` is a folder, its folder cannot be written, or the disk is too full.
    """
    size = len(_serialize(chosen(parts).model.CNN(), {}))
    # The new file is written beside the old one before it replaces it, and the
    # metadata and TensorBoard events need a little room as well.
    return check_file(path, "the checkpoint", "--save", needed_bytes=2 * size + (1 << 16))


def save_checkpoint(path: str | os.PathLike, model: nn.Module, **metadata: Any) -> Path:
    """Write the weights, what rebuilds the model, the metadata and one checksum of them all to ``path``.

    The file is written all or nothing. ``metadata`` holds the entries of :data:`METADATA`
    (epoch, recipe, seed, normalize, accuracy, test_samples), each of its type and range,
    so that the file loads with ``weights_only=True`` and the guards can trust it.

    Raises:
        CourseError: the weights are not finite (a diverged run), or the file cannot be
            written; a checkpoint already at ``path`` is then unchanged.
        ValueError: ``metadata`` holds an unknown entry, or one of the wrong type or range.
    """
    problem = metadata_problem(metadata)
    if problem:
        raise ValueError(f"cannot save {path}: {problem}")
    if not all_finite(model.state_dict()):
        raise CourseError(f"the model's weights are not finite (NaN or infinity), so {path} was not written")
    return write_atomically(path, _serialize(model, metadata))


def _corrupt(path: Path, detail: str) -> CourseError:
    return CourseError(
        f"checkpoint {path} cannot be read: it is corrupt or from another version of the course "
        f"({detail}). Train it again."
    )


def _weights_problem(state_dict: object, cnn: type[nn.Module]) -> str | None:
    """Why ``state_dict`` is not the course CNN's weights (names, shapes, float32, dense), else ``None``."""
    if not isinstance(state_dict, dict) or not all(
        isinstance(name, str) and isinstance(tensor, torch.Tensor) for name, tensor in state_dict.items()
    ):
        return "its state_dict is not a table of named tensors"
    expected = {name: (tensor.shape, tensor.dtype) for name, tensor in cnn().state_dict().items()}
    found = {name: (tensor.shape, tensor.dtype) for name, tensor in state_dict.items()}
    if found != expected or any(tensor.layout != torch.strided for tensor in state_dict.values()):
        return "its weights do not fit the course's CNN: other names, shapes, types or a sparse layout"
    return None


def _checked_payload(path: Path, payload: object, cnn: type[nn.Module]) -> dict[str, Any]:
    """``payload`` once its structure, types, checksum, metadata and weights have been verified.

    Everything is checked for type before anything computes with it: the checksum reads
    only dense float32 tensors of the CNN's shapes and plain tables.
    """
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        if isinstance(payload, dict) and payload.get("format") in EARLIER_FORMATS:
            raise _corrupt(path, f"it was written by an earlier version, format {payload['format']}")
        raise CourseError(
            f"checkpoint {path} cannot be read: it was not written by this course's save_checkpoint (format {FORMAT})."
        )
    config, state_dict, metadata = payload.get("model_config"), payload.get("state_dict"), payload.get("metadata")
    if not isinstance(config, dict) or any(
        not isinstance(key, str) or type(config[key]) is not MODEL_OPTIONS.get(key) for key in config
    ):
        raise _corrupt(path, f"unexpected model_config {config!r}")
    if not isinstance(metadata, dict) or not all(isinstance(key, str) for key in metadata):
        raise _corrupt(path, "its metadata is not a table")
    problem = _weights_problem(state_dict, cnn)
    if problem:
        raise _corrupt(path, problem)
    problem = metadata_problem(metadata)
    if problem:
        raise _corrupt(path, problem)
    if not isinstance(payload.get("record_sha256"), str):
        raise _corrupt(path, "it has no checksum")
    if record_checksum(config, metadata, state_dict) != payload["record_sha256"]:
        raise _corrupt(path, "its content does not match the checksum saved with it")
    if not all_finite(state_dict):
        raise CourseError(
            f"checkpoint {path} holds weights that are NaN or infinite: the run that saved it diverged. "
            "Train again with a lower --lr."
        )
    return payload


def _read_payload(path: Path, device: torch.device | str) -> object:
    """The unpickled content of ``path``, or the one-line "cannot be read" error, whatever its bytes are.

    Only a zip archive of sensible size reaches ``torch.load``: anything else would go to
    its legacy reader, which fails in many ways on arbitrary bytes.
    """
    unreadable = f"checkpoint {path} cannot be read: it is corrupt or not a PyTorch checkpoint"
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise CourseError(f"{unreadable} ({size / 1e6:.0f} MB, far more than this course's models). Train it again.")
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(entry.file_size for entry in archive.infolist())
        if unpacked > MAX_BYTES:
            raise CourseError(f"{unreadable} (it unpacks to {unpacked / 1e6:.0f} MB). Train it again.")
        return torch.load(path, map_location=device, weights_only=True)
    except CourseError:
        raise
    except Exception as error:  # fail closed: no byte pattern may end in a traceback
        detail = f"{type(error).__name__}: {error}".splitlines()[0]
        raise CourseError(f"{unreadable} ({detail}). Train it again.") from error


def load_checkpoint(
    path: str | os.PathLike, device: torch.device | str = "cpu", parts: Parts | None = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved at ``path`` on ``device`` as ``parts``' CNN, in eval mode, with its metadata.

    Raises:
        CourseError: the file is missing, a folder or a device, is not a checkpoint of this
            course, is corrupt (its content no longer matches its checksum), or holds NaN weights.
    """
    path = Path(path)
    if path.is_dir():
        inside = sorted(path.glob("*.pt"))
        example = f", e.g. {inside[0]}" if inside else ""
        raise CourseError(f"checkpoint {path} is a folder, not a checkpoint file; give the .pt file{example}")
    refuse_special_file(path, "checkpoint")
    if not path.is_file():
        raise CourseError(f"checkpoint {path} does not exist; train one with: "
                          f"python -m {chosen(parts).package} train --save {path}")
    cnn = chosen(parts).model.CNN
    payload = _checked_payload(path, _read_payload(path, device), cnn)
    model = cnn(**payload["model_config"])
    model.load_state_dict(payload["state_dict"])
    return model.to(device).eval(), payload["metadata"]
