"""Before grading: the copy of a submission that nbgrader grades, and a reason for every change to it.

nbgrader reads ``submitted/<student>/<assignment>/``; one malformed submission there can abort a
whole class run (a grade cell pasted twice, a solution cell split in two in JupyterLab: "old version
of the nbgrader metadata format"), and a grade cell whose source had hidden tests always warns that
its checksum changed, so a real tamper warning drowns. :func:`prepare` leaves ``submitted/`` as the
student sent it and writes ``prepared/<student>/<assignment>/``, which the grader reads instead:

- a notebook under another name (``... (1).ipynb``) is graded under the expected name;
- a missing notebook, or one that is not valid notebook JSON, is replaced by the blank released
  notebook (so the student is recorded with 0 points and the reason);
- a solution cell split in JupyterLab (both halves keep its metadata) is joined again; any other
  cell that appears more than once keeps its nbgrader role in the first copy only, and the copies
  run as ordinary cells;
- a locked cell left as released gets its full source from the gradebook (nbgrader would restore it
  anyway), so nbgrader's checksum warning fires only for a locked cell that was really changed;
- a deleted grade cell is put back by nbgrader (``OverwriteCells.add_missing_cells``).

Every change is one learner-safe line in ``Prepared.reasons``; ``digest`` identifies the submission
as sent, so an unchanged submission is not graded again.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

PREPARED = "prepared"


@dataclass
class SourceCell:
    """What the gradebook holds of a source cell: its full source and whether it is locked."""

    source: str
    locked: bool


@dataclass
class Prepared:
    student: str
    assignment: str
    digest: str                                       # of the submission as sent ('' when there is none)
    reasons: list[str] = field(default_factory=list)  # one line per change, safe to show the student
    submitted: bool = True                            # False: no submission folder at all


def submission_digest(folder: Path) -> str:
    """A hash of every file of a submission folder (names and bytes), '' when it does not exist."""
    if not folder.is_dir():
        return ""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _nbgrader_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _find_notebook(folder: Path, name: str, released: nbformat.NotebookNode, reasons: list[str]) -> Path | None:
    """The file to grade as ``name``: itself, or the one other notebook that is clearly it."""
    if (folder / name).is_file():
        return folder / name
    others = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if not others:
        return None
    wanted = {_nbgrader_id(c) for c in released.cells} - {None}

    def shared_ids(path: Path) -> int:
        try:
            return len(wanted & {_nbgrader_id(c) for c in json.loads(path.read_text()).get("cells", [])})
        except (ValueError, UnicodeDecodeError, AttributeError, TypeError):
            return 0

    best = max(others, key=shared_ids)
    if len(others) > 1 and shared_ids(best) == 0:
        return None
    reasons.append(f"{best.name} was graded as {name} (it was renamed)")
    return best


def _read(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The notebook in ``path``, or None and why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, "is not a text file"
    try:
        json.loads(text)
    except ValueError as exc:
        return None, f"is not valid notebook JSON (line {exc.lineno}, column {exc.colno})"
    try:
        return nbformat.reads(text, as_version=4), ""
    except Exception as exc:  # nbformat's errors are many kinds; the reason is what matters
        return None, f"is not a Jupyter notebook ({type(exc).__name__})"


def _normalize(nb: nbformat.NotebookNode, released: nbformat.NotebookNode, source_cells: dict[str, SourceCell],
               name: str, reasons: list[str]) -> None:
    """Fix duplicated cells and cell ids, restore untouched locked cells' full source; say what changed."""
    released_source = {_nbgrader_id(c): c.source for c in released.cells if _nbgrader_id(c)}
    seen, ids, cells, merged, copies = set(), set(), [], {}, {}
    for cell in nb.cells:
        if cell.get("id") in ids or not cell.get("id"):
            cell["id"] = uuid.uuid4().hex[:12]
        ids.add(cell["id"])
        grade_id = _nbgrader_id(cell)
        if grade_id is not None and grade_id in seen:
            before = cells[-1] if cells else None
            if (before is not None and _nbgrader_id(before) == grade_id and before.cell_type == cell.cell_type
                    and before.metadata["nbgrader"].get("solution")):  # split in JupyterLab: join it again
                before.source = before.source.rstrip("\n") + "\n" + cell.source
                merged[grade_id] = merged.get(grade_id, 1) + 1
                continue
            del cell.metadata["nbgrader"]
            copies[grade_id] = copies.get(grade_id, 1) + 1
        elif grade_id is not None:
            seen.add(grade_id)
            known = source_cells.get(grade_id)
            if known is not None and known.locked and cell.source.strip() == released_source.get(grade_id, "").strip():
                cell.source = known.source
        cells.append(cell)
    nb.cells = cells
    reasons += [f"{name}: cell '{grade_id}' was split into {count} cells: graded as one" for grade_id, count in merged.items()]
    reasons += [f"{name}: cell '{grade_id}' appears {count} times (copied): the first keeps its role, the copies "
                "run as ordinary cells" for grade_id, count in copies.items()]
    for grade_id, known in source_cells.items():
        if grade_id not in seen and grade_id in released_source:
            reasons.append(f"{name}: cell '{grade_id}' was deleted"
                           + (" (the original was put back)" if known.locked else ""))
    for cell in nb.cells:
        grade_id = _nbgrader_id(cell)
        known = source_cells.get(grade_id) if grade_id else None
        if known is not None and known.locked and cell.source != known.source:
            reasons.append(f"{name}: locked cell '{grade_id}' was changed: graded with the original")


def prepare(root: Path, assignment: str, student: str, released: dict[str, nbformat.NotebookNode],
            source_cells: dict[str, dict[str, SourceCell]]) -> Prepared:
    """Write ``root/prepared/<student>/<assignment>/`` from the submission (see the module docstring).

    ``released``: the blank released notebook of each notebook name; ``source_cells``: per notebook
    name, the gradebook's cells by grade id.
    """
    folder = root / "submitted" / student / assignment
    out = root / PREPARED / student / assignment
    result = Prepared(student, assignment, submission_digest(folder), submitted=folder.is_dir())
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if (folder / "timestamp.txt").is_file():
        shutil.copy2(folder / "timestamp.txt", out / "timestamp.txt")
    for name, blank in released.items():
        path = _find_notebook(folder, name, blank, result.reasons) if folder.is_dir() else None
        nb, why = _read(path) if path is not None else (None, "")
        if path is None:
            result.reasons.append(f"{name} is missing from the submission: graded as not attempted (0 points)")
        elif nb is None:
            result.reasons.append(f"{path.name} {why}: graded as not attempted (0 points) "
                                  "until a readable notebook is handed in")
        if nb is None:
            nb = nbformat.from_dict(json.loads(json.dumps(blank)))
        _normalize(nb, blank, source_cells.get(name, {}), name, result.reasons)
        nbformat.write(nb, out / name)
    return result


def gradebook_cells(db_url: str, course_id: str, assignment: str, notebooks: list[str]) -> dict[str, dict[str, SourceCell]]:
    """Per notebook of ``assignment``, the gradebook's source cells by grade id."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id=course_id) as gradebook:
        return {name: {cell.name: SourceCell(cell.source, bool(cell.locked))
                       for cell in gradebook.find_notebook(Path(name).stem, assignment).source_cells}
                for name in notebooks}
