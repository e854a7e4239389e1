"""The course's checking engine.

In a notebook::

    from autograder import grade, hint, solution
    grade("01.dense_forward", dense_forward)   # report + points earned
    hint("01.dense_forward")                   # one more hint each call
    solution("01.dense_forward")               # the reference (self-paced, or if the instructor allows)

What a notebook shows is feedback for the learner. At grading, the score is decided outside the
learner's kernel by :mod:`autograder.grading.trusted`, which calls the learner's code with plain data
(:mod:`autograder.learner.wire`) from an isolated kernel (:mod:`autograder.grading.sandbox`).
"""
from autograder.learner.api import grade, hint, solution

__all__ = ["grade", "hint", "solution"]
