"""Weight initialisation: Xavier/Glorot and He (Kaiming), plus bias helpers.

Every function takes ``rng``, a ``np.random.Generator``, and returns weights of shape
``(fan_in, fan_out)`` (the ``X @ W`` convention of :func:`solutions.layers.affine_forward`).

* Xavier/Glorot (tanh, sigmoid, linear): Var(W) = 2 / (fan_in + fan_out) keeps the variance of
  activations and of gradients roughly constant through the layers.
* He/Kaiming (ReLU): Var(W) = 2 / fan_in makes up for ReLU zeroing half of its inputs.

Why not all zeros? With W = 0 (or any constant) every hidden unit of a layer computes the same
function, receives the same gradient and gets the same update, so the units stay identical
forever: the layer behaves like a single unit (and with ReLU and W = 0 nothing moves at all
except the output bias). Random weights break this symmetry. Biases can start at 0 (or 0.01
for ReLU units) because the random weights already break the symmetry.
"""
import numpy as np


def xavier_uniform(fan_in, fan_out, rng):
    """Glorot uniform: W ~ U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) -> (fan_in, fan_out)."""
    # Var = a^2 / 3 = 2 / (fan_in + fan_out)
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def xavier_normal(fan_in, fan_out, rng):
    """Glorot normal: W ~ N(0, 2 / (fan_in + fan_out)) -> (fan_in, fan_out)."""
    # std = sqrt(2 / (fan_in + fan_out))
    std = np.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, size=(fan_in, fan_out))


def he_normal(fan_in, fan_out, rng):
    """He/Kaiming normal: W ~ N(0, 2 / fan_in) -> (fan_in, fan_out)."""
    # std = sqrt(2 / fan_in)
    std = np.sqrt(2.0 / fan_in)
    return rng.normal(0.0, std, size=(fan_in, fan_out))


def he_uniform(fan_in, fan_out, rng):
    """He/Kaiming uniform: W ~ U(-a, a) with a = sqrt(6 / fan_in) -> (fan_in, fan_out)."""
    # Var = a^2 / 3 = 2 / fan_in
    a = np.sqrt(6.0 / fan_in)
    return rng.uniform(-a, a, size=(fan_in, fan_out))


def zeros_bias(fan_out, value=0.0):
    """Bias vector (fan_out,) filled with ``value`` (0 by default, 0.01 is common for ReLU)."""
    # b = value * 1
    return np.full(fan_out, float(value))
