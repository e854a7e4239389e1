"""Public checks as data: what a class release gives students instead of the reference library.

``nncourse_checks.json`` holds, for each exercise of an assignment, its title, points, hints, the
comparison (as data) and every *public* case as a wire request with the reference's reply and the
catalogued mistakes' replies precomputed. A student's notebook judges their code with exactly the
code the instructor's grading uses (:func:`autograder.learner.judge.judge`), but holds no reference code,
no hidden case and no expected value of one. This module is part of the student's release, so it
imports nothing that needs the reference library.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

from autograder.learner import wire
from autograder.learner.checks import from_spec
from autograder.learner.judge import ERROR, CaseResult, Info, Outcome, judge, name_mistakes, read_reply, target_problem

FILENAME = "nncourse_checks.json"
FORMAT = "nncourse-public-checks/1"


def build(exercises, *, solutions: bool = False) -> dict:
    """The public checks of ``exercises`` (the trusted side runs the references to fill them in)."""
    import inspect

    entries = {}
    for ex in exercises:
        cases = []
        for case in (ex.cases(hidden=False) if ex.in_class_release else []):
            request = case.request("answer")
            cases.append({"label": case.label, "request": request, "weight": case.weight,
                          "expected": wire.serve(request, {"answer": ex.reference}),
                          "mistakes": [{"name": m.name, "diagnosis": m.diagnosis,
                                        "reply": wire.serve(request, {"answer": m.impl})} for m in ex.mistakes]})
        entries[ex.id] = {"title": ex.title, "points": ex.points, "hints": list(ex.hints),
                          "compare": ex.compare.spec(), "forbid_warnings": ex.forbid_warnings, "cases": cases}
        if solutions:
            entries[ex.id]["solution"] = inspect.getsource(ex.reference)
    return {"format": FORMAT, "solutions": solutions, "exercises": entries}


def write(exercises, path: Path, *, solutions: bool = False) -> Path:
    path.write_text(json.dumps(build(exercises, solutions=solutions)))
    return path


class PublicChecks:
    """A loaded ``nncourse_checks.json``: check, hint and (if enabled) solution for each exercise."""

    def __init__(self, data: dict, origin: str = ""):
        if data.get("format") != FORMAT:
            raise ValueError(f"{origin or 'the checks file'} is not a course checks file")
        self.data, self.origin = data, origin

    @classmethod
    def load(cls, path: Path) -> "PublicChecks":
        return cls(json.loads(Path(path).read_text()), str(path))

    @property
    def solutions_enabled(self) -> bool:
        return bool(self.data.get("solutions"))

    def entry(self, exercise_id: str) -> dict:
        try:
            return self.data["exercises"][exercise_id]
        except KeyError:
            known = ", ".join(sorted(self.data["exercises"]))
            raise KeyError(f"no exercise called {exercise_id!r} in this assignment; known: {known}") from None

    def info(self, exercise_id: str) -> Info:
        e = self.entry(exercise_id)
        return Info(exercise_id, e["title"], e["points"], list(e["hints"]))

    def run(self, exercise_id: str, obj) -> Outcome:
        """Judge ``obj`` on the public cases, in this process."""
        e = self.entry(exercise_id)
        compare = from_spec(e["compare"])
        outcome = Outcome(self.info(exercise_id), hidden=False)
        runs, catalogue = [], []
        for case in e["cases"]:
            request = dict(case["request"], nonce=uuid.uuid4().hex)
            try:
                answer = read_reply(wire.serve(request, {request["target"]: obj}))
            except wire.WireError as exc:
                outcome.cases.append(CaseResult(case["label"], ERROR, f"your code's result was unreadable ({exc})"))
                continue
            problem = target_problem(answer, request["target"], request)
            if problem:
                outcome.problem, outcome.cases = problem, []
                return outcome
            runs.append((case["request"], answer))
            catalogue.append([(m["name"], m["diagnosis"], read_reply(m["reply"])) for m in case["mistakes"]])
            outcome.cases.append(judge(case["label"], False, case["request"], answer, read_reply(case["expected"]),
                                       compare, bool(e.get("forbid_warnings"))))
            outcome.cases[-1].weight = float(case.get("weight", 1.0))
        name_mistakes(outcome.cases, runs, lambda i: catalogue[i])
        return outcome
