"""Execute a notebook in a fresh kernel and score its grade cells the way nbgrader does."""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import determine_grade, is_grade, is_solution

from autograder.api import GRADE_MIME
from autograder.nbgrader_plugin import require_score
from autograder.trusted import TrustedExecute

# As nbgrader's default, plus a quiet kernel log (its start-up warnings are not the learner's business).
KERNEL_ARGUMENTS = ["--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]
GRADE_CALL = re.compile(r"""grade\(\s*["']([^"']+)["']""")


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

    @property
    def score(self) -> float:
        return round(sum(e.points for e in self.exercises), 2)

    @property
    def max_score(self) -> float:
        return sum(e.max_points for e in self.exercises)

    def as_json(self) -> dict:
        return {"notebook": self.notebook, "score": self.score, "max_score": self.max_score,
                "exercises": [asdict(e) for e in self.exercises]}


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook, or raise CourseError saying why it cannot be graded."""
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


def execute(nb: nbformat.NotebookNode, workdir: Path, timeout: int = 120, mode: str = "validate",
            isolation: str = "none"):
    """Run every cell in a fresh kernel (errors do not stop the run); cells over ``timeout`` s are interrupted.

    Grade cells are scored by the trusted side, as at grading (self-paced hidden cases: no course secret).
    """
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    previous = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = mode
    try:
        TrustedExecute(timeout=timeout, extra_arguments=KERNEL_ARGUMENTS, isolation=isolation,
                       use_course_secret=False).preprocess(nb, {"metadata": {"path": str(workdir)}})
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


def score(nb) -> list[ExerciseScore]:
    return [score_cell(cell) for cell in nb.cells
            if cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)]


def run_notebook(path: Path, timeout: int = 120, mode: str = "validate") -> NotebookScore:
    """Read, execute and score one notebook."""
    nb = read_notebook(path)
    start = time.perf_counter()
    execute(nb, path.parent, timeout=timeout, mode=mode)
    return NotebookScore(str(path), score(nb), round(time.perf_counter() - start, 1))
