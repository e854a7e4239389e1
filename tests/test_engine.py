"""The checking engine's promises: every sub-check runs, inputs are protected, nothing reaches stderr,
the result is always a number, and failures say what was expected, what came back and on which input."""
import sys

import numpy as np
import pytest

import autograder
from autograder.grading import engine
from autograder.learner import api, report
from autograder.learner.checks import Mismatch, expect_array, expect_int, expect_number
from autograder.registry import EXERCISES, UnknownExercise, get
from solutions import neurons

DENSE = EXERCISES["01.dense_forward"]


def test_grade_returns_float_and_prints_report_to_stdout_only(capsys):
    points = autograder.grade("01.dense_forward", neurons.dense_forward)
    out, err = capsys.readouterr()
    assert isinstance(points, float) and points == DENSE.points
    assert "A dense layer over a batch [01.dense_forward]: 3 / 3 points" in out
    assert err == ""


def test_learner_output_and_warnings_never_reach_stderr(capsys):
    def noisy(X, W, b):
        print("debug", file=sys.stderr)
        np.exp(np.array([1e5]))  # RuntimeWarning: overflow
        raise ValueError("boom")

    points = autograder.grade("01.dense_forward", noisy, hidden=True)
    out, err = capsys.readouterr()
    assert points == 0.0 and err == ""
    assert "your code raised ValueError: boom" in out


def test_every_case_runs_even_after_a_failure():
    def wrong_on_square(X, W, b):
        return X @ W + (0 if X.shape[0] == W.shape[1] == W.shape[0] else b)

    outcome = engine.run(DENSE, wrong_on_square)
    statuses = [c.status for c in outcome.cases]
    assert statuses.count(engine.FAILED) == 1 and statuses.count(engine.PASSED) == len(statuses) - 1
    assert 0 < outcome.points < DENSE.points


def test_in_place_mutation_of_the_input_is_caught():
    def mutating(X, W, b):
        X *= 2.0
        return X @ W / 2.0 + b  # right values, but the caller's X was changed

    outcome = engine.run(DENSE, mutating)
    assert outcome.points == 0.0
    assert all("changed its input in place" in c.message for c in outcome.cases)


def test_mistaken_value_names_input_expected_and_got():
    outcome = engine.run(DENSE, lambda X, W, b: X @ W)
    first = report.render(outcome).splitlines()[2]
    assert "X of shape (4, 3), W (3, 2), b (2,)" in first
    assert "expected" in first and "got" in first


def test_not_callable_is_explained():
    outcome = engine.run(DENSE, 42)
    assert outcome.points == 0.0 and "expected a function, got int" in report.render(outcome)


def test_unknown_exercise_lists_the_known_ones():
    with pytest.raises(UnknownExercise, match="01.neuron"):
        get("01.nope")


def test_hints_come_one_more_per_call_and_solution_shows_the_reference(capsys, monkeypatch):
    monkeypatch.setattr(api, "_hints_shown", {})
    for _ in range(len(EXERCISES["01.neuron"].hints) + 1):
        autograder.hint("01.neuron")
    out = capsys.readouterr().out
    assert "Hint 1 of 3" in out and "Hint 3 of 3" in out and "last hint" in out
    autograder.solution("01.neuron")
    assert "def neuron(" in capsys.readouterr().out


@pytest.mark.parametrize("check,args,message", [
    (expect_array, ([1, 2], np.zeros(2)), "wrap it with np.array"),
    (expect_array, (np.zeros((2, 3)), np.zeros((3, 2))), "transpose"),
    (expect_array, (np.array([np.inf, 0.0]), np.zeros(2)), "inf or nan"),
    (expect_array, (np.ones(2), np.zeros(2)), "values differ: at index (0,) expected 0, got 1"),
    (expect_number, ("1", 1.0), "expected a number, got str"),
    (expect_int, (21.0, 21), "return an int"),
    (expect_int, (16, 21), "expected 21, got 16"),
])
def test_the_ladder_of_checks_names_the_first_problem(check, args, message):
    with pytest.raises(Mismatch, match=message.replace("(", r"\(").replace(")", r"\)")):
        check(*args)


def test_learner_calls_are_seeded_and_the_learner_random_state_is_restored():
    draws = []

    def random_dense(X, W, b):
        draws.append(np.random.rand())
        return X @ W + b

    np.random.seed(123)
    expected_next = np.random.rand()
    np.random.seed(123)
    engine.run(DENSE, random_dense)
    assert len(set(draws)) == 1, "every call starts from the same fixed seed"
    assert np.random.rand() == expected_next, "the learner's own random stream is untouched"


def test_a_concept_question_reads_the_answer_back_and_explains_a_wrong_one():
    from autograder.exercise import question

    q = question("99.q", "Which loss", 1, answer="b", choices=["a", "b", "c"], hints=["think"],
                 wrong={"a": "MSE is for regression."})
    assert engine.run(q, " B ").points == 1.0
    wrong = report.render(engine.run(q, "a"))
    assert "'a' is not the right answer" in wrong and "MSE is for regression." in wrong
    assert engine.run(q, None).status == engine.NOT_ATTEMPTED
    assert "not one of the choices" in report.render(engine.run(q, "z"))
    number = question("99.n", "Largest slope", 1, answer=0.25, hints=["s(1-s)"], wrong={1.0: "that is tanh'"})
    assert engine.run(number, 0.2500001).points == 1.0
    assert "0.5 is not the right number" in report.render(engine.run(number, 0.5))


def test_an_exercise_can_forbid_overflow_warnings():
    from autograder.exercise import Case, Exercise, Mistake, compare_array

    def stable(z):
        return np.exp(z - z.max())

    def unstable(z):
        return np.exp(z) / np.exp(z.max())   # right for small z, overflows (inf/inf) for large z

    cases = lambda rng: [Case("z = [1, 2, 3]", (np.array([1.0, 2.0, 3.0]),)),  # noqa: E731
                         Case("z = [1000, 1000]", (np.array([1000.0, 1000.0]),))]
    strict = Exercise("99.stable", "stable", 2, stable, cases, lambda rng: [], compare_array(), ["h", "h"],
                      [Mistake("no max subtraction", "subtract the max first", unstable)], forbid_warnings=True)
    assert engine.run(strict, stable).points == 2.0

    def right_but_overflowing(z):
        np.exp(z)                             # overflows for z = 1000 (a RuntimeWarning), result unused
        return stable(z)

    noisy = engine.run(strict, right_but_overflowing)
    assert noisy.cases[0].status == engine.PASSED
    assert noisy.cases[1].status == engine.FAILED and "NumPy warned: overflow" in noisy.cases[1].message
    assert "likely mistake" not in report.render(engine.run(strict, right_but_overflowing))


def test_list_dict_and_batch_comparisons_say_what_differs():
    from autograder.learner.checks import ArrayClose, DictOf, ListOf, SameBatches, TupleOf, from_spec

    close = ArrayClose()
    with pytest.raises(Mismatch, match="missing \\['b'\\]"):
        DictOf(close)({"w": np.zeros(2)}, {"w": np.zeros(2), "b": np.zeros(1)})
    with pytest.raises(Mismatch, match="'w': values differ"):
        DictOf(close)({"w": np.ones(2)}, {"w": np.zeros(2)})
    with pytest.raises(Mismatch, match="expected 2 items, got 1"):
        ListOf(close)([np.zeros(1)], [np.zeros(1), np.zeros(1)])
    X, y = np.c_[np.arange(6.0), np.ones(6)], np.arange(6.0) * 10
    shuffled = [(X[[3, 1]], y[[3, 1]]), (X[[5, 0]], y[[5, 0]]), (X[[2, 4]], y[[2, 4]])]
    mine = [(X[[0, 5]], y[[0, 5]]), (X[[2, 1]], y[[2, 1]]), (X[[4, 3]], y[[4, 3]])]
    SameBatches()(mine, shuffled)
    with pytest.raises(Mismatch, match="original order"):
        SameBatches()([(X[i:i + 2], y[i:i + 2]) for i in (0, 2, 4)], shuffled)
    with pytest.raises(Mismatch, match="its own label"):
        SameBatches()([(X[[0, 5]], y[[5, 0]]), *mine[1:]], shuffled)
    nested = TupleOf([ListOf(DictOf(close)), SameBatches()])
    assert from_spec(nested.spec()).spec() == nested.spec()


def test_a_generator_is_collected_into_its_items():
    from autograder.exercise import Case, call
    from autograder.learner import wire

    request = Case("batches", steps=[call("@", 5, collect=True)]).request("f")
    reply = wire.serve(request, {"f": lambda n: (i * i for i in range(n))})
    assert wire.decode(reply["steps"][0]["value"]) == [0, 1, 4, 9, 16]


def test_solution_of_a_concept_question_gives_the_answer_and_the_reasons(capsys, monkeypatch):
    from autograder.exercise import question

    q = question("99.q", "Which loss", 1, answer="b", choices=["a", "b"], hints=["think"], wrong={"a": "for regression"})
    monkeypatch.setitem(EXERCISES, q.id, q)
    autograder.solution("99.q")
    out = capsys.readouterr().out
    assert "Answer to Which loss: 'b'" in out and "'a': for regression" in out
