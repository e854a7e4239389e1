"""An nbgrader preprocessor that closes the "no result means full credit" loophole.

nbgrader gives full points to a grade cell that shows no result (``determine_grade``). Every grade
cell of this course ends with ``grade(...)``, whose value is the points earned, so a grade cell
without a number in ``[0, points]`` means its result was hidden or replaced: it earns nothing.
Configured in ``nbgrader_config.py`` to run right after execution, outside the learner's kernel.
"""
from __future__ import annotations

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_solution

MISSING_SCORE = "MissingScore"


def shown_score(cell) -> float | None:
    """The number a grade cell ended with, or None if it shows none."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "execute_result":
            text = output.get("data", {}).get("text/plain", "")
            text = "".join(text) if isinstance(text, list) else text
            try:
                return float(text)
            except ValueError:
                return None
    return None


def has_failed(cell) -> bool:
    """True when nbgrader scores the cell 0 anyway (an error or anything on stderr)."""
    return any(o.get("output_type") == "error" or (o.get("output_type") == "stream" and o.get("name") == "stderr")
               for o in cell.get("outputs", []))


def require_score(cell) -> None:
    """Append an error output to a grade cell that does not end with a valid score."""
    if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell) or has_failed(cell):
        return
    points = float(cell.metadata["nbgrader"]["points"])
    score = shown_score(cell)
    if score is not None and 0.0 <= score <= points:
        return
    reason = ("showed no score" if score is None else f"showed {score!r}, outside [0, {points:g}]")
    cell.outputs.append(NotebookNode(
        output_type="error", ename=MISSING_SCORE,
        evalue=f"this grade cell {reason}; it must end with the value of grade(...), so it earns 0 points",
        traceback=[f"{MISSING_SCORE}: this grade cell {reason}; it earns 0 points"],
    ))


class RequireScore(NbGraderPreprocessor):
    """nbgrader preprocessor wrapper of :func:`require_score`."""

    def preprocess_cell(self, cell, resources, index):
        require_score(cell)
        return cell, resources
