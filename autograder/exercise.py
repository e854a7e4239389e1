"""What an exercise is: a reference, test cases, hints and a catalogue of known mistakes.

One definition serves the learner (public cases), the instructor (hidden cases, drawn from the
course's secret) and CI (every catalogued mistake must lose points and be named). Every case is a
:mod:`autograder.learner.wire` request: the learner's object is called on plain data, so the same case
runs in a notebook and in the isolated kernel at grading.

A case is one call (``Case(label, args, kwargs)``) or, for stateful exercises, a script of steps
built with :func:`call`, :func:`let` and :func:`get`, e.g. an optimizer stepped three times::

    Case("SGD, lr=0.1, 3 steps", steps=[
        let("w", np.ones(3)),
        call("@", Ref("w"), lr=0.1, keep="opt", send=False),       # opt = LearnerSGD(w, lr=0.1)
        *[call("$opt.step", Ref("w"), grads[k], send=False) for k in range(3)],
        get("w"),                                                  # compared with the reference's w
    ])

Every step with ``send`` (the default for ``call``; always for ``get``) returns a value that is
compared with the reference's value at the same step.
"""
from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from autograder.learner import wire
from autograder.learner.checks import ArrayClose, ChoiceAnswer, Comparison, Equal, ExactInt, NumberAnswer, NumberClose
from autograder.learner.wire import Fn, Ref  # noqa: F401 (re-exported for exercise definitions)


def call(target: str = "@", *args, keep: str | None = None, send: bool = True, inputs_back: bool = False,
         collect: bool = False, **kwargs) -> dict:
    """A step that calls the learner's object (``"@"``), a kept value (``"$name"``) or a method of one.

    ``collect`` turns a returned generator into the list of its items (a mini-batch iterator).
    """
    step = {"call": target, "args": [wire.encode(a) for a in args],
            "kwargs": {k: wire.encode(v) for k, v in kwargs.items()}, "send": send, "inputs_back": inputs_back,
            "collect": collect}
    if keep:
        step["keep"] = keep
    return step


def let(name: str, value) -> dict:
    """A step that keeps a value under ``name`` (passed on with ``Ref(name)``)."""
    return {"let": name, "value": wire.encode(value)}


def get(name: str) -> dict:
    """A step that sends back a kept value, as it is now (after any in-place updates)."""
    return {"get": name}


@dataclass
class Case:
    """One check: a label a learner can read, and either one call's arguments or a script of steps."""

    label: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    steps: list[dict] | None = None
    weight: float = 1.0  # share of the points; give a degenerate edge case (that wrong code passes too) less

    def request(self, target: str, seed: int = 0) -> dict:
        """The wire request that runs this case on ``target`` (the learner's name for the object)."""
        steps = self.steps if self.steps is not None else [call("@", *self.args, inputs_back=True, **self.kwargs)]
        return {"v": wire.VERSION, "target": target, "seed": seed, "steps": steps}


@dataclass
class Mistake:
    """A known wrong implementation and the diagnosis shown when a learner's output matches it."""

    name: str
    diagnosis: str
    impl: Callable


@dataclass
class Exercise:
    """A graded exercise.

    ``public_cases(rng)`` and ``hidden_cases(rng)`` build the test cases. Public cases are the same
    everywhere; hidden cases are drawn from the course's secret, so each course has its own and the
    public repository reveals none. Hidden labels say what is tested, never the values.
    """

    id: str
    title: str
    points: float
    reference: Callable
    public_cases: Callable[[np.random.Generator], list[Case]]
    hidden_cases: Callable[[np.random.Generator], list[Case]]
    compare: Comparison
    hints: list[str]
    mistakes: list[Mistake] = field(default_factory=list)
    in_class_release: bool = True  # False: a class release ships none of its cases (a concept question's answer)
    forbid_warnings: bool = False  # True: a RuntimeWarning (overflow in exp...) fails the case, as for stable softmax

    def seed(self, hidden: bool, secret: str | None = None) -> int:
        """A fixed seed per exercise; the hidden one also depends on the course's secret."""
        if hidden and secret:
            return int.from_bytes(hashlib.sha256(f"{secret}:{self.id}:hidden".encode()).digest()[:8], "big")
        return zlib.crc32(f"{self.id}:{'hidden' if hidden else 'public'}".encode())

    def suite(self, hidden: bool, secret: str | None = None) -> list[tuple[Case, bool]]:
        """The public cases, plus the hidden ones if asked, each with whether it is hidden.

        Without a secret the hidden cases are the self-paced set anyone can run.
        """
        public = [(case, False) for case in self.public_cases(np.random.default_rng(self.seed(False)))]
        if not hidden:
            return public
        return public + [(case, True) for case in self.hidden_cases(np.random.default_rng(self.seed(True, secret)))]

    def cases(self, hidden: bool, secret: str | None = None) -> list[Case]:
        return [case for case, _ in self.suite(hidden, secret)]


def question(id: str, title: str, points: float, *, answer, wrong: dict, hints: list[str],
             choices: list[str] | None = None, rtol: float = 1e-3) -> Exercise:
    """A concept check: the learner assigns an answer (a choice such as ``"b"``, or a number) to a name.

    The grade cell reads it back as a value (``grade("02.q_vanishing", q_vanishing)``); ``wrong`` maps
    each known wrong answer to the explanation shown when a learner gives it. A class release ships
    no case of a question (its one case would be the answer): the grader checks it.
    """
    mistakes = [Mistake(f"answer {value!r}", why, value) for value, why in wrong.items()]
    compare = ChoiceAnswer(choices) if choices else NumberAnswer(rtol=rtol)
    case = Case("your answer", steps=[get("@")])
    return Exercise(id=id, title=title, points=points, reference=answer, public_cases=lambda rng: [case],
                    hidden_cases=lambda rng: [], compare=compare, hints=hints, mistakes=mistakes,
                    in_class_release=False)


def compare_array(rtol: float = 1e-6, atol: float = 1e-8) -> Comparison:
    """Comparison for exercises that return one array."""
    return ArrayClose(rtol, atol)


def compare_number(rtol: float = 1e-7, atol: float = 1e-9) -> Comparison:
    """Comparison for exercises that return one real number."""
    return NumberClose(rtol, atol)


compare_int = ExactInt()
compare_equal = Equal()
