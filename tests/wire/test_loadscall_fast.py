"""The serializers' loadsCall take the usual small call in their own frame (marshal, msgpack, json: what a server
does for every request) and anything else through loads; JsonSerializer.dumps reuses one C encoder per thread.
Every result and every error must be what ``loads`` followed by the call checks gives (the way they were made
before), including for data crafted against the shortcuts: lying container sizes in small marshal data (the
allocation bombs of issue 16), class dicts, trailing bytes, white space, bad UTF-8, wrong shapes."""
from __future__ import annotations

import marshal
import threading
import tracemalloc

import msgpack
import pytest

from Pyro5 import errors, serializers
from Pyro5.serializers import JsonSerializer, MarshalSerializer, MsgpackSerializer, SerializerBase

SMALL_CALLS = [
    ("obj", "echo", ("hello", 42), {}),
    ("obj", "echo", ["hello", 42], {}),
    ("obj", "m", (), {}),
    ("obj", "m", (1.5, None, True, False, "é€", [1, [2, (3,)]], {"a": 1}), {"k": "v", "n": [1, 2]}),
    ("obj", "m", (list(range(300)),), {}),      # (a list of 300: a 4-byte count of more than 255)
    ("obj", "m", ("x" * 2000,), {}),           # (above the quick size of marshal)
]


def reference_call(ser: SerializerBase, data):
    """loadsCall as it was: loads, then the check of the shape (the SerializeError of either)."""
    value = ser.loads(data)
    if isinstance(ser, MarshalSerializer):
        if type(value) is not tuple or len(value) != 4:
            raise errors.SerializeError("invalid serialized call: expected a tuple (object, method, vargs, kwargs)")
        return value
    if isinstance(ser, MsgpackSerializer):
        if type(value) is not list or len(value) != 4:
            raise errors.SerializeError("invalid serialized call: expected an array (object, method, vargs, kwargs)")
        return tuple(value)
    try:
        return value["object"], value["method"], value["params"], value["kwargs"]
    except (KeyError, TypeError):
        raise errors.SerializeError("invalid serialized call: expected a json object with object, method, "
                                    "params and kwargs") from None


def outcome(function, *args):
    try:
        return ("value", function(*args))
    except Exception as x:
        return ("error", type(x), str(x))


def same_as_reference(ser: SerializerBase, data) -> tuple:
    got = outcome(ser.loadsCall, data)
    assert got == outcome(reference_call, ser, data)
    return got


@pytest.mark.parametrize("name", ["marshal", "msgpack", "json"])
@pytest.mark.parametrize("call", SMALL_CALLS)
def test_calls_load_as_before_from_any_buffer(name, call):
    ser = serializers.serializers[name]
    data = ser.dumpsCall(*call)
    got = same_as_reference(ser, data)
    assert got[0] == "value" and got[1][:2] == call[:2]
    for buffer in (bytearray(data), memoryview(data)):
        assert outcome(ser.loadsCall, buffer) == got


# --- marshal -------------------------------------------------------------------------------------------------
def marshal_call_with(vargs_bytes: bytes) -> bytes:
    """A marshal call tuple whose vargs are the given raw marshal bytes (kwargs: an empty dict)."""
    return b")\x04\xda\x03obj\xda\x01m" + vargs_bytes + b"{0"


BOMBS = [
    marshal_call_with(b"[\xff\xff\xff\x7f"),                       # a list of 2**31-1 elements, in 21 bytes
    marshal_call_with(b"(\x00\x00\x00\x10" + b"N" * 8),            # a tuple of 2**28
    marshal_call_with(b"\xdb\x00\x00\x01\x00" + b"i\x01\x00\x00\x00"),     # FLAG_REF list of 2**16
    marshal_call_with(b")\x01" + b"<\xff\xff\xff\x0f"),            # a set inside a small tuple
    b"[\xff\xff\xff\x7f",                                          # not even a call
    b"__class__" + marshal_call_with(b"[\xff\xff\xff\x7f"),        # with the class marker (the recreating path)
    marshal_call_with(b"[\xff\xff\xff\x7f") + b"N" * (1024 - 21),  # just over the quick size
    marshal_call_with(b"[\x00\x01\x00\x00" + b"i\x01\x00\x00\x00" * 3),  # 256 declared, 3 there
]


@pytest.mark.parametrize("data", BOMBS)
def test_marshal_bombs_are_refused_without_allocating(data):
    ser = MarshalSerializer()
    tracemalloc.start()
    try:
        got = same_as_reference(ser, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got[0] == "error" and issubclass(got[1], errors.SerializeError)
    assert peak < 1024 * 1024


@pytest.mark.parametrize("data", [
    marshal.dumps(("obj", "m", ("a",))),                 # three items
    marshal.dumps(["obj", "m", ("a",), {}]),             # a list
    marshal.dumps("just a string"),
    marshal.dumps(("obj", "m", ("a",), {}))[:-3],        # cut short
    marshal.dumps(("obj", "m", ("a",), {})) + b"N",      # (marshal ignores what follows a value)
    marshal_call_with(b")\x00") + b"[\xff\xff\xff\x7f",   # a lying list behind the end: never read
    b"",
    b"\x00\x01\x02",                                     # not marshal data
    marshal.dumps(("obj", "m", (b"\x00" * 3000,), {})),  # bytes beyond the quick size
])
def test_marshal_odd_data_gives_what_loads_gives(data):
    same_as_reference(MarshalSerializer(), data)


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


@pytest.fixture
def point_class():
    SerializerBase.register_class_to_dict(Point, lambda p: {"__class__": "test.Point", "x": p.x})
    SerializerBase.register_dict_to_class("test.Point", lambda name, d: Point(d["x"]))
    yield
    SerializerBase.unregister_class_to_dict(Point)
    SerializerBase.unregister_dict_to_class("test.Point")


@pytest.mark.parametrize("name", ["marshal", "msgpack", "json"])
def test_class_dicts_in_a_call_are_recreated(point_class, name):
    ser = serializers.serializers[name]
    data = ser.dumpsCall("obj", "m", (Point(7),), {"p": Point(8)})
    object_id, method, vargs, kwargs = ser.loadsCall(data)
    assert type(vargs[0]) is Point and vargs[0].x == 7 and kwargs["p"].x == 8


# --- msgpack -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [
    msgpack.packb(["obj", "m", ["a"], {}]) + b"\xc0",         # trailing bytes
    msgpack.packb(["obj", "m", ["a"]]),                        # three items
    msgpack.packb({"object": "obj"}),                          # a map
    msgpack.packb(["obj", "m", ["a"], {}])[:-2],               # cut short
    b"\xc1",                                                   # never used
    b"",
    msgpack.packb(["obj", "m", [msgpack.ExtType(0x30, b"\x00" * 16)], {}]),   # complex, as an ext type
    msgpack.packb(["obj", "m", [msgpack.ExtType(0x30, b"\x00" * 3)], {}]),    # a bad one
    msgpack.packb(["obj", "m", [msgpack.ExtType(0x7f, b"zz")], {}]),          # an unknown one
    msgpack.packb(["obj", "m", [{1: 2}], {}]),                                # an int key
    msgpack.packb(["obj", "m", [b"x" * 40000], {}]),                          # beyond the scan limit
    msgpack.packb(["obj", "m", [{"__class__": "no.such.Class"}], {}]),        # an unknown class
])
def test_msgpack_odd_data_gives_what_loads_gives(data):
    same_as_reference(MsgpackSerializer(), data)


# --- json ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [
    b' {"object": "o", "method": "m", "params": [], "kwargs": {}}',      # white space before
    b'{"object": "o", "method": "m", "params": [], "kwargs": {}} ',      # and after
    b'{"object": "o", "method": "m", "params": [], "kwargs": {}}x',      # trailing garbage
    b'{"object": "o", "method": "m", "params": [], "kwargs": {}}{}',     # two values
    b'{"object": "o", "method": "m", "params": ["\xff"], "kwargs": {}}',  # not UTF-8
    b'{"object": "o", "method": "m", "params": [], "kwargs": {',         # cut short
    b'{"object": "o", "method": "m", "params": []}',                     # no kwargs
    b'["o", "m", [], {}]',                                               # an array
    b'{"object": "o", "method": "m", "params": ' + b"[" * 100000 + b"]" * 100000 + b', "kwargs": {}}',  # deep
    b'{"object": "o", "method": "m", "params": [NaN, Infinity], "kwargs": {}}',
    b'{"object": "o", "method": "m", "params": [{"__class__": "no.such.Class"}], "kwargs": {}}',
    b'{}',
    b'{',
    b'',
])
def test_json_odd_data_gives_what_loads_gives(data):
    same_as_reference(JsonSerializer(), data)


def test_json_dumps_reuses_its_encoder_safely(point_class):
    ser = JsonSerializer()
    looped: list = []
    looped.append(looped)
    with pytest.raises(errors.SerializeError, match="Circular reference"):
        ser.dumps(looped)
    shared = [1, 2]
    assert ser.dumps([shared, shared]) == b"[[1, 2], [1, 2]]"     # (no markers left behind by the error)
    assert ser.dumps([shared, {"a": shared}]) == b'[[1, 2], {"a": [1, 2]}]'
    with pytest.raises(errors.SerializeError):
        ser.dumps({"b": b"bytes"})
    assert ser.dumps({"b": shared}) == b'{"b": [1, 2]}'


def test_json_dumps_nested_in_a_converter():
    """A class_to_dict converter that calls dumps itself (while the thread's encoder is in use) gets its own."""
    ser = JsonSerializer()

    class Wrapped:
        pass

    SerializerBase.register_class_to_dict(Wrapped, lambda w: {"inner": ser.dumps([1, {"x": [2]}]).decode()})
    try:
        assert ser.loads(ser.dumps([Wrapped(), [3]])) == [{"inner": '[1, {"x": [2]}]'}, [3]]
        assert ser.dumps([4]) == b"[4]"
    finally:
        SerializerBase.unregister_class_to_dict(Wrapped)


def test_json_dumps_of_one_object_in_many_threads():
    """Threads that encode the same nested object at the same time: no false circular references (each thread
    has its own encoder, with its own markers)."""
    ser = JsonSerializer()
    shared = {"a": [list(range(50)) for _ in range(50)]}
    expected = ser.dumps(shared)
    failures: list = []
    start = threading.Barrier(4)

    def work() -> None:
        try:
            start.wait(timeout=10)
            for _ in range(200):
                if ser.dumps(shared) != expected:
                    failures.append("different")
        except Exception as x:
            failures.append(x)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads) and failures == []
