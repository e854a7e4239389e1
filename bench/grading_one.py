"""What trusted grading costs: one notebook-01 submission through ``nbgrader autograde``, before and after.

    .venv/bin/python bench/grading_one.py [--repeat 3]

*before*: nbgrader's own ``Execute`` (the score is whatever the learner's kernel displays) with
``RequireScore``; *after*: the course's configuration (``TrustedExecute``: isolated kernel, every case
a plain-data round trip, the reference and hidden cases on the grader's side), at every isolation level
this machine allows (``bubblewrap``, ``namespace``, ``limits``). Also times the in-notebook ``grade()`` a
learner runs, in both modes. Prints medians; a benchmark, not a test.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.classroom.course import (  # noqa: E402
    SOURCE,
    add_class_checks,
    assignment_exercises,
    generate_learner_versions,
    tool_env,
)
from autograder.grading import engine, sandbox  # noqa: E402
from autograder.learner import bundle  # noqa: E402
from tests.fixtures import submissions_01 as subs  # noqa: E402
from tests.test_nbgrader_e2e import ASSIGNMENT, NOTEBOOK, _submission  # noqa: E402

BEFORE = f'''exec(open({str(ROOT / "nbgrader_config.py")!r}).read())
from nbgrader.preprocessors import Execute
c.Autograde.autograde_preprocessors = [Execute] + c.Autograde.autograde_preprocessors[1:]
'''
AT_LEVEL = f'''exec(open({str(ROOT / "nbgrader_config.py")!r}).read())
c.TrustedExecute.isolation = {{level!r}}
'''


def levels() -> list[str]:
    """The isolation levels this machine can build, best first."""
    found = ["bubblewrap"] if sandbox.bubblewrap_available() else []
    return found + (["namespace"] if sandbox.namespaces_available() else []) + ["limits"]


def autograde_seconds(course: Path, config_dir: Path) -> float:
    command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--create", "--force",
               f"--CourseDirectory.root={course}", f"--CourseDirectory.source_directory={SOURCE}"]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=config_dir, env=tool_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    return time.perf_counter() - start


def median_ms(fn, repeat: int = 20) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        course = tmp / "course"
        course.mkdir()
        released = generate_learner_versions(course / "release", [ASSIGNMENT], gradebook_root=course)
        nb = _submission(nbformat.read(released / ASSIGNMENT / NOTEBOOK, as_version=4), subs.CORRECT_BUT_DIFFERENT)
        (course / "submitted" / "s1" / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(nb, course / "submitted" / "s1" / ASSIGNMENT / NOTEBOOK)
        before_dir = tmp / "before"
        before_dir.mkdir()
        (before_dir / "nbgrader_config.py").write_text(BEFORE)
        autograde_seconds(course, ROOT)  # create the gradebook and warm the caches
        before = [autograde_seconds(course, before_dir) for _ in range(args.repeat)]
        after = {}
        for level in levels():
            config_dir = tmp / level
            config_dir.mkdir()
            (config_dir / "nbgrader_config.py").write_text(AT_LEVEL.format(level=level))
            after[level] = [autograde_seconds(course, config_dir) for _ in range(args.repeat)]
        b = statistics.median(before)
        print(f"isolation by default here: {sandbox.best_level()}")
        print(f"autograde one submission, before (kernel decides): median {b:5.2f} s  runs {before}")
        for level, runs in after.items():
            a = statistics.median(runs)
            print(f"autograde one submission, trusted, {level:10s}:   median {a:5.2f} s  runs {runs}  "
                  f"ratio to before {a / b:.2f}")

        add_class_checks(released, [ASSIGNMENT])
        checks = bundle.PublicChecks(json.loads((released / ASSIGNMENT / bundle.FILENAME).read_text()))
    for exercise in assignment_exercises(ASSIGNMENT):
        exercise_id = exercise.id
        self_paced = median_ms(lambda: engine.run(exercise, exercise.reference))
        with_hidden = median_ms(lambda: engine.run(exercise, exercise.reference, hidden=True))
        in_class = median_ms(lambda: checks.run(exercise_id, exercise.reference))
        print(f"grade({exercise_id!r}) in a notebook: self-paced {self_paced:5.1f} ms, with hidden cases "
              f"{with_hidden:5.1f} ms, class release {in_class:5.1f} ms")


if __name__ == "__main__":
    main()
