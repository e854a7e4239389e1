"""Execute a notebook in a fresh kernel and score its grade cells the way nbgrader does."""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder.learner.api import GRADE_MIME

# nbformat, nbgrader and the trusted side are imported where they are used: `progress` and the
# one-line errors of the command line should not wait for them.

# As nbgrader's default, plus a quiet kernel log (its start-up warnings are not the learner's business).
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
GRADE_CALL = re.compile(r"""grade\(\s*["']([^"']+)["']""")

# Which cases a run scored (NotebookScore.cases), and how, in the words `check` prints.
GRADED_SET = "graded set: public and self-paced hidden cases"
PUBLIC_ONLY = "public cases only"
HOW_SCORED = {
    GRADED_SET: "scored outside the notebook's kernel, as `nbgrader autograde` scores them (a class's hidden "
                "cases come from its course secret, so a class grade can differ)",
    PUBLIC_ONLY: "scored by the notebook's own check cells, as the notebook shows them and `nbgrader validate` "
                 "scores them (without --public-only, check runs the graded set: public and hidden cases)",
}


class CourseError(Exception):
    """Input the command line cannot work with; the message is shown as one line."""


@dataclass
class ExerciseScore:
    id: str
    points: float
    max_points: float
    status: str
    message: str


@dataclass
class NotebookScore:
    notebook: str
    exercises: list[ExerciseScore] = field(default_factory=list)
    seconds: float = 0.0
    cases: str = GRADED_SET

    @property
    def score(self) -> float:
        return round(sum(e.points for e in self.exercises), 2)

    @property
    def max_score(self) -> float:
        return sum(e.max_points for e in self.exercises)

    def as_json(self) -> dict:
        return {"notebook": self.notebook, "cases": self.cases, "score": self.score, "max_score": self.max_score,
                "exercises": [asdict(e) for e in self.exercises]}


def read_notebook(path: Path):
    """Read and validate a notebook, or raise CourseError saying why it cannot be graded."""
    import nbformat

    if not path.exists():
        raise CourseError(f"no such file: {path}")
    if path.is_dir():
        raise CourseError(f"{path} is a folder, not a notebook")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except json.JSONDecodeError as exc:
        raise CourseError(f"{path} is not a notebook: invalid JSON ({exc})") from None
    except UnicodeDecodeError:
        raise CourseError(f"{path} is not a notebook: it is not text") from None
    except Exception as exc:  # nbformat's validation and reader errors
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CourseError(f"{path} is not a valid notebook: {first_line}") from None
    return nb


def execute(nb, workdir: Path, timeout: int = 120, mode: str = "validate", isolation: str = "none",
            public_only: bool = False):
    """Run every cell in a fresh kernel (errors do not stop the run); cells over ``timeout`` s are interrupted.

    Grade cells are scored by the trusted side, as at grading (self-paced hidden cases: no course secret).
    With ``public_only``, the hidden-test blocks are removed from the grade cells (as in a learner's
    copy) and nbgrader's own ``Execute`` runs the notebook, as ``nbgrader validate`` does: each grade
    cell ends with the points of the public cases its kernel judged.
    """
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    previous = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = mode
    resources = {"metadata": {"path": str(workdir)}}
    try:
        if public_only:
            from nbgrader.preprocessors import ClearHiddenTests, Execute

            ClearHiddenTests().preprocess(nb, {})
            Execute(timeout=timeout, extra_arguments=KERNEL_ARGUMENTS).preprocess(nb, resources)
        else:
            from autograder.grading.trusted import TrustedExecute

            TrustedExecute(timeout=timeout, extra_arguments=KERNEL_ARGUMENTS, isolation=isolation,
                           use_course_secret=False).preprocess(nb, resources)
    finally:
        if previous is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = previous
    return nb


def _last_record(cell) -> dict | None:
    records = [o["data"][GRADE_MIME] for o in cell.outputs
               if o.get("output_type") == "display_data" and GRADE_MIME in o.get("data", {})]
    return records[-1] if records else None


def _error_message(cell) -> str:
    for output in cell.outputs:
        if output.get("output_type") == "error":
            return f"the grade cell stopped with {output.ename}: {output.evalue}"
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return "the grade cell wrote to stderr, which nbgrader scores as 0: " + output.text.strip()[:200]
    return ""


def score_cell(cell) -> ExerciseScore:
    """Points of one executed grade cell, by nbgrader's own rule after RequireScore."""
    from nbgrader.utils import determine_grade

    from autograder.grading.require_score import require_score

    require_score(cell)
    points, max_points = determine_grade(cell)
    record = _last_record(cell) or {}
    match = GRADE_CALL.search(cell.source)
    exercise_id = record.get("id") or (match.group(1) if match else cell.metadata["nbgrader"]["grade_id"])
    error = _error_message(cell)
    if error:
        return ExerciseScore(exercise_id, float(points), max_points, "error", error)
    return ExerciseScore(exercise_id, float(points), max_points, record.get("status", "passed"),
                         record.get("message", ""))


def _grade_cells(nb) -> list:
    from nbgrader.utils import is_grade, is_solution

    return [cell for cell in nb.cells if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)]


def score(nb) -> list[ExerciseScore]:
    return [score_cell(cell) for cell in _grade_cells(nb)]


def course_exercises(nb, path: Path) -> list[str]:
    """The ids of the course exercises a notebook's check cells grade, in order.

    Raises CourseError (one line) for a notebook with nothing of this course to check: no check
    cells, check cells that grade no exercise, or a check cell that names an exercise the course
    does not have (naming the ids it does have).
    """
    import difflib

    from autograder import registry

    cells = _grade_cells(nb)
    if not cells:
        raise CourseError(f"{path} has no check cells: it is not a notebook of this course, so there is nothing to check")
    ids = []
    for cell in cells:
        for exercise_id in GRADE_CALL.findall(cell.source):
            if exercise_id not in registry.EXERCISES:
                prefix = exercise_id.split(".")[0] + "."
                same_notebook = [i for i in sorted(registry.EXERCISES) if i.startswith(prefix)]
                known = (f"the known {prefix}* exercises are {', '.join(same_notebook)}" if same_notebook
                         else f"known: {', '.join(sorted(registry.EXERCISES))}")
                close = difflib.get_close_matches(exercise_id, list(registry.EXERCISES), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise CourseError(f"{path}: check cell {cell.metadata['nbgrader'].get('grade_id', '?')!r} grades "
                                  f"an unknown exercise {exercise_id!r}{hint}; {known}")
            ids.append(exercise_id)
    if not ids:
        raise CourseError(f"{path}: its check cells grade no exercise of this course, so there is nothing to check")
    return list(dict.fromkeys(ids))


def run_notebook(path: Path, timeout: int = 120, mode: str = "validate", *, public_only: bool = False,
                 course_only: bool = False) -> NotebookScore:
    """Read, execute and score one notebook (``public_only``: see :func:`execute`).

    With ``course_only``, a notebook that is not one of this course's (:func:`course_exercises`)
    raises CourseError before anything runs.
    """
    nb = read_notebook(path)
    if course_only:
        course_exercises(nb, path)
    start = time.perf_counter()
    execute(nb, path.parent, timeout=timeout, mode=mode, public_only=public_only)
    return NotebookScore(str(path), score(nb), round(time.perf_counter() - start, 1),
                         PUBLIC_ONLY if public_only else GRADED_SET)
