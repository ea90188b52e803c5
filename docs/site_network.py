"""The trained network the website's Look inside page runs, exported at build time.

The site shows the course's own network: the fast recipe trained on real MNIST
(seed 1, the run ``python -m solutions train`` makes), once, and cached in
``.cache/site-network.pt`` (delete it to train again). Set
``MNIST_COURSE_SITE_CHECKPOINT`` to build the site with another checkpoint instead.
MNIST is found as everywhere in the course (``MNIST_COURSE_DATA``, else ``./data``).
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import torch

from course.checkpoint import load_checkpoint
from course.commands import TRAINING_MODULES
from course.data import load_split
from course.errors import CourseError
from course.export import weights_document
from course.parts import chosen
from course.recipes import FAST
from course.training import train
from course.unfinished import require_written

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "site-network.pt"
CHECKPOINT_ENV_VAR = "MNIST_COURSE_SITE_CHECKPOINT"
SEED = 1


def site_checkpoint() -> Path:
    """The checkpoint to show: the one the environment names, else the cached fast run (trained if missing)."""
    if os.environ.get(CHECKPOINT_ENV_VAR):
        return Path(os.environ[CHECKPOINT_ENV_VAR])
    try:
        load_checkpoint(CACHE)
    except CourseError:
        print(f"Training the Look inside network once (the fast recipe: about 1 min on 2 idle cores, more on a busy "
              f"laptop; needs MNIST, found as by python -m solutions train; kept in {CACHE}). Without MNIST, or to "
              f"skip this, set {CHECKPOINT_ENV_VAR}=PATH to a checkpoint you have ...", flush=True)
        parts = chosen(None)  # the reference; in a class's release, the learner's own code
        require_written("the Look inside network", TRAINING_MODULES, parts.folder)
        train(FAST, torch.device("cpu"), seed=SEED, log_dir=None, progress=False, report=lambda _: None,
              save=CACHE, overwrite=True, parts=parts)
    return CACHE


def weights_json() -> str:
    """The weights file beside the Look inside page, from :func:`site_checkpoint`."""
    checkpoint = site_checkpoint()
    model, metadata = load_checkpoint(checkpoint)
    name = "the course's fast recipe" if checkpoint == CACHE else checkpoint.name
    return json.dumps(weights_document(model, metadata, name), separators=(",", ":"))


def test_digits_json() -> str:
    """The first test image of each digit, for the Look inside page's "draw a test digit" choice:
    ``{"digits": [{"label", "index", "pixels"}]}``, pixels as base64 of 28 x 28 bytes, white ink on black."""
    test = load_split(train=False)
    firsts = [int(torch.nonzero(test.targets == digit)[0]) for digit in range(10)]
    digits = [{"label": int(test.targets[index]), "index": index,
               "pixels": base64.b64encode(test.data[index].numpy().tobytes()).decode()} for index in firsts]
    return json.dumps({"digits": digits}, separators=(",", ":"))
