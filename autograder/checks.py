"""The ladder of comparisons: type, then shape, then values, each with its own message.

Every function here raises :class:`Mismatch` with a sentence a learner can act on, or returns
quietly. They never print and never write to stderr.
"""
from __future__ import annotations

import numpy as np


class Mismatch(Exception):
    """The learner's answer differs from the expected one; ``str(exc)`` says how."""


def describe(value, limit: int = 6) -> str:
    """A short, readable rendering of a value for feedback messages."""
    if isinstance(value, np.ndarray):
        flat = np.asarray(value).ravel()
        body = np.array2string(flat[:limit], precision=4, separator=", ")
        more = ", ..." if flat.size > limit else ""
        return f"array of shape {value.shape} starting {body[:-1]}{more}]"
    if _is_tensor(value):
        return f"torch tensor of shape {tuple(value.shape)}: " + describe(value.detach().cpu().numpy(), limit)
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _is_tensor(value) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def expect_number(got, expected: float, *, rtol: float = 1e-7, atol: float = 1e-9) -> None:
    """A single real number (Python or NumPy scalar, or a size-1 array)."""
    if isinstance(got, np.ndarray) and got.size == 1:
        got = got.item()
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.integer, np.floating)):
        raise Mismatch(f"expected a number, got {type(got).__name__}: {describe(got)}")
    if not np.isfinite(got):
        raise Mismatch(f"expected {expected!r}, got {got!r} (not a finite number: an overflow?)")
    if not np.isclose(got, expected, rtol=rtol, atol=atol):
        raise Mismatch(f"expected {expected!r}, got {got!r}")


def expect_int(got, expected: int) -> None:
    """An exact integer, e.g. a parameter count."""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        if isinstance(got, (float, np.floating)) and float(got).is_integer():
            raise Mismatch(f"expected the integer {expected}, got the float {got!r}: return an int")
        raise Mismatch(f"expected the integer {expected}, got {type(got).__name__}: {describe(got)}")
    if int(got) != expected:
        raise Mismatch(f"expected {expected:,}, got {int(got):,}")


def expect_array(got, expected: np.ndarray, *, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """A NumPy array with the expected shape and values (type -> shape -> finiteness -> values)."""
    if _is_tensor(got):
        raise Mismatch("expected a NumPy array, got a torch tensor: this exercise is NumPy only")
    if not isinstance(got, np.ndarray):
        if isinstance(got, (list, tuple)):
            raise Mismatch(f"expected a NumPy array, got a {type(got).__name__}: wrap it with np.array(...)")
        raise Mismatch(f"expected a NumPy array of shape {expected.shape}, got {type(got).__name__}: {describe(got)}")
    if got.shape != expected.shape:
        hint = ""
        if got.shape == expected.shape[::-1] and got.ndim == 2:
            hint = " (the transpose: check the order of the matrix product)"
        elif got.size == expected.size:
            hint = " (same number of entries: a reshape or a missing keepdims?)"
        raise Mismatch(f"expected shape {expected.shape}, got shape {got.shape}{hint}")
    if not np.issubdtype(got.dtype, np.number):
        raise Mismatch(f"expected numbers, got an array of dtype {got.dtype}")
    if not np.all(np.isfinite(got)):
        raise Mismatch(f"your result contains inf or nan: {describe(got)} (an overflow in exp?)")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        diff = np.abs(got - expected)
        where = np.unravel_index(int(np.argmax(diff)), diff.shape)
        raise Mismatch(
            f"values differ: at index {tuple(int(i) for i in where)} expected "
            f"{expected[where]:.6g}, got {got[where]:.6g} (largest difference {diff.max():.3g})"
        )


def expect_equal(got, expected) -> None:
    """Plain equality for strings, tuples and small Python values."""
    if got != expected:
        raise Mismatch(f"expected {describe(expected)}, got {describe(got)}")


def same_value(a, b) -> bool:
    """True when two results agree; used to recognise a catalogued mistake."""
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
            return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-8, equal_nan=True))
        if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
            return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
        if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
            return bool(np.isclose(float(a), float(b), rtol=1e-7, atol=1e-9))
        return bool(a == b)
    except Exception:
        return False


def same_inputs(a, b) -> bool:
    """True when a copied input still equals its original (detects in-place mutation)."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))
    if isinstance(a, (list, tuple)):
        return isinstance(b, type(a)) and len(a) == len(b) and all(same_inputs(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same_inputs(a[k], b[k]) for k in a)
    try:
        return bool(a == b)
    except Exception:
        return True
