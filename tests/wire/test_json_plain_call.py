"""JsonSerializer.dumpsCall's plain path (Pyro5.serializers._json_plain_call): a call of plain arguments (str, int,
bool, None, finite float; no keyword arguments) is written with one %-format instead of the C encoder. The bytes,
and every error, must be exactly what the C encoder path gives: each case is serialized both ways (the plain path
switched off with monkeypatch) and compared."""
from __future__ import annotations

import enum
import random

import pytest

from Pyro5 import errors, serializers

JSON = serializers.serializers["json"]


class Number(enum.IntEnum):
    ONE = 1


class Text(str):
    pass


def _both(monkeypatch, obj, method, vargs, kwargs):
    """(plain path result or exception, C encoder result or exception) of JSON.dumpsCall."""
    results = []
    for plain in (True, False):
        if not plain:
            monkeypatch.setattr(serializers, "_json_plain_args", None)
        try:
            results.append(JSON.dumpsCall(obj, method, vargs, kwargs))
        except Exception as x:
            results.append((type(x), str(x)))
    monkeypatch.undo()
    return results


def test_the_plain_path_is_on_for_the_registered_serializer():
    assert serializers._json_plain_args is JSON._c_encoder_args is not None
    assert serializers._json_plain_call("o", "m", ("hello", 42)) == \
        b'{"object": "o", "method": "m", "params": ["hello", 42], "kwargs": {}}'
    assert serializers._json_plain_call("o", "m", ([1],)) is None       # (not plain: the C encoder writes it)


SAMPLES = [
    (), ("hello", 42), ("",), ("é€😀", "\u2028\u2029"), ("quote\"back\\slash", "\n\r\t\b\f\x00\x1f\x7f"),
    (0, -1, 2 ** 63, -(2 ** 200), True, False, None), (0.0, -0.0, 2.5, 1e300, 5e-324, 1 / 3, -1e-7),
    (float("nan"),), (float("inf"), 1), (-float("inf"),), ([1, 2],), ({"a": 1},), ((1,),), (b"x",),
    (Number.ONE,), (Text("t"),), (1j,), (object(),), ("ok", 1, [None]),
]


@pytest.mark.parametrize("vargs", SAMPLES, ids=[repr(s)[:40] for s in SAMPLES])
def test_the_same_bytes_as_the_c_encoder(monkeypatch, vargs):
    plain, general = _both(monkeypatch, "obj_1", "method", vargs, {})
    assert plain == general
    taken = serializers._json_plain_call("obj_1", "method", vargs) is not None
    assert taken == all(type(v) in (str, int, bool, type(None)) or type(v) is float and v - v == 0 for v in vargs)


@pytest.mark.parametrize("obj,method,kwargs", [("o", "m", None), ("o", "m", {"k": 1}), (1, "m", {}), ("o", None, {}),
                                               (Text("o"), "m", {}), ("o\"é", "m\n", {})])
def test_other_calls_the_same_as_the_c_encoder(monkeypatch, obj, method, kwargs):
    plain, general = _both(monkeypatch, obj, method, ("a", 1), kwargs)
    assert plain == general


def test_the_same_errors_as_the_c_encoder(monkeypatch):
    for vargs in [(10 ** 5000,), ("lone \udc80 surrogate",), ("ok", 10 ** 4400)]:
        plain, general = _both(monkeypatch, "o", "m", vargs, {})
        assert type(plain) is tuple and plain == general
        assert issubclass(plain[0], errors.SerializeError)


def test_random_plain_calls(monkeypatch):
    rng = random.Random(14)
    alphabet = "aZ09 _-\"\\/\n\t\x00\x1f\x7féß€\u2028😀"
    makers = [lambda: "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))),
              lambda: rng.randint(-2 ** 70, 2 ** 70), lambda: rng.choice([True, False, None]),
              lambda: rng.uniform(-1e6, 1e6), lambda: rng.random() * 10 ** rng.randint(-300, 300),
              lambda: rng.choice([[1], {"k": "v"}, (2,), float("nan")])]
    for _ in range(300):
        vargs = tuple(rng.choice(makers)() for _ in range(rng.randint(0, 5)))
        plain, general = _both(monkeypatch, "obj", "meth", vargs, {})
        assert plain == general, vargs
        assert serializers.serializers["json"].loadsCall(plain)[:2] == ("obj", "meth")
