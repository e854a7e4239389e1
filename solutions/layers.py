"""The affine (dense) layer and the "sandwich" layers built from it.

CS231n contract: ``*_forward(x, params...) -> (out, cache)`` and
``*_backward(dout, cache) -> grads`` in the order of the forward's inputs. The sandwiches
chain an affine layer with an activation from :mod:`solutions.activations`.
"""
import numpy as np

from solutions.activations import relu_backward, relu_forward, sigmoid_backward, sigmoid_forward


def affine_forward(x, w, b):
    """Dense layer over a batch.

    x: (N, d_1, ..., d_k), flattened to (N, D) with D = d_1 * ... * d_k; w: (D, M); b: (M,)
    -> (out: (N, M), cache = (x, w, b)).
    """
    # out = x.reshape(N, D) @ w + b
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """dout: (N, M) -> (dx: x's original shape, dw: (D, M), db: (M,))."""
    # dx = dout @ w^T,  dw = x^T @ dout,  db = sum_n dout
    x, w, b = cache
    x2 = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout
    db = np.sum(dout, axis=0)
    return dx, dw, db


def affine_relu_forward(x, w, b):
    """Affine then ReLU.  -> (out: (N, M), cache = (affine cache, relu cache))."""
    # out = max(0, x @ w + b)
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """dout: (N, M) -> (dx, dw, db)."""
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


def affine_sigmoid_forward(x, w, b):
    """Affine then sigmoid.  -> (out: (N, M), cache = (affine cache, sigmoid cache))."""
    # out = sigmoid(x @ w + b)
    a, fc_cache = affine_forward(x, w, b)
    out, sig_cache = sigmoid_forward(a)
    return out, (fc_cache, sig_cache)


def affine_sigmoid_backward(dout, cache):
    """dout: (N, M) -> (dx, dw, db)."""
    fc_cache, sig_cache = cache
    da = sigmoid_backward(dout, sig_cache)
    return affine_backward(da, fc_cache)
