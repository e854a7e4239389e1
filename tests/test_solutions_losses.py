"""solutions.losses against torch.nn.functional (float64) with autograd for the gradients."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from solutions import losses as L
from tests.oracle import close, t

DT = torch.float64


def torch_loss_and_grad(fn, x, *rest):
    """Value of fn(x_t, *rest) and its autograd gradient with respect to x."""
    xt = t(x, grad=True)
    loss = fn(xt, *rest)
    loss.backward()
    return loss.item(), xt.grad.numpy()


@st.composite
def classification(draw, max_n=8, max_k=6):
    """(logits (N, K), integer labels (N,), K) with N >= 1 (batch size 1 included) and K >= 2."""
    n = draw(st.integers(1, max_n))
    k = draw(st.integers(2, max_k))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return 3 * rng.standard_normal((n, k)), rng.integers(0, k, size=n), k


@st.composite
def binary(draw, max_n=10):
    """(logits z, labels y in {0,1}) of shape (N,) or (N, 1)."""
    n = draw(st.integers(1, max_n))
    shape = (n, 1) if draw(st.booleans()) else (n,)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return 4 * rng.standard_normal(shape), rng.integers(0, 2, size=shape).astype(float)


def softmax_np(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---- one_hot --------------------------------------------------------------------------------

@given(classification())
def test_one_hot_matches_torch(data):
    _, y, k = data
    oh = L.one_hot(y, k)
    np.testing.assert_array_equal(oh, F.one_hot(torch.tensor(y), k).numpy())
    assert oh.dtype == np.float64


# ---- regression -----------------------------------------------------------------------------

@given(n=st.integers(1, 8), d=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_mse_matches_torch(n, d, seed):
    rng = np.random.default_rng(seed)
    pred, y = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    keep = pred.copy()
    loss, dpred = L.mse_loss(pred, y)
    ref_loss, ref_grad = torch_loss_and_grad(F.mse_loss, pred, t(y))
    close(loss, ref_loss)
    close(dpred, ref_grad)
    np.testing.assert_array_equal(pred, keep)


def test_mse_is_mean_over_all_elements():
    loss, dpred = L.mse_loss(np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2)))
    assert loss == pytest.approx((1 + 4 + 9 + 16) / 4)
    close(dpred, np.array([[1.0, 2.0], [3.0, 4.0]]) * 2 / 4)


# ---- binary -----------------------------------------------------------------------------------

@given(binary())
def test_bce_from_probabilities_matches_torch(data):
    z, y = data
    p = 1 / (1 + np.exp(-z))          # |z| is moderate, so p stays well inside (0, 1)
    loss, dp = L.binary_cross_entropy(p, y)
    ref_loss, ref_grad = torch_loss_and_grad(F.binary_cross_entropy, p, t(y))
    close(loss, ref_loss)
    np.testing.assert_allclose(dp, ref_grad, rtol=1e-9, atol=1e-10)   # 1/(p(1-p)) amplifies rounding


@given(binary())
def test_bce_with_logits_matches_torch(data):
    z, y = data
    loss, dz = L.binary_cross_entropy_with_logits(z, y)
    ref_loss, ref_grad = torch_loss_and_grad(F.binary_cross_entropy_with_logits, z, t(y))
    close(loss, ref_loss)
    close(dz, ref_grad)
    close(dz, (1 / (1 + np.exp(-z)) - y) / z.size)


def test_bce_stability_clipping_and_logits():
    y = np.array([1.0, 0.0, 1.0, 0.0])
    p = np.array([0.0, 1.0, 1.0, 0.0])                          # confidently wrong, then right
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dp = L.binary_cross_entropy(p, y)
        z = np.array([-1e4, 1e4, 1e4, -1e4])
        loss_z, dz = L.binary_cross_entropy_with_logits(z, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dp))
    assert loss == pytest.approx(-2 * np.log(1e-12) / 4, rel=1e-6)
    # from logits: exact, no clipping needed: 2 wrong by 1e4, 2 right
    assert loss_z == pytest.approx(2 * 1e4 / 4)
    ref_loss, ref_grad = torch_loss_and_grad(F.binary_cross_entropy_with_logits, z, t(y))
    close(loss_z, ref_loss)
    close(dz, ref_grad)


# ---- multi-class ------------------------------------------------------------------------------

@given(classification())
def test_softmax_cross_entropy_matches_torch(data):
    z, y, k = data
    keep = z.copy()
    loss, dz = L.softmax_cross_entropy(z, y)
    ref_loss, ref_grad = torch_loss_and_grad(F.cross_entropy, z, torch.tensor(y))
    close(loss, ref_loss)
    close(dz, ref_grad)
    close(dz, (softmax_np(z) - L.one_hot(y, k)) / z.shape[0])     # the famous (p - y) / N
    np.testing.assert_array_equal(z, keep)


@given(classification())
def test_categorical_and_sparse_ce_match_torch_and_each_other(data):
    z, y, k = data
    p = softmax_np(z)
    oh = L.one_hot(y, k)
    loss_c, dp_c = L.categorical_cross_entropy(p, oh)
    loss_s, dp_s = L.sparse_categorical_cross_entropy(p, y)
    nll = lambda pt, target: F.nll_loss(torch.log(pt), target)            # noqa: E731
    ref_loss, ref_grad = torch_loss_and_grad(nll, p, torch.tensor(y))
    close(loss_c, ref_loss)
    close(loss_s, ref_loss)
    close(loss_c, loss_s)                                                  # same number
    np.testing.assert_allclose(dp_c, ref_grad, rtol=1e-10, atol=1e-9)     # -1/p can be large
    np.testing.assert_allclose(dp_s, ref_grad, rtol=1e-10, atol=1e-9)
    close(loss_s, L.softmax_cross_entropy(z, y)[0])                        # = CE from logits


def test_chain_rule_through_softmax_gives_p_minus_y():
    """dL/dp of categorical CE pushed through the softmax Jacobian equals (p - y) / N."""
    from solutions.activations import softmax_backward, softmax_forward
    rng = np.random.default_rng(3)
    z, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    p, cache = softmax_forward(z)
    _, dp = L.categorical_cross_entropy(p, L.one_hot(y, 4))
    close(softmax_backward(dp, cache), L.softmax_cross_entropy(z, y)[1])


@pytest.mark.parametrize("big", [1e3, 1e6])
def test_softmax_cross_entropy_stable_for_large_logits(big):
    z = np.array([[big, 0.0, -big], [0.0, big, 0.0]])
    y = np.array([2, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, dz = L.softmax_cross_entropy(z, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dz))
    assert loss == pytest.approx((2 * big) / 2)
    ref_loss, ref_grad = torch_loss_and_grad(F.cross_entropy, z, torch.tensor(y))
    close(loss, ref_loss)
    close(dz, ref_grad)


def test_probability_losses_clip_zero_probabilities():
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    y = np.array([1, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss_s, dp_s = L.sparse_categorical_cross_entropy(p, y)
        loss_c, dp_c = L.categorical_cross_entropy(p, L.one_hot(y, 2))
    expected = (-np.log(1e-12) - np.log(0.5)) / 2
    assert loss_s == pytest.approx(expected) and loss_c == pytest.approx(expected)
    assert np.all(np.isfinite(dp_s)) and np.all(np.isfinite(dp_c))


# ---- shapes and targets are checked, never broadcast ------------------------------------------

ELEMENTWISE = [L.mse_loss, L.binary_cross_entropy, L.binary_cross_entropy_with_logits]


@pytest.mark.parametrize("loss_fn", ELEMENTWISE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("pred_shape,target_shape", [((4, 1), (4,)), ((4,), (4, 1)), ((3,), (4,)), ((2, 3), (3, 2))])
def test_elementwise_losses_reject_mismatched_shapes(loss_fn, pred_shape, target_shape):
    """(N, 1) predictions against (N,) targets used to broadcast to (N, N) and return a wrong loss."""
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.1, 0.9, size=pred_shape)
    y = rng.integers(0, 2, size=target_shape).astype(float)
    with pytest.raises(ValueError, match=r"same shape") as info:
        loss_fn(pred, y)
    assert str(pred_shape) in str(info.value) and str(target_shape) in str(info.value)


def test_the_broadcast_that_used_to_pass_silently_gives_a_wrong_number():
    """Why the check exists: the (N, N) broadcast mixes every prediction with every target."""
    pred, y = np.array([[1.0], [2.0], [3.0]]), np.array([1.0, 2.0, 3.0])
    assert np.mean((pred - y) ** 2) == pytest.approx(4 / 3)        # what the unchecked formula returned
    assert L.mse_loss(pred, y.reshape(3, 1))[0] == 0.0              # the right answer, once reshaped


@pytest.mark.parametrize("loss_fn", ELEMENTWISE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("shape", [(5,), (5, 1), (2, 3)])
def test_elementwise_losses_accept_int_or_float_targets_of_the_same_shape(loss_fn, shape):
    rng = np.random.default_rng(1)
    pred = rng.uniform(0.1, 0.9, size=shape)
    y_int = rng.integers(0, 2, size=shape)
    loss_i, grad_i = loss_fn(pred, y_int)
    loss_f, grad_f = loss_fn(pred, y_int.astype(float))
    assert loss_i == loss_f and grad_i.shape == pred.shape
    np.testing.assert_array_equal(grad_i, grad_f)


def test_mse_accepts_int_predictions_and_lists():
    loss, dpred = L.mse_loss([1, 2, 3], [1, 2, 5])
    assert loss == pytest.approx(4 / 3)
    close(dpred, np.array([0.0, 0.0, -4 / 3]))


def test_categorical_ce_rejects_integer_labels_even_when_n_equals_k():
    """With N == K, y (N,) * log p (N, K) broadcasts over the rows: silently wrong before the check."""
    p = softmax_np(np.random.default_rng(2).standard_normal((3, 3)))
    y = np.array([0, 2, 1])
    with pytest.raises(ValueError, match="sparse_categorical_cross_entropy"):
        L.categorical_cross_entropy(p, y)
    wrong = -np.sum(y * np.log(p)) / 3                                # what the unchecked formula returned
    right = L.categorical_cross_entropy(p, L.one_hot(y, 3))[0]
    assert not np.isclose(wrong, right)
    close(right, L.sparse_categorical_cross_entropy(p, y)[0])


@pytest.mark.parametrize("bad", [
    np.array([[0, 2, 1]]),                                    # labels as one row
    np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]),             # too few rows
    np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),   # soft, not one-hot
    np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]]),              # two ones in a row
    np.array([[0, 0, 0], [0, 1, 0], [0, 0, 1]]),              # no one in a row
    np.array([[2, 0, 0], [0, 1, 0], [0, 0, 1]]),              # not 0/1
], ids=["row", "rows", "soft", "two-ones", "no-one", "not-binary"])
def test_categorical_ce_rejects_targets_that_are_not_one_hot(bad):
    p = np.full((3, 3), 1 / 3)
    with pytest.raises(ValueError, match="one-hot"):
        L.categorical_cross_entropy(p, bad)


def test_categorical_ce_rejects_a_1d_p():
    with pytest.raises(ValueError, match="2-D"):
        L.categorical_cross_entropy(np.array([0.2, 0.8]), np.array([0.0, 1.0]))


@pytest.mark.parametrize("dtype", [int, np.int32, float, bool])
def test_categorical_ce_accepts_one_hot_of_any_numeric_dtype(dtype):
    p = softmax_np(np.random.default_rng(4).standard_normal((4, 3)))
    y = np.array([2, 0, 1, 1])
    oh = L.one_hot(y, 3).astype(dtype)
    loss, dp = L.categorical_cross_entropy(p, oh)
    close(loss, L.sparse_categorical_cross_entropy(p, y)[0])
    close(dp, L.sparse_categorical_cross_entropy(p, y)[1])


SPARSE = [L.sparse_categorical_cross_entropy, L.softmax_cross_entropy]


@pytest.mark.parametrize("loss_fn", SPARSE, ids=lambda f: f.__name__)
@pytest.mark.parametrize("labels,match", [
    (np.array([[0], [2], [1]]), r"shape \(3,\)"),              # (N, 1) labels would broadcast to (N, N)
    (np.array([0, 2]), r"shape \(3,\)"),                       # one label short
    (np.array([0.0, 2.0, 1.0]), "integer"),                    # floats
    (np.array([0, 3, 1]), r"\[0, 3\)"),                        # out of range
    (np.array([0, -1, 1]), r"\[0, 3\)"),                       # negative: would index from the end
    (L.one_hot(np.array([0, 2, 1]), 3), r"shape \(3,\)"),      # one-hot instead of integers
], ids=["column", "short", "float", "too-big", "negative", "one-hot"])
def test_sparse_losses_reject_labels_that_are_not_n_integers_in_range(loss_fn, labels, match):
    scores = np.random.default_rng(5).standard_normal((3, 3))
    with pytest.raises(ValueError, match=match):
        loss_fn(softmax_np(scores) if loss_fn is L.sparse_categorical_cross_entropy else scores, labels)


@pytest.mark.parametrize("loss_fn", SPARSE, ids=lambda f: f.__name__)
def test_sparse_losses_accept_any_integer_dtype_and_lists(loss_fn):
    z = np.random.default_rng(6).standard_normal((4, 3))
    x = softmax_np(z) if loss_fn is L.sparse_categorical_cross_entropy else z
    ref = loss_fn(x, np.array([2, 0, 1, 1]))
    for y in (np.array([2, 0, 1, 1], dtype=np.int32), np.array([2, 0, 1, 1], dtype=np.uint8), [2, 0, 1, 1]):
        loss, grad = loss_fn(x, y)
        close(loss, ref[0])
        close(grad, ref[1])
