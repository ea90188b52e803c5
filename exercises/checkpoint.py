"""Saving and loading trained models safely."""

from __future__ import annotations

import os
import pickle
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import torch

from .errors import CourseError
from .model import CNN

FORMAT = "mnist-cnn-course/1"


def save_checkpoint(path: str | os.PathLike, model: CNN, **metadata: Any) -> Path:
    """Write the weights and what rebuilds the model to ``path``, all or nothing.

    ``metadata`` (epoch, recipe, accuracy, ...) must be plain numbers, strings,
    lists or dicts, so that the file loads with ``weights_only=True``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "model_config": {"double_softmax": model.double_softmax},
        "state_dict": {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()},
        "metadata": metadata,
    }
    # Writing beside the target and renaming means an interrupted save never
    # replaces a good checkpoint with half a file.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        torch.save(payload, temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path


def load_checkpoint(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[CNN, dict[str, Any]]:
    """Rebuild the model saved at ``path`` on ``device``, in eval mode, with its metadata.

    Raises:
        CourseError: the file is missing, is not a checkpoint of this course, or is corrupt.
    """
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"checkpoint {path} does not exist; train one with: python -m solutions train --save {path}")
    advice = f"checkpoint {path} cannot be read"
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except (RuntimeError, OSError, pickle.UnpicklingError, zipfile.BadZipFile, EOFError, ValueError) as error:
        raise CourseError(f"{advice}: it is corrupt or not a PyTorch checkpoint ({error}). Train it again.") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CourseError(f"{advice}: it was not written by this course's save_checkpoint (format {FORMAT}).")
    model = CNN(**payload["model_config"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as error:
        raise CourseError(f"{advice}: its weights do not fit the course's CNN ({error}).") from error
    return model.to(device).eval(), payload["metadata"]
