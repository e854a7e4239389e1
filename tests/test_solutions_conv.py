"""solutions.conv against PyTorch (float64): conv2d forward/backward, max pooling, sizes, counts."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import conv

TOL = dict(rtol=1e-10, atol=1e-10)


def t64(a, requires_grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad)


@st.composite
def conv_problems(draw):
    """A random conv problem that fits: (x, w, b, dout-shape parameters, stride, padding)."""
    N = draw(st.integers(1, 3))
    C = draw(st.integers(1, 3))
    Fn = draw(st.integers(1, 3))
    KH, KW = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.integers(1, 2))
    padding = draw(st.integers(0, 2))
    H = draw(st.integers(max(1, KH - 2 * padding), 7))
    W = draw(st.integers(max(1, KW - 2 * padding), 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((N, C, H, W))
    w = rng.standard_normal((Fn, C, KH, KW))
    b = rng.standard_normal(Fn)
    return x, w, b, stride, padding, rng


def torch_conv(x, w, b, stride, padding, dout=None):
    xt, wt, bt = t64(x, True), t64(w, True), t64(b, True)
    out = F.conv2d(xt, wt, bt, stride=stride, padding=padding)
    if dout is None:
        return out.detach().numpy()
    (out * t64(dout)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy(), bt.grad.numpy()


# ------------------------------------------------------------------------ output size

@given(
    size=st.integers(1, 12), k=st.integers(1, 5), s=st.integers(1, 3), p=st.integers(0, 2)
)
def test_conv_output_size_matches_torch_shape(size, k, s, p):
    if k > size + 2 * p:
        with pytest.raises(ValueError):
            conv.conv_output_size(size, k, s, p)
        return
    out = F.conv2d(torch.zeros(1, 1, size, size, dtype=torch.float64),
                   torch.zeros(1, 1, k, k, dtype=torch.float64), stride=s, padding=p)
    assert conv.conv_output_size(size, k, s, p) == out.shape[-1]
    assert conv.conv_output_size(size, k, s, p) == (size + 2 * p - k) // s + 1


def test_conv_output_size_known_values():
    assert conv.conv_output_size(28, 3) == 26
    assert conv.conv_output_size(28, 3, padding=1) == 28      # "same" padding
    assert conv.conv_output_size(28, 2, stride=2) == 14       # 2x2 pooling
    assert conv.conv_output_size(7, 3, stride=2) == 3
    assert conv.conv_output_size(8, 3, stride=2) == 3         # floor: the last column is dropped


def test_conv_output_size_error_messages():
    with pytest.raises(ValueError, match=r"kernel of size 5 does not fit.*size 3.*padding 0"):
        conv.conv_output_size(3, 5)
    with pytest.raises(ValueError, match="stride >= 1"):
        conv.conv_output_size(8, 3, stride=0)
    with pytest.raises(ValueError, match="padding >= 0"):
        conv.conv_output_size(8, 3, padding=-1)
    x, w, b = np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), np.zeros(1)
    for forward in (conv.conv2d_forward, conv.conv2d_forward_naive):
        with pytest.raises(ValueError, match="does not fit"):
            forward(x, w, b)


def test_channel_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="channels"):
        conv.conv2d_forward(np.zeros((1, 2, 4, 4)), np.zeros((1, 3, 3, 3)), np.zeros(1))


# --------------------------------------------------------------------- conv forward

@given(conv_problems())
def test_conv2d_forward_both_versions_match_torch(problem):
    x, w, b, stride, padding, _ = problem
    expected = torch_conv(x, w, b, stride, padding)
    inputs = [a.copy() for a in (x, w, b)]
    out_naive, cache_naive = conv.conv2d_forward_naive(x, w, b, stride, padding)
    out_vec, cache_vec = conv.conv2d_forward(x, w, b, stride, padding)
    assert out_naive.shape == out_vec.shape == expected.shape
    np.testing.assert_allclose(out_naive, expected, **TOL)
    np.testing.assert_allclose(out_vec, expected, **TOL)
    for before, after in zip(inputs, (x, w, b)):
        np.testing.assert_array_equal(before, after)  # inputs not mutated


def test_conv2d_forward_hand_example():
    # A vertical-edge filter on a step image: the response is non-zero only at the step.
    x = np.array([[[[0, 0, 1, 1]] * 4]], dtype=float)          # (1, 1, 4, 4)
    w = np.array([[[[-1, 1], [-1, 1]]]], dtype=float)          # (1, 1, 2, 2)
    out, _ = conv.conv2d_forward(x, w, np.array([0.5]))
    np.testing.assert_array_equal(out[0, 0], [[0.5, 2.5, 0.5]] * 3)


# -------------------------------------------------------------------- conv backward

@given(conv_problems())
def test_conv2d_backward_matches_autograd(problem):
    x, w, b, stride, padding, rng = problem
    out, cache = conv.conv2d_forward(x, w, b, stride, padding)
    _, cache_naive = conv.conv2d_forward_naive(x, w, b, stride, padding)
    dout = rng.standard_normal(out.shape)
    _, dx_t, dw_t, db_t = torch_conv(x, w, b, stride, padding, dout)
    for backward, c in [(conv.conv2d_backward, cache), (conv.conv2d_backward, cache_naive),
                        (conv.conv2d_backward_naive, cache), (conv.conv2d_backward_naive, cache_naive)]:
        dx, dw, db = backward(dout, c)
        assert dx.shape == x.shape and dw.shape == w.shape and db.shape == b.shape
        np.testing.assert_allclose(dx, dx_t, **TOL)
        np.testing.assert_allclose(dw, dw_t, **TOL)
        np.testing.assert_allclose(db, db_t, **TOL)


@settings(max_examples=15)
@given(conv_problems())
def test_im2col_col2im_are_adjoint(problem):
    # <im2col(x), Y> == <x, col2im(Y)> for every x, Y: col2im is the transpose of im2col.
    x, w, _, stride, padding, rng = problem
    KH, KW = w.shape[2:]
    cols = conv.im2col(x, KH, KW, stride, padding)
    y = rng.standard_normal(cols.shape)
    back = conv.col2im(y, x.shape, KH, KW, stride, padding)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.sum(cols * y), np.sum(x * back), rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------------- max pooling

@st.composite
def pool_problems(draw):
    N, C = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pool = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    H, W = draw(st.integers(pool, 8)), draw(st.integers(pool, 8))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.standard_normal((N, C, H, W)), pool, stride, rng  # continuous values: no ties


@given(pool_problems())
def test_maxpool_forward_backward_match_torch(problem):
    x, pool, stride, rng = problem
    x_copy = x.copy()
    out, cache = conv.maxpool2d_forward(x, pool, stride)
    xt = t64(x, True)
    out_t = F.max_pool2d(xt, pool, stride)
    assert out.shape == tuple(out_t.shape)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    dout = rng.standard_normal(out.shape)
    (out_t * t64(dout)).sum().backward()
    dx = conv.maxpool2d_backward(dout, cache)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    np.testing.assert_array_equal(x, x_copy)


def test_maxpool_default_is_2x2_stride_2():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out, _ = conv.maxpool2d_forward(x)
    np.testing.assert_array_equal(out[0, 0], [[5, 7], [13, 15]])


def test_maxpool_ties_route_to_first_max_like_torch():
    # Constant windows and overlapping windows: every window sends its gradient to one input,
    # the first maximum in row-major order; torch does the same.
    for x, pool, stride in [(np.ones((1, 1, 4, 4)), 2, 2),
                            (np.array([[[[0., 1, 1], [1, 0, 1], [1, 1, 1]]]]), 2, 1)]:
        out, cache = conv.maxpool2d_forward(x, pool, stride)
        dx = conv.maxpool2d_backward(np.ones_like(out), cache)
        xt = t64(x, True)
        F.max_pool2d(xt, pool, stride).sum().backward()
        np.testing.assert_array_equal(dx, xt.grad.numpy())
        assert dx.sum() == out.size
    np.testing.assert_array_equal(dx[0, 0], [[0, 2, 0], [1, 0, 1], [0, 0, 0]])


# ------------------------------------------------------------------ parameter counts

@given(k=st.integers(1, 7), kw=st.integers(1, 7), c_in=st.integers(1, 16),
       c_out=st.integers(1, 16), bias=st.booleans())
def test_conv_param_count_matches_nn_conv2d(k, kw, c_in, c_out, bias):
    square = torch.nn.Conv2d(c_in, c_out, k, bias=bias)
    assert conv.conv_param_count(k, c_in, c_out, bias) == sum(p.numel() for p in square.parameters())
    rect = torch.nn.Conv2d(c_in, c_out, (k, kw), bias=bias)
    assert conv.conv_param_count((k, kw), c_in, c_out, bias) == sum(
        p.numel() for p in rect.parameters())


@settings(max_examples=15)
@given(h=st.integers(1, 12), w=st.integers(1, 12), c_in=st.integers(1, 4),
       units=st.integers(1, 10), bias=st.booleans())
def test_dense_param_count_matches_nn_linear(h, w, c_in, units, bias):
    dense = torch.nn.Linear(h * w * c_in, units, bias=bias)
    assert conv.dense_param_count_same_input(h, w, c_in, units, bias) == sum(
        p.numel() for p in dense.parameters())


def test_param_count_known_values():
    assert conv.conv_param_count(3, 1, 32) == 320                  # 3*3*1*32 + 32
    assert conv.conv_param_count(3, 3, 64) == 1792
    assert conv.dense_param_count_same_input(28, 28, 1, 32) == 25_120
    # the conv count does not grow with the image; the dense one does
    assert conv.dense_param_count_same_input(28, 28, 1, 32) > 70 * conv.conv_param_count(3, 1, 32)
