"""Serializer fast paths that keep state or skip steps: the msgpack Packer kept per thread (nested dumps from a
class_to_dict converter, a failed dumps, many threads), MarshalSerializer.loads' one-step path for small data and
JsonSerializer.dumps calling the C encoder itself."""
from __future__ import annotations

import json
import threading

import msgpack
import pytest

import Pyro5.errors
import Pyro5.serializers as S


class Point:
    def __init__(self, x):
        self.x = x


@pytest.fixture
def msgpack_ser():
    return S.serializers["msgpack"]


def test_msgpack_nested_dumps_in_a_converter(msgpack_ser):
    def convert(obj):
        # a converter that serializes something itself, on the same thread, while the outer dumps is packing
        return {"__class__": "Point", "inner": msgpack_ser.dumps([obj.x, "nested"])}

    msgpack_ser.dumps("warm up")     # (this thread's packer exists now)
    S.register_class_to_dict(Point, convert)
    try:
        data = msgpack_ser.dumps(["a", Point(7), "b"])
    finally:
        S.unregister_class_to_dict(Point)
    value = msgpack.unpackb(data, raw=False)
    assert value[0] == "a" and value[2] == "b"
    assert msgpack.unpackb(value[1]["inner"], raw=False) == [7, "nested"]
    assert msgpack_ser.dumps(("x", 1)) == msgpack.packb(("x", 1), use_bin_type=True)


def test_msgpack_dumps_after_an_error(msgpack_ser):
    with pytest.raises(Pyro5.errors.SerializeError):
        msgpack_ser.dumps(["half", threading.Lock()])
    assert msgpack_ser.dumps(("after", 2)) == msgpack.packb(("after", 2), use_bin_type=True)


def test_msgpack_dumps_in_many_threads(msgpack_ser):
    results = {}

    def work(i):
        results[i] = [msgpack_ser.dumps([i, "t" * (i % 50), list(range(i % 20))]) for _ in range(300)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == list(range(8))
    for i, datas in results.items():
        expected = msgpack.packb([i, "t" * (i % 50), list(range(i % 20))], use_bin_type=True)
        assert all(d == expected for d in datas)


def test_marshal_loads_small_and_bad():
    ser = S.serializers["marshal"]
    assert ser.loads(ser.dumps(("hello", 42))) == ("hello", 42)
    with pytest.raises(Pyro5.errors.SerializeError):
        ser.loads(b"\xff\x00garbage")
    with pytest.raises(Pyro5.errors.SerializeError):
        ser.loads(ser.dumps([1, 2, 3])[:-3])     # (cut off)


@pytest.mark.parametrize("value", [
    {"object": "o", "method": "m", "params": ("hello", 42), "kwargs": {}},
    "plain é \" \n text", None, 1.5, float("inf"), [1, [2, {"x": (3, None, True)}]], {"k": -1e300},
])
def test_json_dumps_same_text_as_the_stdlib_encoder(value):
    ser = S.serializers["json"]
    expected = json.JSONEncoder(ensure_ascii=False, default=ser.default).encode(value).encode("utf-8")
    assert ser.dumps(value) == expected


def test_json_dumps_without_the_c_encoder(monkeypatch):
    ser = S.JsonSerializer()
    fast = ser.dumps({"a": [1, "é"], "b": Point(3).__dict__})
    monkeypatch.setattr(ser, "_c_encoder_args", None)
    assert ser.dumps({"a": [1, "é"], "b": Point(3).__dict__}) == fast


def test_json_dumps_circular_and_custom():
    ser = S.serializers["json"]
    circular = []
    circular.append(circular)
    with pytest.raises(Pyro5.errors.SerializeError, match="Circular reference") as info:
        ser.dumps(circular)
    assert isinstance(info.value.__cause__, ValueError)
    assert ser.dumps(["after"]) == b'["after"]'
    assert json.loads(ser.dumps(Point(5)))["x"] == 5     # (through default: class_to_dict)
