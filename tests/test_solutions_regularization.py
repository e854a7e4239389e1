"""Tests for solutions/regularization.py.

Oracles: torch autograd (penalties), torch.nn.functional.batch_norm and torch.nn.BatchNorm1d
(batch norm, float64), torch.nn.utils.clip_grad_norm_ / clip_grad_value_ (clipping), the
definition of inverted dropout (expectation, mask reuse) and hand-worked early-stopping sequences.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import regularization as reg
from tests.oracle import t as _t

RTOL, ATOL = 1e-10, 1e-12

shapes_st = st.lists(st.integers(1, 5), min_size=1, max_size=3)
seeds_st = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------------------
# L1 / L2 penalties
# ----------------------------------------------------------------------------------------

@given(shapes=st.lists(shapes_st, min_size=1, max_size=3), seed=seeds_st,
       strength=st.floats(0.0, 10.0), container=st.sampled_from(["list", "dict", "tuple"]))
def test_penalties_match_autograd(shapes, seed, strength, container):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(size=s) for s in shapes]
    Ws[0].flat[0] = 0.0  # a zero entry: the L1 subgradient there is 0, as in autograd
    copies = [W.copy() for W in Ws]
    if container == "dict":
        weights = {f"W{i}": W for i, W in enumerate(Ws)}
    else:
        weights = list(Ws) if container == "list" else tuple(Ws)
    for ours, theirs in [(reg.l2_penalty, lambda t: 0.5 * strength * (t * t).sum()),
                         (reg.l1_penalty, lambda t: strength * t.abs().sum())]:
        penalty, grads = ours(weights, strength)
        ts = [_t(W, grad=True) for W in Ws]
        ref = sum(theirs(t) for t in ts)
        ref.backward()
        np.testing.assert_allclose(penalty, ref.item(), rtol=RTOL, atol=ATOL)
        assert type(grads) is type(weights)
        grad_list = list(grads.values()) if container == "dict" else list(grads)
        for g, t in zip(grad_list, ts, strict=True):
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=RTOL, atol=ATOL)
    for W, c in zip(Ws, copies):
        np.testing.assert_array_equal(W, c)


def test_penalties_single_array_and_convention():
    W = np.array([[1.0, -2.0], [0.0, 3.0]])
    p2, g2 = reg.l2_penalty(W, 0.1)
    assert p2 == pytest.approx(0.5 * 0.1 * 14.0) and isinstance(g2, np.ndarray)
    np.testing.assert_allclose(g2, 0.1 * W)
    p1, g1 = reg.l1_penalty(W, 0.1)
    assert p1 == pytest.approx(0.6)
    np.testing.assert_array_equal(g1, 0.1 * np.array([[1.0, -1.0], [0.0, 1.0]]))


# ----------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------

@given(shape=shapes_st, seed=seeds_st, p=st.floats(0.0, 1.0))
def test_dropout_eval_is_identity_and_train_keeps_or_scales(shape, seed, p):
    x = np.random.default_rng(seed).normal(size=shape) + 5.0  # no zeros in x
    x_copy = x.copy()
    out, cache = reg.dropout_forward(x, p, mode="eval")
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(reg.dropout_backward(2 * x, cache), 2 * x)
    out, cache = reg.dropout_forward(x, p, mode="train", rng=seed)
    np.testing.assert_array_equal(x, x_copy)
    kept = out != 0
    if p < 1:  # every unit is either dropped (0) or scaled by 1 / (1 - p)
        np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-14)
    else:
        assert not kept.any()
    dout = np.random.default_rng(seed + 1).normal(size=shape)
    dx = reg.dropout_backward(dout, cache)  # the same mask: d(out)/dx = out / x elementwise
    np.testing.assert_allclose(dx, dout * out / x, rtol=1e-12, atol=1e-300)
    out2, _ = reg.dropout_forward(x, p, mode="train", rng=seed)
    np.testing.assert_array_equal(out, out2)  # reproducible with a seed


def test_dropout_p0_is_identity_in_train_mode():
    x = np.random.default_rng(0).normal(size=(4, 3))
    out, cache = reg.dropout_forward(x, 0.0, mode="train", rng=1)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(reg.dropout_backward(x, cache), x)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_the_expectation(p):
    """Inverted dropout: E[out] = x. Mean over many masks is within 5 standard errors of x."""
    x = np.array([1.0, -2.0, 0.5, 3.0])
    n = 40_000
    out, _ = reg.dropout_forward(np.tile(x, (n, 1)), p, mode="train", rng=np.random.default_rng(3))
    stderr = np.abs(x) * np.sqrt(p / (1 - p)) / np.sqrt(n)  # std of x * mask is |x| sqrt(p/(1-p))
    assert np.all(np.abs(out.mean(axis=0) - x) < 5 * stderr)
    assert abs(np.mean(out == 0) - p) < 0.01  # the drop rate is p


def test_dropout_rejects_bad_arguments():
    with pytest.raises(ValueError):
        reg.dropout_forward(np.ones(3), 1.5)
    with pytest.raises(ValueError):
        reg.dropout_forward(np.ones(3), 0.5, mode="test")


# ----------------------------------------------------------------------------------------
# Batch normalisation
# ----------------------------------------------------------------------------------------

def _bn_data(seed, N, D):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=rng.normal(size=D) * 3, scale=rng.uniform(0.5, 4, size=D), size=(N, D))
    return x, rng.normal(size=D), rng.normal(size=D), rng.normal(size=(N, D))


@given(N=st.integers(2, 8), D=st.integers(1, 6), seed=seeds_st, eps=st.sampled_from([1e-5, 1e-3]))
def test_batchnorm_train_forward_backward_match_torch(N, D, seed, eps):
    x, gamma, beta, dout = _bn_data(seed, N, D)
    x_copy = x.copy()
    out, cache = reg.batchnorm_forward(x, gamma, beta, {"mode": "train", "eps": eps})
    dx, dgamma, dbeta = reg.batchnorm_backward(dout, cache)
    np.testing.assert_array_equal(x, x_copy)

    tx, tg, tb = _t(x, True), _t(gamma, True), _t(beta, True)
    ref = F.batch_norm(tx, None, None, tg, tb, training=True, eps=eps)
    ref.backward(_t(dout))
    np.testing.assert_allclose(out, ref.detach().numpy(), rtol=RTOL, atol=ATOL)
    # dx is a difference of terms of size |dout * gamma| / std; for N = 2 the output barely
    # depends on x (x_hat = +-1), so dx is almost all cancellation and float64 only guarantees
    # an error small relative to those terms (seen: 6e-16 of them, 5e-8 elementwise for N = 2).
    term_scale = np.max(np.abs(dout * gamma) / np.sqrt(x.var(axis=0) + eps))
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=RTOL, atol=1e-13 * term_scale)
    np.testing.assert_allclose(dgamma, tg.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dbeta, tb.grad.numpy(), rtol=RTOL, atol=ATOL)


@given(N=st.integers(1, 6), D=st.integers(1, 5), seed=seeds_st)
def test_batchnorm_eval_forward_backward_match_torch(N, D, seed):
    x, gamma, beta, dout = _bn_data(seed, N, D)
    rng = np.random.default_rng(seed + 1)
    rm, rv = rng.normal(size=D), rng.uniform(0.1, 3, size=D)
    out, cache = reg.batchnorm_forward(x, gamma, beta,
                                       {"mode": "eval", "running_mean": rm, "running_var": rv})
    dx, dgamma, dbeta = reg.batchnorm_backward(dout, cache)
    tx, tg, tb = _t(x, True), _t(gamma, True), _t(beta, True)
    ref = F.batch_norm(tx, _t(rm), _t(rv), tg, tb, training=False, eps=1e-5)
    ref.backward(_t(dout))
    for ours, theirs in [(out, ref.detach()), (dx, tx.grad), (dgamma, tg.grad), (dbeta, tb.grad)]:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=RTOL, atol=ATOL)


@settings(max_examples=10)
@given(D=st.integers(1, 5), sizes=st.lists(st.integers(2, 7), min_size=1, max_size=5),
       momentum=st.sampled_from([0.9, 0.5, 0.99]), seed=seeds_st)
def test_running_stats_match_batchnorm1d(D, sizes, momentum, seed):
    """Our momentum m maps to torch's momentum 1 - m; torch feeds running_var the unbiased var."""
    bn = torch.nn.BatchNorm1d(D, eps=1e-5, momentum=1 - momentum, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(0.5, 2.0, D, dtype=torch.float64))
        bn.bias.copy_(torch.linspace(-1.0, 1.0, D, dtype=torch.float64))
    gamma, beta = bn.weight.detach().numpy().copy(), bn.bias.detach().numpy().copy()
    bn_param = {"mode": "train", "momentum": momentum}  # defaults: zeros / ones, as torch
    rng = np.random.default_rng(seed)
    for N in sizes:
        x = rng.normal(loc=2.0, scale=3.0, size=(N, D))
        out, _ = reg.batchnorm_forward(x, gamma, beta, bn_param)
        np.testing.assert_allclose(out, bn(_t(x)).detach().numpy(), rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(bn_param["running_mean"], bn.running_mean.numpy(),
                                   rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(bn_param["running_var"], bn.running_var.numpy(),
                                   rtol=RTOL, atol=ATOL)
    bn.eval()
    bn_param["mode"] = "eval"
    x = rng.normal(size=(3, D))
    out, _ = reg.batchnorm_forward(x, gamma, beta, bn_param)
    np.testing.assert_allclose(out, bn(_t(x)).detach().numpy(), rtol=RTOL, atol=ATOL)


def test_batchnorm_state_is_replaced_not_mutated_and_n1_train_rejected():
    rm, rv = np.zeros(3), np.ones(3)
    bn_param = {"mode": "train", "running_mean": rm, "running_var": rv}
    x = np.arange(6.0).reshape(2, 3)
    reg.batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    np.testing.assert_array_equal(rm, np.zeros(3))  # old arrays untouched ...
    np.testing.assert_array_equal(rv, np.ones(3))
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * np.array([1.5, 2.5, 3.5]))
    np.testing.assert_allclose(bn_param["running_var"], 0.9 + 0.1 * 4.5)  # unbiased: 9 / 2
    with pytest.raises(ValueError):
        reg.batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError):
        reg.batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "test"})


def test_batchnorm_train_output_is_normalised():
    x, _, _, _ = _bn_data(5, 50, 4)
    out, _ = reg.batchnorm_forward(x, np.ones(4), np.zeros(4), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), 1, rtol=1e-4)  # eps makes it slightly below 1


# ----------------------------------------------------------------------------------------
# Gradient clipping
# ----------------------------------------------------------------------------------------

@given(shapes=st.lists(shapes_st, min_size=1, max_size=4), seed=seeds_st,
       max_norm=st.floats(0.01, 20.0), scale=st.sampled_from([1e-3, 1.0, 100.0]),
       as_dict=st.booleans())
def test_clip_by_norm_matches_clip_grad_norm_(shapes, seed, max_norm, scale, as_dict):
    rng = np.random.default_rng(seed)
    gs = [scale * rng.normal(size=s) for s in shapes]
    copies = [g.copy() for g in gs]
    grads = {f"g{i}": g for i, g in enumerate(gs)} if as_dict else gs
    clipped, total = reg.clip_by_norm(grads, max_norm)
    ts = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    for t, g in zip(ts, gs):
        t.grad = _t(g)
    ref_total = torch.nn.utils.clip_grad_norm_(ts, max_norm)
    np.testing.assert_allclose(total, ref_total.item(), rtol=RTOL)
    out = list(clipped.values()) if as_dict else clipped
    for c, t in zip(out, ts, strict=True):
        np.testing.assert_allclose(c, t.grad.numpy(), rtol=RTOL, atol=ATOL)
    new_norm = np.sqrt(sum(np.sum(c * c) for c in out))
    assert new_norm <= max_norm * (1 + 1e-12) or np.isclose(new_norm, total, rtol=1e-15)
    for g, c in zip(gs, copies):  # inputs untouched
        np.testing.assert_array_equal(g, c)


@given(shapes=st.lists(shapes_st, min_size=1, max_size=4), seed=seeds_st,
       clip=st.floats(0.01, 3.0))
def test_clip_by_value_matches_clip_grad_value_(shapes, seed, clip):
    rng = np.random.default_rng(seed)
    gs = [2 * rng.normal(size=s) for s in shapes]
    copies = [g.copy() for g in gs]
    clipped = reg.clip_by_value(gs, clip)
    ts = [torch.zeros(s, dtype=torch.float64, requires_grad=True) for s in shapes]
    for t, g in zip(ts, gs):
        t.grad = _t(g)
    torch.nn.utils.clip_grad_value_(ts, clip)
    for c, t in zip(clipped, ts, strict=True):
        np.testing.assert_array_equal(c, t.grad.numpy())
    for g, c in zip(gs, copies):
        np.testing.assert_array_equal(g, c)


def test_clip_by_norm_keeps_the_direction_and_leaves_small_grads_alone():
    clipped, total = reg.clip_by_norm({"a": np.array([3.0]), "b": np.array([[4.0]])}, 1.0)
    assert total == 5.0
    np.testing.assert_allclose(clipped["a"], [0.6], rtol=1e-6)  # 3 / 5 (up to the 1e-6 guard)
    np.testing.assert_allclose(clipped["b"], [[0.8]], rtol=1e-6)
    small = [np.array([0.1, -0.2])]
    clipped, total = reg.clip_by_norm(small, 1.0)
    np.testing.assert_array_equal(clipped[0], small[0])
    zero, total = reg.clip_by_norm(np.zeros(3), 1.0)  # zero gradient: no division by zero
    assert total == 0.0 and np.all(zero == 0)


# ----------------------------------------------------------------------------------------
# Early stopping
# ----------------------------------------------------------------------------------------

def _run(stopper, values):
    """Index of the update that first returned True, or None."""
    for i, v in enumerate(values):
        if stopper.update(v):
            return i
    return None


def test_early_stopping_min_mode_patience():
    es = reg.EarlyStopping(patience=2)
    assert _run(es, [1.0, 0.8, 0.9, 0.85, 0.7]) == 3  # epochs 2 and 3 do not beat 0.8
    assert es.best == 0.8 and es.best_epoch == 1 and es.num_bad_epochs == 2
    es = reg.EarlyStopping(patience=2)
    assert _run(es, [1.0, 0.8, 0.9, 0.7, 0.75, 0.72, 0.6]) == 5  # the counter resets at 0.7
    assert es.best == 0.7 and es.best_epoch == 3


def test_early_stopping_min_delta_and_patience_zero():
    es = reg.EarlyStopping(patience=3, min_delta=0.05)
    # 0.97, 0.93 and 0.951 are not 0.05 below the best (1.0, then 0.94): no improvement
    assert _run(es, [1.0, 0.97, 0.94, 0.93, 0.951]) is None
    assert es.best == 0.94 and es.best_epoch == 2 and es.num_bad_epochs == 2
    assert es.update(0.885) is False  # 0.885 < 0.94 - 0.05: an improvement, the counter resets
    assert es.best == 0.885 and es.best_epoch == 5 and es.num_bad_epochs == 0
    assert _run(es, [0.84, 0.86, 0.87]) == 2  # 0.84 is only 0.045 better: three misses
    es = reg.EarlyStopping(patience=0)
    assert es.update(1.0) is False and es.update(0.5) is False and es.update(0.5) is True


def test_early_stopping_max_mode_and_restore_best():
    es = reg.EarlyStopping(patience=2, mode="max")
    params = {"w": np.array([0.0])}
    accs = [0.5, 0.7, 0.65, 0.69]
    stopped = None
    for epoch, acc in enumerate(accs):
        params = {"w": params["w"] + 1.0}  # the "model" after this epoch is w = epoch + 1
        if es.update(acc, params=params):
            stopped = epoch
            break
    assert stopped == 3 and es.best == 0.7 and es.best_epoch == 1
    best = es.restore_best()
    np.testing.assert_array_equal(best["w"], [2.0])  # a copy from epoch 1, not a reference
    best["w"][0] = -1.0
    np.testing.assert_array_equal(es.restore_best()["w"], [2.0])
    with pytest.raises(RuntimeError):
        reg.EarlyStopping(patience=1).restore_best()
    with pytest.raises(ValueError):
        reg.EarlyStopping(patience=1, mode="sideways")
