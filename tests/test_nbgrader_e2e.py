"""nbgrader end to end on fixture submissions of notebook 01: generate_assignment, autograde, export.

Asserts the exact scores in the gradebook, that tampering and cheating earn nothing, that a notebook
that never terminates is stopped by the timeout, that a notebook that kills its own kernel loses
only the exercise of that cell, and that an invalid notebook is reported with a reason while every other
student is still graded.
"""
import csv
import json

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.classroom.course import generate_learner_versions, run_nbgrader
from tests.fixtures import submissions_01 as subs

pytestmark = pytest.mark.slow
ASSIGNMENT = "01_neurons_and_parameters"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
CELL_TIMEOUT = 30  # seconds per cell: generous for a busy 2-core machine, short enough for the looper


def _submission(released: nbformat.NotebookNode, solutions: dict, grade_cells: dict | None = None):
    nb = nbformat.from_dict(json.loads(json.dumps(released)))
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell.source = solutions[grade_id].strip("\n")
        if grade_cells and grade_id in grade_cells:
            cell.source = grade_cells[grade_id]
    return nb


def _nbgrader(root, *args):
    return run_nbgrader(list(args), root, check=False)


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    release = generate_learner_versions(root / "release", [ASSIGNMENT], gradebook_root=root)
    released = nbformat.read(release / ASSIGNMENT / NOTEBOOK, as_version=4)

    students = {
        "correct": _submission(released, subs.CORRECT_BUT_DIFFERENT),
        "mistake": _submission(released, subs.ONE_MISTAKE),
        "cheater": _submission(released, subs.CHEATER, subs.CHEATER_GRADE_CELLS),
        "looper": _submission(released, subs.NEVER_TERMINATES),
        "crasher": _submission(released, subs.KILLS_KERNEL),
    }
    for student, nb in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)
    broken = root / "submitted" / "broken" / ASSIGNMENT
    broken.mkdir(parents=True)
    (broken / NOTEBOOK).write_text('{"cells": [ this is not JSON')

    autograde = _nbgrader(root, "autograde", ASSIGNMENT, "--create", f"--Execute.timeout={CELL_TIMEOUT}")
    export = _nbgrader(root, "export", f"--to={root / 'grades.csv'}")
    return root, autograde, export


def _score(root, student):
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        return gb.find_submission(ASSIGNMENT, student).score


@pytest.mark.parametrize("student", sorted(subs.EXPECTED))
def test_gradebook_holds_the_exact_score(graded_course, student):
    root, autograde, _ = graded_course
    assert _score(root, student) == pytest.approx(subs.EXPECTED[student], abs=1e-9), autograde.stderr[-3000:]


def test_tampering_and_cheating_earn_nothing(graded_course):
    root, _, _ = graded_course
    autograded = nbformat.read(root / "autograded" / "cheater" / ASSIGNMENT / NOTEBOOK, as_version=4)
    grade_cells = [c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade")]
    restored = next(c for c in grade_cells if c.metadata.nbgrader.grade_id == "grade_01_neuron")
    assert restored.source.startswith("# Check your work"), "nbgrader restores the locked grade cell"
    assert _score(root, "cheater") == 0.0


def test_a_notebook_that_never_terminates_is_stopped_by_the_timeout(graded_course):
    root, _, _ = graded_course
    autograded = nbformat.read(root / "autograded" / "looper" / ASSIGNMENT / NOTEBOOK, as_version=4)
    cell = next(c for c in autograded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "grade_01_neuron")
    report = cell.outputs[0]["data"]["text/plain"]
    assert f"did not finish within {CELL_TIMEOUT} s and was stopped" in report, report
    assert cell.outputs[-1]["data"]["text/plain"] == "0.0"


def test_invalid_notebook_is_reported_with_a_reason_while_others_are_graded(graded_course):
    root, autograde, _ = graded_course
    log = autograde.stdout + autograde.stderr
    assert "broken" in log and ("JSON" in log or "not valid" in log or "Unreadable" in log), log[-3000:]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        graded = {s.student.id for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert set(subs.EXPECTED) <= graded


def test_a_submission_that_kills_its_kernel_loses_only_that_cell(graded_course):
    root, autograde, _ = graded_course
    log = autograde.stdout + autograde.stderr
    assert "crasher/" in log and "the kernel exited with status 1" in log, log[-3000:]
    autograded = nbformat.read(root / "autograded" / "crasher" / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert any("exited with status 1" in event for event in autograded.metadata["nncourse_grading"]["events"])
    assert _score(root, "crasher") == subs.EXPECTED["crasher"]
    assert _score(root, "correct") == subs.EXPECTED["correct"]


def test_export_writes_every_graded_student(graded_course):
    root, _, export = graded_course
    assert export.returncode == 0, export.stderr[-2000:]
    with open(root / "grades.csv") as f:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(f) if row["assignment"] == ASSIGNMENT}
    for student, score in subs.EXPECTED.items():
        assert rows[student] == pytest.approx(score, abs=1e-9)


def test_feedback_names_hidden_cases_without_their_expected_values(graded_course):
    from autograder.grading.secret import load_or_create
    from autograder.registry import EXERCISES

    root, _, _ = graded_course
    result = _nbgrader(root, "generate_feedback", ASSIGNMENT, "--student=mistake")
    assert result.returncode == 0, result.stderr[-2000:]
    html = (root / "feedback" / "mistake" / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    exercise = EXERCISES["01.count_dense_params"]
    hidden = [case for case, is_hidden in exercise.suite(True, load_or_create(root)) if is_hidden]
    assert "hidden check, a random network of" in html
    for case in hidden:
        assert f"expected {exercise.reference(*case.args):,}" not in html
    assert "expected 21, got 16" in html  # the public case still says everything
