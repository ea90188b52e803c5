"""The MNIST CNN course: data, model, training, monitoring and inference.

``solutions/`` holds the reference; ``exercises/`` is generated from it, with the
parts a learner writes replaced by stubs. Run either as ``python -m solutions``
or ``python -m exercises``.
"""

__version__ = "0.1.0"
