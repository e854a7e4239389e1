"""Grading the fixture class: plain serial ``nbgrader autograde`` against ``python -m autograder grade``.

    .venv/bin/python bench/grading.py [--workers N] [--students K]

Both grade the same prepared notebooks of the fixture class (tests/fixtures/class_fixture.py; plain
nbgrader would abort the whole run at the first duplicated cell, so it gets ``prepared/``) with the
same course configuration, in two copies of one course directory:

*serial*  ``nbgrader autograde A --CourseDirectory.submitted_directory=prepared`` per assignment,
          one process, one submission after another (what an instructor runs without this course);
*grade*   ``python -m autograder grade --workers N`` (parallel, plus preparing, grades.csv and the
          class report, all counted).

Also times a bare ``nbclient`` execution of one correct notebook of each assignment (a plain kernel,
no sandbox, no trusted checks) to show what grading costs per submission on top of running it.
Prints the times and the speed ratio; a benchmark, not a test.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.classroom import class_grading, course  # noqa: E402
from tests.fixtures import class_fixture as fixture  # noqa: E402


def run(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=course.tool_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def make_course(parent: Path, students: int | None) -> Path:
    root = parent / "course"
    run([sys.executable, "-m", "autograder", "course", "init", str(root), "--assignments", "01", "02"], parent)
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f"c.Execute.timeout = {fixture.CELL_TIMEOUT}\n")
    fixture.write_class(root)
    if students:
        for folder in sorted((root / "submitted").iterdir())[students:]:
            shutil.rmtree(folder)
    return root


def bare_seconds(notebook: Path) -> float:
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=60, allow_errors=True, resources={"metadata": {"path": str(notebook.parent)}}).execute()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--students", type=int, help="grade only the first K students of the fixture class")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-class-") as tmp:
        tmp = Path(tmp)
        (tmp / "serial").mkdir()
        serial_root = make_course(tmp / "serial", args.students)
        parallel_root = tmp / "grade"
        shutil.copytree(serial_root, parallel_root)  # the config finds its gradebook next to itself

        # the same prepared notebooks for plain nbgrader: run grade's preparation only (no grading)
        prepared = class_grading.prepare_only(serial_root)
        submissions = sum(len(students) for students in prepared.values())
        serial = sum(run([sys.executable, "-m", "nbgrader", "autograde", assignment, "--create", "--force",
                          f"--CourseDirectory.submitted_directory={class_grading.prepare.PREPARED}"], serial_root)
                     for assignment in prepared)
        parallel = run([sys.executable, "-m", "autograder", "grade", "--course", str(parallel_root),
                        "--workers", str(args.workers), "--no-progress"], tmp)

        bare = {a: statistics.median(bare_seconds(parallel_root / "prepared" / "correct_a" / a / fixture.NOTEBOOK[a])
                                     for _ in range(3)) for a in (fixture.A1, fixture.A2)}
    print(f"fixture class: {submissions} submissions of {fixture.A1} and {fixture.A2}; {os.cpu_count()} CPU core(s)")
    print(f"serial nbgrader autograde : {serial:7.1f} s  ({serial / submissions:.2f} s per submission)")
    print(f"grade --workers {args.workers:<9} : {parallel:7.1f} s  ({parallel / submissions:.2f} s per submission, "
          "preparing, grades.csv and the class report included)")
    print(f"speed ratio               : {serial / parallel:.2f}x")
    for assignment, seconds in bare.items():
        print(f"bare nbclient run of one correct {assignment}: {seconds:.2f} s")
    print(f"grading cost per submission, one worker's time (serial run): {serial / submissions:.2f} s")


if __name__ == "__main__":
    main()
