"""solutions.rnn against torch.nn.RNN / torch.nn.LSTM (float64), autograd and finite differences."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import rnn

TOL = dict(rtol=1e-10, atol=1e-10)
FD_TOL = dict(rtol=1e-6, atol=1e-8)  # centred differences with h=1e-6 are accurate to ~1e-9


def t64(a, requires_grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=requires_grad)


def numerical_grad(f, a, eps=1e-6):
    """Centred finite differences of the scalar f() w.r.t. every entry of a (changed in place)."""
    grad = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        old = a[idx]
        a[idx] = old + eps
        plus = f()
        a[idx] = old - eps
        minus = f()
        a[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


@st.composite
def sizes(draw):
    """(N, T, D, H, rng): small sequence problems, batch size 1 included."""
    dims = tuple(draw(st.integers(1, hi)) for hi in (3, 5, 4, 4))
    return (*dims, np.random.default_rng(draw(st.integers(0, 2**32 - 1))))


def copy_weights(module, Wx, Wh, b_ih, b_hh):
    with torch.no_grad():
        module.weight_ih_l0.copy_(t64(Wx.T))
        module.weight_hh_l0.copy_(t64(Wh.T))
        module.bias_ih_l0.copy_(t64(b_ih))
        module.bias_hh_l0.copy_(t64(b_hh))


def torch_sequence_grads(module, x, h0, dh, c0=None):
    """Run module on x and return (h, dx, dh0, dWx, dWh, db) for the loss sum(h * dh)."""
    xt, h0t = t64(x, True), t64(h0[None], True)
    state = h0t if c0 is None else (h0t, t64(c0[None]))
    out, _ = module(xt, state)
    (out * t64(dh)).sum().backward()
    return (out.detach().numpy(), xt.grad.numpy(), h0t.grad.numpy()[0],
            module.weight_ih_l0.grad.numpy().T, module.weight_hh_l0.grad.numpy().T,
            module.bias_ih_l0.grad.numpy())


# -------------------------------------------------------------------------- vanilla RNN

@given(sizes())
def test_rnn_forward_backward_match_torch(problem):
    N, T, D, H, rng = problem
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh = 0.5 * rng.standard_normal((D, H)), 0.5 * rng.standard_normal((H, H))
    b_ih, b_hh = rng.standard_normal(H), rng.standard_normal(H)
    module = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
    copy_weights(module, Wx, Wh, b_ih, b_hh)
    dh = rng.standard_normal((N, T, H))
    h_t, *grads_t = torch_sequence_grads(module, x, h0, dh)

    inputs = [a.copy() for a in (x, h0, Wx, Wh)]
    h, cache = rnn.rnn_forward(x, h0, Wx, Wh, b_ih + b_hh)
    assert h.shape == (N, T, H)
    np.testing.assert_allclose(h, h_t, **TOL)
    grads = rnn.rnn_backward(dh, cache)
    for name, g, g_t in zip(["dx", "dh0", "dWx", "dWh", "db"], grads, grads_t):
        assert g.shape == g_t.shape, name
        np.testing.assert_allclose(g, g_t, **TOL, err_msg=name)
    for before, after in zip(inputs, (x, h0, Wx, Wh)):
        np.testing.assert_array_equal(before, after)


@settings(max_examples=15)
@given(sizes())
def test_rnn_step_backward_matches_finite_differences(problem):
    N, _, D, H, rng = problem
    x, h_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal(H)
    dh_next = rng.standard_normal((N, H))
    _, cache = rnn.rnn_step_forward(x, h_prev, Wx, Wh, b)
    grads = rnn.rnn_step_backward(dh_next, cache)
    loss = lambda: np.sum(rnn.rnn_step_forward(x, h_prev, Wx, Wh, b)[0] * dh_next)
    for name, g, a in zip(["dx", "dh_prev", "dWx", "dWh", "db"], grads, (x, h_prev, Wx, Wh, b)):
        np.testing.assert_allclose(g, numerical_grad(loss, a), **FD_TOL, err_msg=name)


def test_rnn_step_hand_example():
    h, _ = rnn.rnn_step_forward(np.array([[1.0]]), np.array([[0.5]]), np.array([[2.0]]),
                                np.array([[-1.0]]), np.array([0.25]))
    np.testing.assert_allclose(h, [[np.tanh(2.0 - 0.5 + 0.25)]], rtol=1e-15)


# ----------------------------------------------------------------------------------- LSTM

@pytest.mark.parametrize("with_c0", [False, True])
@given(problem=sizes())
def test_lstm_forward_backward_match_torch(problem, with_c0):
    N, T, D, H, rng = problem
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    c0 = rng.standard_normal((N, H)) if with_c0 else np.zeros((N, H))
    Wx, Wh = 0.5 * rng.standard_normal((D, 4 * H)), 0.5 * rng.standard_normal((H, 4 * H))
    b_ih, b_hh = rng.standard_normal(4 * H), rng.standard_normal(4 * H)
    module = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    copy_weights(module, Wx, Wh, b_ih, b_hh)
    dh = rng.standard_normal((N, T, H))
    h_t, *grads_t = torch_sequence_grads(module, x, h0, dh, c0)

    if with_c0:
        h, cache = rnn.lstm_forward(x, h0, Wx, Wh, b_ih + b_hh, c0=c0)
    else:
        h, cache = rnn.lstm_forward(x, h0, Wx, Wh, b_ih + b_hh)    # c0 defaults to zeros
    assert h.shape == (N, T, H)
    np.testing.assert_allclose(h, h_t, **TOL)
    grads = rnn.lstm_backward(dh, cache)
    for name, g, g_t in zip(["dx", "dh0", "dWx", "dWh", "db"], grads, grads_t):
        assert g.shape == g_t.shape, name
        np.testing.assert_allclose(g, g_t, **TOL, err_msg=name)


@settings(max_examples=15)
@given(sizes())
def test_lstm_step_backward_matches_finite_differences(problem):
    N, _, D, H, rng = problem
    x, h_prev, c_prev = (rng.standard_normal(s) for s in [(N, D), (N, H), (N, H)])
    Wx, Wh = rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H))
    b = rng.standard_normal(4 * H)
    dnext_h, dnext_c = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    *_, cache = rnn.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    grads = rnn.lstm_step_backward(dnext_h, dnext_c, cache)

    def loss():
        h, c, _ = rnn.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
        return np.sum(h * dnext_h) + np.sum(c * dnext_c)

    names = ["dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"]
    for name, g, a in zip(names, grads, (x, h_prev, c_prev, Wx, Wh, b)):
        np.testing.assert_allclose(g, numerical_grad(loss, a), **FD_TOL, err_msg=name)


def test_lstm_gate_order_is_i_f_g_o():
    # Only the forget-gate bias is large (f = 1) and every other pre-activation is 0, so
    # i = o = 1/2, g = 0: the cell keeps prev_c exactly and h = tanh(prev_c) / 2.
    H = 3
    b = np.zeros(4 * H)
    b[H:2 * H] = 50.0
    prev_c = np.array([[0.3, -1.0, 2.0]])
    h, c, _ = rnn.lstm_step_forward(np.zeros((1, 2)), np.zeros((1, H)), prev_c,
                                    np.zeros((2, 4 * H)), np.zeros((H, 4 * H)), b)
    np.testing.assert_allclose(c, prev_c, rtol=1e-15)
    np.testing.assert_allclose(h, 0.5 * np.tanh(prev_c), rtol=1e-15)


def test_lstm_is_stable_for_huge_pre_activations():
    # The sigmoid must not overflow (RuntimeWarnings are errors in this test suite).
    H = 2
    Wx = 1e4 * np.tile([1.0, -1.0], 2 * H)[None]                  # (1, 4H): +-1e4 pre-activations
    h, c, _ = rnn.lstm_step_forward(np.array([[1.0]]), np.zeros((1, H)), np.zeros((1, H)),
                                    Wx, np.zeros((H, 4 * H)), np.zeros(4 * H))
    assert np.all(np.isfinite(h)) and np.all(np.isfinite(c))


# ----------------------------------------------------------------------- parameter counts

@given(D=st.integers(1, 20), H=st.integers(1, 20), bias=st.booleans())
def test_param_counts_match_torch_modules(D, H, bias):
    count = lambda m: sum(p.numel() for p in m.parameters())
    assert rnn.torch_rnn_param_count(D, H, bias) == count(torch.nn.RNN(D, H, bias=bias))
    assert rnn.torch_lstm_param_count(D, H, bias) == count(torch.nn.LSTM(D, H, bias=bias))
    # our single-bias convention: exactly the arrays the NumPy layers take
    Wx, Wh, b = np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    assert rnn.rnn_param_count(D, H) == Wx.size + Wh.size + b.size
    assert rnn.lstm_param_count(D, H) == 4 * Wx.size + 4 * Wh.size + 4 * b.size
    assert rnn.torch_rnn_param_count(D, H) - rnn.rnn_param_count(D, H) == H
    assert rnn.torch_lstm_param_count(D, H) - rnn.lstm_param_count(D, H) == 4 * H
    assert rnn.rnn_param_count(D, H, bias=False) == rnn.torch_rnn_param_count(D, H, bias=False)


def test_param_count_known_values():
    assert rnn.rnn_param_count(10, 20) == 20 * 30 + 20 == 620
    assert rnn.lstm_param_count(10, 20) == 2480
    assert rnn.torch_lstm_param_count(10, 20) == 2560


# ---------------------------------------------------------- vanishing / exploding gradients

@settings(max_examples=15)
@given(sizes())
def test_gradient_norms_through_time_match_autograd(problem):
    N, T, D, H, rng = problem
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal(H)
    norms = rnn.gradient_norms_through_time(x, h0, Wx, Wh, b)
    # oracle: autograd on an explicitly unrolled torch RNN, L = sum(h_{T-1})
    hs, h = [], t64(h0, requires_grad=True)
    for t in range(T):
        h = torch.tanh(t64(x[:, t]) @ t64(Wx) + h @ t64(Wh) + t64(b))
        h.retain_grad()
        hs.append(h)
    hs[-1].sum().backward()
    expected = [np.linalg.norm(h.grad.numpy()) for h in hs]
    assert norms.shape == (T,)
    np.testing.assert_allclose(norms, expected, **TOL)


@pytest.mark.parametrize("scale", [0.5, 0.9, 1.1, 1.5])
def test_recurrent_scale_demo_is_geometric_at_zero_input(scale):
    T, H, N = 20, 8, 4
    norms = rnn.gradient_norms_for_recurrent_scale(scale, T=T, hidden_dim=H, batch_size=N)
    steps_back = np.arange(T)[::-1]                                 # T-1-t
    np.testing.assert_allclose(norms, scale ** steps_back * np.sqrt(N * H), rtol=1e-10)


def test_small_recurrent_weights_vanish_and_large_ones_explode():
    small = rnn.gradient_norms_for_recurrent_scale(0.5, T=30, input_scale=0.1)
    large = rnn.gradient_norms_for_recurrent_scale(1.5, T=30)
    assert np.all(np.diff(small) > 0)            # walking back in time (t decreasing) shrinks
    assert small[0] < 1e-6 * small[-1]
    assert np.all(np.diff(large) < 0)            # ... or grows
    assert large[0] > 1e4 * large[-1]
