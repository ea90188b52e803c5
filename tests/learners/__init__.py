"""Learner code for proving the grader: typical mistakes and different correct solutions.

Each entry edits a copy of the reference: ``(module, old text, new text)``.
"""
