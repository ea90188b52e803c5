"""Class grading, at a trust level of its own: no submission can fake, escape or lose its grade.

A learner's code runs only in a sandboxed worker (:mod:`.worker`, fenced in by bubblewrap in
:mod:`.sandbox`) that answers questions (:mod:`.questions`). The trusted grader makes the inputs,
asks (:mod:`.asking`), computes the reference's answers and decides every verdict itself
(:mod:`.checks`, :mod:`.grading`); the results are written as each learner finishes (:mod:`.report`).
Self-grading with ``pytest exercises/`` is another matter: learners can only fool themselves there.
"""

from .command import grade_one
from .grading import Grade, Verdict

__all__ = ["Grade", "Verdict", "grade_one"]
