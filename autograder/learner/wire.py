"""The call protocol between the grader and the learner's code: plain data in, plain data out.

The grader never hands learner code a reference, an expected value or a comparison. It sends a
*request* (which object to call, on which inputs, in which order) and gets back a *reply* (what
each call returned, what it raised, what it did to its inputs), both plain JSON. The grader rebuilds
every value from the reply with :func:`decode` alone: ``json`` types, and arrays from dtype, shape
and bytes (``np.frombuffer``). No pickle, no ``eval``, no object of the learner's ever crosses.

This file is self-contained (the standard library and NumPy only) because its source text is the
fixed shim the grader sends to the learner's kernel at grading; in a notebook the same
:func:`serve` runs in-process, so a check gives the same answer in both places.

Values (``encode`` / ``decode``)::

    None, bool, str, int, finite float     as JSON
    {"t": "float", "v": "nan" | "inf" | "-inf"}
    {"t": "list" | "tuple", "v": [value, ...]}       {"t": "dict", "v": [[key, value], ...]}
    {"t": "array", "dtype": "float64", "shape": [2, 3], "b64": "...", "torch": false}
    {"t": "scalar", "dtype": "float32", "b64": "..."}   a NumPy scalar
    {"t": "fn", "name": "sigmoid"}      inputs only: a function from the fixed table FUNCTIONS
    {"t": "ref", "name": "params"}      inputs only: a value kept earlier in the same request
    {"t": "opaque", "type": "generator", "repr": "<generator ...>"}   replies only: anything else

A request runs *steps* in order on one namespace, so a stateful exercise (an optimizer stepped
50 times, a model trained and then queried) is one request::

    {"v": 1, "nonce": "...", "target": "neuron", "seed": 0, "steps": [
        {"call": "@", "args": [...], "kwargs": {...}, "keep": "opt", "send": true, "inputs_back": true},
        {"call": "$opt.step", "args": [{"t": "ref", "name": "params"}, ...], "send": false},
        {"let": "params", "value": ...},  {"get": "params"}]}

``"collect": true`` turns a returned generator into the list of its items.
``"@"`` is the learner's object (``target`` in their namespace), ``"$name"`` a kept value,
``".attr"`` an attribute of either; ``{"get": "@"}`` sends back the learner's object itself (an
answer to a concept question). The reply has one entry per step that ran::

    {"v": 1, "nonce": "...", "target": {"type": "function", "callable": true, "repr": "..."},
     "steps": [{"status": "ok", "value": ..., "inputs": [[args], {kwargs}], "warnings": [...]},
               {"status": "raised", "type": "ValueError", "message": "..."}]}

Steps stop at the first one that raises. ``"target": null`` means the name is not defined.

What crosses back is bounded: the kernel publishes the reply as one JSON text of at most
``max_reply_bytes`` characters (the request's, else :data:`MAX_REPLY_BYTES`); a larger one is replaced
by ``{"v": 1, "nonce": "...", "oversize": <characters>}``. The grader checks the size again before it
decodes anything (:func:`loads`), and a value nested deeper than :data:`MAX_DEPTH` is refused. Kernel
facts the grader cannot verify come back as ``"kernel": ["displayhook"]`` (``sys.displayhook`` was
replaced) and ``"status": "raised", "type": "SystemExit"``; they can raise a flag, never points.
"""
from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import random
import sys
import warnings

import numpy as np

VERSION = 1
MIME = "application/vnd.nncourse.reply+json"
MAX_DEPTH = 32
MAX_ARRAY_BYTES = 256 * 2**20
MAX_TEXT = 2000
MAX_ITEMS = 100_000
MAX_REPLY_BYTES = 16 * 2**20   # one reply's JSON text: a float64 array of about 1.5 million values
DTYPES = frozenset({"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                    "float16", "float32", "float64", "complex64", "complex128"})


class WireError(ValueError):
    """A request or reply that does not follow the protocol."""


def too_large(limit: int) -> str:
    """The one-line reason for a reply over ``limit`` bytes (the submission's fault)."""
    return f"your code's result was larger than {limit / 2**20:g} MB"


TOO_DEEP = f"your code's result is nested more than {MAX_DEPTH} levels deep"


def loads(text, limit: int = MAX_REPLY_BYTES):
    """Parse a reply's JSON text, refusing it before parsing when it is over ``limit`` characters."""
    if not isinstance(text, str):
        raise WireError("the reply is not JSON text")
    if len(text) > limit:
        raise WireError(too_large(limit))
    try:
        return json.loads(text)
    except RecursionError:
        raise WireError(TOO_DEEP) from None
    except ValueError:
        raise WireError("the reply is not valid JSON") from None


class Opaque:
    """A value of a kind the protocol does not carry: only its type name and a short repr came back."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        return isinstance(other, Opaque) and (self.type_name, self.text) == (other.type_name, other.text)


class TorchArray(np.ndarray):
    """An array that came back as a torch tensor (so feedback can say so)."""


class Fn:
    """An input that is a function from :data:`FUNCTIONS`, sent by name."""

    def __init__(self, name: str):
        if name not in FUNCTIONS:
            raise WireError(f"unknown function {name!r}")
        self.name = name

    def __repr__(self) -> str:
        return self.name


class Ref:
    """An input that is a value kept earlier in the same request (``keep`` or ``let``)."""

    def __init__(self, name: str):
        self.name = name


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _relu(z):
    return np.maximum(z, 0.0)


def _identity(z):
    return z


def _sum_of_squares(x):
    return float(np.sum(np.asarray(x) ** 2))            # gradient 2x


def _sin_sum(x):
    return float(np.sum(np.sin(x)))                     # gradient cos(x)


def _log_sum_exp(x):
    x = np.asarray(x)
    m = np.max(x)
    return float(m + np.log(np.sum(np.exp(x - m))))     # gradient softmax(x)


def _rosenbrock(x):
    x = np.asarray(x)
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2))


def _bowl(x):
    x = np.asarray(x)
    return float(0.5 * x[0] ** 2 + 5.0 * np.sum(x[1:] ** 2))   # ill-conditioned: gradient (x0, 10 x1, ...)


for _f, _name in [(_sigmoid, "sigmoid"), (_relu, "relu"), (_identity, "identity"), (_sum_of_squares, "sum_of_squares"),
                  (_sin_sum, "sin_sum"), (_log_sum_exp, "log_sum_exp"), (_rosenbrock, "rosenbrock"), (_bowl, "bowl")]:
    _f.__name__ = _name
# Functions an input may name: activations, and scalar functions with known gradients (gradient checks).
FUNCTIONS = {"sigmoid": _sigmoid, "relu": _relu, "identity": _identity, "tanh": np.tanh,
             "sum_of_squares": _sum_of_squares, "sin_sum": _sin_sum, "log_sum_exp": _log_sum_exp,
             "rosenbrock": _rosenbrock, "bowl": _bowl}


# ----------------------------------------------------------------------------- values
def _short_repr(value) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    text = str.__str__(text) if isinstance(text, str) else f"<{type(value).__name__}>"
    return text if len(text) <= 120 else text[:117] + "..."


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _encode_array(array: np.ndarray, torch: bool = False):
    array = np.ascontiguousarray(np.ndarray.view(array, np.ndarray))
    if array.dtype.name not in DTYPES or array.dtype.byteorder == ">":
        return {"t": "opaque", "type": f"array of dtype {array.dtype}", "repr": _short_repr(array)}
    return {"t": "array", "dtype": array.dtype.name, "shape": list(array.shape),
            "b64": _b64(array.tobytes()), "torch": torch}


def encode(value, depth: int = 0):
    """A plain-data rendering of ``value`` (see the module docstring); never raises."""
    if depth > MAX_DEPTH:
        return {"t": "opaque", "type": "deeply nested value", "repr": "..."}
    if value is None or type(value) is bool:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, Fn):
        return {"t": "fn", "name": value.name}
    if isinstance(value, Ref):
        return {"t": "ref", "name": value.name}
    for name, function in FUNCTIONS.items():
        if value is function:
            return {"t": "fn", "name": name}
    if isinstance(value, np.generic):
        if value.dtype.name not in DTYPES:
            return {"t": "opaque", "type": type(value).__name__, "repr": _short_repr(value)}
        return {"t": "scalar", "dtype": value.dtype.name, "b64": _b64(np.asarray(value).tobytes())}
    if isinstance(value, int) and not isinstance(value, bool):
        return int.__index__(value)                          # the true value, whatever the subclass says
    if isinstance(value, float):
        number = float.__float__(value)
        return number if math.isfinite(number) else {"t": "float", "v": repr(number)}
    if isinstance(value, np.ndarray):
        return _encode_array(value)
    if type(value).__module__.partition(".")[0] == "torch" and hasattr(value, "detach"):
        try:
            return _encode_array(value.detach().cpu().numpy(), torch=True)
        except Exception:
            return {"t": "opaque", "type": "torch tensor", "repr": _short_repr(value)}
    if isinstance(value, (list, tuple)):
        return {"t": "list" if isinstance(value, list) else "tuple",
                "v": [encode(item, depth + 1) for item in (list.__iter__(value) if isinstance(value, list)
                                                            else tuple.__iter__(value))]}
    if isinstance(value, dict):
        return {"t": "dict", "v": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in dict.items(value)]}
    return {"t": "opaque", "type": type(value).__name__, "repr": _short_repr(value)}


def _raw(data: dict, dtype: np.dtype) -> bytes:
    text = data.get("b64")
    if not isinstance(text, str) or len(text) > MAX_ARRAY_BYTES * 4 // 3 + 4:
        raise WireError("array bytes missing or too large")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except Exception:
        raise WireError("array bytes are not base64") from None


def _dtype(data: dict) -> np.dtype:
    name = data.get("dtype")
    if name not in DTYPES:
        raise WireError(f"dtype {name!r} is not allowed")
    return np.dtype(name)


def decode(data, depth: int = 0, refs: dict | None = None):
    """Rebuild a value from its plain-data form, as fresh objects; raises WireError on anything else."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if data is None or type(data) in (bool, str, float):
        return data
    if type(data) is int:
        if abs(data) > 2**256:
            raise WireError("integer too large")
        return data
    if type(data) is not dict:
        raise WireError(f"unexpected {type(data).__name__} in a value")
    tag = data.get("t")
    if tag == "float":
        if data.get("v") not in ("nan", "inf", "-inf"):
            raise WireError("bad non-finite float")
        return float(data["v"])
    if tag in ("list", "tuple"):
        items = data.get("v")
        if type(items) is not list:
            raise WireError("bad sequence")
        values = [decode(item, depth + 1, refs) for item in items]
        return values if tag == "list" else tuple(values)
    if tag == "dict":
        pairs = data.get("v")
        if type(pairs) is not list or not all(type(p) is list and len(p) == 2 for p in pairs):
            raise WireError("bad dict")
        out = {}
        for key, value in pairs:
            key = decode(key, depth + 1, refs)
            try:
                hash(key)
            except TypeError:
                raise WireError("unhashable dict key") from None
            out[key] = decode(value, depth + 1, refs)
        return out
    if tag == "array":
        dtype, shape = _dtype(data), data.get("shape")
        if type(shape) is not list or len(shape) > 32 or not all(type(n) is int and 0 <= n for n in shape):
            raise WireError("bad array shape")
        raw = _raw(data, dtype)
        if math.prod(shape) * dtype.itemsize != len(raw):
            raise WireError("array bytes do not match its shape")
        array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return array.view(TorchArray) if data.get("torch") is True else array
    if tag == "scalar":
        dtype = _dtype(data)
        raw = _raw(data, dtype)
        if len(raw) != dtype.itemsize:
            raise WireError("bad scalar")
        return np.frombuffer(raw, dtype=dtype)[0]
    if tag == "opaque":
        type_name, text = data.get("type"), data.get("repr")
        if type(type_name) is not str or type(text) is not str:
            raise WireError("bad opaque value")
        return Opaque(type_name[:80], text[:200])
    if tag == "fn":
        if data.get("name") not in FUNCTIONS:
            raise WireError("unknown function")
        return FUNCTIONS[data["name"]]
    if tag == "ref":
        if refs is None or data.get("name") not in refs:
            raise WireError(f"unknown reference {data.get('name')!r}")
        return refs[data["name"]]
    raise WireError(f"unknown tag {tag!r}")


# ----------------------------------------------------------------------------- calling learner code
@contextlib.contextmanager
def _seeded(seed: int):
    """Fix the global random seeds for a call and restore the learner's random state afterwards."""
    py_state, np_state = random.getstate(), np.random.get_state()
    torch = sys.modules.get("torch")
    torch_state = torch.random.get_rng_state() if torch else None
    random.seed(seed)
    np.random.seed(seed)
    if torch:
        torch.manual_seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        if torch:
            torch.random.set_rng_state(torch_state)


@contextlib.contextmanager
def _quiet(caught: list):
    """Swallow what learner code prints and every warning; collect the warnings."""
    with warnings.catch_warnings(record=True) as record, \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("always")
        try:
            yield
        finally:
            caught.extend({"category": w.category.__name__, "message": str(w.message)[:MAX_TEXT]} for w in record)


def _resolve(path: str, target, kept: dict):
    head, _, attrs = path.partition(".")
    if head == "@":
        obj = target
    elif head.startswith("$") and head[1:] in kept:
        obj = kept[head[1:]]
    else:
        raise WireError(f"unknown call target {path!r}")
    for attr in filter(None, attrs.split(".")):
        obj = getattr(obj, attr)
    return obj


_PLAIN = (bool, int, float, complex, str, list, tuple, dict, np.ndarray)


def subclass_name(value) -> str:
    """The name of a learner-made subclass of a plain type ('' for plain, NumPy and torch values)."""
    kind = type(value)
    if kind in _PLAIN or not isinstance(value, _PLAIN) or kind.__module__.partition(".")[0] in ("numpy", "torch"):
        return ""
    return f"{kind.__qualname__}"[:80]


def _raised(exc: BaseException) -> dict:
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable>"
    return {"status": "raised", "type": type(exc).__name__, "message": message[:MAX_TEXT]}


def _run_step(step: dict, target, kept: dict) -> dict:
    if "let" in step:
        kept[step["let"]] = decode(step["value"], refs=kept)
        return {"status": "ok"}
    if "get" in step:
        return {"status": "ok", "value": encode(target if step["get"] == "@" else kept[step["get"]])}
    fn = _resolve(step["call"], target, kept)
    args = decode({"t": "list", "v": step.get("args", [])}, refs=kept)
    kwargs = decode({"t": "dict", "v": [[k, v] for k, v in step.get("kwargs", {}).items()]}, refs=kept)
    caught: list = []
    with _quiet(caught):
        result = fn(*args, **kwargs)
        if step.get("collect"):  # a generator or iterator: its items, as a list (at most MAX_ITEMS)
            result = [item for _, item in zip(range(MAX_ITEMS), iter(result))]
    if step.get("keep"):
        kept[step["keep"]] = result
    reply = {"status": "ok", "warnings": caught}
    if step.get("send", True):
        reply["value"] = encode(result)
        if subclass_name(result):
            reply["subclass"] = subclass_name(result)
    if step.get("inputs_back"):
        reply["inputs"] = encode([args, kwargs])
    return reply


def serve(request: dict, namespace: dict) -> dict:
    """Run a request's steps on ``namespace[request["target"]]``; return the plain-data reply."""
    reply = {"v": VERSION, "nonce": request.get("nonce"), "target": None, "steps": []}
    name = request.get("target")
    if name not in namespace:
        return reply
    target = namespace[name]
    reply["target"] = {"type": type(target).__name__, "callable": callable(target), "repr": _short_repr(target)}
    kept: dict = {}
    with _seeded(int(request.get("seed", 0))):
        for step in request.get("steps", []):
            try:
                result = _run_step(step, target, kept)
            except WireError as exc:
                result = {"status": "protocol", "message": str(exc)}
            except (Exception, SystemExit) as exc:  # learner code raised; an interrupt stops the request
                result = _raised(exc)
            reply["steps"].append(result)
            if result["status"] != "ok":
                break
    return reply


def serve_in_kernel(request_text: str) -> None:
    """The kernel side at grading: run the request on the user's namespace, publish the reply."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    shell = get_ipython()
    request = json.loads(request_text)
    limit = request.get("max_reply_bytes", MAX_REPLY_BYTES)
    reply = serve(request, shell.user_ns)
    if sys.displayhook is not shell.displayhook:
        reply["kernel"] = ["displayhook"]
    text = json.dumps(reply)
    if len(text) > limit:
        text = json.dumps({"v": VERSION, "nonce": reply["nonce"], "target": reply["target"], "steps": [],
                           "oversize": len(text)})
    publish_display_data({MIME: text})
