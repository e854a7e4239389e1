"""``grade`` beyond one machine's defaults: a PostgreSQL gradebook and a Dask cluster.

PostgreSQL: a throwaway server from Debian's binaries (tests/pg_server.py; skipped with a reason
where they are missing, failing instead under NNCOURSE_REQUIRE_POSTGRES=1). Dask: a local
distributed cluster of two worker processes, reached by its address as a remote one would be.
Both grade the same small class and must record the exact scores.
"""
from __future__ import annotations

import shutil

import pytest
from nbgrader.api import Gradebook

from autograder.classroom.nbgrader_settings import COURSE_ID
from tests.fixtures import class_fixture as fixture
from tests.test_class_grading import autograder, students_csv

pytestmark = pytest.mark.slow
SMALL_CLASS = ("correct_a", "one_mistake", "cheater")


def small_class(parent, *init_args: str):
    root = parent / "nn-class"
    autograder("course", "init", str(root), "--assignments", "01", *init_args, cwd=parent)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"c.Execute.timeout = {fixture.CELL_TIMEOUT}\n")
    fixture.write_class(root)
    for folder in (root / "submitted").iterdir():
        if folder.name not in SMALL_CLASS:
            shutil.rmtree(folder)
    return root


def expected_scores() -> dict[str, float]:
    return {s: fixture.expected()[(s, fixture.A1)].score for s in SMALL_CLASS}


def test_a_postgresql_gradebook_records_the_exact_scores(tmp_path, postgres_server):
    postgres_url = postgres_server.create_database("nncourse_class")
    root = small_class(tmp_path, "--db", postgres_url)
    out = autograder("grade", "--course", str(root), "--workers", "2", "--no-progress", cwd=tmp_path).stdout
    assert not (root / "gradebook.db").exists()
    with Gradebook(postgres_url, course_id=COURSE_ID) as gradebook:
        scores = {s: gradebook.find_submission(fixture.A1, s).score for s in SMALL_CLASS}
    assert scores == pytest.approx(expected_scores(), abs=1e-9), out
    again = autograder("grade", "--course", str(root), "--no-progress", cwd=tmp_path).stdout
    assert f"{len(SMALL_CLASS)} submission(s) unchanged" in again


def test_a_dask_cluster_grades_the_class(tmp_path):
    distributed = pytest.importorskip("distributed")
    root = small_class(tmp_path)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        out = autograder("grade", "--course", str(root), "--scheduler", cluster.scheduler_address, "--no-progress",
                         cwd=tmp_path).stdout
    report = students_csv(root)
    assert {s: float(report[(s, fixture.A1)]["score"]) for s in SMALL_CLASS} == pytest.approx(expected_scores(),
                                                                                            abs=1e-9), out


def test_an_unreachable_scheduler_is_one_clear_line(tmp_path):
    root = small_class(tmp_path)
    result = autograder("grade", "--course", str(root), "--scheduler", "tcp://127.0.0.1:9", "--no-progress",
                        cwd=tmp_path, check=False)
    assert result.returncode == 2 and "no Dask scheduler answers at tcp://127.0.0.1:9" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
