"""The command line, run as a learner or instructor would: ``python -m autograder ...`` in a subprocess
whose PATH does not contain the virtual environment (nbgrader must still find its tools)."""
import json
import os
import subprocess
import sys

import pytest

from autograder.course import ROOT, assignments

pytestmark = pytest.mark.slow
FIRST = "01_neurons_and_parameters"


def autograder_cli(*args, timeout=600):
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin"  # no activated environment: as in `.venv/bin/python -m autograder`
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    ws = tmp_path_factory.mktemp("workspace")
    mine = ws / FIRST / "my_notes.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("learner's own file")
    first = autograder_cli("lab", "--workspace", str(ws), "--no-browser-launch")
    assert first.returncode == 0, first.stderr
    return ws, first


def test_lab_writes_every_learner_notebook_without_solutions(workspace):
    ws, first = workspace
    for name in assignments():
        text = (ws / name / f"{name}.ipynb").read_text()
        assert "raise NotImplementedError()" in text
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    assert "left as they were" in first.stdout


def test_lab_never_overwrites_learner_work(workspace):
    ws, _ = workspace
    notebook = ws / FIRST / f"{FIRST}.ipynb"
    notebook.write_text(notebook.read_text().replace("# YOUR CODE HERE", "# my own work"))
    before = notebook.read_text()
    again = autograder_cli("lab", "--workspace", str(ws), "--no-browser-launch")
    assert again.returncode == 0, again.stderr
    assert notebook.read_text() == before
    assert (ws / FIRST / "my_notes.txt").read_text() == "learner's own file"
    assert "0 new file(s)" in again.stdout


@pytest.mark.parametrize("assignment", assignments())
def test_released_notebook_run_unchanged_scores_zero_not_attempted(tmp_path, assignment):
    autograder_cli("release", assignment, "--out", str(tmp_path / "rel"), "--course-dir", str(tmp_path))
    fresh = tmp_path / "rel" / assignment / f"{assignment}.ipynb"
    result = autograder_cli("check", str(fresh), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"notebook", "score", "max_score", "exercises"}
    assert report["score"] == 0 and report["max_score"] > 0
    assert {e["status"] for e in report["exercises"]} == {"not attempted"}, report
    assert all(set(e) == {"id", "points", "max_points", "status", "message"} for e in report["exercises"])


def test_validate_passes_on_every_source_notebook():
    result = autograder_cli("validate")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in assignments():
        assert f"{name}.ipynb" in result.stdout
    assert "FAIL" not in result.stdout


@pytest.mark.parametrize("content,message", [
    (None, "no such file"),
    ('{"cells": [', "not a valid notebook"),
    ('{"some": "json"}', "not a valid notebook"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a"),
])
def test_check_rejects_input_it_cannot_grade_in_one_line(tmp_path, content, message):
    path = tmp_path / "submission.ipynb"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = autograder_cli("check", str(path))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_assignment_is_one_clear_line():
    result = autograder_cli("validate", "99_nope")
    assert result.returncode == 2 and result.stderr.startswith("error: unknown assignment '99_nope'")


def test_check_grades_the_readable_notebooks_and_reports_the_others(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("not json")
    good = ROOT / "course" / FIRST / f"{FIRST}.ipynb"
    result = autograder_cli("check", str(bad), str(good), "--json")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {bad} is not a valid notebook: Notebook does not appear to be JSON: 'not json'"
    (graded,) = json.loads(result.stdout)
    assert graded["score"] == graded["max_score"] == 10


def test_release_keeps_existing_files_unless_forced(tmp_path):
    out = tmp_path / "rel"
    first = autograder_cli("release", FIRST, "--out", str(out), "--course-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    notebook = out / FIRST / f"{FIRST}.ipynb"
    assert (tmp_path / "gradebook.db").exists(), "the assignment is recorded for autograding"
    notebook.write_text("edited by hand")
    again = autograder_cli("release", FIRST, "--out", str(out), "--course-dir", str(tmp_path))
    assert notebook.read_text() == "edited by hand" and "kept as they were" in again.stdout
    forced = autograder_cli("release", FIRST, "--out", str(out), "--course-dir", str(tmp_path), "--force")
    assert forced.returncode == 0 and "raise NotImplementedError()" in notebook.read_text()


def test_learner_lab_hides_the_instructor_tools():
    from autograder.course import LEARNER_LAB_CONFIG, learner_lab_env

    env = learner_lab_env()
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep)[0] == str(LEARNER_LAB_CONFIG)
    page = json.loads((LEARNER_LAB_CONFIG / "labconfig" / "page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyter/nbgrader:formgrader"] is True
    assert "@jupyter/nbgrader:validate-assignment" not in page["disabledExtensions"]  # learners may validate
    server = json.loads((LEARNER_LAB_CONFIG / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["jpserver_extensions"]["nbgrader.server_extensions.formgrader"] is False


def test_unexpected_errors_are_one_line_without_a_traceback(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    result = autograder_cli("lab", "--workspace", str(not_a_folder / "ws"), "--no-browser-launch")
    assert result.returncode == 1
    assert result.stderr.startswith("error: NotADirectoryError") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
