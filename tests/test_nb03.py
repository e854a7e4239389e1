"""Notebook 03 (loss functions): other correct styles earn full points, the formulas the notebook teaches
agree with float64 PyTorch, and the notebook runs top to bottom in under 30 s with full points (and, as
released, with every demo still working)."""
import time
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.classroom.notebooks import execute, run_notebook, score
from autograder.grading import engine
from autograder.learner import report
from autograder.registry import EXERCISES
from solutions import losses as L
from tests.fixtures import submissions_03 as subs
from tests.oracle import close, t

NOTEBOOK = Path(__file__).resolve().parents[1] / "course" / "03_loss_functions" / "03_loss_functions.ipynb"
NB03 = sorted(ex_id for ex_id in EXERCISES if ex_id.startswith("03."))
CODED = [ex_id for ex_id in NB03 if EXERCISES[ex_id].in_class_release]
SECRETS = [None, "course-a", "course-b"]


def _load(source: str, name: str):
    namespace = {"np": np}
    exec(compile(source, f"<{name}>", "exec"), namespace)   # noqa: S102 (our own fixture sources)
    return namespace[name]


# ---- (a) other correct styles earn full points --------------------------------------------------

ALTERNATIVES = [(ex_id, i) for ex_id, sources in subs.ALTERNATIVES.items() for i in range(len(sources))]


def test_every_exercise_of_the_notebook_has_at_least_two_alternatives():
    assert set(subs.ALTERNATIVES) == set(NB03)
    assert all(len(sources) >= 2 for sources in subs.ALTERNATIVES.values())


@pytest.mark.parametrize("secret", SECRETS, ids=["self-paced", "course-a", "course-b"])
@pytest.mark.parametrize("ex_id,index", ALTERNATIVES, ids=[f"{e}-{i}" for e, i in ALTERNATIVES])
def test_alternative_styles_earn_full_points(ex_id, index, secret):
    exercise = EXERCISES[ex_id]
    obj = _load(subs.ALTERNATIVES[ex_id][index], subs.NAMES[ex_id])
    outcome = engine.run(exercise, obj, hidden=True, secret=secret)
    assert outcome.points == exercise.points, report.render(outcome)


@pytest.mark.parametrize("secret", SECRETS[1:], ids=["course-a", "course-b"])
@pytest.mark.parametrize("ex_id", CODED)
def test_reference_passes_the_hidden_cases_of_any_course(ex_id, secret):
    exercise = EXERCISES[ex_id]
    outcome = engine.run(exercise, exercise.reference, hidden=True, secret=secret)
    assert outcome.points == exercise.points, report.render(outcome)


@pytest.mark.parametrize("secret", SECRETS, ids=["self-paced", "course-a", "course-b"])
@pytest.mark.parametrize("ex_id", CODED)
def test_every_mistake_fails_a_public_and_a_hidden_case(ex_id, secret):
    exercise = EXERCISES[ex_id]
    for mistake in exercise.mistakes:
        outcome = engine.run(exercise, mistake.impl, hidden=True, secret=secret)
        failed = [c for c in outcome.cases if c.status != engine.PASSED]
        assert any(not c.hidden for c in failed), f"{mistake.name}: passes every public case"
        assert any(c.hidden for c in failed), f"{mistake.name}: passes every hidden case"
        assert any(c.likely_mistake.startswith(mistake.name + ":") for c in failed), report.render(outcome)


def test_reasonable_readings_of_the_contract_pass():
    """Targets as ints or floats, a loss as a float, a NumPy scalar or a size-1 array: all full points."""
    def as_array(fn):
        return lambda *a, **k: (np.array([fn(*a, **k)[0]]), fn(*a, **k)[1])

    def as_float(fn):
        return lambda *a, **k: (float(fn(*a, **k)[0]), fn(*a, **k)[1])

    for ex_id in CODED:
        exercise = EXERCISES[ex_id]
        for wrap in (as_array, as_float):
            outcome = engine.run(exercise, wrap(exercise.reference), hidden=True)
            assert outcome.points == exercise.points, report.render(outcome)


def test_an_overflowing_but_right_answer_fails_the_stability_exercises():
    for ex_id in ["03.binary_cross_entropy_with_logits", "03.softmax_cross_entropy"]:
        exercise = EXERCISES[ex_id]

        def noisy(x, y, _ref=exercise.reference):
            np.exp(np.abs(np.asarray(x, dtype=float)))   # overflows for |x| = 1000
            return _ref(x, y)

        outcome = engine.run(exercise, noisy, hidden=True)
        assert outcome.points < exercise.points
        assert "NumPy warned" in report.render(outcome)


def test_a_sparse_loss_on_the_wrong_axis_is_named():
    exercise = EXERCISES["03.sparse_categorical_cross_entropy"]

    def wrong_axis(p, y, eps=1e-12):        # a learner's p[y] version, written independently
        n = len(y)
        chosen = np.clip(p[y], eps, 1)
        grad = np.zeros_like(p)
        grad[y] = -1 / chosen / n
        return -np.log(chosen).sum() / n, grad

    text = report.render(engine.run(exercise, wrong_axis))
    assert "likely mistake: indexing p[y] (the wrong axis)" in text


# ---- (b) the formulas the notebook teaches, against float64 torch ----------------------------------

def _toolbox():
    """The notebook's helper cell (sigmoid, softmax, numerical_gradient, rel_error, check_gradient)."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    (source,) = [c.source for c in nb.cells if c.cell_type == "code" and "def numerical_gradient" in c.source]
    namespace = {"np": np, "rng": np.random.default_rng(0), "print": lambda *a, **k: None}
    exec(source, namespace)                                # noqa: S102 (the course's own notebook)
    return namespace


Z_RANGE = np.concatenate([np.linspace(-1000, 1000, 41), np.linspace(-40, 40, 81), [-745.0, -709.0, 709.0]])


def test_notebook_sigmoid_and_softmax_are_stable_and_match_torch():
    tools = _toolbox()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = tools["sigmoid"](Z_RANGE)
        z = np.array([[1000.0, 0.0, -1000.0], [3.0, 1.0, 0.2], [-800.0, -801.0, -799.0]])
        p = tools["softmax"](z)
    close(s, torch.sigmoid(t(Z_RANGE)).numpy(), rtol=1e-12, atol=1e-300)
    close(p, torch.softmax(t(z), dim=1).numpy(), rtol=1e-12, atol=1e-300)


def test_notebook_numerical_gradient_matches_autograd_and_leaves_its_input_alone():
    tools = _toolbox()
    rng = np.random.default_rng(1)
    z, y = 2 * rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    keep = z.copy()
    numeric = tools["numerical_gradient"](lambda v: F.cross_entropy(t(v), torch.tensor(y)).item(), z)
    zt = t(z, grad=True)
    F.cross_entropy(zt, torch.tensor(y)).backward()
    close(numeric, zt.grad.numpy(), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(z, keep)


def test_notebook_rel_error_and_check_gradient():
    tools = _toolbox()
    assert tools["rel_error"](np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert tools["rel_error"](np.array([1.0, 0.0]), np.array([3.0, 0.0])) == pytest.approx(0.5)
    rng = np.random.default_rng(2)
    cases = [(L.mse_loss, rng.normal(size=(4, 2)), rng.normal(size=(4, 2))),
             (L.binary_cross_entropy, rng.uniform(0.05, 0.95, 6), rng.integers(0, 2, 6)),
             (L.binary_cross_entropy_with_logits, 3 * rng.normal(size=(5, 1)), rng.integers(0, 2, (5, 1))),
             (L.softmax_cross_entropy, 2 * rng.normal(size=(5, 4)), rng.integers(0, 4, 5))]
    for loss_fn, x, y in cases:
        assert tools["check_gradient"](loss_fn, x, y) < 1e-5, loss_fn.__name__      # the notebook's "good"
        assert tools["check_gradient"](lambda a, b: (loss_fn(a, b)[0], loss_fn(a, b)[1] * len(a)), x, y) > 1e-2


def test_softplus_identities_used_for_bce_from_logits():
    z = t(Z_RANGE)
    stable = np.maximum(Z_RANGE, 0) + np.log1p(np.exp(-np.abs(Z_RANGE)))
    close(stable, torch.logaddexp(torch.zeros_like(z), z).numpy(), rtol=1e-13, atol=1e-300)   # log(e^0 + e^z)
    close(stable, F.softplus(z).numpy(), rtol=1e-9, atol=1e-300)     # torch returns z itself above z = 20
    softplus_neg = np.maximum(-Z_RANGE, 0) + np.log1p(np.exp(-np.abs(Z_RANGE)))
    close(softplus_neg, -F.logsigmoid(z).numpy(), rtol=1e-13, atol=1e-300)               # -log sigmoid(z)
    close(stable, -F.logsigmoid(-z).numpy(), rtol=1e-13, atol=1e-300)                    # -log(1 - sigmoid(z))
    close(softplus_neg, stable - Z_RANGE, rtol=1e-9, atol=1e-9)                          # softplus(-z) = softplus(z) - z
    for y in (0.0, 1.0):                                                                 # softplus(z) - y z
        ref = F.binary_cross_entropy_with_logits(z, torch.full_like(z, y), reduction="none").numpy()
        close(stable - y * Z_RANGE, ref, rtol=1e-9, atol=1e-9)


def test_the_derivative_of_softplus_is_the_sigmoid():
    z = t(np.linspace(-30, 30, 61), grad=True)
    F.softplus(z, threshold=1e4).sum().backward()
    close(z.grad.numpy(), torch.sigmoid(z.detach()).numpy())


def test_softmax_jacobian_and_the_chain_rule_to_p_minus_y():
    rng = np.random.default_rng(3)
    z, k = rng.standard_normal(5), 2
    p = torch.softmax(t(z), 0).numpy()
    jacobian = torch.autograd.functional.jacobian(lambda v: torch.softmax(v, 0), t(z)).numpy()
    close(np.diag(p) - np.outer(p, p), jacobian)                      # dp_j / dz_k = p_j (delta_jk - p_k)
    y = np.eye(5)[k]
    close(jacobian.T @ (-y / p), p - y)                                # sum_j (-y_j / p_j) dp_j/dz_k = p_k - y_k


def test_mse_through_a_sigmoid_has_the_vanishing_factor():
    rng = np.random.default_rng(4)
    z, y = 4 * rng.standard_normal(7), rng.integers(0, 2, 7).astype(float)
    zt = t(z, grad=True)
    F.mse_loss(torch.sigmoid(zt), t(y)).backward()
    p = 1 / (1 + np.exp(-z))
    close(zt.grad.numpy(), 2 * (p - y) * p * (1 - p) / z.size)
    zt = t(z, grad=True)
    F.binary_cross_entropy_with_logits(zt, t(y)).backward()
    close(zt.grad.numpy(), (p - y) / z.size)


def test_bce_is_cross_entropy_with_two_classes():
    rng = np.random.default_rng(5)
    p, y = rng.uniform(0.05, 0.95, 6), rng.integers(0, 2, 6)
    two_class = np.stack([1 - p, p], axis=1)
    ref = F.binary_cross_entropy(t(p), t(y.astype(float))).item()
    close(L.binary_cross_entropy(p, y)[0], ref)
    close(L.categorical_cross_entropy(two_class, L.one_hot(y, 2))[0], ref)
    close(L.sparse_categorical_cross_entropy(two_class, y)[0], ref)


def test_numbers_quoted_in_the_notebook():
    assert -np.log(1e-12) == pytest.approx(27.631, abs=1e-3)                  # the cap of a clipped example
    assert -np.log(0.01) == pytest.approx(4.605, abs=1e-3)                    # p = 0.01 for a true 1
    assert 1 / (1 + np.exp(-37.0)) == 1.0 and 1 / (1 + np.exp(-36.0)) < 1.0    # sigmoid rounds to 1 from z = 37
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(710.0)) and np.isfinite(np.exp(709.0))        # exp(-z) overflows below z = -709
    uniform = F.cross_entropy(torch.zeros(8, 10, dtype=torch.float64), torch.arange(8) % 10).item()
    close(uniform, np.log(10))                                                 # the answer of q_initial_loss
    close(EXERCISES["03.q_initial_loss"].reference, uniform)


def test_a_summed_loss_has_n_times_the_gradient_of_the_mean():
    rng = np.random.default_rng(6)
    z, y = rng.standard_normal((512, 10)), torch.tensor(rng.integers(0, 10, 512))
    grads = {}
    for reduction in ("mean", "sum"):
        zt = t(z, grad=True)
        F.cross_entropy(zt, y, reduction=reduction).backward()
        grads[reduction] = zt.grad.numpy()
    close(grads["sum"], 512 * grads["mean"])


def test_spam_demo_gradients_match_autograd():
    """The spam filter's step: dL/dw = X^T (sigmoid(z) - y) / N and dL/db = sum((sigmoid(z) - y) / N)."""
    rng = np.random.default_rng(7)
    X, y = rng.integers(0, 3, (20, 6)).astype(float), rng.integers(0, 2, 20).astype(float)
    w, b = rng.standard_normal(6), 0.3
    z = X @ w + b
    dz = (1 / (1 + np.exp(-z)) - y) / len(y)
    wt, bt = t(w, grad=True), t(b, grad=True)
    loss = F.binary_cross_entropy_with_logits(t(X) @ wt + bt, t(y))
    loss.backward()
    close(np.mean(np.logaddexp(0, z) - y * z), loss.item())                   # the notebook's bce_from_logits
    close(X.T @ dz, wt.grad.numpy())
    close(np.sum(dz), bt.grad.item())


# ---- (c) the notebook itself ------------------------------------------------------------------------

def _solution_cells(nb):
    return {c.metadata.nbgrader.grade_id: c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}


def _problems(nb, allowed=()):
    """Errors and stderr output of cells, except NotImplementedError in the cells named in ``allowed``."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for out in cell.outputs:
            if out.output_type == "error" and not (grade_id in allowed and out.ename == "NotImplementedError"):
                found.append(f"cell {index} raised {out.ename}: {out.evalue}")
            if out.output_type == "stream" and out.name == "stderr":
                found.append(f"cell {index} wrote to stderr: {out.text[:200]}")
    return found


@pytest.mark.slow
def test_source_notebook_earns_full_points_in_under_30_seconds():
    start = time.perf_counter()
    result = run_notebook(NOTEBOOK)
    seconds = time.perf_counter() - start
    assert {e.id for e in result.exercises} == set(NB03)
    for e in result.exercises:
        assert e.points == e.max_points, (e.id, e.status, e.message)
    assert seconds < 30, f"the notebook took {seconds:.1f} s"


@pytest.mark.slow
def test_notebook_with_other_correct_solutions_earns_full_points_and_runs_cleanly(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = _solution_cells(nb)
    assert set(subs.CORRECT) == set(cells)
    for grade_id, source in subs.CORRECT.items():
        cells[grade_id].source = source.strip("\n")
    execute(nb, tmp_path, timeout=60)
    assert _problems(nb) == []
    scores = score(nb)
    assert len(scores) == len(NB03) and all(s.points == s.max_points for s in scores), scores


@pytest.mark.slow
def test_released_notebook_runs_every_demo_and_earns_nothing(tmp_path):
    """As nbgrader releases it (solutions replaced by the stub), every demo cell still runs."""
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions

    released = nbformat.read(NOTEBOOK, as_version=4)
    for preprocessor in (ClearSolutions(), ClearHiddenTests()):
        released, _ = preprocessor.preprocess(released, {})
    cells = _solution_cells(released)
    assert all("raise NotImplementedError()" in c.source and "BEGIN SOLUTION" not in c.source for c in cells.values())
    execute(released, tmp_path, timeout=60)
    assert _problems(released, allowed=set(cells)) == []
    scores = score(released)
    assert len(scores) == len(NB03) and all(s.points == 0 for s in scores), scores
