"""The course's nbgrader configuration, as one function every course directory calls.

A course directory's ``nbgrader_config.py`` (written by ``python -m autograder course init``) is two
lines: ``from autograder.classroom.nbgrader_settings import configure`` and ``configure(get_config())``. nbgrader
loads that file whenever it works on the directory (``--CourseDirectory.root=DIR`` or run inside it),
so plain ``nbgrader`` commands, the formgrader and ``python -m autograder`` all grade the same way.
:func:`missing_settings` tells whether a loaded configuration really has them: grading refuses to
run without them, because without the trusted grader a hidden score cell earns full marks.
"""
from __future__ import annotations

from pathlib import Path

COURSE_ID = "nn-course"
CELL_TIMEOUT = 120          # seconds per cell before the kernel is interrupted
SQLITE_BUSY_TIMEOUT = 60    # seconds a parallel grader waits for the SQLite gradebook's write lock


def configure(c, *, source_directory: str = "source", config_file: str | None = None) -> None:
    """Put the course's grading settings into the nbgrader Config ``c``.

    With ``config_file`` (the course directory's ``nbgrader_config.py``), the SQLite gradebook next
    to it is opened with a busy timeout, so parallel graders wait for each other instead of failing.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    from autograder.classroom import feedback
    from autograder.grading.require_score import RequireScore
    from autograder.grading.sanitise import SanitiseLearnerOutputs
    from autograder.grading.trusted import TrustedExecute

    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = source_directory
    if config_file is not None:
        database = Path(config_file).resolve().parent / "gradebook.db"
        c.CourseDirectory.db_url = f"sqlite:///{database}?timeout={SQLITE_BUSY_TIMEOUT}"

    # A learner's notebook that never terminates is interrupted after this many seconds per cell.
    c.Execute.timeout = CELL_TIMEOUT
    c.Execute.interrupt_on_timeout = True
    c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]

    # A grade cell the learner deleted is put back from the gradebook (and graded), never lost.
    c.OverwriteCells.add_missing_cells = True

    # Every grade cell is scored by the trusted side (autograder/grading/trusted.py): the learner's code runs in an
    # isolated kernel and is only called with plain data. RequireScore zeroes any grade cell left without a score.
    c.TrustedExecute.isolation = "auto"   # namespace (root on Linux) or limits; see autograder/grading/sandbox.py
    # The autograded notebook (what the formgrader shows) then holds the learner's outputs and markdown as
    # data: nothing in it runs script in the instructor's browser (autograder/grading/sanitise.py).
    c.Autograde.autograde_preprocessors = [
        TrustedExecute,
        SanitiseLearnerOutputs,
        RequireScore,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    # Feedback pages a student can read offline: math as MathML, a timeout or crash as one line.
    feedback.configure(c)


def missing_settings(config) -> list[str]:
    """What of :func:`configure` a loaded nbgrader Config lacks (empty when all is in force)."""
    from autograder.grading.require_score import RequireScore
    from autograder.grading.sanitise import SanitiseLearnerOutputs
    from autograder.grading.trusted import TrustedExecute

    preprocessors = config.Autograde.get("autograde_preprocessors", [])
    named = {p if isinstance(p, str) else f"{p.__module__}.{p.__qualname__}" for p in preprocessors}
    required = (TrustedExecute, SanitiseLearnerOutputs, RequireScore)
    missing = [f"Autograde.autograde_preprocessors has no {cls.__qualname__}" for cls in required
               if f"{cls.__module__}.{cls.__qualname__}" not in named and cls not in preprocessors]
    if config.CourseDirectory.get("course_id") != COURSE_ID:
        missing.append(f"CourseDirectory.course_id is not {COURSE_ID!r}")
    return missing
