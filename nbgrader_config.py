"""nbgrader configuration for the course (instructor side).

Run nbgrader from the repository root, or through ``python -m autograder``.
"""
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, Execute, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)
from nbconvert.preprocessors import ClearMetadataPreprocessor

from autograder.nbgrader_plugin import RequireScore

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "nn-course"
c.CourseDirectory.source_directory = "course"

# A learner's notebook that never terminates is interrupted after this many seconds per cell.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.extra_arguments = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]

# Grade cells must end with the number grade(...) returns; RequireScore runs outside the kernel.
c.Autograde.autograde_preprocessors = [
    Execute,
    RequireScore,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]
