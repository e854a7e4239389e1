"""What runs in the learner's kernel and ships in a class release: ``grade``, ``hint``, ``solution``
and the code that judges public cases from data (``nncourse_checks.json``).

Nothing here imports from outside this folder (a test enforces it), except the self-paced mode of
:mod:`autograder.learner.api`, which reaches the exercise definitions only when they are installed
(the repository's own ``make lab``); a class release ships this folder and ``autograder/__init__.py`` only.
"""
from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent


def shipped_files() -> list[Path]:
    """What a student (and the grading kernel) gets, relative to the folder holding ``autograder/``."""
    return [Path("autograder/__init__.py"), *(Path("autograder/learner") / p.name for p in sorted(HERE.glob("*.py")))]


def ship_to(folder: Path) -> list[Path]:
    """Copy the learner package into ``folder/autograder/`` (a class release, the grading kernel's path)."""
    copied = []
    for relative in shipped_files():
        target = Path(folder) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(HERE.parent.parent / relative, target)
        copied.append(target)
    return copied
