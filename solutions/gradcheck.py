"""Numerical gradient checking with centred differences (CS231n style).

* :func:`rel_error`: ``max |a - b| / max(1e-8, |a| + |b|)``, elementwise then the maximum.
  In float64, below 1e-7 is good; above 1e-2 the analytic gradient is almost surely wrong.
* :func:`eval_numerical_gradient`: gradient of a scalar function ``f(x)``.
* :func:`eval_numerical_gradient_array`: ``d(sum(f(x) * df)) / dx`` for an array-valued ``f``,
  i.e. what a backward pass returns given the upstream gradient ``df``.
* :func:`grad_check_sparse`: compare a few random coordinates only (for big parameters).

All of them perturb ``x`` in place for speed and restore it exactly before returning, so ``f``
must read ``x`` when called (close over it, or take it as its argument).
"""
import numpy as np


def rel_error(a, b):
    """Largest elementwise relative error between two arrays of the same shape."""
    # max |a - b| / max(1e-8, |a| + |b|)
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


def eval_numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of a scalar function.

    f: callable taking x and returning a float; x: float array (any shape) -> grad: x's shape.
    """
    # df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fxph = f(x)
        x[i] = old - h
        fxmh = f(x)
        x[i] = old                                  # restore
        grad[i] = (fxph - fxmh) / (2.0 * h)
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Centred-difference gradient of sum(f(x) * df) for an array-valued f.

    f: callable taking x and returning an array of df's shape; x: float array; df: upstream
    gradient -> grad: x's shape.
    """
    # dx_i ~ sum((f(x + h e_i) - f(x - h e_i)) * df) / (2h)
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        pos = np.array(f(x), dtype=float, copy=True)
        x[i] = old - h
        neg = np.array(f(x), dtype=float, copy=True)
        x[i] = old                                  # restore
        grad[i] = np.sum((pos - neg) * df) / (2.0 * h)
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, rng=None):
    """Compare analytic_grad with centred differences at ``num_checks`` random coordinates.

    f: scalar function of x; x, analytic_grad: same shape; rng: np.random.Generator
    -> list of the relative errors |num - ana| / max(1e-8, |num| + |ana|), one per check.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    errors = []
    for _ in range(num_checks):
        i = tuple(int(rng.integers(n)) for n in x.shape)
        old = x[i]
        x[i] = old + h
        fxph = f(x)
        x[i] = old - h
        fxmh = f(x)
        x[i] = old                                  # restore
        num = (fxph - fxmh) / (2.0 * h)
        ana = analytic_grad[i]
        errors.append(abs(num - ana) / max(1e-8, abs(num) + abs(ana)))
    return errors
