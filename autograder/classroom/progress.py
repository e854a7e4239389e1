"""A self-paced learner's progress, read from their own saved notebooks.

``python -m autograder progress [FOLDER]`` (default: the workspace ``make lab`` fills) and
``show()`` in a notebook cell list, for every check cell of every course notebook under the folder,
whether its exercise is *done* (full points), *partial* (tried, not yet full points) or
*untouched* (its solution is still the stub, or its check cell never ran), with the points the
check cell showed when it last ran. Nothing is executed and nothing is sent anywhere: the numbers
are the ones the learner's own runs left in the saved files (the check cell's record, MIME
``application/vnd.nncourse.grade+json``, and the number it ended with). ``check`` runs a notebook
afresh.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder.classroom.notebooks import CourseError
from autograder.learner.api import GRADE_MIME
from autograder.learner.judge import NOT_ATTEMPTED

DONE, PARTIAL, UNTOUCHED = "done", "partial", "untouched"
STUB = "raise NotImplementedError()"
CHECKPOINTS = ".ipynb_checkpoints"
GRADE_CALL = re.compile(r"""grade\(\s*["']([^"']+)["']\s*(?:,\s*([A-Za-z_]\w*))?""")
DEFINITION = re.compile(r"^(?:def|class)\s+([A-Za-z_]\w*)|^([A-Za-z_]\w*)\s*=", re.M)
WHERE_FROM = ("Points are the ones your own runs left in your saved notebooks (what each check cell showed when it\n"
              "last ran; save a notebook to count its latest run). Nothing was run and nothing was sent anywhere;\n"
              "`python -m autograder check NOTEBOOK` runs a notebook afresh, hidden cases included.")


@dataclass
class ExerciseProgress:
    id: str
    status: str
    points: float
    max_points: float
    note: str = ""


@dataclass
class NotebookProgress:
    notebook: str  # relative to the folder read
    exercises: list[ExerciseProgress] = field(default_factory=list)

    @property
    def points(self) -> float:
        return round(sum(e.points for e in self.exercises), 2)

    @property
    def max_points(self) -> float:
        return round(sum(e.max_points for e in self.exercises), 2)

    def count(self, status: str) -> int:
        return sum(e.status == status for e in self.exercises)


@dataclass
class Progress:
    folder: str
    notebooks: list[NotebookProgress] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "name: why" for .ipynb files that could not be read

    def best(self) -> dict[str, ExerciseProgress]:
        """Each exercise once (a copy of a notebook does not count twice), with its best result."""
        rank = {UNTOUCHED: 0, PARTIAL: 1, DONE: 2}
        best: dict[str, ExerciseProgress] = {}
        for nb in self.notebooks:
            for e in nb.exercises:
                old = best.get(e.id)
                if old is None or (rank[e.status], e.points) > (rank[old.status], old.points):
                    best[e.id] = e
        return best


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value or "")


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _is_check_cell(cell: dict) -> bool:
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _defines(source: str) -> set[str]:
    """Names a cell defines at top level (functions, classes, assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a half-written solution: fall back to the obvious lines
        return {a or b for a, b in DEFINITION.findall(source)}
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _solution_cells(cells: list[dict], index: int, name: str | None) -> list[dict]:
    """The solution cells an exercise's check cell checks: the last one before it that defines the
    checked name, else those since the previous check cell."""
    before = cells[:index]
    if name:
        for cell in reversed(before):
            if _nbgrader(cell).get("solution") and name in _defines(_text(cell.get("source"))):
                return [cell]
    since = []
    for cell in reversed(before):
        if _is_check_cell(cell):
            break
        if _nbgrader(cell).get("solution"):
            since.append(cell)
    return since


def _shown_points(outputs: list[dict]) -> float | None:
    """The number the check cell ended with (its last execute_result), if any."""
    for output in reversed(outputs):
        if output.get("output_type") == "execute_result":
            try:
                return float(_text(output.get("data", {}).get("text/plain")))
            except ValueError:
                return None
    return None


def _record(outputs: list[dict]) -> dict:
    records = [o["data"][GRADE_MIME] for o in outputs if o.get("output_type") == "display_data"
               and isinstance(o.get("data", {}).get(GRADE_MIME), dict)]
    return records[-1] if records else {}


def _failure(outputs: list[dict]) -> str:
    """Why nbgrader would score the cell 0 whatever it showed: an error or output on stderr."""
    for output in outputs:
        if output.get("output_type") == "error":
            return f"the check cell stopped with {output.get('ename')}: {output.get('evalue', '')}".strip()
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return "the check cell wrote to stderr, which scores 0"
    return ""


def _short(text: str, width: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 1] + "…"


def exercise_progress(cells: list[dict], index: int) -> ExerciseProgress:
    """Where one check cell's exercise stands, from the saved outputs alone."""
    cell = cells[index]
    source, outputs = _text(cell.get("source")), cell.get("outputs") or []
    meta, record = _nbgrader(cell), _record(outputs)
    match = GRADE_CALL.search(source)
    exercise_id = record.get("id") or (match.group(1) if match else meta.get("grade_id", f"cell {index}"))
    max_points = float(meta.get("points", record.get("max_points", 0)) or 0)
    solutions = _solution_cells(cells, index, match.group(2) if match else None)
    if solutions and all(STUB in _text(s.get("source")) for s in solutions):
        return ExerciseProgress(exercise_id, UNTOUCHED, 0.0, max_points)
    if not outputs and cell.get("execution_count") is None:
        return ExerciseProgress(exercise_id, UNTOUCHED, 0.0, max_points,
                                "code written, check cell not run yet" if solutions else "check cell not run yet")
    if record.get("status") == NOT_ATTEMPTED:
        return ExerciseProgress(exercise_id, UNTOUCHED, 0.0, max_points, "not attempted yet")
    failure = _failure(outputs)
    points = _shown_points(outputs)
    if points is None:
        points = float(record.get("points", 0.0) or 0.0)
    if failure:
        points = 0.0
    elif not 0.0 <= points <= max_points + 1e-9:
        failure, points = f"the check cell showed {points:g}, outside [0, {max_points:g}]", 0.0
    status = DONE if max_points > 0 and points >= max_points - 1e-9 else PARTIAL
    note = failure or ("" if status == DONE else record.get("message", ""))
    if match and not record and not failure:  # grade() of an unknown id shows no record and 0
        from autograder.registry import EXERCISES

        if match.group(1) not in EXERCISES:
            note = f"{match.group(1)!r} is not an exercise of this course; check the id in grade(...)"
    counts = [s.get("execution_count") for s in solutions]
    if solutions and cell.get("execution_count") is not None and all(c is not None for c in counts) \
            and max(counts) > cell["execution_count"]:
        note = "changed since its check ran: run the check cell again" + (f"; {note}" if note else "")
    return ExerciseProgress(exercise_id, status, round(points, 2), max_points, _short(note))


def notebook_progress(path: Path, folder: Path) -> NotebookProgress | None:
    """A notebook's exercises, or None when it has no check cells (not a course notebook).

    Raises ValueError when the file cannot be read as a notebook.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(type(exc).__name__ if not str(exc) else str(exc).splitlines()[0]) from None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        raise ValueError("no list of cells")
    cells = [c for c in cells if isinstance(c, dict)]
    indices = [i for i, c in enumerate(cells) if _is_check_cell(c)]
    if not indices:
        return None
    return NotebookProgress(str(path.relative_to(folder)), [exercise_progress(cells, i) for i in indices])


def collect(folder: Path | str | None = None) -> Progress:
    """Progress over every saved notebook under ``folder`` (default: the learner workspace)."""
    from autograder.classroom.course import DEFAULT_WORKSPACE

    folder = Path(folder if folder is not None else DEFAULT_WORKSPACE).expanduser().resolve()
    if not folder.is_dir():
        hint = " (`make lab` creates it)" if folder == DEFAULT_WORKSPACE else ""
        raise CourseError(f"no such folder: {folder}{hint}")
    progress = Progress(str(folder))
    for path in sorted(folder.rglob("*.ipynb")):
        if CHECKPOINTS in path.relative_to(folder).parts or not path.is_file():
            continue
        try:
            nb = notebook_progress(path, folder)
        except ValueError as exc:
            progress.skipped.append(f"{path.relative_to(folder)}: not a readable notebook ({_short(exc, 60)})")
            continue
        if nb is not None:
            progress.notebooks.append(nb)
    return progress


def _points(points: float, max_points: float) -> str:
    return f"{points:g} / {max_points:g}"


def _counts(exercises) -> str:
    statuses = [e.status for e in exercises]
    return ", ".join(f"{statuses.count(s)} {s}" for s in (DONE, PARTIAL, UNTOUCHED))


def render(progress: Progress) -> str:
    """The progress as plain text: a table per notebook, then the totals."""
    if not progress.notebooks:
        lines = [f"No course notebooks under {progress.folder}: nothing to report yet "
                 "(`make lab` copies the course there)."]
        return "\n".join(lines + [f"skipped {s}" for s in progress.skipped])
    lines = [f"Progress in {progress.folder}", WHERE_FROM, ""]
    for nb in progress.notebooks:
        lines.append(f"{nb.notebook}: {_points(nb.points, nb.max_points)} points ({_counts(nb.exercises)})")
        rows = [("exercise", "status", "points", "")] + [
            (e.id, e.status, _points(e.points, e.max_points), e.note) for e in nb.exercises]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines += ["  " + "  ".join([*(cell.ljust(w) for cell, w in zip(row[:3], widths)), row[3]]).rstrip()
                  for row in rows]
        lines.append("")
    return "\n".join(lines + _totals(progress))


def _totals(progress: Progress) -> list[str]:
    best = progress.best()
    total = round(sum(e.points for e in best.values()), 2)
    possible = round(sum(e.max_points for e in best.values()), 2)
    lines = [f"All notebooks: {_points(total, possible)} points; {_counts(best.values())} of {len(best)} exercises."]
    if len(best) < sum(len(nb.exercises) for nb in progress.notebooks):
        lines.append("(An exercise found in several notebooks counts once, with its best result.)")
    return lines + [f"skipped {s}" for s in progress.skipped]


def _html(progress: Progress) -> str:
    from html import escape

    if not progress.notebooks:
        return f"<p>{escape(render(progress))}</p>"
    colour = {DONE: "#2e7d32", PARTIAL: "#ef6c00", UNTOUCHED: "#757575"}
    parts = [f"<p><b>Progress in {escape(progress.folder)}</b><br><i>{escape(WHERE_FROM)}</i></p>"]
    for nb in progress.notebooks:
        parts.append(f"<p><b>{escape(nb.notebook)}</b>: {_points(nb.points, nb.max_points)} points "
                     f"({_counts(nb.exercises)})</p><table><tr><th>exercise</th><th>status</th><th>points</th>"
                     "<th></th></tr>")
        parts += [f"<tr><td><code>{escape(e.id)}</code></td><td style='color:{colour[e.status]}'>{e.status}</td>"
                  f"<td>{_points(e.points, e.max_points)}</td><td>{escape(e.note)}</td></tr>" for e in nb.exercises]
        parts.append("</table>")
    parts += [f"<p>{escape(line)}</p>" for line in _totals(progress)]
    return "\n".join(parts)


def figure(progress: Progress):
    """A bar chart of points per notebook: earned over possible. A matplotlib Figure (no pyplot, no GUI)."""
    from matplotlib.figure import Figure

    names = [Path(nb.notebook).stem for nb in progress.notebooks]
    fig = Figure(figsize=(max(5.0, 1.3 * len(names) + 2), 3.6), layout="constrained")
    ax = fig.add_subplot()
    x = range(len(names))
    ax.bar(x, [nb.max_points for nb in progress.notebooks], color="#e0e0e0", edgecolor="#9e9e9e", label="possible")
    ax.bar(x, [nb.points for nb in progress.notebooks], color="#2e7d32", width=0.6, label="earned")
    for i, nb in enumerate(progress.notebooks):
        ax.text(i, nb.max_points, _points(nb.points, nb.max_points), ha="center", va="bottom", fontsize=8)
    ax.set_xticks(list(x), [n.replace("_", " ", 1).replace("_", "\n", 1).replace("_", " ") for n in names],
                  fontsize=8)
    ax.set_ylabel("points")
    ax.set_title("Your progress (points your saved notebooks showed)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    ax.margins(y=0.15)
    return fig


def plot(progress: Progress, path: Path | str) -> Path:
    """Write :func:`figure` to ``path`` (PNG by its suffix) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure(progress).savefig(path, dpi=110)
    return path


def show(folder: Path | str | None = None) -> None:
    """In a notebook: display the progress table and its bar chart (elsewhere: print the table)."""
    progress = collect(folder)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        get_ipython = None
    if get_ipython is None or get_ipython() is None:
        print(render(progress))
        return
    display({"text/plain": render(progress), "text/html": _html(progress)}, raw=True)
    if progress.notebooks:  # a PNG made here: no pyplot, so it shows whatever backend the kernel has
        from io import BytesIO

        from IPython.display import Image

        png = BytesIO()
        figure(progress).savefig(png, format="png", dpi=100)
        display(Image(data=png.getvalue(), format="png"))
