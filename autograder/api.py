"""What a notebook calls: ``grade``, ``hint`` and ``solution``, in either of the course's two modes.

* **Self-paced** (the repository's ``make lab``): the exercise definitions and the reference library
  are installed; ``grade`` runs the public checks (and, on request, the self-paced hidden set),
  ``solution`` shows the reference.
* **Class** (an instructor's ``release``): the assignment folder holds ``nncourse_checks.json``
  (or ``$NNCOURSE_CHECKS`` names one) and no reference code; ``grade`` judges the public cases from
  it, the hidden cases run only in the instructor's grading, and ``solution`` is off unless the
  instructor enabled it.

Either way the number a grade cell shows is feedback: at grading, the score is computed again
outside the learner's kernel (:mod:`autograder.trusted`).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from autograder import report
from autograder.bundle import FILENAME, PublicChecks

GRADE_MIME = "application/vnd.nncourse.grade+json"
_hints_shown: dict[str, int] = {}


def class_checks() -> PublicChecks | None:
    """The class release's public checks, if this notebook runs in one."""
    named = os.environ.get("NNCOURSE_CHECKS")
    path = Path(named) if named else Path.cwd() / FILENAME
    return PublicChecks.load(path) if path.is_file() else None


def _ipython():
    module = sys.modules.get("IPython")
    return module.get_ipython() if module else None


def _show(text: str, record: dict | None = None) -> None:
    """Show text to the learner: a display bundle in a notebook (with a machine-readable record), else print."""
    if _ipython() is None:
        print(text)
        return
    from IPython.display import display

    bundle = {"text/plain": text}
    if record is not None:
        bundle[GRADE_MIME] = record
    display(bundle, raw=True)


def _registry():
    from autograder import registry

    return registry


def _info(exercise_id: str):
    from autograder.engine import info

    return info(_registry().get(exercise_id))


def grade(exercise_id: str, obj, *, hidden: bool = False) -> float:
    """Check ``obj`` for an exercise, show a report, and return the points earned (a float).

    A grade cell ends with this call so that nbgrader reads the number as partial credit.
    ``hidden=True`` adds the hidden cases where this notebook may run them (self-paced mode).
    """
    checks = class_checks()
    if checks is not None:
        outcome = checks.run(exercise_id, obj)
        if hidden:  # only in the instructor's grading, which judges the hidden cases itself
            return float(outcome.points)
    else:
        from autograder import engine

        outcome = engine.run(_registry().get(exercise_id), obj, hidden=hidden)
    record = {"id": exercise_id, "points": outcome.points, "max_points": float(outcome.info.points),
              "public_points": outcome.public_points(), "status": outcome.status,
              "message": report.summary(outcome), "hidden": hidden}
    _show(report.render(outcome), record)
    return float(outcome.points)


def hint(exercise_id: str) -> None:
    """Show the next hint for an exercise (one more each call)."""
    checks = class_checks()
    info = checks.info(exercise_id) if checks is not None else _info(exercise_id)
    shown = min(_hints_shown.get(exercise_id, 0) + 1, len(info.hints))
    _hints_shown[exercise_id] = shown
    text = f"Hint {shown} of {len(info.hints)} for {info.title}: {info.hints[shown - 1]}"
    if shown == len(info.hints) and (checks is None or checks.solutions_enabled):
        text += f'\n(That was the last hint. solution("{exercise_id}") shows the reference solution.)'
    _show(text)


def solution(exercise_id: str) -> None:
    """Show the reference solution (in a class, only if the instructor enabled solutions)."""
    checks = class_checks()
    if checks is not None:
        info = checks.info(exercise_id)
        if not checks.solutions_enabled:
            _show(f"Solutions are disabled in this class: your instructor has not released the solution to "
                  f"{info.title}. hint(\"{exercise_id}\") still gives hints.")
            return
        _show(f"Reference solution for {info.title}:\n\n{checks.entry(exercise_id)['solution']}")
        return
    import inspect

    exercise = _registry().get(exercise_id)
    ref = exercise.reference
    if not callable(ref):  # a concept question: its answer, and why the others are wrong
        why = "".join(f"\n  {m.impl!r}: {m.diagnosis}" for m in exercise.mistakes)
        _show(f"Answer to {exercise.title}: {ref!r}\nWhy not the others:{why}")
        return
    _show(f"Reference solution for {exercise.title} ({ref.__module__}.{ref.__name__}):\n\n{inspect.getsource(ref)}")
