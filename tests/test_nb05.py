"""Notebook 05 (backpropagation): other correct styles earn full points, every formula the notebook teaches
agrees with an independent oracle (PyTorch float64 autograd, closed forms, finite differences), and the
notebook runs top to bottom with full points in well under 30 s, also when every solution is replaced by
another correct one, and without crashing when nothing is solved yet (the released version)."""
import math
import re
import time
import warnings

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from autograder.classroom.course import SOURCE
from autograder.classroom.notebooks import execute, run_notebook, score
from autograder.exercises import nb05
from autograder.grading import engine
from autograder.learner import report, wire
from autograder.registry import EXERCISES
from solutions.gradcheck import rel_error
from solutions.mlp import TwoLayerNet
from solutions.neurons import count_dense_params
from tests.fixtures.submissions_05 import ALTERNATIVES, CORRECT
from tests.oracle import close, t

NOTEBOOK = SOURCE / "05_backpropagation" / "05_backpropagation.ipynb"
STYLES = [(ex_id, k) for ex_id, sources in ALTERNATIVES.items() for k in range(len(sources))]


def _load(source: str, name: str):
    namespace = {"np": np, "math": math}
    exec(compile(source, f"<{name}>", "exec"), namespace)
    return namespace[name]


def _cell_source(containing: str) -> str:
    """The source of the notebook's (only) code cell containing a string."""
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells
             if c.cell_type == "code" and containing in c.source]
    assert len(cells) == 1, containing
    return cells[0]


# ---- (a) other correct styles -----------------------------------------------------------------

def test_every_exercise_of_the_notebook_has_alternatives():
    assert set(ALTERNATIVES) == {ex.id for ex in nb05.EXERCISES}
    assert all(len(sources) >= 2 for sources in ALTERNATIVES.values())


@pytest.mark.parametrize("ex_id,k", STYLES, ids=[f"{e}-{k}" for e, k in STYLES])
def test_alternative_style_earns_full_points(ex_id, k):
    exercise = EXERCISES[ex_id]
    name = ex_id.split(".", 1)[1]
    source = ALTERNATIVES[ex_id][k]
    obj = _load(source, name)
    outcome = engine.run(exercise, obj, hidden=True)
    assert outcome.points == exercise.points, report.render(outcome)


def test_an_in_place_gradient_that_does_not_restore_x_exactly_is_caught():
    """x[i] += h; ...; x[i] -= h leaves rounding residue: the engine reports the changed input."""
    def drifting(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            x[i] += h
            up = f(x)
            x[i] -= 2 * h
            down = f(x)
            x[i] += h
            grad[i] = (up - down) / (2 * h)
        return grad

    outcome = engine.run(nb05.NUMERICAL_GRADIENT, drifting, hidden=True)
    assert outcome.points < nb05.NUMERICAL_GRADIENT.points
    assert "changed its input in place" in report.render(outcome)


def test_the_relu_checks_never_sit_exactly_on_the_kink():
    for case in nb05.RELU_BACKWARD.cases(hidden=True):
        x = case.args[1]
        assert np.all(x != 0), case.label


def test_one_sided_differences_are_rejected_by_the_tolerance_that_accepts_centred_ones():
    """On every public case the one-sided result lies outside ArrayClose(1e-6, 1e-8) of the reference."""
    compare = nb05.NUMERICAL_GRADIENT.compare
    for case in nb05.NUMERICAL_GRADIENT.cases(hidden=False):
        f, x = wire.FUNCTIONS[case.args[0].name], case.args[1]
        h = case.kwargs.get("h", 1e-5)
        expected = nb05.eval_numerical_gradient(f, x.copy(), h)
        one_sided = nb05._forward_difference(f, x.copy(), h)
        assert not np.allclose(one_sided, expected, rtol=compare.rtol, atol=compare.atol), case.label


# ---- (b) the notebook's formulas against independent oracles ----------------------------------

def _closed_form_gradient(name, x):
    if name == "sum_of_squares":
        return 2 * x
    if name == "sin_sum":
        return np.cos(x)
    if name == "log_sum_exp":
        e = np.exp(x - x.max())
        return e / e.sum()
    if name == "bowl":
        return np.concatenate([[x[0]], 10 * x[1:]])
    if name == "rosenbrock":
        g = np.zeros_like(x)
        g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
        g[1:] += 200 * (x[1:] - x[:-1] ** 2)
        return g
    raise KeyError(name)


def test_centred_differences_match_the_known_gradients_of_every_case():
    for case in nb05.NUMERICAL_GRADIENT.cases(hidden=True):
        name, x = case.args[0].name, case.args[1]
        h = case.kwargs.get("h", 1e-5)
        numeric = nb05.eval_numerical_gradient(wire.FUNCTIONS[name], x.copy(), h)
        exact = _closed_form_gradient(name, x)
        # truncation h^2/6 |f'''|: at most ~2e-4 absolute for rosenbrock with h = 1e-3
        np.testing.assert_allclose(numeric, exact, rtol=1e-5, atol=5e-4 if h >= 1e-3 else 1e-7, err_msg=case.label)


def test_finite_difference_errors_scale_as_the_notebook_says():
    """One-sided error ~ h/2 |f''| (slope 1), centred ~ h^2/6 |f'''| (slope 2), for sin at 1."""
    x0 = 1.0
    hs = np.array([1e-2, 1e-3])
    one = np.abs((np.sin(x0 + hs) - np.sin(x0)) / hs - np.cos(x0))
    cen = np.abs((np.sin(x0 + hs) - np.sin(x0 - hs)) / (2 * hs) - np.cos(x0))
    np.testing.assert_allclose(one, hs / 2 * np.sin(x0), rtol=0.02)
    np.testing.assert_allclose(cen, hs ** 2 / 6 * np.cos(x0), rtol=0.02)
    assert np.log10(one[0] / one[1]) == pytest.approx(1, abs=0.02)
    assert np.log10(cen[0] / cen[1]) == pytest.approx(2, abs=0.02)


@given(d=st.integers(1, 8), seed=st.integers(0, 2**32 - 1), y=st.sampled_from([0.0, 1.0, 0.3]))
def test_neuron_gradients_match_autograd(d, seed, y):
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=d), rng.normal(size=d), float(rng.normal())
    wt, bt = t(w, True), t(b, True)
    z = t(x) @ wt + bt
    a = torch.sigmoid(z)
    z.retain_grad()
    a.retain_grad()
    ((a - y) ** 2).backward()
    dL_da, dL_dz, dL_dw, dL_db = nb05.neuron_gradients(x, w, b, y)
    close(dL_da, a.grad.item())
    close(dL_dz, z.grad.item())
    close(dL_dw, wt.grad.numpy())
    close(dL_db, bt.grad.item())


def test_the_notebook_graph_table_matches_autograd():
    """The forward values and gradients the notebook tabulates and draws, against torch."""
    namespace = {"math": math, "np": np, "pd": __import__("pandas")}
    exec(_cell_source("x1, x2, w1, w2, b, y = 1.0"), namespace)
    exec(_cell_source("dL_dw1, dL_dx1 = dL_dp1 * x1"), namespace)
    leaves = {k: t(namespace[k], True) for k in ("x1", "x2", "w1", "w2", "b", "y")}
    z = leaves["w1"] * leaves["x1"] + leaves["w2"] * leaves["x2"] + leaves["b"]
    loss = (torch.sigmoid(z) - leaves["y"]) ** 2
    loss.backward()
    close(namespace["L"], loss.item())
    for k, leaf in leaves.items():
        close(namespace[f"dL_d{k}"], leaf.grad.item())
    # the numbers the exercise text quotes
    assert round(namespace["dL_da"], 4) == -1.1974 and round(namespace["dL_dz"], 4) == -0.2877
    assert (round(namespace["dL_dw1"], 4), round(namespace["dL_dw2"], 4)) == (-0.2877, -0.8630)


def test_the_notebook_forward_functions_are_right_and_stable():
    namespace = {"np": np}
    exec(_cell_source("def sigmoid_forward(x):"), namespace)
    x = np.array([-1000.0, -30.0, -1.0, 0.0, 2.0, 40.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s, cache = namespace["sigmoid_forward"](x)
    close(s, torch.sigmoid(t(x)).numpy())
    assert cache is s
    X, W, b = np.ones((2, 3)), np.arange(12.0).reshape(3, 4), np.arange(4.0)
    out, cache = namespace["affine_forward"](X, W, b)
    close(out, (t(X) @ t(W) + t(b)).numpy())
    assert cache[0] is X and cache[1] is W and cache[2] is b
    out, cache = namespace["relu_forward"](x)
    close(out, F.relu(t(x)).numpy())
    assert cache is x


def torch_two_layer(params, X, y, reg):
    p = {k: t(v, True) for k, v in params.items()}
    scores = torch.relu(t(X) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    loss = F.cross_entropy(scores, torch.tensor(y)) + 0.5 * reg * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())
    loss.backward()
    return loss.item(), {k: v.grad.numpy() for k, v in p.items()}


@given(n=st.integers(1, 6), d=st.integers(1, 5), h=st.integers(1, 7), c=st.integers(2, 5),
       reg=st.sampled_from([0.0, 0.05, 1.0]), seed=st.integers(0, 2**32 - 1))
def test_two_layer_loss_matches_autograd_and_the_reference_model(n, d, h, c, reg, seed):
    rng = np.random.default_rng(seed)
    params = {"W1": rng.normal(size=(d, h)), "b1": rng.normal(size=h), "W2": rng.normal(size=(h, c)),
              "b2": rng.normal(size=c)}
    X, y = rng.normal(size=(n, d)), rng.integers(0, c, size=n)
    keep = {k: v.copy() for k, v in params.items()}
    loss, grads = nb05.two_layer_loss(params, X, y, reg)
    ref_loss, ref_grads = torch_two_layer(params, X, y, reg)
    close(loss, ref_loss)
    assert set(grads) == set(params)
    for k in params:
        assert grads[k].shape == params[k].shape
        close(grads[k], ref_grads[k])
        np.testing.assert_array_equal(params[k], keep[k])
    model = TwoLayerNet(d, h, c, reg=reg)
    model.params = {k: v.copy() for k, v in params.items()}
    model_loss, model_grads = model.loss(X, y)
    close(loss, model_loss)
    for k in params:
        close(grads[k], model_grads[k])


def test_reference_cases_of_two_layer_loss_pass_a_numerical_check():
    """Independent of torch: centred differences on the graded cases (no case sits on a ReLU kink)."""
    for case in nb05.TWO_LAYER_LOSS.cases(hidden=True):
        params, X, y = case.args
        reg = case.kwargs["reg"]
        assert np.min(np.abs(X @ params["W1"] + params["b1"])) > 1e-4, case.label
        _, grads = nb05.two_layer_loss(params, X, y, reg)
        for k in params:
            numeric = nb05.eval_numerical_gradient(
                lambda v: nb05.two_layer_loss({**params, k: v}, X, y, reg)[0], params[k].copy())
            assert rel_error(numeric, grads[k]) < 1e-6, (case.label, k)


def test_concept_answers_against_oracles():
    # q_add_mul: f = (x + y) z
    x, y, z = t(-2.0, True), t(5.0, True), t(-4.0, True)
    ((x + y) * z).backward()
    assert nb05.Q_ADD_MUL.reference == x.grad.item() == -4.0
    assert y.grad.item() == -4.0 and z.grad.item() == 3.0            # the wrong answer "3" is df/dz
    # q_fork: a value used twice gets the sum of the gradients of both paths
    v = t(1.5, True)
    (torch.sin(v) + v ** 2).backward()
    assert v.grad.item() == pytest.approx(math.cos(1.5) + 3.0) and nb05.Q_FORK.reference == "c"
    # q_forward_passes: two loss evaluations per parameter
    assert nb05.Q_FORWARD_PASSES.reference == 2 * count_dense_params([784, 16, 16, 10]) == 26004
    assert nb05.Q_REL_ERROR.reference == "b"


def test_a_correct_smooth_network_checks_below_1e7_and_a_small_bug_above_1e4():
    """The claim behind q_rel_error: tanh + softmax in float64, h = 1e-5."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 4)), rng.integers(0, 3, size=5)
    W1, W2 = rng.normal(size=(4, 6)), rng.normal(size=(6, 3))

    def loss_of(w1):
        return F.cross_entropy(torch.tanh(t(X) @ t(w1)) @ t(W2), torch.tensor(y)).item()

    w1t = t(W1, True)
    F.cross_entropy(torch.tanh(t(X) @ w1t) @ t(W2), torch.tensor(y)).backward()
    analytic = w1t.grad.numpy()
    numeric = nb05.eval_numerical_gradient(loss_of, W1.copy())
    assert rel_error(analytic, numeric) < 1e-7
    assert rel_error(analytic * (1 + 1e-3), numeric) > 1e-4           # a 0.1 % scale error is visible


def test_the_notebook_value_class_matches_autograd():
    namespace = {"math": math}
    exec(_cell_source("class Value:"), namespace)
    Value = namespace["Value"]
    rng = np.random.default_rng(1)
    for _ in range(20):
        a0, b0, c0 = rng.normal(size=3)
        a, b, c = Value(a0), Value(b0), Value(c0)
        out = ((a * b + c).sigmoid() - 0.5) ** 2 + a * a - 3.0 * c + (1.0 - b)
        out.backward()
        at, bt, ct = t(a0, True), t(b0, True), t(c0, True)
        ref = (torch.sigmoid(at * bt + ct) - 0.5) ** 2 + at * at - 3.0 * ct + (1.0 - bt)
        ref.backward()
        close(out.data, ref.item())
        for mine, theirs in [(a, at), (b, bt), (c, ct)]:
            close(mine.grad, theirs.grad.item())


def _same_loss_and_grads(a, b) -> bool:
    return (np.isclose(a[0], b[0], rtol=1e-7, atol=1e-9) and a[1].keys() == b[1].keys()
            and all(np.allclose(a[1][k], b[1][k], rtol=1e-6, atol=1e-8) for k in a[1]))


@pytest.mark.parametrize("hidden", [False, True], ids=["public", "hidden"])
def test_each_two_layer_mistake_is_the_first_match_on_some_failing_case(hidden):
    """What the engine's diagnosis needs, compared entry by entry: for every catalogued mistake some case
    (public, and hidden) where it differs from the reference and is the first catalogued match of itself."""
    exercise = nb05.TWO_LAYER_LOSS
    cases = [c for c, is_hidden in exercise.suite(True) if is_hidden == hidden]
    for index, mistake in enumerate(exercise.mistakes):
        found = False
        for case in cases:
            mine = mistake.impl(*case.args, **case.kwargs)
            if _same_loss_and_grads(mine, exercise.reference(*case.args, **case.kwargs)):
                continue
            earlier = [m for m in exercise.mistakes[:index]
                       if _same_loss_and_grads(m.impl(*case.args, **case.kwargs), mine)]
            found = found or not earlier
        assert found, mistake.name


def test_mistakes_of_the_affine_layer_differ_from_the_reference_in_shape_or_value():
    """Sanity of the catalogue itself: each catalogued wrong layer really is wrong on the notebook's sizes."""
    rng = np.random.default_rng(2)
    x, w, b, dout = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=2), rng.normal(size=(3, 2))
    right = nb05.AFFINE_BACKWARD.reference(dout, (x, w, b))
    for mistake in nb05.AFFINE_BACKWARD.mistakes:
        wrong = mistake.impl(dout, (x, w, b))
        assert any(g.shape != r.shape or not np.allclose(g, r) for g, r in zip(wrong, right)), mistake.name


# ---- (c) the notebook end to end ---------------------------------------------------------------

def _with_solutions(nb, sources: dict):
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell.source = sources[grade_id].strip()
    return nb


STUB = re.compile(r"^([ \t]*)### BEGIN SOLUTION\n.*?### END SOLUTION", re.S | re.M)


def _released(nb):
    """Solution regions replaced by nbgrader's default stub, hidden tests removed (as generate_assignment does)."""
    for cell in nb.cells:
        cell.source = STUB.sub(lambda m: f"{m.group(1)}# YOUR CODE HERE\n{m.group(1)}raise NotImplementedError()",
                               cell.source)
        cell.source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", "", cell.source, flags=re.S)
    return nb


@pytest.mark.slow
def test_the_source_notebook_earns_full_points_in_under_30_seconds():
    result = run_notebook(NOTEBOOK)
    assert {e.id for e in result.exercises} == {ex.id for ex in nb05.EXERCISES}
    for exercise in result.exercises:
        assert exercise.points == exercise.max_points, exercise
    assert result.seconds < 30, result.seconds


@pytest.mark.slow
def test_a_whole_notebook_of_other_correct_solutions_earns_full_points(tmp_path):
    nb = _with_solutions(nbformat.read(NOTEBOOK, as_version=4), CORRECT)
    start = time.perf_counter()
    execute(nb, tmp_path)
    scores = score(nb)
    assert len(scores) == len(nb05.EXERCISES)
    for s in scores:
        assert s.points == s.max_points, s
    assert time.perf_counter() - start < 30


@pytest.mark.slow
def test_the_released_notebook_runs_without_errors_outside_the_exercises(tmp_path):
    nb = _released(nbformat.read(NOTEBOOK, as_version=4))
    execute(nb, tmp_path)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):                       # a concept answer still raising its stub is expected
            assert all(o.ename == "NotImplementedError" for o in errors), (index, errors)
        else:
            assert not errors, (index, cell.source[:80], errors)
    assert all(s.points == 0.0 for s in score(nb))
