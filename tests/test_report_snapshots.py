"""What a learner reads, pinned: the report of every exercise for the reference, for the stub and for
its first catalogued mistake, on the public cases. A change of wording shows up in review as a diff of
``tests/snapshots/reports.txt``; regenerate it with ``NNCOURSE_UPDATE_SNAPSHOTS=1 pytest this file``."""
import os
from pathlib import Path

from autograder.grading import engine
from autograder.learner import report
from autograder.registry import EXERCISES

SNAPSHOT = Path(__file__).parent / "snapshots" / "reports.txt"


def _stub(*args, **kwargs):
    raise NotImplementedError()


def _reports() -> str:
    parts = []
    for exercise_id in sorted(EXERCISES):
        exercise = EXERCISES[exercise_id]
        question = not exercise.in_class_release
        shown = [("reference", exercise.reference), ("not attempted", None if question else _stub)]
        if exercise.mistakes:
            shown.append((f"mistake: {exercise.mistakes[0].name}", exercise.mistakes[0].impl))
        for what, candidate in shown:
            parts.append(f"=== {exercise_id} · {what}\n{report.render(engine.run(exercise, candidate))}\n")
    return "\n".join(parts)


def test_learner_reports_match_the_snapshot():
    current = _reports()
    if os.environ.get("NNCOURSE_UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text(), "reports changed: review, then NNCOURSE_UPDATE_SNAPSHOTS=1 to accept"
