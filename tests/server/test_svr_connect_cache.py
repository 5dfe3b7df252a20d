"""The connect handshake's serialization caches (Pyro5._svr_connect): equal input gives what the serializer
gives, every caller gets a fresh dict, and a class whose exposure info is reset gets its new metadata."""
from __future__ import annotations

import Pyro5.serializers
from Pyro5 import _svr_connect
from Pyro5._svr_meta import reset_class_info
from Pyro5.server import expose


class _Counting:
    """A serializer wrapper that counts loads/dumps."""

    def __init__(self, name: str) -> None:
        self.real = Pyro5.serializers.serializers[name]
        self.loads_count = 0
        self.dumps_count = 0

    def loads(self, data):
        self.loads_count += 1
        return self.real.loads(data)

    def dumps(self, data):
        self.dumps_count += 1
        return self.real.dumps(data)


def test_connect_request_cached_as_fresh_dicts():
    ser = _Counting("serpent")
    data = ser.real.dumps({"handshake": "hello", "object": "obj.1"})
    first = _svr_connect.connect_request(ser, data)
    second = _svr_connect.connect_request(ser, data)
    assert first == second == {"handshake": "hello", "object": "obj.1"}
    assert first is not second
    assert ser.loads_count == 1
    second["object"] = "changed"        # a caller's change does not reach the next caller
    assert _svr_connect.connect_request(ser, data)["object"] == "obj.1"


def test_connect_request_other_content_parsed_every_time():
    ser = _Counting("serpent")
    data = ser.real.dumps({"handshake": {"token": [1, 2]}, "object": "obj.2"})
    first = _svr_connect.connect_request(ser, data)
    second = _svr_connect.connect_request(ser, data)
    assert first == second == {"handshake": {"token": [1, 2]}, "object": "obj.2"}
    assert first["handshake"] is not second["handshake"]
    assert ser.loads_count == 2


def test_connect_payload_cached_and_follows_class_changes():
    class Thing:
        @expose
        def one(self):
            return 1

    ser = _Counting("msgpack" if "msgpack" in Pyro5.serializers.serializers else "marshal")
    first = _svr_connect.connect_payload(ser, Thing, "hello")
    assert _svr_connect.connect_payload(ser, Thing(), "hello") == first
    assert ser.dumps_count == 1
    reply = ser.real.loads(first)
    assert reply["handshake"] == "hello" and set(reply["meta"]["methods"]) == {"one"}
    assert ser.real.loads(_svr_connect.connect_payload(ser, Thing, "other"))["handshake"] == "other"
    assert ser.dumps_count == 2

    Thing.two = expose(lambda self: 2)
    reset_class_info(Thing)
    reply = ser.real.loads(_svr_connect.connect_payload(ser, Thing, "hello"))
    assert set(reply["meta"]["methods"]) == {"one", "two"}


def test_connect_payload_mutable_response_not_cached():
    class Thing:
        @expose
        def one(self):
            return 1

    ser = _Counting("serpent")
    response = {"n": 1}
    assert ser.real.loads(_svr_connect.connect_payload(ser, Thing, response))["handshake"] == {"n": 1}
    response["n"] = 2
    assert ser.real.loads(_svr_connect.connect_payload(ser, Thing, response))["handshake"] == {"n": 2}
    assert ser.dumps_count == 2
