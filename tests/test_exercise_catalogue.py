"""CI's proof for every exercise: the reference earns full points, every catalogued mistake loses
points and is named in the report, and the stub reports "not attempted"."""
import pytest

from autograder.grading import engine
from autograder.learner import report
from autograder.registry import EXERCISES

EXERCISE_IDS = sorted(EXERCISES)
MISTAKES = [(ex_id, m.name) for ex_id in EXERCISE_IDS for m in EXERCISES[ex_id].mistakes]


def _mistake(ex_id, name):
    return next(m for m in EXERCISES[ex_id].mistakes if m.name == name)


def _stub(*args, **kwargs):
    raise NotImplementedError()


@pytest.mark.parametrize("hidden", [False, True], ids=["public", "hidden"])
@pytest.mark.parametrize("ex_id", EXERCISE_IDS)
def test_reference_earns_full_points(ex_id, hidden):
    exercise = EXERCISES[ex_id]
    outcome = engine.run(exercise, exercise.reference, hidden=hidden)
    assert outcome.status == engine.PASSED, report.render(outcome)
    assert outcome.points == exercise.points


@pytest.mark.parametrize("hidden", [False, True], ids=["public", "hidden"])
@pytest.mark.parametrize("ex_id,name", MISTAKES)
def test_each_catalogued_mistake_loses_points_and_is_named(ex_id, name, hidden):
    exercise, mistake = EXERCISES[ex_id], _mistake(ex_id, name)
    outcome = engine.run(exercise, mistake.impl, hidden=hidden)
    text = report.render(outcome)
    assert outcome.points < exercise.points, text
    assert f"likely mistake: {mistake.name}" in text, text


def _is_question(exercise) -> bool:
    return not exercise.in_class_release


@pytest.mark.parametrize("ex_id", EXERCISE_IDS)
def test_stub_is_not_attempted_and_earns_nothing(ex_id):
    exercise = EXERCISES[ex_id]
    outcome = engine.run(exercise, None if _is_question(exercise) else _stub)
    assert outcome.status == engine.NOT_ATTEMPTED
    assert outcome.points == 0.0
    assert "Not attempted yet" in report.render(outcome)


@pytest.mark.parametrize("ex_id", EXERCISE_IDS)
def test_every_exercise_has_hints_cases_and_mistakes(ex_id):
    exercise = EXERCISES[ex_id]
    if _is_question(exercise):  # a concept question: one case (the answer), explanations for wrong answers
        assert len(exercise.hints) >= 1 and len(exercise.mistakes) >= 1 and len(exercise.cases(hidden=True)) == 1
        return
    assert len(exercise.hints) >= 2
    assert len(exercise.mistakes) >= 3
    assert len(exercise.cases(hidden=True)) > len(exercise.cases(hidden=False)) >= 3


@pytest.mark.parametrize("ex_id", EXERCISE_IDS)
def test_hidden_cases_are_seeded(ex_id):
    exercise = EXERCISES[ex_id]
    first, second = exercise.cases(hidden=True), exercise.cases(hidden=True)
    assert [c.label for c in first] == [c.label for c in second]
