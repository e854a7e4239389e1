"""A stateful exercise (an optimizer stepped several times) through the one call protocol: in process,
and in a real kernel through the trusted grader, where the learner's class is only driven by data."""
import nbformat
import numpy as np
import pytest

from autograder import registry
from autograder.classroom.notebooks import execute, score
from autograder.exercise import Case, Exercise, Mistake, Ref, call, compare_array, get, let
from autograder.grading import engine
from autograder.learner import report


class ReferenceSGD:
    """Plain SGD that updates the parameters in place: w <- w - lr * dw."""

    def __init__(self, lr):
        self.lr = lr

    def step(self, w, dw):
        w -= self.lr * dw


class SignErrorSGD(ReferenceSGD):
    def step(self, w, dw):
        w += self.lr * dw


def _cases(rng, n_cases=2, steps=4):
    cases = []
    for k in range(n_cases):
        w, grads = rng.normal(size=3), rng.normal(size=(steps, 3))
        script = [let("w", w), call("@", lr=0.1, keep="opt", send=False)]
        script += [call("$opt.step", Ref("w"), g, send=False) for g in grads] + [get("w")]
        cases.append(Case(f"lr=0.1, {steps} steps on 3 parameters (case {k + 1})", steps=script))
    return cases


SGD = Exercise(id="test.sgd", title="SGD step by step", points=3, reference=ReferenceSGD,
               public_cases=_cases, hidden_cases=lambda rng: _cases(rng, 1, 6), compare=compare_array(),
               hints=["w -= lr * dw", "in place"],
               mistakes=[Mistake("momentum sign error", "subtract the gradient step", SignErrorSGD)])


def test_the_reference_passes_and_a_sign_error_is_named():
    assert engine.run(SGD, ReferenceSGD, hidden=True).points == 3.0
    wrong = engine.run(SGD, SignErrorSGD, hidden=True)
    assert wrong.points == 0.0 and "likely mistake: momentum sign error" in report.render(wrong)


def test_an_optimizer_that_rebinds_instead_of_updating_in_place_is_caught():
    class Rebinding(ReferenceSGD):
        def step(self, w, dw):
            w = w - self.lr * dw  # noqa: F841 (the caller's parameters never change)

    outcome = engine.run(SGD, Rebinding)
    assert outcome.points == 0.0 and "values differ" in report.render(outcome)


LEARNER_SGD = '''
class SGD:
    def __init__(self, lr):
        self.lr = lr
    def step(self, w, dw):
        for i in range(len(w)):
            w[i] = w[i] - self.lr * dw[i]
'''


@pytest.mark.slow
@pytest.mark.parametrize("isolation", ["none", "auto"])
def test_a_stateful_exercise_is_graded_in_the_kernel_by_the_trusted_side(tmp_path, monkeypatch, isolation):
    monkeypatch.setitem(registry.EXERCISES, SGD.id, SGD)
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                           "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(LEARNER_SGD),
                nbformat.v4.new_code_cell('from autograder import grade\ngrade("test.sgd", SGD)')]
    nb.cells[1].metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "points": 3,
                                        "grade_id": "grade_sgd", "schema_version": 3}
    execute(nb, tmp_path, timeout=60, isolation=isolation)
    (scored,) = score(nb)
    assert scored.points == 3.0, nb.cells[1].outputs
    assert "3 of 3 checks (1 of them hidden) passed" in nb.cells[1].outputs[0]["data"]["text/plain"]
