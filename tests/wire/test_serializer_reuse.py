"""Serializer fast paths that keep state or skip steps: the msgpack Packer kept per thread (nested dumps from a
class_to_dict converter, a failed dumps, many threads) and MarshalSerializer.loads' one-step path for small data."""
from __future__ import annotations

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
