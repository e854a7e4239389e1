"""Tests for solutions/optimizers.py.

Oracles: torch.optim (step for step, float64), closed forms of gradient descent on a quadratic,
and torch autograd for the gradients of the 2-D test functions.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import optimizers as opt

RTOL, ATOL = 1e-10, 1e-12  # ATOL only matters for entries that pass close to zero

# (our class, our kwargs, torch class, torch kwargs): the same hyper-parameters on both sides.
CONFIGS = [
    (opt.SGD, dict(lr=0.1), torch.optim.SGD, dict(lr=0.1)),
    (opt.SGD, dict(lr=0.5), torch.optim.SGD, dict(lr=0.5)),
    (opt.Momentum, dict(lr=0.05, momentum=0.9), torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (opt.Momentum, dict(lr=0.01, momentum=0.99), torch.optim.SGD, dict(lr=0.01, momentum=0.99)),
    (opt.Momentum, dict(lr=0.05, momentum=0.9, nesterov=True),
     torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (opt.Momentum, dict(lr=0.1, momentum=0.5, nesterov=True),
     torch.optim.SGD, dict(lr=0.1, momentum=0.5, nesterov=True)),
    (opt.Adagrad, dict(lr=0.1), torch.optim.Adagrad, dict(lr=0.1)),
    (opt.Adagrad, dict(lr=0.5, eps=1e-6), torch.optim.Adagrad, dict(lr=0.5, eps=1e-6)),
    (opt.RMSprop, dict(lr=0.01), torch.optim.RMSprop, dict(lr=0.01)),
    (opt.RMSprop, dict(lr=0.05, alpha=0.9, eps=1e-6),
     torch.optim.RMSprop, dict(lr=0.05, alpha=0.9, eps=1e-6)),
    # Adadelta's defaults agree on both sides: lr=1, rho=0.9, eps=1e-6
    (opt.Adadelta, dict(), torch.optim.Adadelta, dict()),
    (opt.Adadelta, dict(lr=0.5, rho=0.95, eps=1e-4),
     torch.optim.Adadelta, dict(lr=0.5, rho=0.95, eps=1e-4)),
    (opt.Adam, dict(lr=0.01), torch.optim.Adam, dict(lr=0.01)),
    (opt.Adam, dict(lr=0.05, beta1=0.5, beta2=0.9, eps=1e-6),
     torch.optim.Adam, dict(lr=0.05, betas=(0.5, 0.9), eps=1e-6)),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CONFIGS)]


# ----------------------------------------------------------------------------------------
# Two small problems with several parameter arrays of different shapes
# ----------------------------------------------------------------------------------------

def _mlp_problem():
    """A 4-5-2 tanh network with an MSE loss on 16 samples (non-convex)."""
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(16, 4)), rng.normal(size=(16, 2))
    params = {"W1": 0.5 * rng.normal(size=(4, 5)), "b1": 0.1 * rng.normal(size=5),
              "W2": 0.5 * rng.normal(size=(5, 2)), "b2": np.zeros(2)}

    def loss(p):
        h = torch.tanh(torch.from_numpy(X) @ p["W1"] + p["b1"])
        return ((h @ p["W2"] + p["b2"] - torch.from_numpy(Y)) ** 2).mean()
    return params, loss


def _logreg_problem():
    """Binary logistic regression with a (3, 1) weight, a (1,) bias and a (1, 1) temperature."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(32, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + 0.3 * rng.normal(size=32) > 0).astype(float)
    params = {"w": 0.1 * rng.normal(size=(3, 1)), "b": np.array([0.2]), "s": np.array([[1.0]])}

    def loss(p):
        z = (torch.from_numpy(X) @ p["w"] + p["b"]) * p["s"]
        # BCE from logits, log(1 + e^z) - y z, written out (F.binary_cross_entropy_with_logits
        # is needlessly slow on a busy 2-core CPU)
        z = z[:, 0]
        return (torch.logaddexp(torch.zeros_like(z), z) - torch.from_numpy(y) * z).mean()
    return params, loss


def _numpy_grads(loss, params):
    """Gradients at the NumPy parameters (autograd only computes them; the update is ours)."""
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    loss(t).backward()
    return {k: v.grad.numpy().copy() for k, v in t.items()}


@pytest.mark.parametrize("problem", [_mlp_problem, _logreg_problem])
@pytest.mark.parametrize("ours, our_kw, theirs, their_kw", CONFIGS, ids=IDS)
def test_matches_torch_optim_step_for_step(problem, ours, our_kw, theirs, their_kw):
    params, loss = problem()
    tparams = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
               for k, v in params.items()}
    topt = theirs(list(tparams.values()), **their_kw)
    o = ours(**our_kw)
    for step in range(60):
        grads = _numpy_grads(loss, params)
        o.step(params, grads)
        topt.zero_grad()
        loss(tparams).backward()
        topt.step()
        for k in params:
            np.testing.assert_allclose(params[k], tparams[k].detach().numpy(), rtol=RTOL,
                                       atol=ATOL, err_msg=f"{k} after step {step + 1}")
    moved = max(np.max(np.abs(params[k] - v)) for k, v in problem()[0].items())
    assert moved > 1e-3  # the parameters really moved: the comparison is not vacuous


@pytest.mark.parametrize("ours, our_kw, theirs, their_kw", CONFIGS, ids=IDS)
@settings(max_examples=5)
@given(shapes=st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3), min_size=1,
                       max_size=3),
       seed=st.integers(0, 2**32 - 1))
def test_matches_torch_on_random_gradient_streams(ours, our_kw, theirs, their_kw, shapes, seed):
    """Arbitrary shapes (scalars and size-1 arrays included) and gradients of mixed scales."""
    rng = np.random.default_rng(seed)
    params = {f"p{i}": np.asarray(rng.normal(size=s)) for i, s in enumerate(shapes)}
    tparams = {k: torch.tensor(v, dtype=torch.float64) for k, v in params.items()}
    topt = theirs(list(tparams.values()), **their_kw)
    o = ours(**our_kw)
    scales = {k: 10.0 ** rng.uniform(-3, 2, size=np.shape(v)) for k, v in params.items()}
    for _ in range(20):
        grads = {k: np.asarray(scales[k] * rng.normal(size=np.shape(v)))
                 for k, v in params.items()}
        o.step(params, grads)
        for k, t in tparams.items():
            t.grad = torch.from_numpy(grads[k].copy())
        topt.step()
        for k in params:
            np.testing.assert_allclose(params[k], tparams[k].numpy(), rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------------------
# The interface
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("ours, our_kw", [(c[0], c[1]) for c in CONFIGS], ids=IDS)
def test_step_updates_params_in_place_and_never_mutates_grads_or_state(ours, our_kw):
    """The contract: params[name] is updated in place (every reference to the array sees the new
    values, as with torch.optim); the gradients are only read; state arrays are never shared."""
    rng = np.random.default_rng(0)
    w0, g0 = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    w, g = w0.copy(), g0.copy()
    params, grads = {"w": w, "frozen": np.ones(4)}, {"w": g}
    model_view = w  # e.g. a layer object holding the same array
    o = ours(**our_kw)
    o.step(params, grads)
    assert params["w"] is w  # the same array, updated in place
    assert not np.array_equal(model_view, w0)  # ... so another reference sees the new values
    reference = ours(**our_kw)  # the same step on a dict whose entry may be rebound: same values
    rebound = {"w": w0.copy()}
    reference.step(rebound, {"w": g0.copy()})
    np.testing.assert_array_equal(model_view, rebound["w"])
    np.testing.assert_array_equal(g, g0)  # the gradient is untouched
    np.testing.assert_array_equal(params["frozen"], np.ones(4))  # no gradient: not updated
    state_before = {k: np.copy(v) for k, v in o.state["w"].items()}
    o.step(params, {"w": g})
    for k, v in state_before.items():  # state arrays handed out earlier are not modified
        if isinstance(v, np.ndarray) and v.ndim:
            assert not np.shares_memory(v, o.state["w"][k])
    for v in o.state["w"].values():
        if isinstance(v, np.ndarray) and v.ndim:
            assert not np.shares_memory(v, g) and not np.shares_memory(v, params["w"])


@pytest.mark.parametrize("ours, our_kw", [(c[0], c[1]) for c in CONFIGS], ids=IDS)
def test_step_rebinds_entries_that_cannot_be_updated_in_place(ours, our_kw):
    """A Python number, an integer array and a read-only array get a new entry in the dict, with the
    same values as a float array updated in place; the original objects are left alone."""
    rng = np.random.default_rng(3)
    g = rng.normal(size=3)
    read_only = np.array([1.0, 2.0, -1.0])
    read_only.flags.writeable = False
    integer = np.array([1, 2, -1])
    params = {"number": 0.5, "int": integer, "ro": read_only, "float": np.array([1.0, 2.0, -1.0])}
    grads = {"number": 0.3, "int": g, "ro": g, "float": g}
    o = ours(**our_kw)
    for _ in range(3):
        o.step(params, grads)
    assert params["int"] is not integer and params["ro"] is not read_only
    np.testing.assert_array_equal(integer, [1, 2, -1])
    np.testing.assert_array_equal(read_only, [1.0, 2.0, -1.0])
    np.testing.assert_allclose(params["int"], params["float"], rtol=1e-15)
    np.testing.assert_allclose(params["ro"], params["float"], rtol=1e-15)
    alone = {"x": np.array(0.5)}  # a 0-d float array is updated in place
    x = alone["x"]
    same = ours(**our_kw)
    for _ in range(3):
        same.step(alone, {"x": 0.3})
    assert alone["x"] is x
    np.testing.assert_allclose(params["number"], x, rtol=1e-15)


def test_an_update_that_is_dropped_is_not_an_update():
    """What the contract rules out: the new value computed into a local variable only."""
    class Dropped(opt.Optimizer):
        def step(self, params, grads):
            for name, g in grads.items():
                w = params[name]
                w = w - self.lr * g  # noqa: F841 (rebinds the local name: the caller sees nothing)

    params = {"w": np.ones(2)}
    Dropped(0.1).step(params, {"w": np.ones(2)})
    np.testing.assert_array_equal(params["w"], np.ones(2))
    opt.SGD(0.1).step(params, {"w": np.ones(2)})
    np.testing.assert_allclose(params["w"], [0.9, 0.9])


def test_step_rejects_unknown_names_and_shape_mismatch():
    o = opt.SGD(lr=0.1)
    with pytest.raises(KeyError):
        o.step({"w": np.zeros(2)}, {"v": np.zeros(2)})
    with pytest.raises(ValueError):
        o.step({"w": np.zeros(2)}, {"w": np.zeros(3)})
    with pytest.raises(ValueError):
        opt.Momentum(lr=0.1, momentum=0.0, nesterov=True)


@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 5), lr=st.floats(1e-4, 10.0))
def test_sgd_update_and_sgd_class(seed, n, lr):
    rng = np.random.default_rng(seed)
    w, dw = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    w_copy = w.copy()
    new = opt.sgd_update(w, dw, lr)
    np.testing.assert_array_equal(w, w_copy)
    np.testing.assert_allclose(new, w_copy - lr * dw, rtol=1e-15, atol=0)
    params = {"w": w}
    opt.SGD(lr).step(params, {"w": dw})
    np.testing.assert_array_equal(params["w"], new)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(1, 4), steps=st.integers(0, 30), lr=st.floats(1e-3, 0.5))
def test_gd_quadratic_matches_the_closed_form(seed, d, steps, lr):
    """On f = 0.5 x^T A x gradient descent gives x_t = (I - lr A)^t x_0."""
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(d, d))
    A = M @ M.T / d + 0.1 * np.eye(d)
    x0 = rng.normal(size=d)
    x0_copy = x0.copy()
    path = opt.gd_quadratic(A, x0, lr, steps)
    assert path.shape == (steps + 1, d)
    np.testing.assert_array_equal(x0, x0_copy)
    step = np.eye(d) - lr * A
    expected = np.stack([np.linalg.matrix_power(step, t) @ x0 for t in range(steps + 1)])
    np.testing.assert_allclose(path, expected, rtol=1e-9, atol=1e-12)
    # the gradient of 0.5 x^T A x is A x (torch autograd)
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    (0.5 * x @ torch.from_numpy(A) @ x).backward()
    np.testing.assert_allclose(x.grad.numpy(), A @ x0, rtol=1e-12)


def test_adam_bias_correction_first_step_is_lr_times_sign():
    """With m0 = v0 = 0 the corrected first step is lr * g / (|g| + eps): about lr * sign(g)."""
    g = np.array([1e-3, -2.0, 50.0])
    params = {"w": np.zeros(3)}
    opt.Adam(lr=0.1, eps=1e-12).step(params, {"w": g})
    np.testing.assert_allclose(params["w"], -0.1 * np.sign(g), rtol=1e-8)


# ----------------------------------------------------------------------------------------
# Mini-batches
# ----------------------------------------------------------------------------------------

@given(n=st.integers(1, 40), batch_size=st.integers(1, 50), shuffle=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_minibatches_cover_every_sample_once(n, batch_size, shuffle, seed):
    X = np.arange(n * 2).reshape(n, 2)  # row i is (2i, 2i + 1), so rows identify samples
    y = np.arange(n)
    batches = list(opt.minibatches(X, y, batch_size, shuffle=shuffle, rng=seed))
    sizes = [len(yb) for _, yb in batches]
    assert len(batches) == -(-n // batch_size)  # ceil(n / batch_size)
    assert all(s == batch_size for s in sizes[:-1]) and 1 <= sizes[-1] <= batch_size
    order = np.concatenate([yb for _, yb in batches])
    np.testing.assert_array_equal(np.sort(order), np.arange(n))
    for xb, yb in batches:  # X and y stay paired
        np.testing.assert_array_equal(xb, X[yb])
    if not shuffle:
        np.testing.assert_array_equal(order, np.arange(n))


def test_minibatches_shuffle_reproducible_and_changes_across_epochs():
    X, y = np.arange(100).reshape(50, 2), np.arange(50)

    def epoch(rng):
        return np.concatenate([yb for _, yb in opt.minibatches(X, y, 8, rng=rng)])
    np.testing.assert_array_equal(epoch(123), epoch(123))  # same seed, same order
    gen = np.random.default_rng(7)
    e1, e2 = epoch(gen), epoch(gen)  # one generator over two epochs: two different orders
    assert not np.array_equal(e1, e2)
    assert not np.array_equal(e1, np.arange(50))
    np.testing.assert_array_equal(e1, np.random.default_rng(7).permutation(50))


def test_minibatches_seed_argument():
    X, y = np.arange(40).reshape(20, 2), np.arange(20)

    def order(*args, **kwargs):
        return np.concatenate([yb for _, yb in opt.minibatches(X, y, 6, *args, **kwargs)])
    np.testing.assert_array_equal(order(), order(seed=0))  # seed 0 by default: reproducible
    np.testing.assert_array_equal(order(True, 5), order(seed=5))
    np.testing.assert_array_equal(order(seed=5), order(rng=5))  # rng is another name for seed
    np.testing.assert_array_equal(order(seed=5), np.random.default_rng(5).permutation(20))
    assert not np.array_equal(order(seed=5), order(seed=6))
    np.testing.assert_array_equal(order(False, 5), np.arange(20))


def test_minibatches_edge_cases():
    X, y = np.ones((1, 3)), np.array([4])
    (xb, yb), = list(opt.minibatches(X, y, 16, rng=0))  # N = 1, batch larger than N
    assert xb.shape == (1, 3) and yb.tolist() == [4]
    batches = list(opt.minibatches(np.zeros((5, 1)), np.arange(5), 100, shuffle=False))
    assert len(batches) == 1 and batches[0][1].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError):
        list(opt.minibatches(np.zeros((3, 1)), np.zeros(4), 2))
    with pytest.raises(ValueError):
        list(opt.minibatches(np.zeros((3, 1)), np.zeros(3), 0))


# ----------------------------------------------------------------------------------------
# 2-D functions, trajectories and the demo-level claims of notebook 04
# ----------------------------------------------------------------------------------------

def _torch_value_and_grad(fn, x):
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    f = fn(t)
    f.backward()
    return f.item(), t.grad.numpy()


@given(x0=st.floats(-3, 3), x1=st.floats(-3, 3))
def test_test_functions_match_autograd(x0, x1):
    x = np.array([x0, x1])
    for ours, theirs in [
        (opt.ill_conditioned_quadratic, lambda t: 0.5 * (t[0] ** 2 + 25 * t[1] ** 2)),
        (opt.rosenbrock, lambda t: (1 - t[0]) ** 2 + 100 * (t[1] - t[0] ** 2) ** 2),
    ]:
        f, g = ours(x)
        f_ref, g_ref = _torch_value_and_grad(theirs, x)
        np.testing.assert_allclose(f, f_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-12)
    assert opt.rosenbrock(np.array([1.0, 1.0]))[0] == 0.0


@pytest.mark.parametrize("lr", [1e-4, 0.01, 0.07, 0.1])
def test_sgd_trajectory_on_quadratic_matches_closed_form(lr):
    """On f = 0.5 * sum c_i x_i^2, gradient descent gives x_t = (1 - lr c)^t x_0."""
    x0 = np.array([2.0, 1.0])
    path = opt.gradient_descent(opt.ill_conditioned_quadratic, x0, opt.SGD(lr), 40)
    assert path.shape == (41, 2)
    np.testing.assert_array_equal(x0, [2.0, 1.0])  # x0 not modified
    t = np.arange(41)[:, None]
    np.testing.assert_allclose(path, (1 - lr * np.array([1.0, 25.0])) ** t * x0,
                               rtol=1e-12, atol=1e-300)


def test_learning_rate_too_large_diverges_too_small_crawls():
    x0 = np.array([2.0, 1.0])
    f = lambda p: opt.ill_conditioned_quadratic(p)[0]  # noqa: E731
    big = opt.gradient_descent(opt.ill_conditioned_quadratic, x0, opt.SGD(0.1), 50)
    good = opt.gradient_descent(opt.ill_conditioned_quadratic, x0, opt.SGD(0.07), 50)
    tiny = opt.gradient_descent(opt.ill_conditioned_quadratic, x0, opt.SGD(1e-5), 50)
    assert f(big[-1]) > 1e6 * f(x0)  # lr > 2 / 25: the steep direction blows up
    assert np.all(np.abs(np.diff(big[:, 1])) > 0) and np.abs(big[-1, 1]) > 1e6
    assert f(good[-1]) < 0.1 * f(x0)  # a good lr makes real progress
    assert f(tiny[-1]) > 0.97 * f(x0)  # a tiny lr crawls
    assert np.linalg.norm(tiny[-1] - x0) < 0.02


def test_momentum_beats_plain_sgd_on_the_ill_conditioned_quadratic():
    x0 = np.array([2.0, 1.0])
    f = lambda p: opt.ill_conditioned_quadratic(p)[0]  # noqa: E731
    sgd = opt.gradient_descent(opt.ill_conditioned_quadratic, x0, opt.SGD(0.01), 100)
    mom = opt.gradient_descent(opt.ill_conditioned_quadratic, x0, opt.Momentum(0.01, 0.9), 100)
    assert f(mom[-1]) < 1e-3 * f(sgd[-1])


@pytest.mark.parametrize("make", [lambda: opt.RMSprop(lr=0.01), lambda: opt.Adadelta(),
                                  lambda: opt.Adagrad(lr=0.1)])
def test_adaptive_methods_shrink_the_step_where_gradients_are_large(make):
    """Effective learning rate |dx_i| / |g_i| is SMALLER along x1, where gradients are 25x larger.

    This is the correct claim (some write-ups say the opposite). Plain SGD, for contrast, uses the
    same effective rate lr on both coordinates.
    """
    x = np.array([1.0, 1.0])  # gradient (1, 25)
    o = make()
    params = {"x": x.copy()}  # copies: step updates params["x"] in place
    ratios = []
    for _ in range(10):
        _, g = opt.ill_conditioned_quadratic(params["x"])
        before = params["x"].copy()
        o.step(params, {"x": g})
        eff = np.abs(params["x"] - before) / np.abs(g)
        ratios.append(eff[1] / eff[0])
    assert all(r < 0.2 for r in ratios), ratios
    # first step: the accumulator is a multiple of g^2, so the ratio is about |g0| / |g1| = 1/25
    np.testing.assert_allclose(ratios[0], 1 / 25, rtol=1e-3)
    # plain SGD, for contrast: the same effective rate on both coordinates
    p = {"x": x.copy()}
    opt.SGD(0.01).step(p, {"x": opt.ill_conditioned_quadratic(x)[1]})
    eff = np.abs(p["x"] - x) / np.abs(opt.ill_conditioned_quadratic(x)[1])
    np.testing.assert_allclose(eff[1] / eff[0], 1.0, rtol=1e-12)


@pytest.mark.parametrize("o", [opt.Adam(lr=0.02), opt.Momentum(lr=1e-3, momentum=0.9),
                               opt.RMSprop(lr=3e-3)], ids=["Adam", "Momentum", "RMSprop"])
def test_rosenbrock_trajectories_make_progress(o):
    x0 = np.array([-1.5, 2.0])
    path = opt.gradient_descent(opt.rosenbrock, x0, o, 2000)
    assert np.all(np.isfinite(path))
    assert opt.rosenbrock(path[-1])[0] < 0.05 * opt.rosenbrock(x0)[0]
