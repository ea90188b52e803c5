"""Exporting a trained network for the course website's "Look inside" page.

    python -m solutions export --checkpoint PATH --out weights.json

The page runs the network in the browser with its own few dozen lines of
JavaScript, so it needs the weights as plain data: a small JSON file with each
tensor's shape and its float32 values (little-endian, base64), the input scale
the network was trained on, and where the weights came from. The site build
writes one from the course's own trained network beside the page; a learner
exports their own checkpoint and opens the file on the page.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .checkpoint import load_checkpoint
from .errors import CourseError
from .mnist import MNIST_MEAN, MNIST_STD
from .parts import Parts
from .writes import check_file, write_atomically

FORMAT = "mnist-cnn-course-weights/1"
# The tensors the page's forward pass reads, with their shapes: the course's CNN, nothing more.
LAYERS = {
    "conv1.weight": (10, 1, 5, 5), "conv1.bias": (10,),
    "conv2.weight": (20, 10, 5, 5), "conv2.bias": (20,),
    "fc1.weight": (50, 320), "fc1.bias": (50,),
    "fc2.weight": (10, 50), "fc2.bias": (10,),
}
SOURCE_FIELDS = ("recipe", "epoch", "seed", "accuracy", "test_samples")  # checkpoint metadata worth showing


def tensor_record(tensor: torch.Tensor) -> dict[str, Any]:
    """A tensor as its shape and its float32 values, little-endian, in base64."""
    values = tensor.detach().cpu().numpy().astype("<f4", copy=False)
    return {"shape": list(values.shape), "data": base64.b64encode(np.ascontiguousarray(values).tobytes()).decode()}


def check_layers(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weights the page needs from ``model``, once every one is there with the course CNN's shape.

    Raises:
        CourseError: a layer is missing or has another shape than the course's CNN.
    """
    state_dict = model.state_dict()
    for name, shape in LAYERS.items():
        if name not in state_dict:
            raise CourseError(f"the model has no {name}; the page runs the course's CNN "
                              f"(conv1, conv2, fc1, fc2), so keep those layer names")
        if tuple(state_dict[name].shape) != shape:
            raise CourseError(f"the model's {name} has shape {tuple(state_dict[name].shape)}, the page expects "
                              f"{shape}: the page runs the course's CNN exactly")
    return {name: state_dict[name] for name in LAYERS}


def weights_document(model: nn.Module, metadata: dict[str, Any], name: str) -> dict[str, Any]:
    """What the page reads: the weights, the input scale they expect, and where they came from."""
    source = {"name": name, **{key: metadata[key] for key in SOURCE_FIELDS if key in metadata}}
    return {
        "format": FORMAT,
        "source": source,
        "normalize": bool(metadata.get("normalize", True)),
        "mean": MNIST_MEAN,
        "std": MNIST_STD,
        "layers": {name: tensor_record(tensor) for name, tensor in check_layers(model).items()},
    }


def export_weights(checkpoint: str | os.PathLike, out: str | os.PathLike, parts: Parts | None = None) -> Path:
    """Write the weights file of ``checkpoint`` (rebuilt as ``parts``' CNN) to ``out``, all or nothing.

    Raises:
        CourseError: ``out`` cannot be written, the checkpoint cannot be read or is not the course's CNN, or
            (run from ``exercises``) the model code it needs is not written yet.
    """
    check_file(out, "the weights file", "--out", example="weights.json")
    try:
        model, metadata = load_checkpoint(checkpoint, parts=parts)
    except NotImplementedError as error:  # python -m exercises export: the learner's CNN is not written yet
        raise CourseError(f"the export rebuilds the network with your own model code, and it is not finished: "
                          f"{error}") from error
    document = weights_document(model, metadata, Path(checkpoint).name)
    return write_atomically(out, json.dumps(document, separators=(",", ":")).encode())
