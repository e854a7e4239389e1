"""The plain-data protocol: values survive the round trip as fresh plain objects, the decoder accepts
nothing else, and ``serve`` runs learner code quietly, seeded, and step by step."""
import json
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from autograder.learner import wire
from autograder.learner.judge import read_reply

plain = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12)


@given(plain)
def test_plain_values_round_trip(value):
    assert wire.decode(json.loads(json.dumps(wire.encode(value)))) == value


@given(arrays(st.sampled_from([np.float64, np.float32, np.int64, np.bool_, np.uint8]), array_shapes(max_dims=3)))
def test_arrays_round_trip_with_dtype_and_shape(array):
    back = wire.decode(json.loads(json.dumps(wire.encode(array))))
    assert back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array, equal_nan=array.dtype.kind == "f") and back.flags.writeable


def test_special_values_keep_their_kind():
    for value in [float("nan"), float("inf"), np.float32(1.5), np.int64(7), (1, "sigmoid")]:
        back = wire.decode(wire.encode(value))
        assert type(back) is type(value) and (back == value or back != back)
    assert wire.decode(wire.encode(wire.Fn("tanh"))) is np.tanh
    assert isinstance(wire.decode(wire.encode(iter([]))), wire.Opaque)


def test_a_subclass_comes_back_as_its_plain_value():
    class AlwaysEqual(float):
        def __eq__(self, other):
            return True

    back = wire.decode(wire.encode(AlwaysEqual(0.5)))
    assert type(back) is float and back == 0.5 and back != 0.6
    assert wire.subclass_name(AlwaysEqual(1.0)) == "test_a_subclass_comes_back_as_its_plain_value.<locals>.AlwaysEqual"
    assert wire.subclass_name(np.float64(1.0)) == "" and wire.subclass_name(np.ones(2)) == ""


@pytest.mark.parametrize("data", [
    {"t": "array", "dtype": "object", "shape": [1], "b64": ""},
    {"t": "array", "dtype": "float64", "shape": [3], "b64": "AAAAAAAAAAA="},
    {"t": "array", "dtype": "float64", "shape": [-1], "b64": ""},
    {"t": "pickle", "v": "gASVAAAA"},
    {"t": "fn", "name": "os.system"},
    {"t": "ref", "name": "x"},
    ["a", "bare", "list"],
    2**300,
    {"t": "list", "v": [[]]},
])
def test_the_decoder_refuses_anything_else(data):
    with pytest.raises(wire.WireError):
        wire.decode(data)


def test_the_decoder_refuses_deep_nesting():
    data = 0
    for _ in range(wire.MAX_DEPTH + 2):
        data = {"t": "list", "v": [data]}
    with pytest.raises(wire.WireError):
        wire.decode(data)


def _request(*steps, target="f"):
    return {"v": 1, "nonce": "n", "target": target, "seed": 0, "steps": list(steps)}


def _call(target="@", *args, **options):
    return {"call": target, "args": [wire.encode(a) for a in args], **options}


def test_serve_is_quiet_seeded_and_restores_the_random_state(capsys):
    def noisy():
        print("to stdout")
        import sys
        print("to stderr", file=sys.stderr)
        np.exp(np.array([1e5]))
        return np.random.rand(), random.random()

    np.random.seed(5)
    expected_next = np.random.rand()
    np.random.seed(5)
    first = wire.serve(_request(_call()), {"f": noisy})
    second = wire.serve(_request(_call()), {"f": noisy})
    assert capsys.readouterr() == ("", "")
    assert first["steps"][0]["value"] == second["steps"][0]["value"]
    assert first["steps"][0]["warnings"][0]["category"] == "RuntimeWarning"
    assert np.random.rand() == expected_next


def test_serve_reports_what_was_raised_and_stops_there():
    def fails(x):
        raise ValueError(f"bad {x}")

    reply = wire.serve(_request(_call("@", 1), _call("@", 2)), {"f": fails})
    assert reply["steps"] == [{"status": "raised", "type": "ValueError", "message": "bad 1"}]


def test_serve_describes_a_missing_or_uncallable_target():
    assert wire.serve(_request(_call()), {})["target"] is None
    reply = wire.serve(_request(_call()), {"f": 42})
    assert reply["target"]["callable"] is False and reply["target"]["type"] == "int"


def test_a_script_keeps_state_between_steps():
    class Counter:
        def __init__(self, start):
            self.value = start

        def add(self, values, k):
            values += k          # in place, as an optimizer updates its parameters
            self.value += k
            return self.value

    reply = wire.serve(_request(
        {"let": "v", "value": wire.encode(np.zeros(2))},
        _call("@", 10, keep="c", send=False),
        {"call": "$c.add", "args": [{"t": "ref", "name": "v"}, 2]},
        {"call": "$c.add", "args": [{"t": "ref", "name": "v"}, 3]},
        {"get": "v"}), {"f": Counter})
    answer = read_reply(json.loads(json.dumps(reply)))
    assert [s.get("value") for s in answer.steps[2:]] == [12, 15, pytest.approx(np.array([5.0, 5.0]))]
