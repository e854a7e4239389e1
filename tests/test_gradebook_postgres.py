"""nbgrader's gradebook on a real PostgreSQL server (tests/pg_server.py), as a class-scale grading run uses it.

For any URL, ``Gradebook`` creates the tables with SQLAlchemy's ``create_all`` and, on an empty
database, stamps it with the alembic head (running the ``alembic`` executable found on PATH); no
migration runs. Two processes doing that at once on an empty database could race, so the schema is
created once, by the test, before any writer starts.

Concurrent writers: one spawned process per student, released together by a barrier once each holds
its own connection, adds that student's submission and sets its grades. Every row must then be there
exactly once with its value, and running the same writers again must change nothing.

A real nbgrader run: ``generate_assignment`` and ``autograde --create`` of notebook 01 with
``--CourseDirectory.db_url`` pointing at the server, on one correct submission; its exact score must
be in the PostgreSQL gradebook (and no ``gradebook.db`` file appear).
"""
from __future__ import annotations

import json
import multiprocessing
import queue
import threading

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.classroom.course import run_nbgrader, tool_env
from tests.fixtures import submissions_01 as subs

pytestmark = pytest.mark.slow

COURSE = "nn-course"  # the course_id of nbgrader_config.py
WRITERS_ASSIGNMENT, WRITERS_NOTEBOOK = "pg_concurrent_writers", "exercises"
GRADE_CELLS = ("grade_a", "grade_b", "grade_c")
STUDENTS = tuple(f"student{i:02d}" for i in range(4))  # more writers than a 2-core machine has cores
ROUNDS = 2  # the second writes the same grades again: nothing may change
BARRIER_TIMEOUT_S = 120  # all writers start within this, even on a busy 2-core machine
ASSIGNMENT = "01_neurons_and_parameters"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


def _points(student: str, cell: str) -> float:
    """The score each writer gives: different for every (student, cell), so a mixed-up row shows."""
    return STUDENTS.index(student) + GRADE_CELLS.index(cell) / 4


def _write_grades(url: str, student: str, barrier, outcomes) -> None:
    """One writer process, for every round: add ``student``'s submission (or find it) and set its grades.

    The barrier (every writer and the test) starts each round for all writers at once and holds them
    at its end while the test reads the rows. Reports "ok" or the error; an error breaks the barrier.
    """
    try:
        with Gradebook(url, course_id=COURSE) as gb:
            for _ in range(ROUNDS):
                barrier.wait(BARRIER_TIMEOUT_S)
                gb.update_or_create_submission(WRITERS_ASSIGNMENT, student)
                for cell in GRADE_CELLS:
                    grade = gb.find_grade(cell, WRITERS_NOTEBOOK, WRITERS_ASSIGNMENT, student)
                    grade.manual_score = _points(student, cell)
                gb.db.commit()
                barrier.wait(BARRIER_TIMEOUT_S)
        outcomes.put((student, "ok"))
    except Exception as error:  # reported to the test, which fails with it
        barrier.abort()
        outcomes.put((student, f"{type(error).__name__}: {error}"))


def _run_writers(url: str) -> tuple[dict[str, str], list[list[tuple]]]:
    """Every writer at once, one spawned process per student, for ROUNDS rounds.

    Returns the writers' outcomes by student and the grade rows read after each round.
    """
    context = multiprocessing.get_context("spawn")
    barrier, outcomes = context.Barrier(len(STUDENTS) + 1), context.Queue()
    writers = [context.Process(target=_write_grades, args=(url, student, barrier, outcomes)) for student in STUDENTS]
    for writer in writers:
        writer.start()
    rows_after_round = []
    try:
        for _ in range(ROUNDS):
            barrier.wait(BARRIER_TIMEOUT_S)  # the round starts ...
            barrier.wait(BARRIER_TIMEOUT_S)  # ... and every writer has committed
            rows_after_round.append(_grade_rows(url))
    except threading.BrokenBarrierError:  # a writer failed: its outcome says why
        barrier.abort()
    for writer in writers:
        writer.join(timeout=BARRIER_TIMEOUT_S)
    reported = {}
    while True:  # every writer has exited, so all it put is in the queue already
        try:
            student, outcome = outcomes.get_nowait()
        except queue.Empty:
            break
        reported[student] = outcome
    assert [writer.exitcode for writer in writers] == [0] * len(writers), reported
    return reported, rows_after_round


def _grade_rows(url: str) -> list[tuple[str, str, str, float | None]]:
    """Every grade row of the writers' assignment: (student, notebook, cell, manual score), sorted."""
    with Gradebook(url, course_id=COURSE) as gb:
        return sorted((submission.student_id, notebook.name, grade.name, grade.manual_score)
                      for submission in gb.find_assignment(WRITERS_ASSIGNMENT).submissions
                      for notebook in submission.notebooks
                      for grade in notebook.grades)


def test_concurrent_writers_each_leave_their_rows_exactly_once(postgres_url, monkeypatch):
    monkeypatch.setenv("PATH", tool_env()["PATH"])  # Gradebook stamps a new database with the `alembic` on PATH
    with Gradebook(postgres_url, course_id=COURSE) as gb:
        gb.add_assignment(WRITERS_ASSIGNMENT)
        gb.add_notebook(WRITERS_NOTEBOOK, WRITERS_ASSIGNMENT)
        for cell in GRADE_CELLS:
            gb.add_grade_cell(cell, WRITERS_NOTEBOOK, WRITERS_ASSIGNMENT, max_score=10, cell_type="code")
        for student in STUDENTS:
            gb.add_student(student)
    expected = sorted((student, WRITERS_NOTEBOOK, cell, _points(student, cell))
                      for student in STUDENTS for cell in GRADE_CELLS)

    outcomes, rows_after_round = _run_writers(postgres_url)

    assert outcomes == {student: "ok" for student in STUDENTS}
    assert rows_after_round[0] == expected
    assert rows_after_round[1] == expected, "writing the same grades again must not add or change rows"
    with Gradebook(postgres_url, course_id=COURSE) as gb:
        assert sorted(student.id for student in gb.students) == sorted(STUDENTS)
        assert [a.name for a in gb.assignments].count(WRITERS_ASSIGNMENT) == 1


def _submission(released: nbformat.NotebookNode, solutions: dict) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(json.loads(json.dumps(released)))
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id].strip("\n")
    return nb


def test_autograde_records_the_exact_score_in_postgres(postgres_url, tmp_path):
    root, db_url = tmp_path / "course", f"--CourseDirectory.db_url={postgres_url}"
    release = root / "release"
    root.mkdir()
    run_nbgrader(["generate_assignment", ASSIGNMENT, "--force", f"--CourseDirectory.release_directory={release}",
                  db_url], root)
    released = nbformat.read(release / ASSIGNMENT / NOTEBOOK, as_version=4)
    folder = root / "submitted" / "correct" / ASSIGNMENT
    folder.mkdir(parents=True)
    nbformat.write(_submission(released, subs.CORRECT_BUT_DIFFERENT), folder / NOTEBOOK)

    autograde = run_nbgrader(["autograde", ASSIGNMENT, "--create", db_url], root, check=False)

    assert autograde.returncode == 0, autograde.stderr[-3000:]
    with Gradebook(postgres_url, course_id=COURSE) as gb:
        submission = gb.find_submission(ASSIGNMENT, "correct")
        assert (submission.score, submission.max_score) == (subs.EXPECTED["correct"], 10.0), autograde.stderr[-3000:]
    assert not (root / "gradebook.db").exists(), "nbgrader wrote a SQLite gradebook instead of PostgreSQL's"
