"""Class mode: what students get holds no reference code and no hidden case, and still checks itself.

The release is scanned for the reference library's source, the notebook's solutions, and every
hidden input and expected value of the course (drawn from its secret); then the released notebook
runs in a kernel that cannot reach the repository at all (the sandbox masks it), where the public
checks, hints and the disabled ``solution()`` must still work.
"""
import base64
import inspect
import json

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from autograder import learner
from autograder.classroom.course import add_class_checks, assignment_exercises, generate_learner_versions
from autograder.grading import engine, sandbox
from autograder.grading.secret import load_or_create
from autograder.learner import bundle, wire
from tests.fixtures import submissions_01 as subs
from tests.test_nbgrader_e2e import ASSIGNMENT, NOTEBOOK, _submission

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    out = generate_learner_versions(course / "release", [ASSIGNMENT], gradebook_root=course)
    add_class_checks(out, [ASSIGNMENT])
    return course, out / ASSIGNMENT


def _texts(folder) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_the_bundle_is_the_notebook_the_data_and_the_learner_checker_only(release):
    _, folder = release
    assert set(_texts(folder)) == {NOTEBOOK, bundle.FILENAME, *(p.as_posix() for p in learner.shipped_files())}


def test_no_reference_code_anywhere_in_the_bundle(release):
    _, folder = release
    texts = _texts(folder)
    for exercise in assignment_exercises(ASSIGNMENT):
        body = inspect.getsource(exercise.reference).split('"""')[-1].strip()
        assert all(body not in text for text in texts.values()), exercise.id
    notebook = texts[NOTEBOOK]
    assert "BEGIN SOLUTION" not in notebook and "hidden=True" not in notebook and "HIDDEN TESTS" not in notebook
    for name, text in texts.items():
        assert "import solutions" not in text and "from solutions" not in text, name
    assert json.loads(texts[bundle.FILENAME])["solutions"] is False


def _fragments(value):
    """Byte-level fingerprints of a value as the bundle would hold it."""
    encoded = json.dumps(wire.encode(value))
    return [part for part in encoded.split('"') if len(part) >= 12 and part.strip("{}[]:, ")]


def test_no_hidden_input_or_expected_value_in_the_bundle(release):
    course, folder = release
    text = _texts(folder)[bundle.FILENAME]
    secret = load_or_create(course)
    checked = 0
    for exercise in assignment_exercises(ASSIGNMENT):
        for case, hidden in exercise.suite(True, secret):
            if not hidden:
                continue
            reply = wire.serve(case.request("answer"), {"answer": exercise.reference})
            for value in [case.args, reply["steps"][0].get("value")]:
                for fragment in _fragments(value):
                    assert fragment not in text, (exercise.id, case.label)
                    checked += 1
    assert checked > 10, "the scan compared nothing"


def _run_in_isolation(nb, folder):
    """Execute a notebook in a sandboxed kernel whose working folder is the release folder."""
    km = sandbox.SandboxedKernelManager(kernel_name="python3")
    km.level = "namespace"
    NotebookClient(nb, km=km, timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute(cleanup_kc=True)
    return nb


def _grade_outputs(nb) -> dict:
    found = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            for output in cell.outputs:
                record = output.get("data", {}).get("application/vnd.nncourse.grade+json")
                if record:
                    found[record["id"]] = record
    return found


needs_namespaces = pytest.mark.skipif(not sandbox.namespaces_available(),
                                      reason="masking the repository needs root on Linux with unshare")


@needs_namespaces
def test_public_checks_work_without_the_reference_library(release):
    _, folder = release
    released = nbformat.read(folder / NOTEBOOK, as_version=4)
    nb = _submission(released, subs.ONE_MISTAKE)
    nb.cells.append(nbformat.v4.new_code_cell(
        "try:\n    import solutions\n    print('REFERENCE IMPORTABLE')\nexcept ImportError:\n    print('no reference')\n"
        "solution('01.neuron')\nfor _ in range(3):\n    hint('01.count_dense_params')"))
    nb = _run_in_isolation(nb, folder)
    records = _grade_outputs(nb)
    assert {k: v["points"] for k, v in records.items()} == {
        "01.neuron": 2.0, "01.dense_forward": 3.0, "01.output_layer": 2.0, "01.count_dense_params": 0.23}
    assert "likely mistake: forgot the biases" in records["01.count_dense_params"]["message"]
    last = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in nb.cells[-1].outputs)
    assert "no reference" in last and "REFERENCE IMPORTABLE" not in last
    assert "Solutions are disabled in this class" in last
    assert "Hint 3 of 3" in last and "shows the reference solution" not in last


@needs_namespaces
def test_the_untouched_release_says_not_attempted(release):
    _, folder = release
    nb = _run_in_isolation(nbformat.read(folder / NOTEBOOK, as_version=4), folder)
    records = _grade_outputs(nb)
    assert len(records) == 4 and {r["status"] for r in records.values()} == {"not attempted"}
    assert all(r["points"] == 0.0 for r in records.values())


def test_solutions_can_be_allowed_by_the_instructor(tmp_path):
    out = generate_learner_versions(tmp_path / "release", [ASSIGNMENT])
    add_class_checks(out, [ASSIGNMENT], solutions=True)
    checks = bundle.PublicChecks.load(out / ASSIGNMENT / bundle.FILENAME)
    assert checks.solutions_enabled and "def count_dense_params" in checks.entry("01.count_dense_params")["solution"]


def test_hidden_cases_depend_on_the_course_secret():
    exercise = assignment_exercises(ASSIGNMENT)[1]
    def hidden_inputs(secret):
        return [base64.b64encode(np.asarray(c.args[0]).tobytes()) for c, h in exercise.suite(True, secret) if h]
    assert hidden_inputs("a" * 64) != hidden_inputs("b" * 64)
    assert hidden_inputs("a" * 64) == hidden_inputs("a" * 64)
    assert hidden_inputs(None) != hidden_inputs("a" * 64)


def test_public_checks_match_the_engine(release):
    """A class release judges exactly like the self-paced engine on the public cases."""
    _, folder = release
    checks = bundle.PublicChecks.load(folder / bundle.FILENAME)
    for exercise in assignment_exercises(ASSIGNMENT):
        for candidate in [exercise.reference, *(m.impl for m in exercise.mistakes)]:
            ours, theirs = checks.run(exercise.id, candidate), engine.run(exercise, candidate)
            assert [(c.status, c.message, c.likely_mistake) for c in ours.cases] == \
                   [(c.status, c.message, c.likely_mistake) for c in theirs.cases]
