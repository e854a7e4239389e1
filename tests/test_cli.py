"""The command line, run as a learner or instructor would: ``python -m autograder ...`` in a subprocess
whose PATH does not contain the virtual environment (nbgrader must still find its tools)."""
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from fnmatch import fnmatch

import nbformat
import pytest

from autograder.classroom import course
from autograder.classroom.course import ROOT, assignments
from autograder.classroom.notebooks import GRADED_SET, PUBLIC_ONLY

pytestmark = pytest.mark.slow
FIRST = "01_neurons_and_parameters"


def _env(extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin"  # no activated environment: as in `.venv/bin/python -m autograder`
    return {**env, **(extra or {})}


def autograder_cli(*args, timeout=600, env=None):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=ROOT, env=_env(env),
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


def test_lab_adds_the_progress_notebook_which_is_no_assignment(workspace):
    ws, first = workspace
    source = course.LEARNER_LAB_CONFIG / "progress.ipynb"
    assert (ws / "progress.ipynb").read_text() == source.read_text()
    nb = nbformat.read(source, as_version=4)
    nbformat.validate(nb)
    assert not any(c.metadata.get("nbgrader") for c in nb.cells), "not graded: no nbgrader cells"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs stripped"
    assert "autograder.classroom.progress" in nb.cells[-1].source
    assert not (course.SOURCE / "progress.ipynb").exists() and "progress" not in assignments()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert any(fnmatch("learner_lab/progress.ipynb", glob) for glob in data["autograder.classroom"]), "shipped with the package"


def test_lab_never_overwrites_learner_work(workspace):
    ws, _ = workspace
    notebook = ws / FIRST / f"{FIRST}.ipynb"
    notebook.write_text(notebook.read_text().replace("# YOUR CODE HERE", "# my own work"))
    before = notebook.read_text()
    progress = ws / "progress.ipynb"
    progress.write_text(progress.read_text().replace("Your progress", "My progress"))
    again = autograder_cli("lab", "--workspace", str(ws), "--no-browser-launch")
    assert again.returncode == 0, again.stderr
    assert notebook.read_text() == before
    assert "My progress" in progress.read_text()
    assert (ws / FIRST / "my_notes.txt").read_text() == "learner's own file"
    assert "0 new file(s)" in again.stdout


@pytest.mark.parametrize("assignment", assignments())
def test_released_notebook_run_unchanged_scores_zero_not_attempted(tmp_path, assignment):
    autograder_cli("release", assignment, "--out", str(tmp_path / "rel"), "--course-dir", str(tmp_path))
    fresh = tmp_path / "rel" / assignment / f"{assignment}.ipynb"
    result = autograder_cli("check", str(fresh), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"notebook", "cases", "score", "max_score", "exercises"}
    assert report["cases"] == GRADED_SET == "graded set: public and self-paced hidden cases"
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
    from autograder.classroom.course import LEARNER_LAB_CONFIG, learner_lab_env

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


def _one_mistake(workspace, tmp_path):
    """Notebook 01 as a learner left it: three exercises right, the parameter counter forgets the biases."""
    from tests.fixtures import submissions_01 as subs
    from tests.test_nbgrader_e2e import _submission

    ws, _ = workspace
    released = nbformat.read(ws / FIRST / f"{FIRST}.ipynb", as_version=4)
    path = tmp_path / FIRST / f"{FIRST}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(_submission(released, subs.ONE_MISTAKE), path)
    return path, subs


def test_check_says_which_cases_it_ran_and_scores_as_nbgrader_does(workspace, tmp_path):
    from autograder import registry
    from autograder.grading import engine

    path, subs = _one_mistake(workspace, tmp_path)
    graded = autograder_cli("check", str(path))
    assert graded.returncode == 0, graded.stderr
    first_line = graded.stdout.splitlines()[0]
    assert first_line.startswith("Cases run: graded set: public and self-paced hidden cases;"), graded.stdout
    assert "nbgrader autograde" in first_line
    # the score nbgrader autograde records for this submission (tests/test_nbgrader_e2e.py)
    assert f"{path}: {subs.EXPECTED['mistake']:g} / 10 points (graded set" in graded.stdout, graded.stdout

    public = autograder_cli("check", str(path), "--public-only", "--json")
    assert public.returncode == 0, public.stderr
    report = json.loads(public.stdout)
    assert report["cases"] == PUBLIC_ONLY
    namespace = {}
    exec(subs.ONE_MISTAKE["count_dense_params_solution"], namespace)
    expected = engine.run(registry.get("01.count_dense_params"), namespace["count_dense_params"]).points
    points = {e["id"]: e["points"] for e in report["exercises"]}
    assert points == {"01.neuron": 2, "01.dense_forward": 3, "01.output_layer": 2, "01.count_dense_params": expected}
    assert report["score"] == pytest.approx(7 + expected, abs=1e-9) and report["score"] != subs.EXPECTED["mistake"]
    text = autograder_cli("check", str(ROOT / "course" / FIRST / f"{FIRST}.ipynb"), "--public-only")
    assert text.stdout.startswith("Cases run: public cases only;") and "nbgrader validate" in text.stdout
    assert "10 / 10 points (public cases only)" in text.stdout  # the source's hidden-test blocks are not run


def _grade_cell(source, grade_id="grade_x"):
    return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "points": 1, "solution": False, "locked": True, "schema_version": 3}})


@pytest.mark.parametrize("cells,args,message", [
    ([], [], "has no check cells: it is not a notebook of this course"),
    ([nbformat.v4.new_code_cell("1 + 1"), nbformat.v4.new_markdown_cell("# notes")], ["--json"],
     "has no check cells"),
    ([_grade_cell("assert 1 + 1 == 2")], ["--public-only"], "its check cells grade no exercise of this course"),
    ([_grade_cell('from autograder import grade\ngrade("01.nueron", neuron)', "grade_01_neuron")], [],
     "check cell 'grade_01_neuron' grades an unknown exercise '01.nueron' (did you mean '01.neuron'?); "
     "the known 01.* exercises are 01.count_dense_params, 01.dense_forward, 01.neuron, 01.output_layer"),
    ([_grade_cell('grade("99.nope", f)')], ["--json"],
     "grades an unknown exercise '99.nope'; known: 01.count_dense_params, "),
])
def test_check_says_in_one_line_that_a_notebook_is_not_the_courses(tmp_path, cells, args, message):
    path = tmp_path / "foreign.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nbformat.write(nb, path)
    result = autograder_cli("check", str(path), *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == "", "no 0 / 0 table"
    assert result.stderr.startswith(f"error: {path}") and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_release_and_validate_take_the_short_assignment_number(tmp_path):
    out = tmp_path / "rel"
    released = autograder_cli("release", "1", "--out", str(out), "--course-dir", str(tmp_path))
    assert released.returncode == 0, released.stderr
    assert sorted(p.name for p in out.iterdir()) == [FIRST]
    assert (out / FIRST / f"{FIRST}.ipynb").is_file() and (out / FIRST / "nncourse_checks.json").is_file()
    validated = autograder_cli("validate", "01")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert f"{FIRST}.ipynb" in validated.stdout and "02_" not in validated.stdout


def test_assignment_names_resolve_to_one_folder(monkeypatch):
    for name in ("01", "1", "001", "01_neu", FIRST, f"course/{FIRST}/"):
        assert course.resolve_assignment(name) == FIRST, name
    assert course.resolve_assignments(["02", "2", "02_activation_functions"]) == ["02_activation_functions"]
    assert course.resolve_assignments(None) == assignments()
    assert [p.parent.name for p in course.source_notebooks(["5"])] == ["05_backpropagation"]
    with pytest.raises(course.CourseError, match=r"^unknown assignment '99'; known: 01_neurons_and_parameters, "):
        course.resolve_assignment("99")
    monkeypatch.setattr(course, "assignments", lambda: ["01_intro", "01_extra", "10_cnn"])
    with pytest.raises(course.CourseError, match=r"^assignment '01' is ambiguous: it could be 01_intro, 01_extra$"):
        course.resolve_assignment("01")
    assert course.resolve_assignment("10") == "10_cnn" and course.resolve_assignment("01_e") == "01_extra"
    with pytest.raises(course.CourseError, match="unknown assignment '1_'"):
        course.resolve_assignment("1_")


def _run_in_own_session(command, env, timeout):
    """Run a command in its own session; on timeout kill the whole session (a JupyterLab it started too)."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"`{' '.join(command[2:])}` did not return within {timeout} s (it started another JupyterLab?): "
                    f"{out[-500:]} {err[-500:]}")
    return process.returncode, out, err


def test_a_second_lab_points_to_the_one_already_serving(workspace, tmp_path):
    ws, _ = workspace
    runtime = tmp_path / "runtime"
    env = _env({"JUPYTER_RUNTIME_DIR": str(runtime)})
    server = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--port=0", f"--ServerApp.root_dir={ws}",
              "--IdentityProvider.token=tok123", "--ServerApp.open_browser=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        server.append("--allow-root")
    first = subprocess.Popen(server, cwd=ws, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not list(runtime.glob("jpserver-*.json")) and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.3)
        files = list(runtime.glob("jpserver-*.json"))
        if not files:
            pytest.skip(f"a Jupyter server did not start here (exit status {first.poll()})")
        info = json.loads(files[0].read_text())
        rc, out, err = _run_in_own_session([sys.executable, "-m", "autograder", "lab", "--workspace", str(ws)],
                                           env, timeout=240)
        assert rc == 0, out + err
        url = f"http://localhost:{info['port']}/lab?token=tok123"
        assert f"JupyterLab is already serving this workspace at {url}" in out, out + err
        assert first.poll() is None, "the running server is left alone"
    finally:
        os.killpg(first.pid, signal.SIGTERM)
        try:
            first.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()


def test_running_lab_counts_only_live_servers_of_this_workspace(tmp_path, monkeypatch):
    from autograder.cli import lab_url, running_lab

    runtime, ws, other = tmp_path / "runtime", tmp_path / "ws", tmp_path / "other"
    for folder in (runtime, ws, other):
        folder.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()

    def server(name, pid, root, port):
        info = {"pid": pid, "root_dir": str(root), "url": f"http://localhost:{port}/", "token": "t", "port": port}
        (runtime / f"jpserver-{name}.json").write_text(json.dumps(info))

    server("dead", dead.pid, ws, 1111)
    server("other", os.getpid(), other, 2222)
    assert running_lab(ws.resolve()) is None
    assert not (runtime / "jpserver-dead.json").exists(), "a dead server's file is cleared, as Jupyter does"
    server("live", os.getpid(), ws, 3333)
    found = running_lab(ws.resolve())
    assert found["port"] == 3333 and lab_url(found) == "http://localhost:3333/lab?token=t"
    assert lab_url({"url": "http://localhost:8888/base/", "token": ""}) == "http://localhost:8888/base/lab"
