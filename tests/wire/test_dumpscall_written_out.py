"""dumpsCall of msgpack and json, which do what dumps does with the call's tuple/dict written out (one Python call
less per call): the same bytes, the same errors, and the per-thread msgpack Packer kept or dropped as dumps does."""
from __future__ import annotations

import datetime
import threading
import uuid

import pytest

from Pyro5 import errors, serializers

pytest.importorskip("msgpack")

MSGPACK = serializers.serializers["msgpack"]
JSON = serializers.serializers["json"]


class Point:
    def __init__(self, x):
        self.x = x


ARGS = [
    ((), {}),
    (("hello", 42), {}),
    (([1, 2.5, None, True], {"a": {"b": ()}}), {"k": "é"}),
    ((uuid.UUID(int=5), datetime.date(2020, 1, 2), {1, 2}), {}),
    ((Point(3),), {"p": Point(4)}),
]


def _as_call(ser, obj, method, vargs, kwargs):
    data = (obj, method, vargs, kwargs) if ser is MSGPACK else \
        {"object": obj, "method": method, "params": vargs, "kwargs": kwargs}
    return ser.dumps(data)


@pytest.mark.parametrize("ser", [MSGPACK, JSON], ids=["msgpack", "json"])
@pytest.mark.parametrize("vargs, kwargs", ARGS)
def test_the_same_bytes_as_dumps(ser, vargs, kwargs):
    assert ser.dumpsCall("obj", "method", vargs, kwargs) == _as_call(ser, "obj", "method", vargs, kwargs)
    if not any(type(v) is Point for v in list(vargs) + list(kwargs.values())):
        assert list(ser.loadsCall(ser.dumpsCall("obj", "method", vargs, kwargs))[:2]) == ["obj", "method"]


def _error(function):
    try:
        function()
    except Exception as x:
        return type(x), str(x)
    return None


@pytest.mark.parametrize("ser", [MSGPACK, JSON], ids=["msgpack", "json"])
def test_the_same_errors_as_dumps(ser):
    circular: list = []
    circular.append(circular)
    for vargs in ([circular], [b"bytes"]) if ser is JSON else ([circular],):
        error = _error(lambda vargs=vargs: ser.dumpsCall("obj", "m", vargs, {}))
        assert error is not None and error == _error(lambda vargs=vargs: _as_call(ser, "obj", "m", vargs, {}))
        assert issubclass(error[0], errors.SerializeError) or error[0] in (ValueError, TypeError)
    # after an error, the next call works (msgpack: a new Packer)
    assert ser.dumpsCall("obj", "m", ("x",), {}) == _as_call(ser, "obj", "m", ("x",), {})


def test_msgpack_packer_per_thread_and_nested():
    def to_dict(obj):
        return {"__class__": "Point", "inner": MSGPACK.dumps([obj.x, "nested"])}
    serializers.register_class_to_dict(Point, to_dict)
    try:
        data = MSGPACK.dumpsCall("obj", "m", (Point(7),), {})
        import msgpack
        assert msgpack.unpackb(data, raw=False)[2][0]["inner"] == MSGPACK.dumps([7, "nested"])
    finally:
        serializers.unregister_class_to_dict(Point)
    results = []
    threads = [threading.Thread(target=lambda i=i: results.append(MSGPACK.dumpsCall("o", "m", (i,), {})))
               for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(results) == sorted(MSGPACK.dumps(("o", "m", (i,), {})) for i in range(8))
