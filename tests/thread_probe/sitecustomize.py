"""Put on PYTHONPATH by tests/test_threads.py: what a program's threads were set to, seen from inside it.

Python imports ``sitecustomize`` at start-up. This one watches for the first import of ``torch`` and
appends one JSON line per process to the file named by ``THREAD_PROBE_FILE``: when PyTorch loads,
whether the course had started measuring its cores (``course.threads.configure_threads``) and the
OpenMP settings in the environment; when the program ends, the number of threads PyTorch last used.
"""

import atexit
import json
import os
import sys

SETTINGS = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS")


def write(record: dict) -> None:
    with open(os.environ["THREAD_PROBE_FILE"], "a", encoding="utf-8") as probe:
        probe.write(json.dumps({"pid": os.getpid(), **record}) + "\n")


def threads_at_exit() -> None:
    torch = sys.modules.get("torch")
    if torch is not None:
        write({"threads": torch.get_num_threads()})


class FirstTorchImport:
    """An import hook that finds nothing itself: it only notes when ``torch`` is first asked for."""

    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            sys.meta_path.remove(self)
            threads = sys.modules.get("course.threads")
            write({"configured": bool(threads and threads._CORES.mark),
                   **{setting: os.environ.get(setting) for setting in SETTINGS}})
            atexit.register(threads_at_exit)
        return None


if os.environ.get("THREAD_PROBE_FILE"):
    sys.meta_path.insert(0, FirstTorchImport())
