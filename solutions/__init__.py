"""The modules a learner writes: answered in ``solutions/``, as stubs in ``exercises/``.

The course has three rooms. ``course/`` is the runtime (command line, data, training loop,
checkpoints, drawing pad, ...), written once. ``solutions/`` holds the reference answers, with
their given code and ``# BEGIN SOLUTION`` blocks; ``exercises/`` is generated from it, the same
modules with those blocks replaced by stubs: the learner's tree. ``python -m solutions`` runs
the runtime with the reference answers, ``python -m exercises`` with the learner's own.
"""

__version__ = "0.1.0"
