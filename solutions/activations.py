"""Activation functions, their derivatives, and layer-contract versions.

Three groups, all NumPy and float64 friendly:

* plain functions ``f(z)``: :func:`sigmoid`, :func:`tanh`, :func:`relu`, :func:`leaky_relu`,
  :func:`linear`, :func:`softmax`;
* their derivatives ``f'(z)`` (elementwise): :func:`sigmoid_grad`, :func:`tanh_grad`,
  :func:`relu_grad`, :func:`leaky_relu_grad`, :func:`linear_grad`, and the full Jacobian of
  softmax for one vector, :func:`softmax_jacobian`;
* layers with the CS231n contract ``*_forward(x) -> (out, cache)`` and
  ``*_backward(dout, cache) -> dx``.

Where each is used: sigmoid for one binary output unit (and historic hidden layers), tanh for
zero-centred hidden units (and RNN cells), ReLU / leaky ReLU for hidden layers of deep nets, linear
for a regression output, softmax for K mutually exclusive classes.
"""
import numpy as np


# ---------------------------------------------------------------------------
# Plain functions
# ---------------------------------------------------------------------------

def sigmoid(z):
    """Logistic sigmoid, stable for any |z|.  z: any shape -> same shape, values in (0, 1).

    The naive 1 / (1 + exp(-z)) overflows in exp(-z) for z << 0, so each sign gets its own branch
    in which the exponent is never positive.
    """
    # s(z) = 1 / (1 + e^-z) = e^z / (1 + e^z)
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))                          # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def tanh(z):
    """Hyperbolic tangent.  z: any shape -> same shape, values in (-1, 1).

    tanh(z) = (e^z - e^-z) / (e^z + e^-z).  np.tanh computes exactly this without overflowing
    for large |z|, so we call it rather than evaluating the exponentials ourselves.
    """
    # tanh(z) = (e^z - e^-z) / (e^z + e^-z)
    return np.tanh(np.asarray(z, dtype=float))


def tanh_from_exponentials(z):
    """tanh straight from its definition (notebook 02).  z: any shape with |z| <= 350 -> same shape.

    Exact where e^z does not overflow (|z| up to about 709; beyond 350 the products lose range), so
    use :func:`tanh` for arbitrary inputs. Note which way up the fraction is: the upside-down one,
    (e^z + e^-z) / (e^z - e^-z), is coth(z), unbounded and infinite at 0.
    """
    z = np.asarray(z, dtype=float)
    return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))


def collapse_linear(W1, b1, W2, b2):
    """The single affine map equal to two stacked linear layers with no activation in between.

    W1: (d0, d1), b1: (d1,), W2: (d1, d2), b2: (d2,) -> (W: (d0, d2), b: (d2,)).
    """
    # (X W1 + b1) W2 + b2 = X (W1 W2) + (b1 W2 + b2)
    return W1 @ W2, b1 @ W2 + b2


def relu(z):
    """Rectified linear unit.  z: any shape -> same shape, values in [0, inf)."""
    # relu(z) = max(0, z)
    return np.maximum(0.0, np.asarray(z, dtype=float))


def leaky_relu(z, alpha=0.01):
    """Leaky ReLU with negative slope ``alpha``.  z: any shape -> same shape."""
    # leaky_relu(z) = z if z > 0 else alpha * z
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, z, alpha * z)


def linear(z):
    """Identity activation (a regression output).  z: any shape -> a copy of z."""
    # linear(z) = z
    return np.array(z, dtype=float, copy=True)


def softmax(z, axis=-1):
    """Softmax along ``axis``, stable for large inputs.  z: (..., K) -> same shape, rows sum to 1.

    Subtracting the row maximum leaves the result unchanged (the factor e^-max cancels) but makes
    every exponent <= 0, so nothing overflows.
    """
    # softmax(z)_k = e^(z_k - max z) / sum_j e^(z_j - max z)
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


# ---------------------------------------------------------------------------
# Derivatives (elementwise, evaluated at the pre-activation z)
# ---------------------------------------------------------------------------

def sigmoid_grad(z):
    """Derivative of the sigmoid.  z: any shape -> same shape, values in (0, 0.25]."""
    # s'(z) = s(z) (1 - s(z))
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh_grad(z):
    """Derivative of tanh.  z: any shape -> same shape, values in (0, 1]."""
    # tanh'(z) = 1 - tanh(z)^2
    t = tanh(z)
    return 1.0 - t * t


def relu_grad(z):
    """Derivative of ReLU: the step function, with the convention relu'(0) = 0 (as in PyTorch)."""
    # relu'(z) = 1 if z > 0 else 0
    return (np.asarray(z) > 0).astype(float)


def leaky_relu_grad(z, alpha=0.01):
    """Derivative of leaky ReLU (convention at 0: alpha, as in PyTorch)."""
    # leaky_relu'(z) = 1 if z > 0 else alpha
    return np.where(np.asarray(z) > 0, 1.0, alpha)


def linear_grad(z):
    """Derivative of the identity: ones of z's shape."""
    # linear'(z) = 1
    return np.ones_like(np.asarray(z, dtype=float))


def softmax_jacobian(z):
    """Jacobian of softmax for one vector.  z: (K,) -> J: (K, K) with J[i, j] = ds_i / dz_j."""
    # J = diag(s) - s s^T
    s = softmax(np.asarray(z, dtype=float).reshape(-1))
    return np.diag(s) - np.outer(s, s)


# ---------------------------------------------------------------------------
# Layer contract: forward -> (out, cache), backward(dout, cache) -> dx
# ---------------------------------------------------------------------------

def sigmoid_forward(x):
    """x: any shape -> (out = sigmoid(x), cache = out)."""
    out = sigmoid(x)
    return out, out


def sigmoid_backward(dout, cache):
    """dout: upstream gradient, cache: the forward output s -> dx."""
    # dx = dout * s (1 - s)
    s = cache
    return dout * s * (1.0 - s)


def tanh_forward(x):
    """x: any shape -> (out = tanh(x), cache = out)."""
    out = tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """dout: upstream gradient, cache: the forward output t -> dx."""
    # dx = dout * (1 - t^2)
    t = cache
    return dout * (1.0 - t * t)


def relu_forward(x):
    """x: any shape -> (out = max(0, x), cache = x)."""
    return relu(x), np.asarray(x, dtype=float)


def relu_backward(dout, cache):
    """dout: upstream gradient, cache: the input x -> dx (gradient 0 where x <= 0)."""
    # dx = dout * [x > 0]
    x = cache
    return np.where(x > 0, dout, 0.0)


def leaky_relu_forward(x, alpha=0.01):
    """x: any shape -> (out = leaky_relu(x, alpha), cache = (x, alpha))."""
    return leaky_relu(x, alpha), (np.asarray(x, dtype=float), alpha)


def leaky_relu_backward(dout, cache):
    """dout: upstream gradient, cache: (x, alpha) -> dx."""
    # dx = dout * (1 if x > 0 else alpha)
    x, alpha = cache
    return np.where(x > 0, dout, alpha * dout)


def softmax_forward(x):
    """x: (N, K) (or any shape, softmax over the last axis) -> (out = softmax(x), cache = out)."""
    out = softmax(x, axis=-1)
    return out, out


def softmax_backward(dout, cache):
    """dout: (N, K) upstream gradient, cache: softmax output s -> dx: (N, K).

    Each row is the Jacobian-vector product J^T dout with J = diag(s) - s s^T, computed
    without building J.
    """
    # dx = s * (dout - sum_k dout_k s_k)
    s = cache
    return s * (dout - np.sum(dout * s, axis=-1, keepdims=True))
