"""nbgrader configuration for the course (instructor side).

Run nbgrader from the repository root, or through ``python -m autograder``.
"""
from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput, SaveAutoGrades
from nbconvert.preprocessors import ClearMetadataPreprocessor

from autograder.nbgrader_plugin import RequireScore
from autograder.trusted import TrustedExecute

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "nn-course"
c.CourseDirectory.source_directory = "course"

# A learner's notebook that never terminates is interrupted after this many seconds per cell.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]

# Every grade cell is scored by the trusted side (autograder/trusted.py): the learner's code runs in an
# isolated kernel and is only called with plain data. RequireScore zeroes any grade cell left without a score.
c.TrustedExecute.isolation = "auto"   # namespace (root on Linux) or limits; see autograder/sandbox.py
c.Autograde.autograde_preprocessors = [
    TrustedExecute,
    RequireScore,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
