"""Graded points come from cases a student cannot look up.

A class release ships every public case's inputs and expected value (``nncourse_checks.json``), so
code that only returns the recorded answers of the public cases passes them all. At grading with the
course's secret the public cases weigh 10 % of an exercise (``engine.PUBLIC_SHARE``) and the hidden
cases, drawn from the secret, the rest; no hidden case may be passed by an answer that ignores its
inputs. The fake learner here is stronger than any code a student can write: a local worker that
answers a public case with the reference's own recorded reply, and anything else with a plausible
answer (zeros of the right shape, a do-nothing optimizer, or the first recorded reply).
"""
import importlib
import json

import numpy as np
import pytest

from autograder.exercises import MODULES, nb01
from autograder.grading import engine
from autograder.learner import bundle, wire
from autograder.registry import EXERCISES

SECRET = "lookup-table-test-secret-" + "7" * 40
NOTEBOOKS = {name: importlib.import_module(f"autograder.exercises.{name}").EXERCISES for name in MODULES}
FALLBACKS = ("zeros", "first recorded reply")


def _key(request: dict) -> str:
    return json.dumps(request["steps"], sort_keys=True)


class _DoNothing:
    """A stateful object that accepts every call and changes nothing (an optimizer that never moves)."""

    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def lookup_worker(entry: dict, fallback: str):
    """A worker that answers a public case of the class release with its recorded reply."""
    table = {_key(case["request"]): case["expected"] for case in entry["cases"]}
    first = entry["cases"][0]["expected"]
    first_value = next((wire.decode(s["value"]) for s in first["steps"] if "value" in s), None)

    def plausible(*args, **kwargs):
        if isinstance(first_value, np.ndarray):
            like = next((a for a in args if isinstance(a, np.ndarray) and a.ndim == first_value.ndim), first_value)
            return np.zeros(like.shape)
        if isinstance(first_value, tuple):
            return tuple(np.zeros_like(v) if isinstance(v, np.ndarray) else v for v in first_value)
        return first_value

    def worker(request: dict) -> dict:
        recorded = table.get(_key(request))
        if recorded is not None:
            return dict(recorded, nonce=request["nonce"])
        if fallback != "zeros":
            return dict(first, nonce=request["nonce"])
        stateful = sum(str(s.get("call", "")).startswith(("@", "$")) for s in request["steps"]) > 1
        return wire.serve(request, {request["target"]: _DoNothing if stateful else plausible})
    return worker


def _shipped(exercises):
    entries = bundle.build(exercises)["exercises"]
    return [(ex, entries[ex.id]) for ex in exercises if entries[ex.id]["cases"]]


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS))
def test_a_lookup_table_of_the_public_cases_earns_at_most_a_tenth_at_grading(notebook):
    shipped = _shipped(NOTEBOOKS[notebook])
    assert shipped
    for exercise, entry in shipped:
        for fallback in FALLBACKS:
            worker = lookup_worker(entry, fallback)
            # In the notebook (the public cases, no secret) the lookup table looks perfect...
            assert engine.run(exercise, worker=worker).points == exercise.points, (exercise.id, fallback)
            # ...at grading it earns the public share and nothing of the hidden cases.
            graded = engine.run(exercise, worker=worker, hidden=True, secret=SECRET)
            assert graded.points <= engine.PUBLIC_SHARE * exercise.points + 1e-9, (exercise.id, fallback)
            passed_hidden = [c.label for c in graded.cases if c.hidden and c.status == engine.PASSED]
            assert not passed_hidden, (exercise.id, fallback)
            assert graded.public_points() == exercise.points  # what the notebook showed: no integrity flag


@pytest.mark.parametrize("notebook", sorted(NOTEBOOKS))
def test_the_reference_earns_every_point_at_grading(notebook):
    for exercise in NOTEBOOKS[notebook]:
        outcome = engine.run(exercise, exercise.reference, hidden=True, secret=SECRET)
        failed = [c.label for c in outcome.cases if c.status != engine.PASSED]
        assert outcome.points == exercise.points, (exercise.id, failed)


def test_every_exercise_that_ships_public_cases_has_hidden_cases_drawn_from_the_secret():
    for exercise in EXERCISES.values():
        if not exercise.in_class_release:
            continue
        drawn = [[json.dumps(c.request("answer"), sort_keys=True) for c, h in exercise.suite(True, s) if h]
                 for s in (SECRET, SECRET[::-1])]
        assert drawn[0], f"{exercise.id} ships public cases but has no hidden case"
        assert drawn[0] != drawn[1], f"{exercise.id}: no hidden case depends on the course's secret"


def test_weights_keep_their_meaning_within_public_and_within_hidden_cases():
    exercise = nb01.COUNT_DENSE_PARAMS  # the input layer alone (a degenerate case) weighs 0.25
    suite = exercise.suite(True, SECRET)
    weights = engine.case_weights(suite, True)
    public = [(c.weight, w) for (c, h), w in zip(suite, weights) if not h]
    hidden = [(c.weight, w) for (c, h), w in zip(suite, weights) if h]
    assert sum(w for _, w in public) == pytest.approx(engine.PUBLIC_SHARE)
    assert sum(w for _, w in hidden) == pytest.approx(1 - engine.PUBLIC_SHARE)
    for group in (public, hidden):
        assert len({round(w / own, 12) for own, w in group}) == 1  # one factor per group: ratios unchanged
    # Outside grading (a notebook's own check, the self-paced hidden set) the cases' own weights count.
    for hidden_too in (False, True):
        plain = exercise.suite(hidden_too)
        assert engine.case_weights(plain, False) == [c.weight for c, _ in plain]


def test_self_paced_checks_are_unchanged():
    """Without a secret, points are the plain weighted share of the cases passed, hidden or not."""
    exercise = nb01.COUNT_DENSE_PARAMS

    def public_only(sizes):
        return {(3, 4, 1): 21, (784, 16, 16, 10): 13_002, (2, 1): 3, (4,): 0}.get(tuple(sizes), 0)

    assert engine.run(exercise, public_only).points == exercise.points
    selfpaced = engine.run(exercise, public_only, hidden=True)
    passed = sum(c.weight for c in selfpaced.cases if c.status == engine.PASSED)
    assert selfpaced.points == round(exercise.points * passed / sum(c.weight for c in selfpaced.cases), 2)
    assert [c.weight for c in selfpaced.cases] == [c.weight for c in exercise.cases(True)]
    graded = engine.run(exercise, public_only, hidden=True, secret=SECRET)
    assert graded.points == pytest.approx(engine.PUBLIC_SHARE * exercise.points)
    # `check` scores a notebook as nbgrader autograde does: grading weights, on the self-paced hidden cases
    checked = engine.run(exercise, public_only, hidden=True, graded=True)
    assert checked.points == pytest.approx(engine.PUBLIC_SHARE * exercise.points)


def test_concept_questions_keep_their_full_weight():
    questions = [ex for ex in EXERCISES.values() if not ex.in_class_release]
    assert questions
    for question in questions:
        assert engine.run(question, question.reference, hidden=True, secret=SECRET).points == question.points
        wrong = next(iter(question.mistakes)).impl
        assert engine.run(question, wrong, hidden=True, secret=SECRET).points == 0.0


def test_passing_the_public_cases_only_is_flagged_and_nothing_else_is():
    from autograder.grading.trusted import public_answers_only

    exercise = nb01.COUNT_DENSE_PARAMS
    [(_, entry)] = _shipped([exercise])
    looked_up = engine.run(exercise, worker=lookup_worker(entry, "zeros"), hidden=True, secret=SECRET)
    flags = public_answers_only(looked_up)
    assert len(flags) == 1 and "none of the" in flags[0] and "check it by hand" in flags[0]
    assert public_answers_only(engine.run(exercise, exercise.reference, hidden=True, secret=SECRET)) == []
    assert public_answers_only(engine.run(exercise, lambda sizes: 0, hidden=True, secret=SECRET)) == []  # public fail
    # a hidden case that errs (a timeout, a lost kernel) is no sign of a lookup table
    errs = engine.run(exercise, worker=lookup_worker(entry, "zeros"), hidden=True, secret=SECRET)
    errs.cases[-1].status = engine.ERROR
    assert public_answers_only(errs) == []
