"""A self-paced learner's progress (``python -m autograder progress``, ``autograder.classroom.progress.show``).

Fast tests build saved notebooks cell by cell, with outputs shaped as the learner's kernel writes
them, and check each rule (done / partial / untouched, what is skipped, what counts once). The slow
ones run notebook 01 in a real kernel as a learner would in JupyterLab, then read it back through
the command line in a subprocess that may not open a socket, and through the progress notebook.
"""
import hashlib
import json
import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import registry
from autograder.classroom import progress
from autograder.classroom.course import LEARNER_LAB_CONFIG, ROOT, generate_learner_versions
from autograder.classroom.notebooks import CourseError
from autograder.grading import engine
from autograder.learner.api import GRADE_MIME
from tests.fixtures import submissions_01 as subs

FIRST = "01_neurons_and_parameters"
STUB = "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"


def _solution(source, grade_id, count=None):
    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": False, "grade_id": grade_id, "locked": False, "solution": True, "schema_version": 3}})
    cell.execution_count = count
    return cell


def _check(exercise_id, name, points, shown=None, status=None, count=None, outputs=None):
    """A check cell as the kernel leaves it: the report (with its record), then the number it ended with."""
    cell = nbformat.v4.new_code_cell(f'from autograder import grade\ngrade("{exercise_id}", {name})', metadata={
        "nbgrader": {"grade": True, "grade_id": f"grade_{name}", "locked": True, "points": points,
                     "solution": False, "schema_version": 3}})
    cell.execution_count = count
    if outputs is not None:
        cell.outputs = outputs
    elif shown is not None:
        record = {"id": exercise_id, "points": shown, "max_points": float(points), "public_points": shown,
                  "status": status, "message": f"{status}: a message", "hidden": False}
        cell.outputs = [
            nbformat.v4.new_output("display_data", data={"text/plain": "report", GRADE_MIME: record}),
            nbformat.v4.new_output("execute_result", data={"text/plain": repr(float(shown))}, execution_count=count),
        ]
    return cell


def _write(path, cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _by_id(found):
    return {e.id: e for nb in found.notebooks for e in nb.exercises}


def test_each_exercise_is_done_partial_or_untouched_from_what_its_check_cell_last_showed(tmp_path):
    _write(tmp_path / "01" / "nb.ipynb", [
        nbformat.v4.new_markdown_cell("# intro"),
        _solution("def a(x):\n    return x", "a_solution", 1), _check("01.a", "a", 2, 2.0, "passed", 2),
        _solution("def b(x):\n    return 0", "b_solution", 3), _check("01.b", "b", 3, 1.5, "failed", 4),
        _solution(STUB.replace("f", "c"), "c_solution", 5), _check("01.c", "c", 2, 0.0, "not attempted", 6),
        _solution("def d(x):\n    return x", "d_solution"), _check("01.d", "d", 2),  # written, never checked
        _check("01.d_again", "d", 1, 1.0, "passed", 7),  # checks d again: no solution cell of its own
        _solution("def e(x):\n    return x", "e_solution", 8), _check("01.e", "e", 1, count=9, outputs=[
            nbformat.v4.new_output("error", ename="NameError", evalue="name 'e' is not defined", traceback=[])]),
        _solution("def g(x):\n    return x", "g_solution", 12), _check("01.g", "g", 2, 2.0, "passed", 10),
    ])
    found = progress.collect(tmp_path)
    (nb,) = found.notebooks
    assert nb.notebook == os.path.join("01", "nb.ipynb")
    got = {e.id: (e.status, e.points, e.max_points) for e in nb.exercises}
    assert got == {"01.a": ("done", 2, 2), "01.b": ("partial", 1.5, 3), "01.c": ("untouched", 0, 2),
                   "01.d": ("untouched", 0, 2), "01.d_again": ("done", 1, 1), "01.e": ("partial", 0, 1),
                   "01.g": ("done", 2, 2)}
    notes = {e.id: e.note for e in nb.exercises}
    assert notes["01.b"] == "failed: a message"
    assert notes["01.d"] == "code written, check cell not run yet"
    assert notes["01.e"] == "the check cell stopped with NameError: name 'e' is not defined"
    assert notes["01.g"].startswith("changed since its check ran"), "its solution ran after its check"
    assert (nb.points, nb.max_points) == (6.5, 13) and [nb.count(s) for s in ("done", "partial", "untouched")] == [3, 2, 2]


def test_a_stub_counts_as_untouched_whatever_its_check_cell_showed(tmp_path):
    # the learner ran a correct solution, then put the stub back without running the check again
    _write(tmp_path / "nb.ipynb", [_solution(STUB, "f_solution", 1), _check("01.f", "f", 2, 2.0, "passed", 2)])
    (e,) = progress.collect(tmp_path).notebooks[0].exercises
    assert (e.status, e.points) == ("untouched", 0)


def test_nbgraders_rules_decide_the_points_a_check_cell_showed(tmp_path):
    stderr = nbformat.v4.new_output("stream", name="stderr", text="a warning")
    _write(tmp_path / "nb.ipynb", [
        _solution("def f(x):\n    return x", "f_solution", 1),
        _check("01.f", "f", 2, count=2, outputs=[stderr, nbformat.v4.new_output(
            "execute_result", data={"text/plain": "2.0"}, execution_count=2)]),
        _check("01.too_much", "f", 2, 5.0, "passed", 3),
        _check("01.nope", "f", 2, count=4, outputs=[nbformat.v4.new_output(
            "execute_result", data={"text/plain": "0.0"}, execution_count=4)]),
    ])
    got = _by_id(progress.collect(tmp_path))
    assert (got["01.f"].status, got["01.f"].points) == ("partial", 0) and "stderr" in got["01.f"].note
    assert (got["01.too_much"].points, got["01.too_much"].note) == (0, "the check cell showed 5, outside [0, 2]")
    assert got["01.nope"].note == "'01.nope' is not an exercise of this course; check the id in grade(...)"


def test_checkpoints_foreign_and_broken_files_are_left_out_and_copies_count_once(tmp_path):
    cells = [_solution("def f(x):\n    return x", "f_solution", 1), _check("01.f", "f", 2, 1.0, "failed", 2)]
    _write(tmp_path / "01" / "nb.ipynb", cells)
    better = [cells[0], _check("01.f", "f", 2, 2.0, "passed", 3)]
    _write(tmp_path / "01" / "nb-Copy1.ipynb", better)
    _write(tmp_path / "01" / ".ipynb_checkpoints" / "nb-checkpoint.ipynb", better)
    _write(tmp_path / "scratch.ipynb", [nbformat.v4.new_code_cell("1 + 1")])
    (tmp_path / "broken.ipynb").write_text("{ not json")
    found = progress.collect(tmp_path)
    assert [nb.notebook for nb in found.notebooks] == [os.path.join("01", "nb-Copy1.ipynb"), os.path.join("01", "nb.ipynb")]
    (skipped,) = found.skipped
    assert skipped.startswith("broken.ipynb: not a readable notebook (Expecting property name")
    text = progress.render(found)
    assert "All notebooks: 2 / 2 points; 1 done, 0 partial, 0 untouched of 1 exercises." in text
    assert "counts once, with its best result" in text and "skipped broken.ipynb" in text
    assert "nothing was sent anywhere" in text and "scratch" not in text


def test_an_empty_or_missing_folder_says_so(tmp_path):
    assert "No course notebooks under" in progress.render(progress.collect(tmp_path))
    with pytest.raises(CourseError, match="no such folder"):
        progress.collect(tmp_path / "nope")


# -- a learner's real run -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def learner_workspace(tmp_path_factory):
    """Notebook 01 run in a kernel as in JupyterLab: neuron and dense_forward right, output_layer
    untouched, count_dense_params forgets the biases; notebook 02 as released (never run)."""
    from tests.test_nbgrader_e2e import _submission

    ws = tmp_path_factory.mktemp("learner")
    generate_learner_versions(ws, [FIRST, "02_activation_functions"])
    path = ws / FIRST / f"{FIRST}.ipynb"
    solutions = {k: v for k, v in subs.ONE_MISTAKE.items() if k != "output_layer_solution"}
    nb = _submission(nbformat.read(path, as_version=4), solutions)
    NotebookClient(nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)
    return ws


def _public_points_of_the_mistake():
    namespace = {}
    exec(subs.ONE_MISTAKE["count_dense_params_solution"], namespace)
    return engine.run(registry.get("01.count_dense_params"), namespace["count_dense_params"]).points


def _digest(folder):
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_progress_reads_a_learners_real_run_offline_and_plots_it(learner_workspace, tmp_path):
    ws = learner_workspace
    partial = _public_points_of_the_mistake()
    before = _digest(ws)
    no_network = tmp_path / "no_network"
    no_network.mkdir()
    (no_network / "sitecustomize.py").write_text(
        "import socket\n"
        "def _refuse(*args, **kwargs):\n"
        "    raise OSError('progress tried to use the network')\n"
        "socket.socket.connect = socket.socket.connect_ex = socket.socket.bind = socket.socket.sendto = _refuse\n"
        "socket.create_connection = socket.getaddrinfo = _refuse\n")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(PYTHONPATH=str(no_network), PATH="/usr/bin:/bin")
    plot = tmp_path / "plots" / "progress.png"
    result = subprocess.run([sys.executable, "-m", "autograder", "progress", str(ws), "--plot", str(plot)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Nothing was run and nothing was sent anywhere" in out and "your own runs" in out
    total = round(2 + 3 + partial, 2)  # output_layer untouched
    assert f"{FIRST}/{FIRST}.ipynb: {total:g} / 10 points (2 done, 1 partial, 1 untouched)" in out, out
    rows = {line.split()[0]: line.split()[1:4] for line in out.splitlines() if line.startswith("  01.")}
    assert rows == {"01.neuron": ["done", "2", "/"], "01.dense_forward": ["done", "3", "/"],
                    "01.output_layer": ["untouched", "0", "/"], "01.count_dense_params": ["partial", f"{partial:g}", "/"]}
    assert "02_activation_functions/02_activation_functions.ipynb: 0 / 24 points (0 done, 0 partial, 14 untouched)" in out
    assert f"All notebooks: {total:g} / 34 points; 2 done, 1 partial, 15 untouched of 18 exercises." in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"Plot of points per notebook: {plot}" in out
    assert _digest(ws) == before, "progress changes nothing in the workspace"


@pytest.mark.slow
def test_the_progress_notebook_shows_the_table_and_the_chart(learner_workspace):
    nb = nbformat.read(LEARNER_LAB_CONFIG / "progress.ipynb", as_version=4)
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(learner_workspace)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"], outputs
    table = next(o for o in outputs if "text/html" in o.get("data", {}))
    assert "<code>01.count_dense_params</code>" in table.data["text/html"]
    assert "01.count_dense_params  partial" in table.data["text/plain"]
    assert "nothing was sent anywhere" in table.data["text/plain"]
    (chart,) = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(chart.data["image/png"]) > 1000


def test_show_prints_the_table_outside_a_notebook(tmp_path, capsys):
    _write(tmp_path / "nb.ipynb", [_solution("def f(x):\n    return x", "f_solution", 1),
                                   _check("01.f", "f", 2, 2.0, "passed", 2)])
    assert progress.show(tmp_path) is None
    out = capsys.readouterr().out
    assert "nb.ipynb: 2 / 2 points (1 done, 0 partial, 0 untouched)" in out and "01.f" in out


def test_the_chart_has_a_bar_pair_per_notebook(tmp_path):
    for name, shown in (("a", 1.0), ("b", 2.0)):
        _write(tmp_path / f"{name}.ipynb", [_solution("def f(x):\n    return x", "f_solution", 1),
                                            _check("01.f", "f", 2, shown, "passed", 2)])
    fig = progress.figure(progress.collect(tmp_path))
    (ax,) = fig.axes
    heights = sorted(round(p.get_height(), 2) for p in ax.patches)
    assert heights == [1.0, 2.0, 2.0, 2.0]  # earned 1 and 2, possible 2 and 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    path = progress.plot(progress.collect(tmp_path), tmp_path / "out" / "p.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
