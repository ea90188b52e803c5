"""Put on PYTHONPATH by tests/test_threads.py: records the thread settings a program has when it loads PyTorch.

Python imports ``sitecustomize`` at start-up. This one watches for the first import of ``torch`` and
appends the settings that OpenMP reads at that moment, one JSON line per process, to the file named by
``THREAD_PROBE_FILE``.
"""

import json
import os
import sys

SETTINGS = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")


class FirstTorchImport:
    """An import hook that finds nothing itself: it only notes when ``torch`` is first asked for."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            sys.meta_path.remove(self)
            with open(os.environ["THREAD_PROBE_FILE"], "a", encoding="utf-8") as record:
                record.write(json.dumps({setting: os.environ.get(setting) for setting in SETTINGS}) + "\n")
        return None


if os.environ.get("THREAD_PROBE_FILE"):
    sys.meta_path.insert(0, FirstTorchImport())
