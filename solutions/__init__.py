"""Reference solution of the MNIST CNN course.

Every exercise in ``exercises/`` is generated from these modules, and the grader
compares learners' code with them. Instructors run it as ``python -m solutions``.
"""

__version__ = "0.1.0"
