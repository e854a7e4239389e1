"""Grades an instructor can defend, proven through real nbgrader on notebook 01.

One class run grades a correct learner-style submission, the reference, every attack family of
``tests/fixtures/hostile_01.py`` and the resource bombs; a second run grades a submission that
tries to rewrite the grader's files, then a correct one and an untouched one. Each attacker must
earn exactly what its honest work earns and be flagged; the honest ones keep full marks; nothing a
submission starts outlives its grading; the grader's files are byte-identical afterwards.
"""
import hashlib
import json
import subprocess

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.classroom.course import ROOT, generate_learner_versions, run_nbgrader
from autograder.grading import sandbox
from tests.fixtures import hostile_01 as hostile
from tests.fixtures import submissions_01 as subs
from tests.test_nbgrader_e2e import ASSIGNMENT, NOTEBOOK, _submission

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not sandbox.namespaces_available(), reason="the namespace sandbox needs root on Linux with unshare")]
LIMITS = ["--TrustedExecute.limits=memory_bytes=2684354560", "--TrustedExecute.limits=processes=160"]


def _reference_submission(released):
    source = nbformat.read(ROOT / "course" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solutions = {c.metadata.nbgrader.grade_id: c.source for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
    return _submission(released, solutions)


def _grade_class(root, students: dict) -> subprocess.CompletedProcess:
    release = generate_learner_versions(root / "release", [ASSIGNMENT], gradebook_root=root)
    released = nbformat.read(release / ASSIGNMENT / NOTEBOOK, as_version=4)
    for student, solutions in students.items():
        folder = root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nb = _reference_submission(released) if solutions == "reference" else _submission(released, solutions)
        nbformat.write(nb, folder / NOTEBOOK)
    return run_nbgrader(["autograde", ASSIGNMENT, "--create", "--Execute.timeout=60", *LIMITS], root, check=False)


def _leftovers() -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    return [line for line in ps if any(line.strip() == marker for marker in hostile.LEFTOVER_MARKERS)]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("trust")
    students = {"honest_learner": subs.CORRECT_BUT_DIFFERENT, "honest_reference": "reference",
                "honest_noisy": hostile.NOISY_BUT_CORRECT}
    students.update({name: solutions for name, (solutions, _) in hostile.ATTACKS.items()})
    students.update({name: solutions for name, (solutions, _, _) in hostile.RESOURCES.items()})
    result = _grade_class(root, students)
    leftovers = _leftovers()
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment(ASSIGNMENT).submissions}
    return root, result, scores, leftovers


def _autograded(root, student):
    return nbformat.read(root / "autograded" / student / ASSIGNMENT / NOTEBOOK, as_version=4)


def _flags(root, student) -> dict:
    """Flags per exercise, from the grade cells' trusted metadata."""
    return {c.metadata.nncourse_grading.exercise: c.metadata.nncourse_grading.flags
            for c in _autograded(root, student).cells if "nncourse_grading" in c.metadata}


@pytest.mark.parametrize("student", ["honest_learner", "honest_reference", "honest_noisy"])
def test_honest_submissions_keep_full_marks_and_no_flag(graded, student):
    root, result, scores, _ = graded
    assert scores[student] == 10.0, result.stderr[-3000:]
    assert not any(_flags(root, student).values())
    assert _autograded(root, student).metadata.nncourse_grading.isolation == sandbox.best_level()


@pytest.mark.parametrize("student", sorted(hostile.ATTACKS))
def test_an_attack_earns_exactly_its_honest_work_and_is_flagged(graded, student):
    root, result, scores, _ = graded
    _, attacked = hostile.ATTACKS[student]
    assert scores[student] == pytest.approx(hostile.HONEST_POINTS, abs=1e-9), result.stderr[-3000:]
    flags = _flags(root, student)
    for exercise_id in attacked:
        assert flags[exercise_id], f"{student}: {exercise_id} is not flagged: {flags}"
    assert any(student in line for line in result.stderr.splitlines() if "WARNING" in line)


def test_the_hidden_cases_stay_out_of_the_kernel(graded):
    """The kernel's bundle holds public cases only, so a frame-reader can fake those, never the score."""
    root, _, scores, _ = graded
    cells = _autograded(root, "attack_stack_frames").cells
    neuron = next(c for c in cells if c.metadata.get("nncourse_grading", {}).get("exercise") == "01.neuron")
    assert neuron.metadata.nncourse_grading.kernel_points == 2.0  # it fooled its own notebook
    assert neuron.metadata.nncourse_grading.points == 0.0         # not the grader


def test_import_of_the_reference_library_fails_in_the_worker(graded):
    root, _, _, _ = graded
    text = json.dumps(nbformat.writes(_autograded(root, "attack_import_solutions")))
    assert "No module named 'solutions'" in text and "tried to reach the reference library" in text


@pytest.mark.parametrize("student", sorted(hostile.RESOURCES))
def test_a_limit_ends_a_bomb_with_a_clear_reason(graded, student):
    root, result, scores, _ = graded
    _, expected, reason = hostile.RESOURCES[student]
    assert scores[student] == pytest.approx(expected, abs=1e-9), result.stderr[-3000:]
    autograded = _autograded(root, student)
    assert reason in json.dumps(nbformat.writes(autograded)), student


def test_nothing_a_submission_started_is_left_running(graded):
    _, _, _, leftovers = graded
    assert leftovers == []


def _digest(paths) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def test_a_submission_cannot_change_the_grader_or_other_students(tmp_path):
    site = sandbox.Path(nbformat.__file__).parents[1]
    watched = sorted([*(ROOT / "autograder").rglob("*.py"), *(ROOT / "solutions").rglob("*.py"),
                      ROOT / "nbgrader_config.py", site / "nbgrader" / "utils.py", site / "numpy" / "__init__.py"])
    before = _digest(watched)
    result = _grade_class(tmp_path, {"a_rewriter": hostile.REWRITES_GRADER_FILES, "b_correct": subs.CORRECT_BUT_DIFFERENT,
                                     "c_untouched": {}})
    assert _digest(watched) == before
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        scores = {s.student.id: s.score for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert scores == {"a_rewriter": 10.0, "b_correct": 10.0, "c_untouched": 0.0}, result.stderr[-3000:]
    submitted = nbformat.read(tmp_path / "submitted" / "b_correct" / ASSIGNMENT / NOTEBOOK, as_version=4)
    assert "return -1" not in nbformat.writes(submitted)
