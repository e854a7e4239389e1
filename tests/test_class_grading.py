"""Grading a whole class with ``python -m autograder grade``, as an instructor runs it.

The fixture class (tests/fixtures/class_fixture.py: 33 students, assignments 01 and 02, correct,
partial, broken, malformed and hostile notebooks) is graded from a course directory made by
``course init`` outside the repository, by the environment's Python without an activated
environment (its ``bin`` is not on PATH), from another working directory. Asserted: each student's
exact score, status, reasons and integrity flag; the submissions as sent are never changed; a
second run grades nothing and changes nothing; a changed submission is the only one graded again;
an interrupted run loses nothing.
"""
from __future__ import annotations

import csv
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.classroom.nbgrader_settings import COURSE_ID
from tests.fixtures import class_fixture as fixture

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def bare_env() -> dict[str, str]:
    """The environment of a fresh shell: no activated virtual environment, its bin not on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return env


def autograder(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, env=bare_env(),
                            capture_output=True, text=True)
    if check:
        assert result.returncode == 0, f"{args}: exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def make_course(parent: Path, assignments=("01", "02")) -> Path:
    root = parent / "nn-class"
    autograder("course", "init", str(root), "--assignments", *assignments, cwd=parent)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"c.Execute.timeout = {fixture.CELL_TIMEOUT}\n")
    return root


def kernels_left() -> list[str]:
    """Command lines of learner kernels still running (started through the sandbox launcher)."""
    found = subprocess.run(["pgrep", "-af", "sandbox_launch"], capture_output=True, text=True).stdout
    return [line for line in found.splitlines() if "pgrep" not in line]


def digest_tree(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def gradebook_rows(root: Path) -> list[tuple]:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id=COURSE_ID) as gradebook:
        rows = []
        for assignment in gradebook.assignments:
            for submission in gradebook.assignment_submissions(assignment.name):
                for notebook in submission.notebooks:
                    rows += [(submission.student_id, assignment.name, notebook.name, grade.name, grade.auto_score,
                              grade.manual_score) for grade in notebook.grades]
        return sorted(rows, key=repr)


def students_csv(root: Path) -> dict[tuple[str, str], dict]:
    with open(root / "reports" / "students.csv", newline="") as f:
        return {(row["student"], row["assignment"]): row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    outside = tmp_path_factory.mktemp("instructor")
    root = make_course(outside)
    fixture.write_class(root)
    sent = digest_tree(root / "submitted")
    first = autograder("grade", "--course", str(root), "--workers", "2", cwd=outside)
    after_first = (gradebook_rows(root), students_csv(root), (root / "reports" / "grades.csv").read_text())
    second = autograder("grade", "--course", str(root), cwd=REPO)
    return {"root": root, "first": first, "second": second, "after_first": after_first, "sent": sent}


@pytest.mark.parametrize("key", sorted(fixture.expected()), ids="/".join)
def test_each_student_gets_the_exact_score_and_reasons(graded, key):
    want, row = fixture.expected()[key], students_csv(graded["root"]).get(key)
    assert row is not None, f"{key} is missing from students.csv"
    reasons = [r for r in row["reasons"].split("; ") if r]
    assert float(row["score"] or 0) == pytest.approx(want.score, abs=1e-9), row
    assert row["status"] == want.status, row
    assert len(reasons) == len(want.reasons) and all(any(w in r for r in reasons) for w in want.reasons), row
    assert bool(row["flags"]) == want.flagged, row


def test_the_gradebook_and_grades_csv_hold_the_same_scores(graded):
    root = graded["root"]
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id=COURSE_ID) as gradebook:
        for (student, assignment), want in fixture.expected().items():
            if want.status == "graded":
                assert gradebook.find_submission(assignment, student).score == pytest.approx(want.score, abs=1e-9)
    with open(root / "reports" / "grades.csv", newline="") as f:
        exported = {(r["student_id"], r["assignment"]): float(r["raw_score"] or 0) for r in csv.DictReader(f)}
    assert {k: v for k, v in exported.items() if v} == {k: w.score for k, w in fixture.expected().items() if w.score}


def test_the_run_ends_with_a_summary_and_writes_the_class_report(graded):
    root, out = graded["root"], graded["first"].stdout
    assert "01_neurons_and_parameters" in out and "needing attention" in out and str(root / "reports") in out
    for name in ("summary.md", "exercises.csv", "students.csv", "flagged.csv", "grades.csv"):
        assert (root / "reports" / name).stat().st_size > 0, name
    for name in ("score_distribution.png", "pass_rates.png"):
        assert (root / "reports" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    with open(root / "reports" / "exercises.csv", newline="") as f:
        rows = {r["exercise"]: r for r in csv.DictReader(f)}
    assert "forgot the biases" in rows["01.count_dense_params"]["most_common_mistakes"], rows["01.count_dense_params"]


def test_the_submissions_as_sent_are_never_changed(graded):
    assert digest_tree(graded["root"] / "submitted") == graded["sent"]


def test_grading_again_grades_nothing_and_changes_nothing(graded):
    root, second = graded["root"], graded["second"]
    assert "unchanged since they were graded" in second.stdout, second.stdout
    rows, report, grades = graded["after_first"]
    assert gradebook_rows(root) == rows
    assert students_csv(root) == report
    assert (root / "reports" / "grades.csv").read_text() == grades


def test_a_changed_submission_is_the_only_one_graded_again(graded):
    root = graded["root"]
    broken = root / "submitted" / "invalid_json" / fixture.A1 / fixture.NOTEBOOK[fixture.A1]
    fixed = root / "release" / fixture.A1 / fixture.NOTEBOOK[fixture.A1]  # the student resubmits the blank notebook
    broken.write_bytes(fixed.read_bytes())
    out = autograder("grade", "01", "--course", str(root), "--no-progress", cwd=REPO).stdout
    unchanged = sum(1 for (s, a), w in fixture.expected().items() if a == fixture.A1 and w.status == "graded") - 1
    assert f"{unchanged} submission(s) unchanged" in out, out
    row = students_csv(root)[("invalid_json", fixture.A1)]
    assert row["reasons"] == "" and float(row["score"]) == 0.0, row


def test_feedback_pages_are_readable_offline_and_say_what_happened_in_one_line(graded):
    root = graded["root"]
    autograder("feedback", "01", "--course", str(root), cwd=REPO)
    folder = lambda student: root / "feedback" / student / fixture.A1 / fixture.NOTEBOOK[fixture.A1].replace("ipynb", "html")
    for student in ("correct_a", "one_mistake", "looper", "crasher", "cheater"):
        page = folder(student).read_text()
        body = re.sub(r"<style.*?</style>", "", page, flags=re.S)
        assert "<math" in page and "mathjax" not in page.lower(), student
        for leak in ("Traceback", "KeyboardInterrupt", "site-packages", str(root), str(REPO)):
            assert leak not in body, (student, leak)
    assert f"your code did not finish within {fixture.CELL_TIMEOUT} s and was stopped" in folder("looper").read_text()


def test_the_formgrader_finds_the_course_from_any_folder(graded, tmp_path):
    import json
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "autograder", "formgrader", "--course", str(graded["root"]), "--no-browser",
               "--port", str(port)]
    server = subprocess.Popen(command, cwd=tmp_path, env=bare_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        url, deadline = None, time.monotonic() + 90
        while url is None and time.monotonic() < deadline:
            line = server.stdout.readline()
            found = re.search(r"http://127\.0\.0\.1:\d+/\S*\?token=(\w+)", line)
            url = found and f"http://127.0.0.1:{port}/formgrader/api/assignments?token={found.group(1)}"
        assert url, "the formgrader did not start"
        names = None
        for _ in range(30):  # the address is printed a moment before the server accepts connections
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    names = [a["name"] for a in json.load(response)]
                break
            except urllib.error.URLError:
                time.sleep(0.5)
        assert names == [fixture.A1, fixture.A2]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_platform_export_is_imported_then_graded(tmp_path):
    root = make_course(tmp_path, assignments=("01",))
    export = tmp_path / "moodle-download"
    export.mkdir()
    released = nbformat.read(root / "release" / fixture.A1 / fixture.NOTEBOOK[fixture.A1], as_version=4)
    for name, student in (("Jane Doe_1234567", "correct_a"), ("José Núñez_7654321", "one_mistake")):
        nb = fixture.solved(released, fixture.STUDENTS[student][fixture.A1])
        nbformat.write(nb, export / f"{name}_assignsubmission_file_{fixture.NOTEBOOK[fixture.A1]}")
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\njdoe,Jane Doe\njnunez,Jose Nunez\n")
    out = autograder("grade", "01", "--course", str(root), "--from", str(export), "--roster", str(roster),
                     "--no-progress", cwd=tmp_path).stdout
    report = students_csv(root)
    assert float(report[("jdoe", fixture.A1)]["score"]) == 10.0, out
    one_mistake = fixture.submissions_01.EXPECTED["mistake"]
    assert float(report[("jnunez", fixture.A1)]["score"]) == pytest.approx(one_mistake, abs=1e-9), out


def test_an_interrupted_run_loses_nothing(tmp_path):
    root = make_course(tmp_path, assignments=("01",))
    fixture.write_class(root)
    keep = {"correct_a", "one_mistake", "half_done", "raises", "renamed", "correct_b"}
    for folder in (root / "submitted").iterdir():
        if folder.name not in keep:
            subprocess.run(["rm", "-rf", str(folder)], check=True)
    command = [sys.executable, "-m", "autograder", "grade", "--course", str(root), "--workers", "1", "--no-progress"]
    process = subprocess.Popen(command, cwd=tmp_path, env=bare_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    ledger = root / ".nncourse" / "graded.json"
    deadline = time.monotonic() + 120
    while not ledger.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, (out, err)
    assert re.search(r"finishing the \d+ submission\(s\) being graded", out), (out, err)
    assert "run the same command again" in out, (out, err)
    assert not kernels_left(), "the interrupted run left a learner kernel running"
    again = autograder("grade", "--course", str(root), "--no-progress", cwd=tmp_path).stdout
    assert "unchanged since they were graded" in again
    report = students_csv(root)
    for student in keep:
        want = fixture.expected()[(student, fixture.A1)]
        assert float(report[(student, fixture.A1)]["score"]) == pytest.approx(want.score, abs=1e-9), student


def test_a_folder_without_the_course_configuration_is_refused(tmp_path):
    result = autograder("grade", "--course", str(tmp_path), cwd=tmp_path, check=False)
    assert result.returncode == 2 and "course init" in result.stderr and "Traceback" not in result.stderr
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\nc.CourseDirectory.course_id = 'x'\n")
    result = autograder("grade", "--course", str(tmp_path), cwd=tmp_path, check=False)
    assert result.returncode == 2 and "TrustedExecute" in result.stderr, result.stderr


def test_a_course_with_no_hand_ins_yet_says_where_they_go(tmp_path):
    root = make_course(tmp_path, assignments=("01",))
    out = autograder("grade", "--course", str(root), "--no-progress", cwd=tmp_path).stdout
    assert f"No submission of {fixture.A1} yet: hand-ins go in {root / 'submitted'}/<student>/{fixture.A1}/" in out
    assert "nothing was graded" in out
    out = autograder("feedback", "--course", str(root), cwd=tmp_path).stdout
    assert f"No feedback for {fixture.A1}: nothing of it is graded yet" in out
