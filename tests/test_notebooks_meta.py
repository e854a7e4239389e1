"""Committed notebooks: no outputs, valid nbformat, valid nbgrader metadata, and grade cells that agree
with the exercise registry (ids exist, points match, each exercise graded exactly once)."""
import re
from collections import Counter

import nbformat
import pytest

from autograder.classroom.course import SOURCE, source_notebooks
from autograder.registry import EXERCISES

NOTEBOOKS = source_notebooks()
GRADE_CALL = re.compile(r'^grade\("([^"]+)", (\w+)\)$', re.M)


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def test_there_is_one_notebook_per_assignment_folder():
    assert NOTEBOOKS, "no notebooks in course/"
    for nb_path in NOTEBOOKS:
        assert nb_path.stem == nb_path.parent.name, f"{nb_path}: name the notebook after its folder"
        assert re.fullmatch(r"\d\d_[a-z0-9_]+", nb_path.parent.name), nb_path.parent.name


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_notebook_is_valid_and_committed_without_outputs(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{nb_path}: strip outputs"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_nbgrader_metadata_is_complete_and_consistent(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    cells = [c for c in nb.cells if _nbgrader(c)]
    ids = [_nbgrader(c)["grade_id"] for c in cells]
    assert len(ids) == len(set(ids)), f"duplicate grade_id in {nb_path}"
    for cell in cells:
        meta = _nbgrader(cell)
        assert meta["schema_version"] == 3
        assert set(meta) >= {"grade", "solution", "locked", "grade_id"}
        if meta["solution"]:
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source, meta["grade_id"]
            assert not meta["locked"]
        if meta["grade"]:
            assert meta["locked"] and cell.cell_type == "code" and meta["points"] > 0
            assert "### BEGIN HIDDEN TESTS" in cell.source, f"{meta['grade_id']}: no hidden tests"


def _grade_cells():
    for nb_path in NOTEBOOKS:
        for cell in nbformat.read(nb_path, as_version=4).cells:
            if _nbgrader(cell).get("grade"):
                yield nb_path, cell


def test_grade_cells_match_the_registry():
    graded = Counter()
    for nb_path, cell in _grade_cells():
        calls = GRADE_CALL.findall(cell.source)
        assert len(calls) == 1, f"{nb_path}: a grade cell calls grade(...) once, then once with hidden=True"
        (exercise_id, _name), = calls
        assert exercise_id in EXERCISES, exercise_id
        assert nb_path.parent.name.startswith(exercise_id.split(".")[0]), f"{exercise_id} in {nb_path}"
        assert _nbgrader(cell)["points"] == EXERCISES[exercise_id].points, exercise_id
        assert f'grade("{exercise_id}", {_name}, hidden=True)' in cell.source
        assert cell.source.rstrip().endswith("### END HIDDEN TESTS")
        graded[exercise_id] += 1
    assert graded == Counter({ex_id: 1 for ex_id in EXERCISES}), "every exercise is graded exactly once"


def test_source_directory_is_the_nbgrader_source():
    from traitlets.config.loader import PyFileConfigLoader

    from autograder.classroom.nbgrader_settings import missing_settings

    config = PyFileConfigLoader("nbgrader_config.py", path=str(SOURCE.parent)).load_config()
    assert config.CourseDirectory.source_directory == SOURCE.name
    assert missing_settings(config) == []


LEARNER_HIDDEN = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS).*?### END \1", re.S)


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.parent.name)
def test_no_learner_visible_cell_imports_the_reference_library(nb_path):
    """A demo after an exercise uses the learner's own function: the answers are never one import away."""
    for index, cell in enumerate(nbformat.read(nb_path, as_version=4).cells):
        if cell.cell_type == "code":
            visible = LEARNER_HIDDEN.sub("", cell.source)
            assert not re.search(r"^\s*(from|import)\s+solutions\b", visible, re.M), f"{nb_path.name} cell {index}"
