"""Grading a whole class: ``python -m autograder grade``, a thin layer over nbgrader's ``autograde``.

For each assignment, every submission in ``submitted/`` is first prepared (:mod:`autograder.classroom.prepare`:
``submitted/`` is never changed; problems become reasons), then graded by nbgrader's own
``autograde`` (through ``NbGraderAPI``, so the course's configuration, the gradebook, late
penalties and the formgrader all work as usual) in parallel worker processes, or on a Dask cluster
with ``scheduler``. Each submission is one task: a broken or hostile one costs only its own grade,
and a worker process that dies is replaced and only its task is retried.

A ledger (``.nncourse/graded.json``) records, per submission, the hash of what the student sent and
of the grader, and the result. Running again grades only what changed (``force`` grades all), and
an interrupted run loses nothing: a submission is in the ledger only once nbgrader has written it.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import sys
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.classroom import course, course_dir, prepare
from autograder.classroom.nbgrader_settings import COURSE_ID
from autograder.classroom.notebooks import CourseError

LEDGER = Path(".nncourse") / "graded.json"
REPORTS = "reports"
LOGS = "logs"
MAX_ATTEMPTS = 2  # a submission whose grading process died this many times is reported, not retried again


# -- in the worker process --------------------------------------------------------------------------
_APIS: dict[str, object] = {}


def die_with_parent() -> None:
    """Linux: SIGKILL this process when the process that started it dies (SIGKILL, OOM, a CI time limit)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _worker_init(root: str) -> None:
    """Workers ignore Ctrl-C (the main process decides what stops) and write what they and the kernels
    they start print to ``logs/worker-<pid>.log``, not over the progress bar."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()  # a killed grade command takes its workers, and so their sandboxed kernels, with it
    path = Path(root) / LOGS / f"worker-{os.getpid()}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)


def _api(root: str):
    from nbgrader.apps import NbGraderAPI

    from autograder.classroom.nbgrader_settings import missing_settings

    if root not in _APIS:
        app = course_dir.nbgrader_app(Path(root), f"--CourseDirectory.submitted_directory={prepare.PREPARED}")
        missing = missing_settings(app.config)
        if missing:
            raise CourseError(f"the course's grading settings are not in force in {root}: {'; '.join(missing)}")
        _APIS[root] = NbGraderAPI(coursedir=app.coursedir, parent=app)
    return _APIS[root]


def grade_submission(root: str, assignment: str, student: str) -> dict:
    """Autograde one prepared submission with nbgrader; never raises (a worker's whole job)."""
    start = time.monotonic()
    try:
        outcome = _api(root).autograde(assignment, student, force=True, create=True)
    except Exception as exc:  # nbgrader's own failures come back in ``outcome``; this is anything else
        outcome = {"success": False, "error": f"{type(exc).__name__}: {exc}", "log": ""}
    log = (outcome.get("log") or "") + (outcome.get("error") or "")
    return {"success": bool(outcome.get("success")), "error": _last_error(outcome.get("error") or ""),
            "log": log, "seconds": round(time.monotonic() - start, 2)}


def _last_error(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- in the main process ----------------------------------------------------------------------------
@dataclass
class Run:
    """What one ``grade`` run did."""

    results: list[dict] = field(default_factory=list)   # one per student x assignment (see class_report)
    graded: int = 0                                     # submissions graded in this run
    unchanged: int = 0                                  # submissions skipped: graded before, nothing changed
    problems: int = 0                                   # graded with a reason or a flag, or not graded
    interrupted: bool = False


def grader_fingerprint(root: Path, assignment: str) -> str:
    """A hash of everything that decides a grade besides the submission: the grader's code, the
    exercise definitions and references, the configuration and the assignment's source."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]  # the whole autograder package
    files = [*sorted(package.rglob("*.py")), *sorted((course.ROOT / "solutions").rglob("*.py")),
             root / course_dir.CONFIG_FILE, *sorted((root / "source" / assignment).glob("*.ipynb"))]
    for path in files:
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


class Ledger:
    """The ledger file: per ``assignment/student``, what was graded and its result."""

    def __init__(self, root: Path):
        self.path = root / LEDGER
        try:
            self.entries = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.entries = {}

    def unchanged(self, assignment: str, student: str, digest: str, grader: str) -> dict | None:
        """The result recorded for this very submission and grader, if any."""
        entry = self.entries.get(f"{assignment}/{student}")
        if entry and entry.get("digest") == digest and entry.get("grader") == grader:
            return entry["result"]
        return None

    def grader_changed(self, assignment: str, student: str, digest: str, grader: str) -> bool:
        """True when this submission was graded, unchanged, by another version of the grader."""
        entry = self.entries.get(f"{assignment}/{student}")
        return bool(entry) and entry.get("digest") == digest and entry.get("grader") != grader

    def record(self, result: dict, digest: str, grader: str) -> None:
        self.entries[f"{result['assignment']}/{result['student']}"] = {"digest": digest, "grader": grader,
                                                                       "result": result}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(json.dumps(self.entries, indent=1, sort_keys=True))
        os.replace(scratch, self.path)  # atomic: an interrupted run leaves the previous ledger whole


def students_with_submissions(root: Path, assignment: str) -> list[str]:
    submitted = root / "submitted"
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir()) if submitted.is_dir() else []


def _result(opened: course_dir.Course, gradebook, ready: prepare.Prepared, outcome: dict) -> dict:
    """The class report's record of one graded submission: gradebook score, exercises, reasons, flags."""
    from nbgrader.api import MissingEntry

    from autograder.classroom.class_report import graded_exercises, notebook_grading

    result = {"student": ready.student, "assignment": ready.assignment, "score": 0.0,
              "max_score": gradebook.find_assignment(ready.assignment).max_score,
              "status": "graded" if outcome["success"] else "not graded",
              "reasons": list(ready.reasons), "flags": [], "exercises": [], "seconds": outcome.get("seconds")}
    if not outcome["success"]:
        result["reasons"].append(f"not graded: {outcome['error'] or 'nbgrader failed'}")
    try:
        result["score"] = float(gradebook.find_submission(ready.assignment, ready.student).score)
    except MissingEntry:
        pass
    for name in opened.notebooks(ready.assignment):
        path = opened.root / "autograded" / ready.student / ready.assignment / name
        if not path.is_file():
            continue
        nb = nbformat.read(path, as_version=4)
        grading = notebook_grading(nb)
        result["reasons"] += [f"{name}: {event}" for event in grading.get("events", [])]
        result["flags"] += list(grading.get("flags", []))
        result["exercises"] += graded_exercises(nb)  # grade cells only: a solution cell's metadata is the learner's
    return result


def finish(root: Path, run: Run) -> str:
    """After a run: nbgrader's ``grades.csv`` and the class report in ``reports/``; the summary to print."""
    from autograder.classroom import class_report

    reports = root / REPORTS
    reports.mkdir(exist_ok=True)
    grades = reports / "grades.csv"
    course.run_nbgrader(["export", f"--to={grades}"], root, own_config=True)
    return class_report.write_report(run.results, reports, grades_csv=grades)


def _executor(root: Path, workers: int, scheduler: str | None) -> Executor:
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise CourseError("--scheduler needs Dask: pip install -c constraints.txt -e '.[cluster]'") from None
        try:
            client = Client(scheduler, timeout=30)
        except OSError as exc:
            raise CourseError(f"no Dask scheduler answers at {scheduler} ({exc})") from None
        return client.get_executor(pure=False)
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init, initargs=(str(root),))


def _shutdown(executor: Executor, *, now: bool) -> None:
    """Stop an executor: ``now`` cancels what has not started and stops the local workers at once."""
    if isinstance(executor, ProcessPoolExecutor):
        if now:
            for process in list((executor._processes or {}).values()):
                process.terminate()
        executor.shutdown(wait=not now, cancel_futures=True)
        return
    executor.shutdown(wait=not now)  # Dask's ClientExecutor cancels its pending futures itself
    executor._client.close()


def grade_class(root: Path | str, assignments: list[str] | None = None, *, workers: int | None = None,
                scheduler: str | None = None, force: bool = False, progress: bool = True,
                log=print) -> Run:
    """Grade every submission of the assignments (see the module docstring); the results of all of them."""
    from nbgrader.api import Gradebook

    opened = course_dir.open_course(root)
    names = course.resolve_assignments(assignments) if assignments else opened.assignments
    unknown = [a for a in names if a not in opened.assignments]
    if unknown:
        raise CourseError(f"{', '.join(unknown)} not released in {opened.root}: run `python -m autograder course init "
                          f"{opened.root} --assignments {' '.join(unknown)}`")
    run, ledger = Run(), Ledger(opened.root)
    todo: list[tuple[prepare.Prepared, str]] = []
    regraded = 0
    submitted = {assignment: students_with_submissions(opened.root, assignment) for assignment in names}
    with Gradebook(opened.db_url, course_id=COURSE_ID) as gradebook:
        for student in sorted({s for students in submitted.values() for s in students}):
            gradebook.update_or_create_student(student)
        everyone = sorted(s.id for s in gradebook.students)
        for assignment in names:
            released, cells = _blanks(opened, assignment)
            grader = grader_fingerprint(opened.root, assignment)
            for student in submitted[assignment]:
                digest = prepare.submission_digest(opened.root / "submitted" / student / assignment)
                before = None if force else ledger.unchanged(assignment, student, digest, grader)
                if before is not None and (opened.root / "autograded" / student / assignment).is_dir():
                    run.results.append(before)
                    run.unchanged += 1
                    continue
                regraded += ledger.grader_changed(assignment, student, digest, grader) and not force
                todo.append((prepare.prepare(opened.root, assignment, student, released, cells), grader))
            run.results += [{"student": student, "assignment": assignment, "score": 0.0,
                             "max_score": gradebook.find_assignment(assignment).max_score, "status": "no submission",
                             "reasons": ["no submission"], "flags": [], "exercises": []}
                            for student in everyone if student not in submitted[assignment]]
    for assignment in names:
        if not submitted[assignment]:
            log(f"No submission of {assignment} yet: hand-ins go in {opened.root / 'submitted'}/<student>/{assignment}/ "
                "(or use --from)")
    if run.unchanged:
        log(f"{run.unchanged} submission(s) unchanged since they were graded: kept (--force grades them again)")
    if regraded:
        log(f"{regraded} unchanged submission(s) graded again: the grader or the course changed since")
    if todo:
        _grade_all(opened, todo, run, ledger, workers or os.cpu_count() or 1, scheduler, progress, log)
    with Gradebook(opened.db_url, course_id=COURSE_ID) as gradebook:  # manual grades made since count too
        for result in run.results:
            if result["status"] == "graded":
                result["score"] = float(gradebook.find_submission(result["assignment"], result["student"]).score)
    run.results.sort(key=lambda r: (names.index(r["assignment"]), r["student"]))
    return run


def _blanks(opened: course_dir.Course, assignment: str) -> tuple[dict, dict]:
    """The released notebooks of an assignment by name, and the gradebook's cells of each."""
    released = {name: nbformat.read(opened.released(assignment) / name, as_version=4)
                for name in opened.notebooks(assignment)}
    return released, prepare.gradebook_cells(opened.db_url, COURSE_ID, assignment, list(released))


def prepare_only(root: Path | str) -> dict[str, list[str]]:
    """Write ``prepared/`` for every submission without grading (a plain nbgrader run can then grade
    it: see bench/grading.py); the students prepared, per assignment."""
    opened = course_dir.open_course(root)
    done = {}
    for assignment in opened.assignments:
        released, cells = _blanks(opened, assignment)
        done[assignment] = [prepare.prepare(opened.root, assignment, student, released, cells).student
                            for student in students_with_submissions(opened.root, assignment)]
    return done


def _grade_all(opened, todo, run: Run, ledger: Ledger, workers: int, scheduler, show_progress: bool, log) -> None:
    """Grade ``todo`` in batches: all at once first; after a worker process died, each unfinished
    submission alone, so the one that kills its grader is found and the others are graded."""
    from tqdm import tqdm

    pending = {(ready.assignment, ready.student): (ready, grader) for ready, grader in todo}
    suspects: set = set()
    bar = tqdm(total=len(pending), unit="submission", desc="grading", disable=not show_progress, dynamic_ncols=True)
    try:
        while pending:
            batches = [([k for k in pending if k not in suspects], workers)] + [([k], 1) for k in pending if k in suspects]
            for keys, size in batches:
                if keys and not _run_batch(opened, keys, size, scheduler, pending, suspects, run, ledger, bar, log):
                    return
    finally:
        bar.close()


def _run_batch(opened, keys, size, scheduler, pending, suspects, run, ledger, bar, log) -> bool:
    """Grade ``keys`` on one executor; False when the run was interrupted.

    The first Ctrl-C cancels what has not started and lets the submissions being graded finish (and
    be recorded), so their kernels are shut down properly; a second one stops the workers at once.
    """
    executor = _executor(opened.root, size, scheduler)
    futures = {executor.submit(grade_submission, str(opened.root), *key): key for key in keys}
    try:
        try:
            for future in as_completed(futures):
                _record(opened, futures[future], future, pending, suspects, run, ledger, bar)
        except KeyboardInterrupt:
            run.interrupted = True
            bar.close()
            running = [f for f, key in futures.items() if key in pending and key not in suspects and not f.cancel()]
            log(f"interrupted: finishing the {len(running)} submission(s) being graded (Ctrl-C again stops at once)")
            for future in as_completed(running):
                _record(opened, futures[future], future, pending, suspects, run, ledger, bar)
    except KeyboardInterrupt:
        _shutdown(executor, now=True)
    else:
        _shutdown(executor, now=False)
    if run.interrupted:
        log(f"interrupted: {len(pending)} submission(s) not graded; run the same command again to finish "
            "(everything graded so far is kept)")
    return not run.interrupted


def _record(opened, key, future, pending, suspects, run: Run, ledger: Ledger, bar) -> None:
    """Record one finished task: its result, the ledger (when nbgrader succeeded) and the progress bar."""
    from nbgrader.api import Gradebook

    ready, grader = pending[key]
    try:
        outcome = future.result()
    except BrokenProcessPool:
        if key not in suspects:
            suspects.add(key)  # graded again alone
            return
        outcome = {"success": False, "error": "the grading process died while grading this submission"}
    except Exception as exc:  # a Dask worker lost, ...: this submission only
        outcome = {"success": False, "error": f"{type(exc).__name__}: {exc}"}
    _save_log(opened.root, key, outcome.get("log", ""))
    with Gradebook(opened.db_url, course_id=COURSE_ID) as gradebook:
        result = _result(opened, gradebook, ready, outcome)
    if outcome["success"]:
        ledger.record(result, ready.digest, grader)
    run.results.append(result)
    run.graded += 1
    del pending[key]
    run.problems += bool(result["reasons"] or result["flags"] or result["status"] != "graded")
    bar.set_postfix_str(f"{run.problems} with problems", refresh=False)
    bar.update()


def _save_log(root: Path, key: tuple[str, str], text: str) -> None:
    """nbgrader's log of one submission, for the instructor: logs/<assignment>/<student>.log."""
    path = root / LOGS / key[0] / f"{key[1]}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
