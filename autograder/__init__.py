"""The course's checking engine.

In a notebook::

    from autograder import grade, hint, solution
    grade("01.dense_forward", dense_forward)   # report + points earned
    hint("01.dense_forward")                   # one more hint each call
    solution("01.dense_forward")               # the reference from ``solutions``

Hidden (instructor) checks run on a freshly imported copy of the engine and of ``solutions``,
so a learner's notebook cannot patch the code that grades it; the module's public names are
read-only for the same reason.
"""
from __future__ import annotations

import importlib
import sys
import types

from autograder import api

_OWN_PACKAGES = ("autograder", "solutions")
__all__ = ["grade", "hint", "solution"]


def _fresh_api():
    """Import ``autograder.api`` and everything it uses anew, leaving the learner's copies in place."""
    def own(name: str) -> bool:
        return name.partition(".")[0] in _OWN_PACKAGES

    saved = {name: module for name, module in sys.modules.items() if own(name)}
    for name in saved:
        del sys.modules[name]
    try:
        return importlib.import_module("autograder.api")
    finally:
        for name in [name for name in sys.modules if own(name)]:
            del sys.modules[name]
        sys.modules.update(saved)


def grade(exercise_id: str, obj, *, hidden: bool = False) -> float:
    """Check ``obj`` for ``exercise_id``; show a report; return the points earned."""
    engine_api = _fresh_api() if hidden else api
    return engine_api.grade(exercise_id, obj, hidden=hidden)


hint = api.hint
solution = api.solution


class _ReadOnlyModule(types.ModuleType):
    def __setattr__(self, name, value):
        if name in __all__:
            raise AttributeError(f"autograder.{name} is read-only: the grader cannot be replaced")
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _ReadOnlyModule
