"""Notebook 02 (activation functions): alternative correct solutions earn full points, the formulas the
notebook teaches agree with independent oracles (PyTorch float64, autograd, closed forms), and the
source notebook runs top to bottom with full points in under 30 seconds."""
import warnings

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.classroom.course import SOURCE
from autograder.exercises import nb02
from autograder.grading import engine
from autograder.learner import report
from autograder.registry import EXERCISES
from solutions import activations as A
from tests.fixtures import submissions_02 as subs
from tests.oracle import close, t

NOTEBOOK = SOURCE / "02_activation_functions" / "02_activation_functions.ipynb"
ALTERNATIVES = [(ex_id, k) for ex_id, (_, sources) in subs.ALTERNATIVES.items() for k in range(len(sources))]


def _load(source: str, namespace: dict | None = None) -> dict:
    namespace = {"np": np} if namespace is None else namespace
    exec(compile(source, "<submission>", "exec"), namespace)  # noqa: S102 (fixture code we wrote)
    return namespace


# ---- (a) other correct styles earn full points ---------------------------------------------------

def test_every_exercise_of_the_notebook_has_alternatives():
    ids = {ex.id for ex in nb02.EXERCISES}
    assert set(subs.ALTERNATIVES) == ids
    assert all(len(sources) >= 2 for _, sources in subs.ALTERNATIVES.values())


@pytest.mark.parametrize("ex_id,k", ALTERNATIVES, ids=[f"{e}-{k}" for e, k in ALTERNATIVES])
def test_alternative_solution_earns_full_points(ex_id, k):
    name, sources = subs.ALTERNATIVES[ex_id]
    learner = _load(sources[k])[name]
    outcome = engine.run(EXERCISES[ex_id], learner, hidden=True)
    assert outcome.points == EXERCISES[ex_id].points, report.render(outcome)


def _solution_cells():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")]


def test_the_whole_correct_submission_earns_full_points():
    assert list(subs.CORRECT) == _solution_cells(), "CORRECT covers every solution cell, in notebook order"
    namespace = {"np": np}
    for source in subs.CORRECT.values():
        _load(source, namespace)
    for exercise in nb02.EXERCISES:
        name = subs.ALTERNATIVES[exercise.id][0]
        outcome = engine.run(exercise, namespace[name], hidden=True)
        assert outcome.points == exercise.points, report.render(outcome)


@pytest.mark.parametrize("ex_id,name", [(ex.id, m.name) for ex in nb02.EXERCISES
                                        if ex.in_class_release for m in ex.mistakes])
def test_each_mistake_fails_a_hidden_case_too(ex_id, name):
    """Not only the public cases catch a mistake: at least one hidden case does as well."""
    exercise = EXERCISES[ex_id]
    mistake = next(m for m in exercise.mistakes if m.name == name)
    outcome = engine.run(exercise, mistake.impl, hidden=True)
    assert any(c.hidden and c.status != engine.PASSED for c in outcome.cases), report.render(outcome)


@pytest.mark.parametrize("ex_id", ["02.softmax", "02.stable_sigmoid"])
def test_overflowing_exercises_include_huge_inputs(ex_id):
    """The hidden checks include +-1000, and a row that mixes huge values of both signs."""
    cases = EXERCISES[ex_id].cases(hidden=True)
    arrays = [np.asarray(c.args[0]) for c in cases]
    assert any(a.max() >= 1000 for a in arrays) and any(a.min() <= -1000 for a in arrays)
    assert any(((row >= 1000).any() and (row <= -1000).any()) for a in arrays for row in np.atleast_2d(a))


def test_the_textbook_formulas_warn_where_the_checks_forbid_it():
    """The naive formulas really overflow on the checks' inputs (so forbid_warnings has teeth)."""
    z = np.array([[1000.0, -1000.0, 0.0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        1.0 / (1.0 + np.exp(-z))
        np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    assert any("overflow" in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        A.sigmoid(z), A.softmax(z)


# ---- (b) the formulas the notebook teaches, against independent oracles -------------------------

Z = np.linspace(-6.0, 6.0, 121)


def test_tanh_is_a_rescaled_sigmoid():
    close(2 * torch.sigmoid(t(2 * Z)).numpy() - 1, torch.tanh(t(Z)).numpy())


def test_the_upside_down_fraction_is_coth_and_never_inside_minus_one_one():
    z = Z[Z != 0]
    upside_down = (np.exp(z) + np.exp(-z)) / (np.exp(z) - np.exp(-z))
    close(upside_down, 1 / torch.tanh(t(z)).numpy())
    assert np.all(np.abs(upside_down) > 1)
    assert np.all(np.abs(torch.tanh(t(z)).numpy()) < 1)


def test_two_class_softmax_is_the_sigmoid():
    scores = np.stack([Z, np.zeros_like(Z)], axis=-1)
    close(torch.softmax(t(scores), dim=-1).numpy()[:, 0], torch.sigmoid(t(Z)).numpy())


def test_sigmoid_derivative_forms_agree_with_autograd():
    zt = t(Z, grad=True)
    torch.sigmoid(zt).sum().backward()
    e = np.exp(-Z)
    close(e / (1 + e) ** 2, zt.grad.numpy())                       # written with exponentials
    close(0.25 * (1 - np.tanh(Z / 2) ** 2), zt.grad.numpy())        # sech^2(z/2) / 4
    assert zt.grad.max().item() == pytest.approx(0.25) and Z[zt.grad.argmax()] == 0.0


def test_softplus_derivative_is_the_sigmoid():
    zt = t(Z, grad=True)
    F.softplus(zt).sum().backward()
    close(zt.grad.numpy(), A.sigmoid(Z))
    close(np.logaddexp(0, Z), F.softplus(t(Z)).numpy())


def test_relu_one_sided_slopes_at_the_kink():
    for h in (1e-1, 1e-6):
        assert (A.relu(h) - A.relu(0.0)) / h == 1.0
        assert (A.relu(0.0) - A.relu(-h)) / h == 0.0
        assert (A.relu(h) - A.relu(-h)) / (2 * h) == 0.5


@pytest.mark.parametrize("d0,d1,d2", [(3, 4, 2), (5, 1, 3), (2, 6, 6)])
def test_collapsed_layer_matches_torch_and_its_jacobian(d0, d1, d2):
    rng = np.random.default_rng(d0 * 100 + d1 * 10 + d2)
    X, W1, b1, W2, b2 = (rng.normal(size=s) for s in [(7, d0), (d0, d1), (d1,), (d1, d2), (d2,)])
    W, b = A.collapse_linear(W1, b1, W2, b2)
    two = torch.nn.Sequential(torch.nn.Linear(d0, d1), torch.nn.Linear(d1, d2)).double()
    with torch.no_grad():
        two[0].weight.copy_(t(W1.T)); two[0].bias.copy_(t(b1))
        two[1].weight.copy_(t(W2.T)); two[1].bias.copy_(t(b2))
        close(two(t(X)).numpy(), X @ W + b)
    jacobian = torch.autograd.functional.jacobian(lambda x: two(x), t(X[0]))   # (d2, d0) = W^T
    close(jacobian.numpy(), W.T)
    assert np.linalg.matrix_rank(W) <= d1


def test_a_relu_between_the_layers_breaks_the_collapse():
    rng = np.random.default_rng(1)
    X, W1, b1, W2, b2 = (rng.normal(size=s) for s in [(6, 3), (3, 5), (5,), (5, 2), (2,)])
    W, b = A.collapse_linear(W1, b1, W2, b2)
    assert not np.allclose(A.relu(X @ W1 + b1) @ W2 + b2, X @ W + b)


def test_chain_gradient_is_the_product_of_weights_and_slopes():
    """Section 10: d a_L / d a_0 = prod_l w_l f'(z_l) for a chain of one-unit sigmoid layers."""
    rng = np.random.default_rng(4)
    w, b = rng.normal(size=12), rng.normal(size=12)
    a0 = t(0.3, grad=True)
    a, zs = a0, []
    for wl, bl in zip(w, b):
        z = float(wl) * a + float(bl)
        zs.append(z.item())
        a = torch.sigmoid(z)
    a.backward()
    close(a0.grad.item(), np.prod(w * A.sigmoid_grad(np.array(zs))))
    assert abs(a0.grad.item()) <= np.prod(np.abs(w)) * 0.25 ** len(w)


def test_relu_activations_scale_by_gain_over_root_two_per_layer():
    """Section 11: with weights N(0, g^2 / d), the RMS of ReLU activations changes by about g / sqrt(2)."""
    rng = np.random.default_rng(5)
    d = 1000
    h = rng.normal(size=(200, d))
    for gain in (1.0, np.sqrt(2), 2.0):
        out = A.relu(h @ rng.normal(0, gain / np.sqrt(d), size=(d, d)))
        ratio = np.sqrt(np.mean(out ** 2)) / np.sqrt(np.mean(h ** 2))
        assert ratio == pytest.approx(gain / np.sqrt(2), rel=0.03)


def test_question_answers_follow_from_the_reference():
    assert nb02.Q_SIGMOID_GRAD_MAX.reference == pytest.approx(float(np.max(A.sigmoid_grad(np.linspace(-5, 5, 1001)))))


def test_a_relu_unit_with_a_huge_negative_bias_gets_no_gradient():
    """Question 4 and section 11: a dead unit's weights and bias get exactly zero gradient (torch autograd)."""
    rng = np.random.default_rng(0)
    X = t(rng.normal(size=(50, 3)))
    w, b = t(rng.normal(size=3), grad=True), t(-100.0, grad=True)
    torch.relu(X @ w + b).pow(2).sum().backward()
    assert torch.all(w.grad == 0) and b.grad.item() == 0.0
    assert np.all(A.relu_grad((X @ w + b).detach().numpy()) == 0)


# ---- (c) the notebook itself ----------------------------------------------------------------------

@pytest.mark.slow
def test_source_notebook_earns_full_points_quickly():
    from autograder.classroom.notebooks import run_notebook

    result = run_notebook(NOTEBOOK)
    assert {e.id for e in result.exercises} == {ex.id for ex in nb02.EXERCISES}
    for e in result.exercises:
        assert e.points == e.max_points, f"{e.id}: {e.points}/{e.max_points} {e.status} {e.message}"
    assert result.seconds < 30, f"the notebook took {result.seconds} s"


@pytest.mark.slow
def test_a_whole_correct_submission_in_other_styles_earns_full_points(tmp_path):
    """The source notebook with every solution cell replaced by CORRECT, run and scored as nbgrader would."""
    from autograder.classroom.notebooks import run_notebook

    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in subs.CORRECT:
            cell.source = subs.CORRECT[grade_id].strip("\n")
    path = tmp_path / NOTEBOOK.name
    nbformat.write(nb, path)
    result = run_notebook(path)
    assert result.score == result.max_score == sum(ex.points for ex in nb02.EXERCISES), result.as_json()
