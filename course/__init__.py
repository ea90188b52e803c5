"""The course's runtime: what every program of the course shares, below the reference and the exercises.

It imports neither ``solutions`` nor ``exercises``, and nothing heavy at import time, so that any
program can use it first, before PyTorch is loaded.
"""
