"""The class report written after grading a class: CSVs, two plots, a Markdown summary and a short text.

Input is the grader's list of per-submission results, one plain dict per student x assignment::

    {"student": "s07", "assignment": "01_neurons_and_parameters", "score": 7.5, "max_score": 10.0,
     "status": "graded" | "not graded" | "no submission", "reasons": [...], "flags": [...],
     "exercises": [{"id": "01.neuron", "points": 2.0, "max_points": 2.0, "status": "passed", "mistakes": [...],
                    "flags": [...]}, ...]}

:func:`write_report` first reduces the results to per-assignment statistics (:class:`AssignmentStats`), then
renders those into ``exercises.csv``, ``students.csv``, ``flagged.csv``, ``score_distribution.png``,
``pass_rates.png`` and ``summary.md``, and returns the text to print at the end of a run. The files are derived
data: every run overwrites them.

Definitions the numbers follow:

- Scores, exercise pass rates, mean points and mistakes count *graded* submissions only: a missing or ungradable
  notebook says nothing about how hard an exercise is. A graded result whose score is missing has no score.
- An exercise is passed with full points (``points >= max_points``); one worth 0 points (a practice exercise)
  is passed when its status is ``passed``, and is never called the hardest.
- A named mistake counts once per submission and exercise; ties keep the order they first appeared in.
- Assignments and exercises are listed in the order they first appear in the results (notebook order).
- A student needs attention when the result carries an integrity flag (its own or one of its exercises'), a
  reason, or a status other than ``graded``. Flagged ones are listed first, then ungraded ones, then the rest.

Learner text is data. The grader's ``nncourse_grading`` metadata is read from grade cells only
(:func:`graded_exercises`): a solution cell, whatever its metadata says, is never an exercise result.
Every string a learner may influence (student ids come from folder names, notebook names, messages,
mistakes) is escaped where it is written: in ``summary.md`` as Markdown text (:func:`markdown_text`, no
raw HTML, link or emphasis), in the CSV files against spreadsheet formulas (:func:`spreadsheet_text`, a
leading ``'`` before ``=``, ``+``, ``-``, ``@``, tab or carriage return, as OWASP advises).
"""
from __future__ import annotations

import csv
import math
import os
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.utils import is_grade, is_solution

from autograder.classroom.notebooks import CourseError

GRADED = "graded"
GRADING_KEY = "nncourse_grading"  # the metadata TrustedExecute writes (autograder.grading.trusted.METADATA_KEY)
FILES = ("summary.md", "exercises.csv", "students.csv", "flagged.csv", "score_distribution.png", "pass_rates.png")
SHOWN_IN_TEXT = 3          # hardest exercises, top mistakes and students named per assignment in the text
LONGEST_LINE_PART = 110    # characters of one student's reasons in the text before it is cut


@dataclass
class ExerciseStats:
    """One exercise of one assignment, over the graded submissions that hold it."""
    assignment: str
    exercise: str
    max_points: float = 0.0
    submissions: int = 0
    full_points: int = 0
    total_points: float = 0.0
    mistakes: Counter = field(default_factory=Counter)

    @property
    def pass_rate(self) -> float | None:
        return self.full_points / self.submissions if self.submissions else None

    @property
    def mean_points(self) -> float | None:
        return self.total_points / self.submissions if self.submissions else None


@dataclass
class AssignmentStats:
    """One assignment: its results (as given), its exercises in notebook order, and its graded scores."""
    assignment: str
    results: list[dict] = field(default_factory=list)
    exercises: dict[str, ExerciseStats] = field(default_factory=dict)

    @property
    def scores(self) -> list[float]:
        return [float(r["score"]) for r in self.results if r.get("status") == GRADED and r.get("score") is not None]

    @property
    def max_score(self) -> float | None:
        maxima = [float(r["max_score"]) for r in self.results if r.get("max_score") is not None]
        return max(maxima) if maxima else None

    def status_counts(self) -> Counter:
        counts = Counter({GRADED: 0, "not graded": 0, "no submission": 0})
        counts.update(r.get("status") or "unknown status" for r in self.results)
        return counts

    def hardest(self) -> list[ExerciseStats]:
        """Exercises that count for the grade, lowest pass rate first (then lowest mean share of the points)."""
        graded = [e for e in self.exercises.values() if e.submissions and e.max_points > 0]
        return sorted(graded, key=lambda e: (e.pass_rate, e.mean_points / e.max_points))

    def top_mistakes(self) -> list[tuple[str, str, int]]:
        """(mistake, exercise, count), most common first, over all the assignment's exercises."""
        found = [(m, e.exercise, n) for e in self.exercises.values() for m, n in e.mistakes.most_common()]
        return sorted(found, key=lambda item: -item[2])

    def needing_attention(self) -> list[dict]:
        def rank(result: dict) -> int:
            return 0 if flags_of(result) else 1 if result.get("status") != GRADED else 2
        return sorted((r for r in self.results if concerns(r)), key=rank)


def flags_of(result: dict) -> list[str]:
    """The result's integrity flags, then its exercises' ones (named by exercise) that it does not already hold."""
    flags = list(result.get("flags") or [])
    for ex in result.get("exercises") or []:
        for flag in ex.get("flags") or []:
            named = f"{ex.get('id')}: {flag}"
            if flag not in flags and named not in flags:
                flags.append(named)
    return flags


def concerns(result: dict) -> list[str]:
    """Why a result needs attention, in one-line parts: integrity flags, an ungraded status, the reasons."""
    status = result.get("status") or "unknown status"
    return ([f"flag: {f}" for f in flags_of(result)] + ([status] if status != GRADED else [])
            + list(result.get("reasons") or []))


def full_points(ex: dict) -> bool:
    """Whether one submission's exercise earned full points (a 0-point exercise: whether it passed)."""
    max_points = float(ex.get("max_points") or 0)
    if max_points <= 0:
        return ex.get("status") == "passed"
    points = float(ex.get("points") or 0)
    return points >= max_points or math.isclose(points, max_points)


def _is_number(value) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value))


def _check(result, where: str) -> None:
    """Raise a one-line :class:`CourseError` when a result lacks what the report needs or holds a non-number."""
    if not isinstance(result, dict) or not result.get("student") or not result.get("assignment"):
        raise CourseError(f"{where} names no student or assignment; each result needs 'student' and 'assignment'")
    where = f"{where} ({result['student']}, {result['assignment']})"
    exercises = result.get("exercises") or []
    if not all(isinstance(ex, dict) and ex.get("id") for ex in exercises):
        raise CourseError(f"{where} has an exercise without an 'id'; each exercise needs one")
    values = [result.get("score"), result.get("max_score")]
    values += [ex.get(key) for ex in exercises for key in ("points", "max_points")]
    if not all(_is_number(v) for v in values):
        raise CourseError(f"{where} has a score or points that are not finite numbers; fix the grader's results")


# --- what the grader wrote into an autograded notebook ---------------------------------------------------------

def is_grade_cell(cell) -> bool:
    """A grade cell as nbgrader restored it from the gradebook: code, ``grade: true``, not a solution cell."""
    return cell.get("cell_type") == "code" and is_grade(cell) and not is_solution(cell)


def graded_exercises(nb) -> list[dict]:
    """The exercise results the grader wrote into an autograded notebook, read from its grade cells only."""
    found = []
    for cell in nb.cells:
        graded = cell.metadata.get(GRADING_KEY) if is_grade_cell(cell) else None
        if isinstance(graded, dict):
            found.append({"id": graded.get("exercise", ""), "points": graded.get("points", 0.0),
                          "max_points": graded.get("max_points", 0.0), "status": graded.get("status"),
                          "mistakes": list(graded.get("mistakes") or []), "flags": list(graded.get("flags") or [])})
    return found


def notebook_grading(nb) -> dict:
    """The notebook's own grading record (isolation, events, flags), as TrustedExecute wrote it."""
    grading = nb.metadata.get(GRADING_KEY)
    return grading if isinstance(grading, dict) else {}


def collect(results: list[dict]) -> list[AssignmentStats]:
    """Per-assignment statistics of the results, assignments and exercises in order of first appearance."""
    assignments: dict[str, AssignmentStats] = {}
    for i, result in enumerate(results):
        _check(result, f"result {i + 1} of {len(results)}")
        stats = assignments.setdefault(result["assignment"], AssignmentStats(result["assignment"]))
        stats.results.append(result)
        if result.get("status") != GRADED:
            continue
        for ex in result.get("exercises") or []:
            ex_stats = stats.exercises.setdefault(ex["id"], ExerciseStats(stats.assignment, ex["id"]))
            ex_stats.max_points = max(ex_stats.max_points, float(ex.get("max_points") or 0))
            ex_stats.submissions += 1
            ex_stats.full_points += full_points(ex)
            ex_stats.total_points += float(ex.get("points") or 0)
            ex_stats.mistakes.update(dict.fromkeys(ex.get("mistakes") or [], 1))
    return list(assignments.values())


def write_report(results: list[dict], out_dir: Path, *, grades_csv: Path | None = None) -> str:
    """Write the class report into ``out_dir`` (created; report files overwritten) and return a short summary."""
    out_dir = Path(out_dir)
    assignments = collect(results)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_exercises_csv(assignments, out_dir / "exercises.csv")
        _write_students_csv(assignments, out_dir / "students.csv")
        _write_flagged_csv(assignments, out_dir / "flagged.csv")
        _plot_score_distribution(assignments, out_dir / "score_distribution.png")
        _plot_pass_rates(assignments, out_dir / "pass_rates.png")
        (out_dir / "summary.md").write_text(_summary_markdown(assignments, out_dir, grades_csv), encoding="utf-8")
    except OSError as exc:
        raise CourseError(f"cannot write the class report into {out_dir}: {exc.strerror or exc}; "
                          "choose a folder you can write to") from exc
    return _summary_text(assignments, out_dir, grades_csv)


# --- numbers as text ---------------------------------------------------------------------------------------

def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _num(x: float | None, decimals: int = 4) -> str:
    """A number as text: at most ``decimals`` decimals, no trailing zeros; blank when there is none."""
    return "" if x is None else f"{round(x, decimals):g}"


def _percent(rate: float | None) -> str:
    return "no submissions" if rate is None else f"{rate:.0%}"


def _mistakes_cell(counts: Counter) -> str:
    return "; ".join(f"{m} ({n})" for m, n in counts.most_common())


def _score_line(stats: AssignmentStats) -> str:
    scores = stats.scores
    if not scores:
        return "no graded scores"
    of = f" of {_num(stats.max_score)}" if stats.max_score is not None else ""
    return f"mean {_num(statistics.mean(scores), 2)}, median {_num(statistics.median(scores), 2)}{of}"


def _counts_line(stats: AssignmentStats) -> str:
    counts = stats.status_counts()
    shown = [f"{n} {status}" for status, n in counts.items() if n or status == GRADED]
    return f"{len(stats.results)} students: " + ", ".join(shown)


def _hardest_part(e: ExerciseStats) -> str:
    return f"{e.exercise} ({_percent(e.pass_rate)} full points)"


def _mistake_part(mistake: tuple[str, str, int]) -> str:
    text, exercise, n = mistake
    return f"{text} ({n}, {exercise})"


def printable(text) -> str:
    """``text`` for a terminal: control characters (escape sequences, carriage returns) shown as ``?``."""
    return "".join("?" if unicodedata.category(char) == "Cc" else char for char in str(text))


def _shorten(text: str, limit: int = LONGEST_LINE_PART) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


# --- CSV files -------------------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may read as the start of a formula


def spreadsheet_text(value):
    """A CSV field a spreadsheet shows as text: a string starting like a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([spreadsheet_text(value) for value in row] for row in rows)


def _write_exercises_csv(assignments: list[AssignmentStats], path: Path) -> None:
    rows = [[e.assignment, e.exercise, _num(e.max_points), e.submissions, _num(e.pass_rate), _num(e.mean_points),
             _mistakes_cell(e.mistakes)] for a in assignments for e in a.exercises.values()]
    _write_csv(path, ["assignment", "exercise", "max_points", "submissions", "pass_rate", "mean_points",
                      "most_common_mistakes"], rows)


def _student_row(r: dict) -> list:
    return [r["student"], r["assignment"], _num(r.get("score")), _num(r.get("max_score")), r.get("status") or "",
            "; ".join(r.get("reasons") or []), "; ".join(flags_of(r))]


def _write_students_csv(assignments: list[AssignmentStats], path: Path) -> None:
    rows = [_student_row(r) for a in assignments for r in sorted(a.results, key=lambda r: str(r["student"]))]
    _write_csv(path, ["student", "assignment", "score", "max_score", "status", "reasons", "flags"], rows)


def _write_flagged_csv(assignments: list[AssignmentStats], path: Path) -> None:
    rows = [_student_row(r) for a in assignments for r in a.needing_attention()]
    _write_csv(path, ["student", "assignment", "score", "max_score", "status", "reasons", "flags"], rows)


# --- plots ------------------------------------------------------------------------------------------------------

def _new_figure(width: float, height: float):
    """A figure drawn by the Agg backend, without touching pyplot or the process-wide backend."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _say_nothing(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#616161")


def _bin_width(top: float) -> float:
    """The narrowest of 0.25, 0.5, 1, 2, 5, 10, 20, 50, ... points that splits 0..top into at most 20 bins."""
    widths = [0.25, 0.5] + [m * 10 ** e for e in range(7) for m in (1, 2, 5)]
    return next((w for w in widths if top / w <= 20), top / 20)


def _plot_score_distribution(assignments: list[AssignmentStats], path: Path) -> None:
    fig = _new_figure(7.0, 1.0 + 2.4 * max(1, len(assignments)))
    fig.suptitle("Total score per student (graded submissions)")
    if not assignments:
        ax = fig.add_subplot()
        ax.set(xlabel="total score", ylabel="students", title="no results")
        _say_nothing(ax, "nothing was graded")
    for i, stats in enumerate(assignments):
        ax = fig.add_subplot(len(assignments), 1, i + 1)
        top = max([stats.max_score or 0.0, *stats.scores]) or 1.0  # a score above the maximum still shows
        step = _bin_width(top)
        edges = [(j - 0.5) * step for j in range(math.ceil(top / step) + 2)]  # one bin centred on each step
        ax.set(xlabel=f"total score (of {_num(top)})", ylabel="students", title=stats.assignment,
               xlim=(edges[0], edges[-1]))
        if stats.scores:
            ax.hist(stats.scores, bins=edges, color=f"C{i % 10}", edgecolor="white")
        else:
            _say_nothing(ax, "no graded submissions")
    fig.savefig(path, dpi=100)


def _plot_pass_rates(assignments: list[AssignmentStats], path: Path) -> None:
    exercises = [(i, e) for i, a in enumerate(assignments) for e in a.exercises.values()]
    fig = _new_figure(7.0, 1.6 + 0.32 * max(1, len(exercises)))
    ax = fig.add_subplot()
    ax.set(xlabel="fraction of graded submissions with full points", ylabel="exercise", xlim=(0, 1),
           title="Pass rate per exercise")
    if not exercises:
        _say_nothing(ax, "no graded exercises")
    labelled: set[int] = set()
    for y, (i, e) in enumerate(exercises):
        label = None if i in labelled else assignments[i].assignment  # one legend entry per assignment
        labelled.add(i)
        ax.barh(y, e.pass_rate or 0.0, color=f"C{i % 10}", label=label)
        note = " (worth 0 points)" if e.max_points <= 0 else ""
        ax.text(min(e.pass_rate or 0.0, 0.9) + 0.01, y, _percent(e.pass_rate) + note, va="center", fontsize=8)
    ax.set_yticks(range(len(exercises)), [e.exercise for _, e in exercises], fontsize=8)
    ax.invert_yaxis()
    if len(assignments) > 1 and exercises:
        ax.legend(fontsize=8, loc="best")
    fig.savefig(path, dpi=100)


# --- summaries --------------------------------------------------------------------------------------------------

def _link(target: Path, out_dir: Path) -> str:
    try:
        return Path(os.path.relpath(target, out_dir)).as_posix()
    except ValueError:  # another drive: no relative path
        return target.as_posix()


_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Characters that can start a link, image, emphasis, code span, math, table cell or heading end in
# Markdown text (CommonMark lets any ASCII punctuation be escaped with a backslash).
_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()#!|~$")


def _escaped(char: str) -> str:
    if char in _HTML_SPECIAL:
        return _HTML_SPECIAL[char]
    return "\\" + char if char in _MARKDOWN_SPECIAL else char


def markdown_text(text) -> str:
    """``text`` as literal Markdown on one line: no raw HTML, link, image, emphasis, code, math or table cell.

    ``://`` becomes ``\\://``, so a URL in the text is not made a link by autolinking renderers.
    """
    escaped = "".join(_escaped(char) for char in " ".join(str(text).split()))
    return escaped.replace("://", "\\://")


def _assignment_markdown(stats: AssignmentStats) -> list[str]:
    """The assignment's section of summary.md; every name and message in it is :func:`markdown_text`."""
    md = markdown_text
    lines = [f"## {md(stats.assignment)}", "", f"- {md(_counts_line(stats))}",
             f"- Score (graded): {_score_line(stats)}"]
    hardest = stats.hardest()
    if hardest:
        e = hardest[0]
        lines.append(f"- Hardest exercise: **{md(e.exercise)}**, {_percent(e.pass_rate)} of {e.submissions} graded "
                     f"submissions with full points, mean {_num(e.mean_points, 2)} of {_num(e.max_points)} points")
    else:
        lines.append("- Hardest exercise: none (no exercise worth points was graded)")
    mistakes = stats.top_mistakes()
    lines.append("- Most common mistakes: " + ("; ".join(md(_mistake_part(m)) for m in mistakes[:5]) or "none named"))
    if stats.exercises:
        lines += ["", "| exercise | max points | graded | full points | mean points | most common mistakes |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {md(e.exercise)} | {_num(e.max_points)} | {e.submissions} | {_percent(e.pass_rate)} | "
                  f"{_num(e.mean_points, 2)} | {md(_mistakes_cell(e.mistakes)) or '—'} |"
                  for e in stats.exercises.values()]
    attention = stats.needing_attention()
    lines += ["", f"### Students needing attention ({len(attention)})", ""]
    lines += [f"- **{md(r['student'])}**: " + md("; ".join(concerns(r))) for r in attention] or ["None."]
    return lines + [""]


def _summary_markdown(assignments: list[AssignmentStats], out_dir: Path, grades_csv: Path | None) -> str:
    students = {r["student"] for a in assignments for r in a.results}
    lines = ["# Class report", ""]
    if not assignments:
        lines += ["No results: nothing was graded, so there is nothing to summarise.", ""]
    else:
        lines += [f"{_count(len(students), 'student')}, {_count(len(assignments), 'assignment')} "
                  f"({sum(len(a.results) for a in assignments)} results).", ""]
    lines += ["Files: [exercises.csv](exercises.csv) (per exercise: pass rate, mean points, mistakes), "
              "[students.csv](students.csv) (per student and assignment), "
              "[flagged.csv](flagged.csv) (students needing attention)."]
    if grades_csv is not None:
        lines.append(f"Grades for the gradebook: [{Path(grades_csv).name}]({_link(Path(grades_csv), out_dir)}).")
    lines += ["", "Scores, pass rates and mistakes count graded submissions only.", "",
              "![Total score per student](score_distribution.png)", "", "![Pass rate per exercise](pass_rates.png)",
              ""]
    for stats in assignments:
        lines += _assignment_markdown(stats)
    return "\n".join(lines)


def _assignment_text(stats: AssignmentStats) -> list[str]:
    lines = [f"{stats.assignment}: {_counts_line(stats)}; {_score_line(stats)}"]
    hardest = stats.hardest()[:SHOWN_IN_TEXT]
    lines.append("  hardest: " + (", ".join(_hardest_part(e) for e in hardest) or "none (no exercise was graded)"))
    mistakes = stats.top_mistakes()[:SHOWN_IN_TEXT]
    lines.append("  top mistakes: " + ("; ".join(_mistake_part(m) for m in mistakes) or "none named"))
    attention = stats.needing_attention()
    if not attention:
        return lines + ["  needing attention: none"]
    more = f" (and {len(attention) - SHOWN_IN_TEXT} more in flagged.csv)" if len(attention) > SHOWN_IN_TEXT else ""
    lines.append(f"  needing attention: {len(attention)}{more}")
    lines += [f"    {printable(r['student'])}: {_shorten(printable('; '.join(concerns(r))))}"
              for r in attention[:SHOWN_IN_TEXT]]
    return lines


def _summary_text(assignments: list[AssignmentStats], out_dir: Path, grades_csv: Path | None) -> str:
    if not assignments:
        lines = ["Class report: no results, nothing was graded."]
    else:
        students = {r["student"] for a in assignments for r in a.results}
        lines = [f"Class report: {_count(len(students), 'student')}, {_count(len(assignments), 'assignment')}"]
        for stats in assignments:
            lines += _assignment_text(stats)
    lines.append(f"Report: {out_dir / 'summary.md'} (with {', '.join(FILES[1:])})")
    if grades_csv is not None:
        lines.append(f"Grades: {grades_csv}")
    return "\n".join(lines)
