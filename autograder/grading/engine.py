"""Run an exercise's cases against a learner's object and collect the outcome.

The learner's object is reached only through a *worker*: a function that takes a
:mod:`autograder.learner.wire` request and returns the plain-data reply. In a notebook the worker is
:func:`local_worker` (the same :func:`wire.serve` in-process); at grading it is the isolated
kernel (:mod:`autograder.grading.trusted`). The reference and the catalogued mistakes always run here, on
the side that holds them; learner code never sees them. Every call gets fresh inputs rebuilt from
the request (so it cannot corrupt a test), fixed random seeds (the learner's random state is
restored afterwards) and captured output and warnings (so nothing reaches stderr).

At grading (``nbgrader autograde``, and ``check``, which scores as it does), the public cases together weigh
:data:`PUBLIC_SHARE` of the exercise and the hidden cases the rest (:func:`case_weights`): a class release
ships every public case's inputs and
expected value, so code that only looks those up must not earn more than that share.
"""
from __future__ import annotations

import uuid
from typing import Callable

from autograder.exercise import Case, Exercise
from autograder.learner import wire
from autograder.learner.judge import (  # noqa: F401
    ERROR,
    FAILED,
    NOT_ATTEMPTED,
    PASSED,
    Answer,
    CaseResult,
    Info,
    Outcome,
    judge,
    name_mistakes,
    read_reply,
    target_problem,
)

Worker = Callable[[dict], dict]
TARGET = "answer"  # the learner's object's name in a local namespace
PUBLIC_SHARE = 0.1  # at grading: the share of the points all public cases weigh together


class WorkerLost(Exception):
    """The learner's code can no longer be reached (its kernel died or hit a limit); says why."""


def local_worker(obj, name: str = TARGET) -> Worker:
    """A worker that serves requests in this process, on ``{name: obj}``."""
    return lambda request: wire.serve(request, {name: obj})


def info(exercise: Exercise) -> Info:
    return Info(exercise.id, exercise.title, exercise.points, list(exercise.hints))


def case_weights(suite: list[tuple[Case, bool]], graded: bool) -> list[float]:
    """Each case's weight in the exercise's points.

    Outside grading (a notebook's own check, with or without hidden cases): the cases' own weights. At
    grading, the public cases (whose inputs and expected values every student holds) share
    :data:`PUBLIC_SHARE` of the points and the hidden cases (drawn from the course's secret) the rest; each
    case keeps its relative weight within its group. An exercise without hidden cases (a concept question,
    whose one case ships to no one) keeps its weights.
    """
    own = [case.weight for case, _ in suite]
    public_total = sum(w for w, (_, is_hidden) in zip(own, suite) if not is_hidden)
    hidden_total = sum(w for w, (_, is_hidden) in zip(own, suite) if is_hidden)
    if not graded or not public_total or not hidden_total:
        return own
    return [w * ((1 - PUBLIC_SHARE) / hidden_total if is_hidden else PUBLIC_SHARE / public_total)
            for w, (_, is_hidden) in zip(own, suite)]


def _served(fn, request: dict) -> Answer:
    return read_reply(wire.serve(request, {request["target"]: fn}))


def run(exercise: Exercise, obj=None, hidden: bool = False, *, worker: Worker | None = None,
        target: str = TARGET, secret: str | None = None, graded: bool | None = None) -> Outcome:
    """Check the learner's object against every case (public, plus hidden ones if asked).

    Give ``obj`` to check an object in this process, or a ``worker`` that reaches it elsewhere by
    the name ``target``. ``secret`` draws the hidden cases of a course (None: the self-paced set).
    ``graded`` weighs the cases as at grading (:func:`case_weights`); by default, when a secret is given.
    """
    worker = worker or local_worker(obj, target)
    outcome = Outcome(info(exercise), hidden)
    runs: list[tuple[dict, Answer]] = []
    suite = exercise.suite(hidden, secret)
    weights = case_weights(suite, bool(secret) if graded is None else graded)
    for index, (case, is_hidden) in enumerate(suite):
        request = case.request(target)
        expected = _served(exercise.reference, request)
        try:
            answer = read_reply(worker(dict(request, nonce=uuid.uuid4().hex)))
        except wire.WireError as exc:
            outcome.cases.append(CaseResult(case.label, ERROR, f"the reply from your code was unreadable ({exc})",
                                            hidden=is_hidden, weight=weights[index]))
            continue
        except WorkerLost as exc:  # this case and every later one: the code is gone
            outcome.cases += [CaseResult(c.label, ERROR, str(exc), hidden=h, weight=w)
                              for (c, h), w in zip(suite[index:], weights[index:])]
            return outcome
        problem = target_problem(answer, target, request)
        if problem:
            outcome.problem, outcome.cases = problem, []
            return outcome
        runs.append((request, answer))
        outcome.cases.append(judge(case.label, is_hidden, request, answer, expected, exercise.compare,
                                   exercise.forbid_warnings))
        outcome.cases[-1].weight = weights[index]
    name_mistakes(outcome.cases, runs, lambda i: [(m.name, m.diagnosis, _served(m.impl, runs[i][0]))
                                                  for m in exercise.mistakes])
    return outcome
