"""Pyro5._marshalcheck: valid marshal data passes unchanged, data declaring more than it holds is refused."""
from __future__ import annotations

import marshal
import random
import struct

import pytest

from Pyro5 import errors, serializers
from Pyro5._marshalcheck import _QUICK_LIMIT, _walk, check_marshal


def _random_value(rng: random.Random, depth: int = 0):
    kinds = ["int", "bigint", "float", "complex", "str", "ustr", "bytes", "none", "bool"]
    if depth < 3:
        kinds += ["list", "tuple", "dict", "set", "frozenset", "shared"] * 2
    kind = rng.choice(kinds)
    if kind == "int":
        return rng.choice([0, 1, -1, 255, 2 ** 31 - 1, -2 ** 31, rng.randint(-1000, 1000)])
    if kind == "bigint":
        return rng.choice([1, -1]) * rng.randint(2 ** 31, 2 ** rng.randint(32, 700))
    if kind == "float":
        return rng.choice([0.0, -1.5, 1e300, float("inf"), rng.random()])
    if kind == "complex":
        return complex(rng.random(), -rng.random())
    if kind == "str":
        return "s" * rng.choice([0, 1, 255, 256, 300])
    if kind == "ustr":
        return "\u20ac\U0001f600" * rng.randint(0, 40)
    if kind == "bytes":
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 17, 300])))
    if kind == "none":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    size = rng.choice([0, 1, 2, 5, 16, 40, 300] if depth == 0 else [0, 1, 2, 5, 16, 20])
    items = [_random_value(rng, depth + 1) for _ in range(size)]
    if kind == "list":
        return items
    if kind == "tuple":
        return tuple(items)
    if kind == "dict":
        return {str(i) if i % 2 else i: v for i, v in enumerate(items)}
    hashable = [i for i in items if isinstance(i, (int, float, str, bytes, tuple, frozenset, type(None)))]
    try:
        if kind == "set":
            return set(hashable)
        if kind == "frozenset":
            return frozenset(hashable)
    except TypeError:   # a tuple holding a list
        return frozenset()
    shared = [1.5, "shared"]      # the same objects several times: marshal writes references
    return [shared, shared, (shared,), {"a": shared}]


@pytest.mark.parametrize("version", range(marshal.version + 1))
def test_all_valid_marshal_data_passes(version):
    rng = random.Random(1234 + version)
    for _ in range(300):
        value = _random_value(rng)
        data = marshal.dumps(value, version)
        check_marshal(data)
        _walk(data)                          # the full walk too, not only the quick check
        assert marshal.loads(data) == value or value != value


BIG_VALID = [
    list(range(100_000)), [float(i) for i in range(50_000)], [None, True, False] * 10_000,
    [str(i) for i in range(50_000)], [(i, str(i)) for i in range(20_000)], {i: [i] * 3 for i in range(5_000)},
    [1] * 70_000 + ["x"], ["x"] + [2.5] * 70_000, b"\xa8\xff\xff\xff\x7f" * 100_000,
    ("\xdb\xff\xff\xff\x7f" * 50_000,), 7 ** 100_000, -(7 ** 100_000), set(range(30_000)), frozenset(range(300)),
]


@pytest.mark.parametrize("index", range(len(BIG_VALID)))
def test_big_valid_data_passes(index):
    data = marshal.dumps(BIG_VALID[index])
    check_marshal(data)
    _walk(data)


def test_serializer_calls_pass():
    m = serializers.serializers["marshal"]
    for args in [(), (1, "two", [3.0, None], {"k": b"v"}), (list(range(1000)),), (b"x" * 300_000,)]:
        data = m.dumpsCall("obj", "method", args, {"kw": (1, 2)})
        check_marshal(data)
        _walk(data)
        assert m.loadsCall(data)[2] == list(args)


def _count(code: bytes, n: int) -> bytes:
    return code + struct.pack("<i", n)


BOMBS = {
    "tuple": _count(b"(", 100_000_000) + b"N" * 10,
    "tuple-ref": _count(b"\xa8", 100_000_000) + b"N" * 10,
    "list": _count(b"[", 100_000_000) + b"N" * 10,
    "set": _count(b"<", 2 ** 31 - 1),
    "frozenset": _count(b">", 50_000_000),
    "negative": _count(b"(", -5) + b"N" * 10,
    "nested": _count(b"(", 3) + (_count(b"(", 3) + _count(b"[", 10_000_000)) + b"N" * 20,
    "nested-equal": (_count(b"(", 40) * 40) + b"N" * 40,       # each level alone fits, together they don't
    "in-dict": b"{" + b"\xda\x01k" + _count(b"[", 100_000) + b"N" * 10 + b"0",
    "dict-end": _count(b"(", 1) + b"{" + b"N" * 3,
    "long-digits": _count(b"l", 2 ** 30) + b"\x01\x00" * 4,
    "string": _count(b"s", 2 ** 31 - 1) + b"abc",
    "unicode": _count(b"u", 1_000_000) + b"abc",
    "truncated": _count(b"[", 2) + b"i\x01\x00",
    "null-outside": _count(b"(", 1) + b"0",
    "unknown-code": b"\x01",
    "code-object": _count(b"(", 1) + b"c" + b"\x00" * 40,
    "empty": b"",
}


# small data that can't make marshal use memory (a lying string length or digit count: marshal reserves the object,
# untouched, and frees it at once): the quick check lets it pass, marshal.loads refuses it (and the walk too)
HARMLESS = {"dict-end", "string", "long-digits", "unicode", "truncated", "null-outside", "unknown-code", "code-object", "empty"}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_bombs_and_garbage_are_refused(name):
    data = BOMBS[name]
    if name not in HARMLESS:
        with pytest.raises(errors.SerializeError, match="invalid marshal data"):
            check_marshal(data)
    with pytest.raises(errors.SerializeError, match="invalid marshal data"):
        _walk(data)
    with pytest.raises(errors.SerializeError):
        serializers.serializers["marshal"].loads(data)
    with pytest.raises(errors.SerializeError):
        serializers.checked_marshal_loads(data)


def test_bomb_inside_big_data_is_refused():
    filler = marshal.dumps(b"y" * (_QUICK_LIMIT + 10))
    data = _count(b"(", 2) + filler + _count(b"[", 100_000_000) + b"N"
    with pytest.raises(errors.SerializeError, match="declares 100000000 elements"):
        check_marshal(data)


def test_small_data_without_big_headers_is_not_walked(monkeypatch):
    walked = []
    monkeypatch.setattr("Pyro5._marshalcheck._walk", walked.append)
    check_marshal(marshal.dumps(("obj", "method", [1, 2, 3], {})))
    assert walked == []
    check_marshal(marshal.dumps(list(range(300))))        # a header that can declare >= 256 elements
    assert len(walked) == 1


def test_memoryview_and_bytearray_input():
    data = marshal.dumps([1, 2, "x" * 300] * 100)
    check_marshal(memoryview(data))
    check_marshal(bytearray(data))
    with pytest.raises(errors.SerializeError):
        check_marshal(memoryview(BOMBS["tuple"]))


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_bomb_after_a_kilobyte_of_filler_is_refused(kind):
    """Data of 256 bytes or more is first searched for container type bytes with memchr; a bomb behind a
    kilobyte of zeros or text is still found."""
    for filler in (marshal.dumps(bytes(1024)), marshal.dumps("plain text " * 100)):
        data = _count(b"(", 2) + filler + _count(b"[", 100_000_000) + b"N"
        with pytest.raises(errors.SerializeError, match="declares 100000000 elements"):
            check_marshal(kind(data))


def test_big_value_without_container_bytes_is_not_searched_byte_by_byte(monkeypatch):
    searched, walked = [], []

    class Recording:
        def search(self, data):
            searched.append(len(data))

    monkeypatch.setattr("Pyro5._marshalcheck._BIG_HEADER", Recording())
    monkeypatch.setattr("Pyro5._marshalcheck._walk", walked.append)
    check_marshal(marshal.dumps(("obj", "upload", [bytes(8192)], {})))      # (a list header of one element)
    check_marshal(marshal.dumps(("obj", "upload", ["text " * 2000], {})))
    assert searched == [] and walked == []
    check_marshal(marshal.dumps(("obj", "upload", ["text (with brackets) " * 500], {})))  # looks like a header,
    assert searched == [] and walked == []          # but it is a call of plain arguments (_plain_call)
    check_marshal(marshal.dumps(("obj", "upload", [], {"text": "text (with brackets) " * 500})))
    assert searched == [] and len(walked) == 1
    check_marshal(marshal.dumps(("obj", "upload", (42,), {})))      # small data: the expression
    assert len(searched) == 1


def test_header_search_by_memchr_agrees_with_the_expression():
    import random

    from Pyro5._marshalcheck import _BIG_HEADER, _has_big_header
    rnd = random.Random(16)
    alphabet = [b"\x00"] * 8 + [b"a", b"(", b"[", b"<", b">", b"\xa8", b"\xdb", b"\xbc", b"\xbe", b"\x01"]
    for i in range(3000):
        size = rnd.randrange(256, 1200)
        if i % 3 == 0:
            data = bytes(rnd.randrange(256) for _ in range(size))
        else:
            data = b"".join(rnd.choice(alphabet) for _ in range(size))
        expected = _BIG_HEADER.search(data) is not None
        assert _has_big_header(data) == expected, data
        assert _has_big_header(bytearray(data)) == expected


def test_plain_call_shortcut_accepts_only_what_the_walk_accepts():
    """_plain_call (a call of plain arguments, no kwargs: no walk needed) never accepts data the walk refuses,
    for real calls and thousands of mutations of them (flipped bytes, cut data, lying lengths and counts)."""
    import random

    from Pyro5._marshalcheck import _plain_call
    ser = serializers.serializers["marshal"]
    calls = [ser.dumpsCall("obj_1", "upload", (bytes(range(256)) * 2,), {}),
             ser.dumpsCall("obj_1", "m", (b"x", 1, 2.5, None, True, False, "text", "é" * 40, -5), {}),
             ser.dumpsCall("obj_1", "m", (), {}),
             ser.dumpsCall("obj_1", "m", tuple(range(300)), {})]
    for data in calls:
        assert _plain_call(data)
        check_marshal(data)
    assert not _plain_call(ser.dumpsCall("o", "m", ([1, 2],), {}))         # a container argument: the walk
    assert not _plain_call(ser.dumpsCall("o", "m", (1,), {"a": 1}))        # kwargs: the walk
    rnd = random.Random(9)
    accepted = 0
    for i in range(6000):
        data = bytearray(rnd.choice(calls))
        for _ in range(rnd.randrange(1, 4)):
            where = rnd.randrange(len(data))
            if i % 5 == 0:
                del data[where:]
                if not data:
                    break
            else:
                data[where] = rnd.choice((0, 1, 0x7f, 0xff, 0x28, 0x5b, 0x7b, 0x30, 0x73, rnd.randrange(256)))
        if data and _plain_call(data):
            accepted += 1
            _walk(bytes(data))          # (raises for anything the walk refuses)
            try:
                obj, method, vargs, kwargs = marshal.loads(data)
            except (ValueError, EOFError, TypeError):
                continue    # (invalid text or the like: the serializer reports it as a SerializeError)
            assert kwargs == {} and len(vargs) <= len(data)
    assert accepted > 100       # (the mutations do reach the shortcut)


def test_plain_call_with_random_bytes_is_loaded_without_header_search_or_walk(monkeypatch):
    """A call of plain arguments (an upload of 1 KiB of random bytes, full of bytes that look like container
    headers) is proven safe by _plain_call and loaded at once: no header search, no walk, no class recreation;
    data that is not such a call still gets the check."""
    import os

    from Pyro5.serializers import serializers
    ser = serializers["marshal"]
    calls = []
    monkeypatch.setattr("Pyro5._marshalcheck._has_big_header", lambda data: calls.append("search") or True)
    monkeypatch.setattr("Pyro5._marshalcheck._walk", lambda data: calls.append("walk"))
    monkeypatch.setattr(type(ser), "recreate_classes", lambda self, data: calls.append("recreate") or data)
    payload = os.urandom(1024)
    data = marshal.dumps(("obj", "upload", (payload, 7, None), {}))
    assert ser.loadsCall(data) == ("obj", "upload", (payload, 7, None), {})
    check_marshal(data)
    assert calls == []
    data = marshal.dumps(("obj", "upload", (payload,), {"key": [1, 2]}))      # kwargs: not a plain call
    assert ser.loadsCall(data)[3] == {"key": [1, 2]}
    assert calls[:2] == ["search", "walk"]
    monkeypatch.undo()
    bomb = _count(b"(", 4) + marshal.dumps("obj") + marshal.dumps("m") + _count(b"[", 100_000_000) + payload
    with pytest.raises(errors.SerializeError, match="declares 100000000 elements"):
        ser.loadsCall(bomb)
