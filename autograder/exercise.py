"""What an exercise is: a reference, test cases, hints and a catalogue of known mistakes.

One definition serves the learner (public cases), the instructor (hidden cases, randomised but
seeded) and CI (every catalogued mistake must lose points and be named).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from autograder.checks import expect_array, expect_int, expect_number, expect_equal


@dataclass
class Case:
    """One call of the learner's function: a label a learner can read, and the arguments."""

    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass
class Mistake:
    """A known wrong implementation and the diagnosis shown when a learner's output matches it."""

    name: str
    diagnosis: str
    impl: Callable


@dataclass
class Exercise:
    """A graded exercise.

    ``public_cases(rng)`` and ``hidden_cases(rng)`` build the test cases; the learner sees the
    public ones in the notebook, nbgrader's hidden tests run both. ``compare(got, expected)``
    raises :class:`~autograder.checks.Mismatch` with a message.
    """

    id: str
    title: str
    points: float
    reference: Callable
    public_cases: Callable[[np.random.Generator], list[Case]]
    hidden_cases: Callable[[np.random.Generator], list[Case]]
    compare: Callable[[Any, Any], None]
    hints: list[str]
    mistakes: list[Mistake] = field(default_factory=list)

    def seed(self, hidden: bool) -> int:
        """A fixed seed per exercise, different for the hidden suite."""
        return zlib.crc32(f"{self.id}:{'hidden' if hidden else 'public'}".encode())

    def cases(self, hidden: bool) -> list[Case]:
        cases = self.public_cases(np.random.default_rng(self.seed(False)))
        if hidden:
            cases += self.hidden_cases(np.random.default_rng(self.seed(True)))
        return cases


def compare_array(rtol: float = 1e-6, atol: float = 1e-8) -> Callable[[Any, Any], None]:
    """Comparison for exercises that return one array."""
    return lambda got, expected: expect_array(got, np.asarray(expected), rtol=rtol, atol=atol)


def compare_number(rtol: float = 1e-7, atol: float = 1e-9) -> Callable[[Any, Any], None]:
    """Comparison for exercises that return one real number."""
    return lambda got, expected: expect_number(got, float(expected), rtol=rtol, atol=atol)


compare_int = expect_int
compare_equal = expect_equal
