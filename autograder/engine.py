"""Run an exercise's checks against a learner's object and collect the outcome.

The engine never lets learner code touch its inputs (it passes deep copies), never writes to
stderr (learner output and warnings are captured), fixes the random seeds for every call (and
restores the learner's random state afterwards), and runs every case instead of stopping at the
first failure. Diagnosis: when a case fails, each catalogued mistake is run on the same input
and named if the learner's output matches it.
"""
from __future__ import annotations

import contextlib
import copy
import io
import random
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

from autograder.checks import Mismatch, describe, same_inputs, same_value
from autograder.exercise import Case, Exercise

PASSED, FAILED, NOT_ATTEMPTED, ERROR = "passed", "failed", "not attempted", "error"


@dataclass
class CaseResult:
    label: str
    status: str
    message: str = ""
    likely_mistake: str = ""


@dataclass
class Outcome:
    """Everything the view needs: per-case results, points and the overall status."""

    exercise: Exercise
    hidden: bool
    cases: list[CaseResult] = field(default_factory=list)
    problem: str = ""  # set when the object could not be checked at all

    @property
    def passed(self) -> int:
        return sum(c.status == PASSED for c in self.cases)

    @property
    def points(self) -> float:
        if not self.cases or self.status == NOT_ATTEMPTED:
            return 0.0
        return round(self.exercise.points * self.passed / len(self.cases), 2)

    @property
    def status(self) -> str:
        if self.problem:
            return ERROR
        if self.cases and all(c.status == NOT_ATTEMPTED for c in self.cases):
            return NOT_ATTEMPTED
        if self.cases and all(c.status == PASSED for c in self.cases):
            return PASSED
        return FAILED


@contextlib.contextmanager
def _seeded(seed: int = 0):
    """Fix the global random seeds for a call and restore the learner's random state afterwards."""
    py_state, np_state = random.getstate(), np.random.get_state()
    torch = sys.modules.get("torch")
    torch_state = torch.random.get_rng_state() if torch else None
    random.seed(seed)
    np.random.seed(seed)
    if torch:
        torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        if torch:
            torch.random.set_rng_state(torch_state)


@contextlib.contextmanager
def _quiet():
    """Swallow anything learner code prints and every warning, and report the warnings."""
    caught: list[warnings.WarningMessage] = []
    with warnings.catch_warnings(record=True) as record, \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("always")
        yield caught
    caught.extend(record)


def call_quietly(fn, case: Case):
    """Call ``fn`` on deep copies of the case's arguments.

    Returns ``(result, args_after_call, warnings)``; exceptions propagate.
    """
    args, kwargs = copy.deepcopy(case.args), copy.deepcopy(case.kwargs)
    with _seeded(), _quiet() as caught:
        result = fn(*args, **kwargs)
    return result, (args, kwargs), caught


def _diagnose(exercise: Exercise, case: Case, got=None, error: Exception | None = None) -> str:
    """Name the catalogued mistake that gives the same result (or raises the same error)."""
    for mistake in exercise.mistakes:
        try:
            wrong, _, _ = call_quietly(mistake.impl, case)
        except Exception as exc:
            if error is not None and type(exc) is type(error) and str(exc) == str(error):
                return f"{mistake.name}: {mistake.diagnosis}"
            continue
        if error is None and same_value(got, wrong):
            return f"{mistake.name}: {mistake.diagnosis}"
    return ""


def check_case(exercise: Exercise, fn, case: Case) -> CaseResult:
    """Run one case: learner call, mutation check, comparison, diagnosis."""
    expected, _, _ = call_quietly(exercise.reference, case)
    try:
        got, (args_after, kwargs_after), caught = call_quietly(fn, case)
    except NotImplementedError:
        return CaseResult(case.label, NOT_ATTEMPTED, "not attempted yet (the stub raises NotImplementedError)")
    except Exception as exc:  # learner code raised: report it, never re-raise
        return CaseResult(case.label, ERROR, f"your code raised {type(exc).__name__}: {exc}",
                          _diagnose(exercise, case, error=exc))
    if not same_inputs(args_after, case.args) or not same_inputs(kwargs_after, case.kwargs):
        return CaseResult(case.label, FAILED,
                          "your function changed its input in place; work on a copy "
                          "(e.g. `x = x.copy()` or `x = x - m` instead of `x -= m`)")
    try:
        exercise.compare(got, expected)
    except Mismatch as exc:
        message = str(exc)
        overflow = [w for w in caught if issubclass(w.category, RuntimeWarning)]
        if overflow:
            message += f" NumPy warned: {overflow[0].message}."
        return CaseResult(case.label, FAILED, message, _diagnose(exercise, case, got=got))
    return CaseResult(case.label, PASSED)


def run(exercise: Exercise, obj, hidden: bool = False) -> Outcome:
    """Check ``obj`` against every case of ``exercise`` (public, plus hidden ones if asked)."""
    outcome = Outcome(exercise, hidden)
    if not callable(obj):
        outcome.problem = (f"expected a function, got {type(obj).__name__}: {describe(obj)}. "
                           "Pass the function itself, without calling it.")
        return outcome
    outcome.cases = [check_case(exercise, obj, case) for case in exercise.cases(hidden)]
    return outcome
