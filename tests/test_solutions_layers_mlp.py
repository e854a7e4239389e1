"""solutions.layers, gradcheck, initialization and mlp against PyTorch autograd (float64),
centred finite differences and closed forms; plus a training sanity run on scikit-learn's digits."""
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from solutions import initialization as init
from solutions.data import load_digits_split, load_mnist_subset
from solutions.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, grad_check_sparse, rel_error
from solutions.layers import (
    affine_backward,
    affine_forward,
    affine_relu_backward,
    affine_relu_forward,
    affine_sigmoid_backward,
    affine_sigmoid_forward,
)
from solutions.mlp import FullyConnectedNet, TwoLayerNet, accuracy, predict, train_mlp
from tests.oracle import close, t

DT = torch.float64


# ---- affine layer and sandwiches ---------------------------------------------------------------

@st.composite
def affine_case(draw):
    """x: (N, *extra) with N >= 1 and 0..2 extra dims, w: (D, M), b: (M,), dout: (N, M)."""
    n = draw(st.integers(1, 5))
    extra = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    m = draw(st.integers(1, 5))
    d = int(np.prod(extra))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return (rng.standard_normal((n, *extra)), rng.standard_normal((d, m)), rng.standard_normal(m),
            rng.standard_normal((n, m)))


def torch_layer(fn, x, w, b, dout):
    """out and (dx, dw, db) of fn(x.reshape(N, -1) @ w + b) by autograd."""
    xt, wt, bt = t(x, True), t(w, True), t(b, True)
    out = fn(xt.reshape(x.shape[0], -1) @ wt + bt)
    out.backward(t(dout))
    return out.detach().numpy(), (xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy())


SANDWICHES = [
    ("affine", affine_forward, affine_backward, lambda a: a),
    ("affine_relu", affine_relu_forward, affine_relu_backward, F.relu),
    ("affine_sigmoid", affine_sigmoid_forward, affine_sigmoid_backward, torch.sigmoid),
]


@pytest.mark.parametrize("name,fwd,bwd,fn", SANDWICHES, ids=[s[0] for s in SANDWICHES])
@given(case=affine_case())
def test_affine_and_sandwiches_match_autograd(name, fwd, bwd, fn, case):
    x, w, b, dout = case
    keep = [a.copy() for a in case]
    out, cache = fwd(x, w, b)
    grads = bwd(dout, cache)
    ref_out, ref_grads = torch_layer(fn, x, w, b, dout)
    close(out, ref_out)
    assert isinstance(grads, tuple) and len(grads) == 3
    for g, r, inp in zip(grads, ref_grads, (x, w, b)):
        assert g.shape == inp.shape                       # dx keeps x's original (N, 2, 3) shape
        close(g, r)
    for a, k in zip(case, keep):
        np.testing.assert_array_equal(a, k)


def test_affine_matches_nn_linear():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 2, 3))
    lin = torch.nn.Linear(6, 5, dtype=DT)
    w, b = lin.weight.detach().numpy().T.copy(), lin.bias.detach().numpy().copy()
    out, _ = affine_forward(x, w, b)
    close(out, lin(t(x).reshape(4, -1)).detach().numpy())


# ---- gradcheck utilities ---------------------------------------------------------------------

def test_rel_error_definition():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0, 0.0]), np.array([1.1, 0.0])) == pytest.approx(0.1 / 2.1)
    assert rel_error(np.array([1e-9]), np.array([0.0])) == pytest.approx(1e-9 / 1e-8)  # floor 1e-8


def test_numerical_gradients_match_closed_forms_and_restore_x():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    keep = x.copy()
    g = eval_numerical_gradient(lambda v: np.sum(v ** 3), x)
    assert rel_error(g, 3 * keep ** 2) < 1e-7
    np.testing.assert_array_equal(x, keep)
    df = rng.standard_normal((3, 4))
    ga = eval_numerical_gradient_array(np.sin, x, df)
    assert rel_error(ga, np.cos(keep) * df) < 1e-7
    np.testing.assert_array_equal(x, keep)
    errs = grad_check_sparse(lambda v: np.sum(v ** 3), x, 3 * keep ** 2, num_checks=5)
    assert len(errs) == 5 and max(errs) < 1e-7
    np.testing.assert_array_equal(x, keep)
    # a wrong analytic gradient is caught
    assert rel_error(g, 2 * keep ** 2) > 1e-2


def test_numerical_gradient_array_checks_affine_backward():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((3, 5))
    dx, dw, db = affine_backward(dout, affine_forward(x, w, b)[1])
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x, dout)) < 1e-8
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w, dout)) < 1e-8
    assert rel_error(db, eval_numerical_gradient_array(lambda v: affine_forward(x, w, v)[0], b, dout)) < 1e-8


# ---- models: gradient check and torch equivalence ----------------------------------------------

def hidden_preacts(model, X):
    """Pre-activations of every hidden ReLU layer, to make sure we sample away from the kinks."""
    p, h, out = model.params, X, []
    n_layers = len(p) // 2
    for l in range(1, n_layers):
        a = h @ p[f"W{l}"] + p[f"b{l}"]
        out.append(a)
        h = np.maximum(a, 0)
    return out


def make_models():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((6, 5))
    y = rng.integers(0, 4, size=6)
    two = TwoLayerNet(5, 7, 4, reg=0.3, seed=1)
    fc = FullyConnectedNet([6, 5], 5, 4, reg=0.2, seed=2, init="xavier")
    # non-zero biases so their gradients are exercised too
    for m in (two, fc):
        for name in m.params:
            if name.startswith("b"):
                m.params[name] = 0.1 * rng.standard_normal(m.params[name].shape)
    return X, y, two, fc


@pytest.mark.parametrize("which", ["two", "fc", "fc_no_hidden"])
def test_model_gradients_pass_numerical_check(which):
    X, y, two, fc = make_models()
    model = {"two": two, "fc": fc,
             "fc_no_hidden": FullyConnectedNet([], 5, 4, reg=0.5, seed=3)}[which]
    for a in hidden_preacts(model, X):
        assert np.min(np.abs(a)) > 1e-3, "sample lies too close to a ReLU kink; change the seed"
    loss, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name, param in model.params.items():
        num = eval_numerical_gradient(lambda _: model.loss(X, y)[0], param)
        assert grads[name].shape == param.shape
        err = rel_error(num, grads[name])
        assert err < 1e-7, f"{which} {name}: rel_error {err:.2e}"


def torch_mlp_loss(params, X, y, reg):
    """Same network in PyTorch: nn.Linear layers (weight = W.T), ReLU, F.cross_entropy + L2."""
    n_layers = len(params) // 2
    layers = []
    for l in range(1, n_layers + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        lin = torch.nn.Linear(*W.shape, dtype=DT)
        with torch.no_grad():
            lin.weight.copy_(t(W.T))
            lin.bias.copy_(t(b))
        layers += [lin, torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    scores = net(t(X))
    loss = F.cross_entropy(scores, torch.tensor(y))
    loss = loss + 0.5 * reg * sum((m.weight ** 2).sum() for m in net if isinstance(m, torch.nn.Linear))
    loss.backward()
    grads = {}
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    for l, m in enumerate(linears, start=1):
        grads[f"W{l}"] = m.weight.grad.numpy().T
        grads[f"b{l}"] = m.bias.grad.numpy()
    return scores.detach().numpy(), loss.item(), grads


@given(n=st.integers(1, 6), seed=st.integers(0, 2**32 - 1), reg=st.sampled_from([0.0, 0.1]),
       hidden=st.lists(st.integers(1, 6), min_size=0, max_size=3))
def test_models_match_torch(n, seed, reg, hidden):
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((n, 4)), rng.integers(0, 3, size=n)
    models = [FullyConnectedNet(hidden, 4, 3, reg=reg, seed=seed % 1000)]
    if len(hidden) == 1:
        models.append(TwoLayerNet(4, hidden[0], 3, reg=reg, seed=seed % 1000))
    for model in models:
        X_keep = X.copy()
        scores = model.loss(X)
        loss, grads = model.loss(X, y)
        ref_scores, ref_loss, ref_grads = torch_mlp_loss(model.params, X, y, reg)
        close(scores, ref_scores)
        close(loss, ref_loss)
        for name in model.params:
            close(grads[name], ref_grads[name])
        np.testing.assert_array_equal(X, X_keep)


def test_two_layer_and_fc_agree_with_same_seed():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5, 6)), rng.integers(0, 3, 5)
    two = TwoLayerNet(6, 8, 3, reg=0.1, seed=4)
    fc = FullyConnectedNet([8], 6, 3, reg=0.1, seed=4)
    for name in two.params:
        np.testing.assert_array_equal(two.params[name], fc.params[name])
    l2, g2 = two.loss(X, y)
    lf, gf = fc.loss(X, y)
    assert l2 == lf and all(np.array_equal(g2[k], gf[k]) for k in g2)


def test_weight_scale_and_init_options():
    m = TwoLayerNet(400, 300, 10, weight_scale=1e-3, seed=0)
    assert m.params["W1"].shape == (400, 300) and m.params["b2"].shape == (10,)
    assert abs(m.params["W1"].std() - 1e-3) < 2e-5
    assert np.all(m.params["b1"] == 0)
    he = FullyConnectedNet([300], 400, 10, seed=0, init="he")
    assert abs(he.params["W1"].std() - np.sqrt(2 / 400)) < 0.02 * np.sqrt(2 / 400)
    with pytest.raises(ValueError):
        TwoLayerNet(3, 3, 3, init="bogus")


def test_initial_loss_is_log_num_classes():
    """Small weights give near-uniform softmax: the first loss is about log(C) (a sanity check)."""
    X = np.random.default_rng(0).standard_normal((200, 20))
    y = np.random.default_rng(1).integers(0, 10, 200)
    loss, _ = TwoLayerNet(20, 30, 10, weight_scale=1e-4).loss(X, y)
    assert loss == pytest.approx(np.log(10), rel=1e-3)


# ---- initialisation ----------------------------------------------------------------------------

@pytest.mark.parametrize("fn,std", [
    (init.xavier_normal, lambda i, o: np.sqrt(2 / (i + o))),
    (init.xavier_uniform, lambda i, o: np.sqrt(2 / (i + o))),
    (init.he_normal, lambda i, o: np.sqrt(2 / i)),
    (init.he_uniform, lambda i, o: np.sqrt(2 / i)),
])
def test_init_std_matches_formula(fn, std):
    fan_in, fan_out = 800, 500
    W = fn(fan_in, fan_out, np.random.default_rng(0))
    assert W.shape == (fan_in, fan_out)
    # 400,000 samples: the standard error of the std is ~0.1 %, so 1 % is a 10-sigma margin
    assert W.std() == pytest.approx(std(fan_in, fan_out), rel=0.01)
    assert abs(W.mean()) < 0.01 * std(fan_in, fan_out)
    if "uniform" in fn.__name__:
        assert np.max(np.abs(W)) <= np.sqrt(3) * std(fan_in, fan_out)
    # same seed, same weights; independent of the global numpy state
    np.testing.assert_array_equal(W, fn(fan_in, fan_out, np.random.default_rng(0)))


def test_init_matches_torch_formulas():
    """torch.nn.init computes the same std (its tensors are (fan_out, fan_in))."""
    w = torch.empty(300, 700, dtype=DT)
    torch.nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert np.sqrt(2 / 700) == pytest.approx(w.std().item(), rel=0.02)
    torch.nn.init.xavier_normal_(w)
    assert np.sqrt(2 / 1000) == pytest.approx(w.std().item(), rel=0.02)


def test_zeros_bias():
    np.testing.assert_array_equal(init.zeros_bias(3), np.zeros(3))
    np.testing.assert_array_equal(init.zeros_bias(2, 0.01), [0.01, 0.01])


def _sgd_step(model, X, y, lr=0.5):
    _, grads = model.loss(X, y)
    for k, g in grads.items():
        model.params[k] = model.params[k] - lr * g
    return grads


def test_constant_init_keeps_hidden_units_identical():
    """Symmetry: equal weights -> equal hidden units -> equal gradients -> still equal."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 5)), rng.integers(0, 3, 20)

    zero = TwoLayerNet(5, 4, 3, init="zeros")
    grads = _sgd_step(zero, X, y)
    assert np.all(grads["W1"] == 0) and np.all(grads["W2"] == 0)   # nothing but b2 can move
    assert np.any(grads["b2"] != 0)

    const = TwoLayerNet(5, 4, 3, init="zeros")
    const.params["W1"] = np.full((5, 4), 0.1)
    const.params["W2"] = np.full((4, 3), 0.1) + np.arange(3) * 0.05
    W1_before = const.params["W1"].copy()
    for _ in range(5):
        _sgd_step(const, X, y)
    W1 = const.params["W1"]
    assert not np.allclose(W1, W1_before)                          # the weights did change...
    np.testing.assert_allclose(W1, np.repeat(W1[:, :1], 4, axis=1), rtol=0, atol=1e-15)  # ...in lockstep
    np.testing.assert_allclose(const.params["W2"], np.repeat(const.params["W2"][:1], 4, axis=0),
                               rtol=0, atol=1e-15)

    rand = TwoLayerNet(5, 4, 3, init="he", seed=0)
    _sgd_step(rand, X, y)
    assert not np.allclose(rand.params["W1"][:, 0], rand.params["W1"][:, 1])


# ---- helpers and training ----------------------------------------------------------------------

def test_predict_and_accuracy():
    m = TwoLayerNet(3, 4, 2, seed=0)
    X = np.random.default_rng(0).standard_normal((10, 3))
    pred = predict(m, X)
    np.testing.assert_array_equal(pred, np.argmax(m.loss(X), axis=1))
    assert accuracy(m, X, pred) == 1.0 and accuracy(m, X, 1 - pred) == 0.0


def test_train_mlp_history_and_no_inplace_updates():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)), rng.integers(0, 2, 40)
    m = TwoLayerNet(4, 8, 2, seed=0)
    W1_initial = m.params["W1"]
    W1_copy = W1_initial.copy()
    h = train_mlp(m, X, y, X[:10], y[:10], epochs=3, batch_size=16, lr=0.1, seed=0)
    assert set(h) == {"loss", "train_acc", "val_acc"}
    assert len(h["loss"]) == len(h["train_acc"]) == len(h["val_acc"]) == 3
    np.testing.assert_array_equal(W1_initial, W1_copy)            # old array untouched
    assert not np.array_equal(m.params["W1"], W1_copy)             # model did learn
    h2 = train_mlp(TwoLayerNet(4, 8, 2, seed=0), X, y, epochs=3, batch_size=16, lr=0.1, seed=0)
    assert h2["loss"] == h["loss"] and h2["val_acc"] == []         # deterministic given seeds


def digits_split():
    split = load_digits_split(seed=0, dtype=np.float64)            # the course's own loader
    return split.X_train, split.y_train, split.X_val, split.y_val, split.X_test, split.y_test


@pytest.mark.parametrize("kind", ["two_layer", "fully_connected"])
def test_mlp_learns_digits(kind):
    X_tr, y_tr, X_va, y_va, X_te, y_te = digits_split()
    assert X_tr.shape == (1257, 64) and len(y_te) == 270
    if kind == "two_layer":
        model = TwoLayerNet(64, 100, 10, reg=1e-3, seed=0)
    else:
        model = FullyConnectedNet([100, 50], 64, 10, reg=1e-3, seed=0)
    start = time.perf_counter()
    # small matrices: one BLAS thread is fastest and immune to contention on a shared machine
    with threadpool_limits(1):
        hist = train_mlp(model, X_tr, y_tr, X_va, y_va, epochs=40, batch_size=32, lr=0.1, seed=0)
    seconds = time.perf_counter() - start
    test_acc = accuracy(model, X_te, y_te)
    print(f"\n{kind}: test accuracy {test_acc:.4f}, val {hist['val_acc'][-1]:.4f}, "
          f"train {hist['train_acc'][-1]:.4f}, {seconds:.2f} s for 40 epochs")
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert hist["val_acc"][-1] >= 0.95
    assert test_acc >= 0.95                                        # ~0.97 with these settings


def test_the_784_16_16_10_network_of_the_syllabus_learns_the_mnist_subset():
    split = load_mnist_subset(seed=0, dtype=np.float64)            # 28x28 = 784 inputs, offline
    model = FullyConnectedNet([16, 16], 784, 10, reg=1e-4, seed=0)
    assert sum(p.size for p in model.params.values()) == 13_002
    start = time.perf_counter()
    with threadpool_limits(1):
        hist = train_mlp(model, split.X_train, split.y_train, split.X_val, split.y_val,
                         epochs=20, batch_size=32, lr=0.1, seed=0)
    test_acc = accuracy(model, split.X_test, split.y_test)
    print(f"\n784-16-16-10 on the MNIST 5k subset: test accuracy {test_acc:.4f}, "
          f"val {hist['val_acc'][-1]:.4f}, {time.perf_counter() - start:.2f} s for 20 epochs")
    assert test_acc >= 0.85                                        # ~0.89 with these settings
