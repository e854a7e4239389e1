"""Recurrent networks in NumPy (notebook 10): the vanilla RNN, the LSTM, and BPTT.

Shapes: a batch of sequences ``x: (N, T, D)`` (batch first, like ``batch_first=True`` in
PyTorch), hidden states ``h: (N, T, H)``, initial state ``h0: (N, H)``. Weights act on the
right: ``Wx: (D, H)``, ``Wh: (H, H)``, ``b: (H,)`` for the RNN; the LSTM stacks its four
gates along the last axis, ``Wx: (D, 4H)``, ``Wh: (H, 4H)``, ``b: (4H,)``, in the order
``[i, f, g, o]`` (input, forget, cell candidate, output), the same order as ``torch.nn.LSTM``.
PyTorch stores the transposes (``weight_ih_l0 = Wx.T``) and two bias vectors whose sum is ``b``.

Contents
- ``rnn_step_forward/backward``, ``rnn_forward/backward`` (backpropagation through time).
- ``lstm_step_forward/backward``, ``lstm_forward/backward``.
- ``rnn_param_count``, ``torch_rnn_param_count``, ``lstm_param_count``, ``torch_lstm_param_count``.
- ``gradient_norms_through_time`` and ``gradient_norms_for_recurrent_scale``: how ``dL/dh_t``
  vanishes or explodes as it travels back in time.

Every ``*_forward`` returns ``(out, cache)`` (the LSTM step also returns its cell state);
every ``*_backward(dout, cache)`` returns gradients in the order of the forward's inputs.
"""
import numpy as np

from solutions.activations import sigmoid


# ----------------------------------------------------------------------------- vanilla RNN

def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One time step of a tanh RNN.

    x: (N, D), h_prev: (N, H), Wx: (D, H), Wh: (H, H), b: (H,) -> h_next: (N, H)
    # h_next = tanh(x @ Wx + h_prev @ Wh + b)
    """
    h_next = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h_next, (x, h_prev, Wx, Wh, h_next)


def rnn_step_backward(dh_next, cache):
    """Backward pass of one RNN step.

    dh_next: (N, H) -> (dx: (N, D), dh_prev: (N, H), dWx: (D, H), dWh: (H, H), db: (H,))
    # dz = dh_next * (1 - h_next**2);  dx = dz @ Wx.T;  dh_prev = dz @ Wh.T
    """
    x, h_prev, Wx, Wh, h_next = cache
    dz = dh_next * (1.0 - h_next ** 2)
    return dz @ Wx.T, dz @ Wh.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """Run a tanh RNN over a whole sequence (the network unrolled in time).

    x: (N, T, D), h0: (N, H) -> h: (N, T, H), the hidden state after every step.
    # h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)
    cache: the list of the T step caches.
    """
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]), dtype=np.result_type(x, h0, Wx, Wh, b))
    caches = []
    h_t = h0
    for t in range(T):
        h_t, step_cache = rnn_step_forward(x[:, t], h_t, Wx, Wh, b)
        h[:, t] = h_t
        caches.append(step_cache)
    return h, caches


def rnn_backward(dh, cache):
    """Backpropagation through time for ``rnn_forward``.

    dh: (N, T, H), the upstream gradient of the loss w.r.t. every hidden state.
    -> (dx: (N, T, D), dh0: (N, H), dWx: (D, H), dWh: (H, H), db: (H,))
    # walking back: grad(h_t) = dh[:, t] + (gradient that h_{t+1} sends back to h_t);
    # the weights are shared, so their gradients are summed over all steps.
    """
    N, T, _ = dh.shape
    x0, _, Wx, Wh, _ = cache[0]
    dx = np.zeros((N, T, x0.shape[1]), dtype=np.result_type(dh, x0))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[0], dtype=Wh.dtype)
    dh_prev = np.zeros_like(dh[:, 0])
    for t in reversed(range(T)):
        dx[:, t], dh_prev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dh_prev, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dh_prev, dWx, dWh, db


# ----------------------------------------------------------------------------------- LSTM

def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One time step of an LSTM; gates stacked as [i, f, g, o] like torch.nn.LSTM.

    x: (N, D), prev_h, prev_c: (N, H), Wx: (D, 4H), Wh: (H, 4H), b: (4H,)
    -> (next_h: (N, H), next_c: (N, H), cache)
    # a = x @ Wx + prev_h @ Wh + b;  i, f, o = sigmoid(a_i, a_f, a_o);  g = tanh(a_g)
    # next_c = f * prev_c + i * g;  next_h = o * tanh(next_c)
    """
    a = x @ Wx + prev_h @ Wh + b
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, g, o, tanh_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward pass of one LSTM step.

    dnext_h, dnext_c: (N, H) -> (dx, dprev_h, dprev_c, dWx, dWh, db), shaped like the inputs.
    # dc = dnext_c + dnext_h * o * (1 - tanh(c)^2);  then through c = f*prev_c + i*g
    # and the gate non-linearities: sigmoid' = s(1 - s), tanh' = 1 - tanh^2
    """
    x, prev_h, prev_c, Wx, Wh, i, f, g, o, tanh_c = cache
    do = dnext_h * tanh_c
    dc = dnext_c + dnext_h * o * (1.0 - tanh_c ** 2)
    di, df, dg, dprev_c = dc * g, dc * prev_c, dc * i, dc * f
    da = np.concatenate(
        [di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], axis=1
    )
    return da @ Wx.T, da @ Wh.T, dprev_c, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    """Run an LSTM over a whole sequence.

    x: (N, T, D), h0: (N, H), c0: (N, H) or None (zeros) -> h: (N, T, H)
    # (h_t, c_t) = lstm_step(x_t, h_{t-1}, c_{t-1})
    cache: the list of the T step caches.
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H), dtype=np.result_type(x, h0, Wx, Wh, b))
    c_t = np.zeros_like(h0) if c0 is None else c0
    h_t = h0
    caches = []
    for t in range(T):
        h_t, c_t, step_cache = lstm_step_forward(x[:, t], h_t, c_t, Wx, Wh, b)
        h[:, t] = h_t
        caches.append(step_cache)
    return h, caches


def lstm_backward(dh, cache):
    """Backpropagation through time for ``lstm_forward``.

    dh: (N, T, H) -> (dx: (N, T, D), dh0: (N, H), dWx: (D, 4H), dWh: (H, 4H), db: (4H,))
    # the loss reads only h, so the last cell state gets no upstream gradient (dc_T = 0);
    # each step passes dprev_h and dprev_c to the one before. c0 is treated as a constant
    # (its gradient is the final dprev_c, not returned).
    """
    N, T, _ = dh.shape
    x0, _, _, Wx, Wh, *_ = cache[0]
    dx = np.zeros((N, T, x0.shape[1]), dtype=np.result_type(dh, x0))
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(Wh.shape[1], dtype=Wh.dtype)
    dh_prev = np.zeros_like(dh[:, 0])
    dc_prev = np.zeros_like(dh[:, 0])
    for t in reversed(range(T)):
        dx[:, t], dh_prev, dc_prev, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dh_prev, dc_prev, cache[t]
        )
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dh_prev, dWx, dWh, db


# ------------------------------------------------------------------------ parameter counts

def rnn_param_count(input_dim, hidden_dim, bias=True):
    """Parameters of one RNN layer with a single bias vector (this module's convention).

    # count = H*D (Wx) + H*H (Wh) + H (b) = H*(D + H) + H
    """
    D, H = input_dim, hidden_dim
    return H * (D + H) + (H if bias else 0)


def torch_rnn_param_count(input_dim, hidden_dim, bias=True):
    """Parameters of ``torch.nn.RNN(input_dim, hidden_dim)``: two biases, b_ih and b_hh.

    # count = H*(D + H) + 2H   (H more than ``rnn_param_count``; the two biases only add up)
    """
    D, H = input_dim, hidden_dim
    return H * (D + H) + (2 * H if bias else 0)


def lstm_param_count(input_dim, hidden_dim, bias=True):
    """Parameters of one LSTM layer with a single bias per gate: four RNN-sized blocks.

    # count = 4 * (H*(D + H) + H)
    """
    return 4 * rnn_param_count(input_dim, hidden_dim, bias)


def torch_lstm_param_count(input_dim, hidden_dim, bias=True):
    """Parameters of ``torch.nn.LSTM(input_dim, hidden_dim)`` (two bias vectors per gate).

    # count = 4 * (H*(D + H) + 2H)
    """
    return 4 * torch_rnn_param_count(input_dim, hidden_dim, bias)


# ------------------------------------------------------------- vanishing/exploding gradients

def gradient_norms_through_time(x, h0, Wx, Wh, b):
    """How far back the gradient reaches: norms of dL/dh_t for a loss on the last state.

    x: (N, T, D), h0: (N, H) -> norms: (T,), norms[t] = ||dL/dh_t|| (Frobenius norm over the
    batch), where L = sum(h_{T-1}), i.e. the loss reads only the last hidden state.
    # dL/dh_{t-1} = (dL/dh_t * (1 - h_t**2)) @ Wh.T  -- one Jacobian per step back
    Shrinking norms as t decreases = vanishing gradients; growing norms = exploding.
    """
    h, caches = rnn_forward(x, h0, Wx, Wh, b)
    T = h.shape[1]
    norms = np.zeros(T)
    dh_t = np.ones_like(h[:, -1])
    for t in reversed(range(T)):
        norms[t] = np.linalg.norm(dh_t)
        _, dh_t, _, _, _ = rnn_step_backward(dh_t, caches[t])
    return norms


def gradient_norms_for_recurrent_scale(scale, T=30, hidden_dim=8, input_dim=3, batch_size=4,
                                       input_scale=0.0, seed=0):
    """Demo for the notebook: ``gradient_norms_through_time`` with ``Wh = scale * Q``.

    Q is a random orthogonal (H, H) matrix, so every singular value of Wh equals ``scale``.
    With the default zero inputs every h_t stays 0, tanh' = 1 there, and the norm changes by
    exactly a factor ``scale`` per step back: norms[t] = scale**(T-1-t) * sqrt(N*H).
    ``scale < 1`` vanishes, ``scale > 1`` explodes. Non-zero inputs (``input_scale > 0``) move
    the states off 0, where tanh' < 1 shrinks the gradient further (saturation).
    Returns norms: (T,).
    """
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((hidden_dim, hidden_dim)))
    Wh = scale * Q
    Wx = rng.standard_normal((input_dim, hidden_dim)) / np.sqrt(input_dim)
    x = input_scale * rng.standard_normal((batch_size, T, input_dim))
    h0 = np.zeros((batch_size, hidden_dim))
    return gradient_norms_through_time(x, h0, Wx, Wh, np.zeros(hidden_dim))
