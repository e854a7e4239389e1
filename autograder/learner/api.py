"""What a notebook calls: ``grade``, ``hint`` and ``solution``, in either of the course's two modes.

* **Self-paced** (the repository's ``make lab``): the exercise definitions and the reference library
  are installed; ``grade`` runs the public checks (and, on request, the self-paced hidden set),
  ``solution`` shows the reference.
* **Class** (an instructor's ``release``): the assignment folder holds ``nncourse_checks.json``
  (or ``$NNCOURSE_CHECKS`` names one) and no reference code; ``grade`` judges the public cases from
  it, the hidden cases run only in the instructor's grading, and ``solution`` is off unless the
  instructor enabled it.

Either way the number a grade cell shows is feedback: at grading, the score is computed again
outside the learner's kernel (:mod:`autograder.grading.trusted`).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from autograder.learner import report
from autograder.learner.bundle import FILENAME, PublicChecks
from autograder.learner.judge import NOT_ATTEMPTED

GRADE_MIME = "application/vnd.nncourse.grade+json"
_hints_shown: dict[str, int] = {}
_reports: dict[tuple, str] = {}  # (exercise id, execution count) -> display id of the report shown


class Points(float):
    """The points a grade cell ends with: nbgrader reads the number, JupyterLab shows "2 / 3 points"."""

    def __new__(cls, value: float, max_points: float):
        points = super().__new__(cls, value)
        points.max_points = max_points
        return points

    def _repr_html_(self) -> str:
        return f"<b>{float(self):g} / {self.max_points:g} points</b>"


_loaded: dict[tuple, PublicChecks] = {}  # (path, modification time) -> the parsed checks


def class_checks() -> PublicChecks | None:
    """The class release's public checks, if this notebook runs in one (read once per version of the file)."""
    named = os.environ.get("NNCOURSE_CHECKS")
    path = Path(named) if named else Path.cwd() / FILENAME
    if not path.is_file():
        return None
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _loaded:
        _loaded.clear()
        _loaded[key] = PublicChecks.load(path)
    return _loaded[key]


def _ipython():
    module = sys.modules.get("IPython")
    return module.get_ipython() if module else None


def _show(text: str, record: dict | None = None, replace: tuple | None = None) -> None:
    """Show text to the learner: a display bundle in a notebook (HTML, plain text, a machine-readable record).

    ``replace`` keys a report: a second report with the same key (the hidden checks run in the same
    grade cell) replaces the first, so a grade cell shows one score.
    """
    shell = _ipython()
    if shell is None:
        print(text)
        return
    from IPython.display import display, update_display

    bundle = {"text/plain": text, "text/html": report.render_html(text)}
    if record is not None:
        bundle[GRADE_MIME] = record
    if replace is not None and replace in _reports:
        update_display(bundle, display_id=_reports[replace], raw=True)
        return
    handle = display(bundle, raw=True, display_id=True)
    if replace is not None and handle is not None:
        _reports[replace] = handle.display_id


class NotAttempted(Exception):
    """Raised by a check cell whose exercise is untouched, so that nbgrader's Validate says so.

    Shown as one line, not a traceback (IPython's ``_render_traceback_``); it scores 0 like the check.
    """

    def _render_traceback_(self):
        return [f"NotAttempted: {self}"]


def _unknown(exercise_id: str, error: Exception) -> Points:
    message = error.args[0] if type(error) is KeyError and error.args else str(error)
    _show(f"No such exercise: {message}. Check the id in grade(\"...\", ...): it is the one shown in the "
          "exercise's check cell.")
    return Points(0.0, 0.0)


_SYNTAX_ERRORS: dict[str, str] = {}  # a name -> the syntax error of the last cell that tried to define it


_DEFINES = re.compile(r"^\s*(?:def|class)\s+(\w+)|^(\w+)\s*=", re.M)


def _defined_names(source: str) -> set[str]:
    return {a or b for a, b in _DEFINES.findall(source)}


def _after_cell(result) -> None:
    """Remember which names a cell with a syntax error failed to define (and forget fixed ones)."""
    error = getattr(result, "error_before_exec", None)
    names = _defined_names(getattr(getattr(result, "info", None), "raw_cell", "") or "")
    for name in names:
        if isinstance(error, SyntaxError):
            _SYNTAX_ERRORS[name] = f"line {error.lineno}: {error.msg}"
        else:
            _SYNTAX_ERRORS.pop(name, None)


def _name_error(shell, etype, value, tb, tb_offset=None):
    """A NameError, plus the reason when the name's cell did not run because of a syntax error."""
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
    name = getattr(value, "name", None)
    if name in _SYNTAX_ERRORS:
        print(f"`{name}` is not defined because the cell that defines it has a syntax error "
              f"({_SYNTAX_ERRORS[name]}): fix that cell, run it, then run this one again.")


def _install_hooks() -> None:
    shell = _ipython()
    if shell is None or getattr(shell, "_nncourse_hooks", False):
        return
    shell.events.register("post_run_cell", _after_cell)
    shell.set_custom_exc((NameError,), _name_error)
    shell._nncourse_hooks = True


def _registry():
    from autograder import registry

    return registry


def _info(exercise_id: str):
    from autograder.grading.engine import info

    return info(_registry().get(exercise_id))


def grade(exercise_id: str, obj, *, hidden: bool = False) -> Points:
    """Check ``obj`` for an exercise, show a report, and return the points earned (a float).

    A grade cell ends with this call so that nbgrader reads the number as partial credit.
    ``hidden=True`` adds the hidden cases where this notebook may run them (self-paced mode).
    """
    checks = class_checks()
    try:
        if checks is not None:
            outcome = checks.run(exercise_id, obj)
            if hidden:  # only in the instructor's grading, which judges the hidden cases itself
                return Points(outcome.points, outcome.info.points)
        else:
            from autograder.grading import engine

            outcome = engine.run(_registry().get(exercise_id), obj, hidden=hidden)
    except KeyError as exc:  # an unknown exercise id (registry.UnknownExercise is a KeyError too)
        return _unknown(exercise_id, exc)
    record = {"id": exercise_id, "points": outcome.points, "max_points": float(outcome.info.points),
              "public_points": outcome.public_points(), "status": outcome.status,
              "message": report.summary(outcome), "hidden": hidden}
    shell = _ipython()
    _show(report.render(outcome), record, replace=(exercise_id, getattr(shell, "execution_count", None)))
    if outcome.status == NOT_ATTEMPTED and shell is not None:
        raise NotAttempted(f"{outcome.info.title} ({exercise_id}) is not attempted yet: write your code in the "
                           "cell above, run it, then run this check.")
    return Points(outcome.points, outcome.info.points)


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


_install_hooks()
