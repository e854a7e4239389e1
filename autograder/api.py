"""What a notebook calls: ``grade``, ``hint`` and ``solution``."""
from __future__ import annotations

import inspect
import sys

from autograder import engine, registry, report

GRADE_MIME = "application/vnd.nncourse.grade+json"
_hints_shown: dict[str, int] = {}


def _ipython():
    """The running IPython shell, or None outside a notebook."""
    module = sys.modules.get("IPython")
    return module.get_ipython() if module else None


def _show(text: str, record: dict | None = None) -> None:
    """Show text to the learner: a display bundle in a notebook (with a machine-readable record), else print."""
    shell = _ipython()
    if shell is None:
        print(text)
        return
    from IPython.display import display

    bundle = {"text/plain": text}
    if record is not None:
        bundle[GRADE_MIME] = record
    display(bundle, raw=True)


def _restore_score_display() -> None:
    """Undo anything that would hide or rewrite the score a grade cell ends with."""
    shell = _ipython()
    if shell is None:
        return
    sys.displayhook = shell.displayhook
    plain = shell.display_formatter.formatters["text/plain"]
    plain.type_printers.pop(float, None)
    plain.deferred_printers.pop(("builtins", "float"), None)


def grade(exercise_id: str, obj, *, hidden: bool = False) -> float:
    """Check ``obj`` for an exercise, show a report, and return the points earned (a float).

    A grade cell ends with this call so that nbgrader reads the number as partial credit.
    ``hidden=True`` adds the instructor's randomised cases.
    """
    exercise = registry.get(exercise_id)
    outcome = engine.run(exercise, obj, hidden=hidden)
    record = {"id": exercise.id, "points": outcome.points, "max_points": float(exercise.points),
              "status": outcome.status, "message": report.summary(outcome), "hidden": hidden}
    _show(report.render(outcome), record)
    _restore_score_display()
    return float(outcome.points)


def hint(exercise_id: str) -> None:
    """Show the next hint for an exercise (one more each call)."""
    exercise = registry.get(exercise_id)
    shown = min(_hints_shown.get(exercise_id, 0) + 1, len(exercise.hints))
    _hints_shown[exercise_id] = shown
    text = f"Hint {shown} of {len(exercise.hints)} for {exercise.title}: {exercise.hints[shown - 1]}"
    if shown == len(exercise.hints):
        text += f'\n(That was the last hint. solution("{exercise_id}") shows the reference solution.)'
    _show(text)


def solution(exercise_id: str) -> None:
    """Show the reference solution from the ``solutions`` library."""
    exercise = registry.get(exercise_id)
    ref = exercise.reference
    source = inspect.getsource(ref)
    _show(f"Reference solution for {exercise.title} ({ref.__module__}.{ref.__name__}):\n\n{source}")
