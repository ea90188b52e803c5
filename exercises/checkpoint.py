"""Saving and loading trained models safely."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from .errors import CourseError
from .model import CNN
from .writes import check_file, write_atomically

FORMAT = "mnist-cnn-course/1"
MODEL_OPTIONS = {"double_softmax": bool}  # what ``model_config`` may hold, and its type


def weights_checksum(state_dict: dict[str, torch.Tensor]) -> str:
    """The SHA-256 of every weight's name, type, shape and bytes, so that a flipped bit is noticed."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)};".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def all_finite(state_dict: dict[str, torch.Tensor]) -> bool:
    """Whether no weight is NaN or infinite, as after a diverged training run."""
    return all(torch.isfinite(tensor).all() for tensor in state_dict.values() if tensor.is_floating_point())


def _serialize(model: CNN, metadata: dict[str, Any]) -> bytes:
    state_dict = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "model_config": {"double_softmax": model.double_softmax},
        "state_dict": state_dict,
        "weights_sha256": weights_checksum(state_dict),
        "metadata": metadata,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def check_checkpoint_destination(path: str | os.PathLike) -> Path:
    """Make sure a checkpoint can be saved at ``path``, with room for it, before any training.

    Raises:
        CourseError: ``path`` is a folder, its folder cannot be written, or the disk is too full.
    """
    size = len(_serialize(CNN(), {}))
    # The new file is written beside the old one before it replaces it, and the
    # metadata and TensorBoard events need a little room as well.
    return check_file(path, "the checkpoint", "--save", needed_bytes=2 * size + (1 << 16))


def save_checkpoint(path: str | os.PathLike, model: CNN, **metadata: Any) -> Path:
    """Write the weights, their checksum and what rebuilds the model to ``path``, all or nothing.

    ``metadata`` (epoch, recipe, accuracy, ...) must be plain numbers, strings,
    lists or dicts, so that the file loads with ``weights_only=True``.

    Raises:
        CourseError: the weights are not finite (a diverged run), or the file cannot be
            written; a checkpoint already at ``path`` is then unchanged.
    """
    if not all_finite(model.state_dict()):
        raise CourseError(f"the model's weights are not finite (NaN or infinity), so {path} was not written")
    return write_atomically(path, _serialize(model, metadata))


def _corrupt(path: Path, detail: str) -> CourseError:
    return CourseError(
        f"checkpoint {path} cannot be read: it is corrupt or from another version of the course "
        f"({detail}). Train it again."
    )


def _checked_payload(path: Path, payload: object) -> dict[str, Any]:
    """``payload`` once its structure, checksum and weights have been verified."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CourseError(
            f"checkpoint {path} cannot be read: it was not written by this course's save_checkpoint (format {FORMAT})."
        )
    config, state_dict, metadata = payload.get("model_config"), payload.get("state_dict"), payload.get("metadata")
    if not isinstance(config, dict) or any(
        not isinstance(config[key], MODEL_OPTIONS.get(key, ())) for key in config
    ):
        raise _corrupt(path, f"unexpected model_config {config!r}")
    if not isinstance(state_dict, dict) or not all(
        isinstance(name, str) and isinstance(tensor, torch.Tensor) for name, tensor in state_dict.items()
    ):
        raise _corrupt(path, "its state_dict is not a table of named tensors")
    if not isinstance(metadata, dict):
        raise _corrupt(path, "its metadata is not a table")
    if "weights_sha256" not in payload:
        raise _corrupt(path, "it has no checksum of its weights")
    if weights_checksum(state_dict) != payload["weights_sha256"]:
        raise _corrupt(path, "its weights do not match the checksum saved with them")
    if not all_finite(state_dict):
        raise CourseError(
            f"checkpoint {path} holds weights that are NaN or infinite: the run that saved it diverged. "
            "Train again with a lower --lr."
        )
    return payload


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[CNN, dict[str, Any]]:
    """Rebuild the model saved at ``path`` on ``device``, in eval mode, with its metadata.

    Raises:
        CourseError: the file is missing or a folder, is not a checkpoint of this course,
            is corrupt (its weights no longer match their checksum), or holds NaN weights.
    """
    path = Path(path)
    if path.is_dir():
        inside = sorted(path.glob("*.pt"))
        example = f", e.g. {inside[0]}" if inside else ""
        raise CourseError(f"checkpoint {path} is a folder, not a checkpoint file; give the .pt file{example}")
    if not path.is_file():
        raise CourseError(f"checkpoint {path} does not exist; train one with: python -m solutions train --save {path}")
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except (RuntimeError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError) as error:
        raise CourseError(
            f"checkpoint {path} cannot be read: it is corrupt or not a PyTorch checkpoint ({error}). Train it again."
        ) from error
    payload = _checked_payload(path, payload)
    model = CNN(**payload["model_config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise CourseError(f"checkpoint {path} cannot be read: its weights do not fit the course's CNN ({error}).") from error
    return model.to(device).eval(), payload["metadata"]
