"""The ladder of comparisons: type, then shape, then values, each with its own message.

Every check raises :class:`Mismatch` with a sentence a learner can act on, or returns quietly. A
mismatch also carries a *redacted* sentence for hidden cases: what was wrong, never the expected
value. Checks run on values rebuilt by :func:`autograder.learner.wire.decode` (plain Python and NumPy), so
they are the same in a notebook and at grading. An exercise names its comparison as data
(:meth:`Comparison.spec`), so a student's release can check public cases with no exercise code.
"""
from __future__ import annotations

import numpy as np

from autograder.learner.wire import Opaque, TorchArray

HIDDEN_VALUES = "values differ from the expected ones"


class Mismatch(Exception):
    """The learner's answer differs from the expected one; ``str(exc)`` says how.

    ``redacted`` is the same diagnosis without expected values (defaults to the message itself,
    for messages that reveal nothing about the expected answer). ``kind`` says which rung of the
    ladder failed: ``"type"``, ``"shape"``, ``"precision"`` or ``"value"``; only a value mismatch
    is matched against the catalogue of known mistakes (a list is not "a wrong formula").
    """

    def __init__(self, message: str, redacted: str | None = None, kind: str = "value"):
        super().__init__(message)
        self.redacted = redacted if redacted is not None else message
        self.kind = kind


def type_name(value) -> str:
    return value.type_name if isinstance(value, Opaque) else type(value).__name__


def number(value) -> str:
    """A number as a learner would write it: 6 significant digits, no ``np.float64(...)``."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    return repr(value)


def describe(value, limit: int = 6) -> str:
    """A short, readable rendering of a value for feedback messages."""
    if isinstance(value, TorchArray):
        return f"torch tensor of shape {tuple(value.shape)}"
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return f"a 0-d array holding {number(value.item())}"
        flat = np.asarray(value).ravel()
        body = np.array2string(flat[:limit], precision=4, separator=", ", suppress_small=True)
        more = ", ..." if flat.size > limit else ""
        return f"array of shape {value.shape} (dtype {value.dtype}) starting {body[:-1]}{more}]"
    if isinstance(value, (int, float, np.number)):
        return number(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(describe(v, limit) for v in list(value)[:limit])
        more = ", ..." if len(value) > limit else ""
        text = f"[{inner}{more}]" if isinstance(value, list) else f"({inner}{more}{',' if len(value) == 1 else ''})"
        return text if len(text) <= 160 else text[:157] + "..."
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _low_precision(got) -> str:
    """The dtype name when ``got`` holds floats coarser than float64 ('' otherwise)."""
    dtype = getattr(got, "dtype", None)
    if dtype is not None and np.issubdtype(dtype, np.floating) and np.dtype(dtype).itemsize < 8:
        return np.dtype(dtype).name
    return ""


def _precision_note(got, close_at_float32: bool, rtol: float) -> str:
    low = _low_precision(got)
    if low and close_at_float32:
        return (f"your result is {low}, which keeps about {np.finfo(low).precision} significant digits: not "
                f"enough for this check (relative tolerance {rtol:g}); compute in float64 (the default: drop "
                f"dtype={low} or .astype({low}))")
    return ""


def expect_number(got, expected: float, *, rtol: float = 1e-7, atol: float = 1e-9) -> None:
    """A single real number (Python or NumPy scalar, or a size-1 array)."""
    if isinstance(got, np.ndarray) and not isinstance(got, TorchArray) and got.size == 1:
        got = got.reshape(()).item() if not _low_precision(got) else got.reshape(())[()]
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.integer, np.floating)):
        if isinstance(got, (list, tuple)) and len(got) == 1:
            advice = ": return the number itself, not a one-item " + type(got).__name__
        elif isinstance(got, np.ndarray):
            advice = ": this exercise returns a single number (did you forget to sum?)"
        else:
            advice = ""
        shown = describe(got) if isinstance(got, np.ndarray) else f"{type_name(got)} {describe(got)}"
        raise Mismatch(f"expected a number, got {shown}{advice}",
                       f"expected a number, got {type_name(got)}{advice}", kind="type")
    if not np.isfinite(got):
        raise Mismatch(f"expected {number(expected)}, got {number(got)} (not a finite number: an overflow?)",
                       f"got {number(got)}, not a finite number (an overflow?)")
    if not np.isclose(got, expected, rtol=rtol, atol=atol):
        note = _precision_note(got, bool(np.isclose(got, expected, rtol=max(rtol, 1e-5), atol=atol)), rtol)
        if note:
            raise Mismatch(f"expected {number(expected)}, got {number(got)}: {note}", note, kind="precision")
        raise Mismatch(f"expected {number(expected)}, got {number(got)}", HIDDEN_VALUES)


def expect_int(got, expected: int) -> None:
    """An exact integer, e.g. a parameter count."""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
        if isinstance(got, (float, np.floating)) and float(got).is_integer():
            raise Mismatch(f"expected the integer {expected:,}, got the float {number(got)}: return an int "
                           "(int(...), or use // instead of /)", "expected an integer, got a float: return an int",
                           kind="type")
        raise Mismatch(f"expected the integer {expected:,}, got {type_name(got)} {describe(got)}",
                       f"expected an integer, got {type_name(got)}", kind="type")
    if int(got) != expected:
        raise Mismatch(f"expected {expected:,}, got {int(got):,}", f"got {int(got):,}, which is not the expected count")


def expect_array(got, expected: np.ndarray, *, rtol: float = 1e-6, atol: float = 1e-8) -> None:
    """A NumPy array with the expected shape and values (type -> shape -> finiteness -> values)."""
    if isinstance(got, TorchArray):
        raise Mismatch("expected a NumPy array, got a torch tensor: this exercise is NumPy only "
                       "(use np functions, or return tensor.numpy())", kind="type")
    if not isinstance(got, np.ndarray):
        if isinstance(got, list):
            advice = "wrap it with np.array(...)" if got and not isinstance(got[0], np.ndarray) or not got else \
                "a list of arrays: stack them with np.stack(...) or build one array"
            raise Mismatch(f"expected a NumPy array, got a list: {advice}", kind="type")
        if isinstance(got, tuple):
            raise Mismatch(f"expected one NumPy array, got a tuple of {len(got)} ({describe(got)}): did you "
                           "return several values (`return a, b`)? Return a single array", kind="type")
        if isinstance(got, (int, float, np.number)):
            raise Mismatch(f"expected a NumPy array of shape {expected.shape}, got the single number {number(got)}: "
                           "did you sum or average over every entry?",
                           f"expected a NumPy array, got the single number {number(got)}", kind="type")
        raise Mismatch(f"expected a NumPy array of shape {expected.shape}, got {type_name(got)}: {describe(got)}",
                       f"expected a NumPy array, got {type_name(got)}", kind="type")
    if got.shape != expected.shape:
        hint = ""
        if got.ndim == 0:
            hint = " (a 0-d array: a single number wrapped in an array; did you reduce over every axis?)"
        elif got.shape == expected.shape[::-1] and got.ndim == 2:
            hint = " (the transpose: check the order of the matrix product)"
        elif got.size == expected.size:
            hint = " (same number of entries: a reshape or a missing keepdims?)"
        raise Mismatch(f"expected shape {expected.shape}, got shape {got.shape}{hint}", kind="shape")
    if not np.issubdtype(got.dtype, np.number):
        raise Mismatch(f"expected numbers, got an array of dtype {got.dtype}"
                       + (": convert the True/False mask with .astype(float)" if got.dtype == bool else ""),
                       kind="type")
    if not np.all(np.isfinite(got)):
        raise Mismatch(f"your result contains inf or nan: {describe(got)} (an overflow in exp?)",
                       "your result contains inf or nan (an overflow in exp?)")
    if not np.allclose(got, expected, rtol=rtol, atol=atol):
        diff = np.abs(got.astype(float) - expected)
        where = np.unravel_index(int(np.argmax(diff)), diff.shape)
        message = (f"values differ: at index {tuple(int(i) for i in where)} expected {number(expected[where])}, "
                   f"got {number(got[where])} (largest difference {diff.max():.3g})")
        note = _precision_note(got, bool(np.allclose(got, expected, rtol=max(rtol, 1e-5), atol=max(atol, 1e-7))),
                               rtol)
        if note:
            raise Mismatch(f"{message}: {note}", note, kind="precision")
        raise Mismatch(message, HIDDEN_VALUES)


def expect_equal(got, expected) -> None:
    """Plain equality for strings, tuples and small Python values."""
    if type(got) is not type(expected) or not same_value(got, expected):
        kind = "type" if type(got) is not type(expected) else "value"
        raise Mismatch(f"expected {describe(expected)}, got {describe(got)}",
                       f"got {describe(got)}, which is not the expected answer", kind=kind)


# ----------------------------------------------------------------------------- comparisons as data
class Comparison:
    """How an exercise compares one returned value with the expected one."""

    kind = ""

    def __call__(self, got, expected) -> None:
        raise NotImplementedError

    def spec(self) -> dict:
        return {"kind": self.kind}


class ArrayClose(Comparison):
    kind = "array"

    def __init__(self, rtol: float = 1e-6, atol: float = 1e-8):
        self.rtol, self.atol = rtol, atol

    def __call__(self, got, expected) -> None:
        expect_array(got, np.asarray(expected), rtol=self.rtol, atol=self.atol)

    def spec(self) -> dict:
        return {"kind": self.kind, "rtol": self.rtol, "atol": self.atol}


class NumberClose(ArrayClose):
    kind = "number"

    def __init__(self, rtol: float = 1e-7, atol: float = 1e-9):
        super().__init__(rtol, atol)

    def __call__(self, got, expected) -> None:
        expect_number(got, float(expected), rtol=self.rtol, atol=self.atol)


class ExactInt(Comparison):
    kind = "int"

    def __call__(self, got, expected) -> None:
        expect_int(got, int(expected))


class Equal(Comparison):
    kind = "equal"

    def __call__(self, got, expected) -> None:
        expect_equal(got, expected)


class TupleOf(Comparison):
    """A tuple whose items are compared one by one (e.g. ``(units, activation)``)."""

    kind = "tuple"

    def __init__(self, items: list[Comparison]):
        self.items = items

    def __call__(self, got, expected) -> None:
        if not isinstance(got, (tuple, list)) or len(got) != len(self.items):
            count = f" of {len(got)}" if isinstance(got, (tuple, list)) else ""
            shown = f"{type_name(got)}{count}: {describe(got)}"
            raise Mismatch(f"expected a tuple of {len(self.items)} values like {describe(expected)}, got {shown}",
                           f"expected a tuple of {len(self.items)} values, got {type_name(got)}{count}", kind="type")
        for index, (check, item, want) in enumerate(zip(self.items, got, expected)):
            try:
                check(item, want)
            except Mismatch as exc:
                where = f"value {index + 1} of the tuple: "
                raise Mismatch(where + str(exc), where + exc.redacted, exc.kind) from None

    def spec(self) -> dict:
        return {"kind": self.kind, "items": [item.spec() for item in self.items]}


class ListOf(Comparison):
    """A list (or tuple) of items compared one by one, in order (e.g. mini-batches without shuffling)."""

    kind = "list"

    def __init__(self, item: Comparison):
        self.item = item

    def __call__(self, got, expected) -> None:
        if not isinstance(got, (list, tuple)):
            raise Mismatch(f"expected a list of {len(expected)} items, got {type_name(got)}: {describe(got)}",
                           f"expected a list, got {type_name(got)}", kind="type")
        if len(got) != len(expected):
            raise Mismatch(f"expected {len(expected)} items, got {len(got)}", kind="shape")
        for index, (item, want) in enumerate(zip(got, expected)):
            try:
                self.item(item, want)
            except Mismatch as exc:
                raise Mismatch(f"item {index}: {exc}", f"item {index}: {exc.redacted}", exc.kind) from None

    def spec(self) -> dict:
        return {"kind": self.kind, "item": self.item.spec()}


class DictOf(Comparison):
    """A dict with exactly the expected keys, each value compared (e.g. parameters or gradients by name)."""

    kind = "dict"

    def __init__(self, item: Comparison):
        self.item = item

    def __call__(self, got, expected) -> None:
        if not isinstance(got, dict):
            raise Mismatch(f"expected a dict with keys {sorted(expected)}, got {type_name(got)}: {describe(got)}",
                           f"expected a dict, got {type_name(got)}", kind="type")
        if set(got) != set(expected):
            missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
            raise Mismatch(f"expected the keys {sorted(expected)}; missing {missing}, unexpected {extra}", kind="shape")
        for key in sorted(expected):
            try:
                self.item(got[key], expected[key])
            except Mismatch as exc:
                raise Mismatch(f"{key!r}: {exc}", f"{key!r}: {exc.redacted}", exc.kind) from None

    def spec(self) -> dict:
        return {"kind": self.kind, "item": self.item.spec()}


class SameBatches(Comparison):
    """Shuffled mini-batches: the expected batch sizes, and together exactly the examples of (X, y).

    Any valid shuffle passes (the order is the learner's choice); every (x, y) pair must stay
    together and no example may be lost or repeated. Cases give each example an id in its first
    feature (``X[:, 0] = arange(N)``), so batches in the original order are recognised as unshuffled
    when the expected ones are shuffled.
    """

    kind = "same_batches"

    @staticmethod
    def _rows(batches) -> np.ndarray:
        return np.concatenate([np.concatenate([np.asarray(x, float).reshape(len(x), -1),
                                               np.asarray(y, float).reshape(len(y), -1)], axis=1)
                               for x, y in batches])

    def __call__(self, got, expected) -> None:
        if not isinstance(got, (list, tuple)) or not all(isinstance(b, (tuple, list)) and len(b) == 2 for b in got):
            raise Mismatch(f"expected a list of (X_batch, y_batch) pairs, got {describe(got)}", kind="type")
        sizes, want_sizes = [len(b[0]) for b in got], [len(b[0]) for b in expected]
        if sizes != want_sizes:
            raise Mismatch(f"expected batch sizes {want_sizes}, got {sizes}", kind="shape")
        try:
            mine, theirs = self._rows(got), self._rows(expected)
        except (TypeError, ValueError):
            raise Mismatch("each batch must be a pair of arrays (X_batch, y_batch) with as many rows") from None
        def order(a):
            return a[np.lexsort(a.T[::-1])]
        if mine.shape != theirs.shape or not np.allclose(order(mine), order(theirs)):
            raise Mismatch("the batches do not hold exactly the examples of (X, y), each once with its own label")
        ids, want_ids = mine[:, 0], theirs[:, 0]
        if np.all(np.diff(ids) > 0) and not np.all(np.diff(want_ids) > 0):
            raise Mismatch("the examples come in their original order: with shuffle=True, shuffle them first")


class ChoiceAnswer(Comparison):
    """A concept question's answer: one of the choices, compared without case or surrounding spaces."""

    kind = "choice"

    def __init__(self, choices: list[str]):
        self.choices = list(choices)

    def __call__(self, got, expected) -> None:
        if not isinstance(got, str):
            raise Mismatch(f"answer with one of the strings {', '.join(map(repr, self.choices))}, got {describe(got)}",
                           kind="type")
        if got.strip().lower() not in [c.lower() for c in self.choices]:
            raise Mismatch(f"{got!r} is not one of the choices {', '.join(map(repr, self.choices))}", kind="type")
        if got.strip().lower() != str(expected).lower():
            raise Mismatch(f"{got.strip()!r} is not the right answer")

    def spec(self) -> dict:
        return {"kind": self.kind, "choices": self.choices}


class NumberAnswer(NumberClose):
    """A concept question's numeric answer, within a tolerance; the message never gives the answer."""

    kind = "number_answer"

    def __call__(self, got, expected) -> None:
        try:
            expect_number(got, float(expected), rtol=self.rtol, atol=self.atol)
        except Mismatch as exc:
            wrong_value = exc.redacted == HIDDEN_VALUES
            message = f"{got!r} is not the right number" if wrong_value else exc.redacted
            raise Mismatch(message, message, exc.kind) from None


def from_spec(spec: dict) -> Comparison:
    """The comparison an exercise described with :meth:`Comparison.spec`."""
    kind = spec["kind"]
    if kind == "tuple":
        return TupleOf([from_spec(item) for item in spec["items"]])
    if kind in ("list", "dict"):
        return (ListOf if kind == "list" else DictOf)(from_spec(spec["item"]))
    simple = {"array": ArrayClose, "number": NumberClose, "int": ExactInt, "equal": Equal, "choice": ChoiceAnswer,
              "number_answer": NumberAnswer, "same_batches": SameBatches}[kind]
    return simple(**{k: v for k, v in spec.items() if k != "kind"})


# ----------------------------------------------------------------------------- sameness
def _family(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.ndim}"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    return type(value).__name__


def same_value(a, b) -> bool:
    """True when two results agree, kind for kind; used to recognise a catalogued mistake.

    A float never matches an int, nor a list an array: a result of the wrong type is that problem,
    not the formula of a mistake that happens to give the same number.
    """
    if _family(a) != _family(b):
        return False
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
            return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-8, equal_nan=True))
        if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
            return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
        if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
            return bool(np.isclose(float(a), float(b), rtol=1e-7, atol=1e-9, equal_nan=True))
        return bool(a == b)
    except Exception:
        return False


def same_inputs(a, b) -> bool:
    """True when an input after the call still equals its original (detects in-place mutation)."""
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
