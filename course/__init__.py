"""The course's runtime: the command line, data, training loop, recipes, checkpoints, writes,
distributed training, drawing pad, serving and export, written once for both sets of parts.

The runtime runs the parts it is handed (:mod:`course.parts`): the reference answers in
``solutions`` or the learner's own in ``exercises``; it imports neither directly. At the bottom,
:mod:`course.errors`, :mod:`course.options`, :mod:`course.threads`, :mod:`course.mnist` and
:mod:`course.writes` import nothing of the rest and nothing heavy, so that the parts can import them
and any program can load them first, before PyTorch.
"""
