"""Crafted and malformed wire messages: private/unexposed members are never reachable, every bad request
gets a clear Pyro error, and the server keeps serving other clients."""
from __future__ import annotations

import socket
import struct

import pytest

import Pyro5
from Pyro5 import errors, protocol, serializers
from tests.server._helpers import RawClient, frame, is_exception
from tests.server._objects import Partial, Thing

PRIVATE_NAMES = ["_private", "__class__", "__init__", "__dict__", "__getattribute__", "__getattr__x",
                 "_pyroDaemon", "_pyroId", "__reduce__", "__reduce_ex__", "__setattr__x", "__del__", "__str__",
                 "__eq__", "__dir__", "__subclasshook__", "__init_subclass__", "_Thing__mangled", "__", "_",
                 "___", "__weakref__", "__module__", "__call__", "__getstate__", "__setstate__"]


@pytest.fixture
def daemon(servertype, start_daemon):
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    return rd


def _still_serving(rd) -> None:
    with RawClient(rd.address) as c:
        c.connect("thing")
        assert c.result("thing", "add", 20, 22) == 42


@pytest.mark.parametrize("name", PRIVATE_NAMES)
def test_private_names_unreachable(daemon, name, raw_exception_wrappers):
    with RawClient(daemon.address) as c:
        c.connect("thing")
        msg, data = c.call("thing", name)
        assert is_exception(msg) and isinstance(data, AttributeError)
        for method, args in (("__getattr__", (name,)), ("__setattr__", (name, "hacked"))):
            msg, data = c.call("thing", method, args)
            assert is_exception(msg) and isinstance(data, AttributeError), (method, name)
        # in a batch, too
        msg, data = c.call("thing", "<batch>", [(name, (), {})], flags=protocol.FLAGS_BATCH)
        assert len(data) == 1 and isinstance(data[0][1], AttributeError)
    _still_serving(daemon)


def test_private_attribute_message(daemon):
    with RawClient(daemon.address) as c:
        c.connect("thing")
        with pytest.raises(AttributeError, match="private attribute '_private'"):
            c.result("thing", "_private")
        with pytest.raises(AttributeError, match="no exposed method 'plain'"):
            c.result("thing", "plain")      # an instance attribute: not even its existence is revealed
        with pytest.raises(AttributeError, match="no exposed method 'nope'"):
            c.result("thing", "nope")
    daemon.daemon.register(Partial, "partial")
    with RawClient(daemon.address) as c:
        c.connect("partial")
        with pytest.raises(AttributeError, match="unexposed attribute 'unexposed'"):
            c.result("partial", "unexposed")


def test_setattr_cannot_change_private_state(daemon):
    with RawClient(daemon.address) as c:
        c.connect("thing")
        for name in ("_value", "_pyroId", "_pyroDaemon", "__class__", "__dict__", "plain", "add"):
            with pytest.raises(AttributeError):
                c.result("thing", "__setattr__", name, "x")
        assert c.result("thing", "__getattr__", "value") == 42
        assert c.result("thing", "add", 1, 1) == 2
    assert Thing._pyroId == "thing"


def test_daemon_object_internals_unreachable(daemon):
    with RawClient(daemon.address) as c:
        c.connect("Pyro.Daemon")
        for name in ("daemon", "_pyroDaemon", "__init__", "__class__"):
            msg, data = c.call("Pyro.Daemon", name)
            assert is_exception(msg) and isinstance(data, AttributeError)
        for name in ("daemon", "objectsById"):
            msg, data = c.call("Pyro.Daemon", "__getattr__", (name,))
            assert is_exception(msg)


def test_wrong_argument_count(daemon):
    with RawClient(daemon.address) as c:
        c.connect("thing")
        with pytest.raises(TypeError):
            c.result("thing", "add")
        with pytest.raises(TypeError):
            c.result("thing", "add", 1, 2, 3)
        with pytest.raises(TypeError):
            c.result("thing", "add", 1, nonexisting=2)


def test_unknown_object_in_call(daemon):
    with RawClient(daemon.address) as c:
        c.connect("thing")
        with pytest.raises(errors.DaemonError, match="unknown object"):
            c.result("nope", "add", 1, 2)


@pytest.mark.parametrize("payload", [b"garbage(((", b"", b"\xff\xfe\x00", b"{'a': 1}", b"('thing', 'add')"])
def test_undecodable_call_payload(daemon, payload):
    with RawClient(daemon.address) as c:
        c.connect("thing")
        c.send_raw(frame(protocol.MSG_INVOKE, 1, 0, 5, payload))
        msg, data = c.receive()
        assert msg.seq == 5 and is_exception(msg)
        assert isinstance(data, errors.PyroError)
        # the connection stays usable: the frame itself was fine
        assert c.result("thing", "add", 1, 1) == 2


def test_invalid_call_structure(daemon):
    ser = serializers.serializers["serpent"]
    with RawClient(daemon.address) as c:
        c.connect("thing")
        for bad in [("thing", 42, (), {}), ("thing", "add", "notalist", {}), ("thing", "add", (1,), "notadict"),
                    (12, "add", (1,), {})]:
            c.send_raw(frame(protocol.MSG_INVOKE, 1, 0, 9, ser.dumps(bad)))
            msg, data = c.receive()
            assert is_exception(msg) and isinstance(data, errors.PyroError), bad
        assert c.result("thing", "add", 1, 1) == 2


def test_call_with_other_serializer_than_handshake(daemon):
    with RawClient(daemon.address, "serpent") as c:
        c.connect("thing")
        c.ser = serializers.serializers["json"]
        assert c.result("thing", "add", 1, 1) == 2


@pytest.mark.parametrize("bad", ["garbage", "version", "magic", "msgtype", "serializer", "truncated-header",
                                 "truncated-body", "oversized", "bad-annotation", "bad-compression"])
def test_malformed_frames_after_handshake(daemon, bad):
    Pyro5.config.COMMTIMEOUT = 1.0   # the server gives up on truncated messages
    payload = serializers.serializers["serpent"].dumpsCall("thing", "add", (1, 1), {})
    data = {
        "garbage": b"GARBAGE!" * 10,
        "version": frame(protocol.MSG_INVOKE, 1, 0, 1, payload, version=501),
        "magic": frame(protocol.MSG_INVOKE, 1, 0, 1, payload, magic=0x1234),
        "msgtype": frame(99, 1, 0, 1, payload),
        "serializer": frame(protocol.MSG_INVOKE, 77, 0, 1, payload),
        "truncated-header": frame(protocol.MSG_INVOKE, 1, 0, 1, payload)[:20],
        "truncated-body": frame(protocol.MSG_INVOKE, 1, 0, 1, payload)[:-5],
        "oversized": frame(protocol.MSG_INVOKE, 1, 0, 1, b"", data_len=2 ** 31),
        "bad-annotation": frame(protocol.MSG_INVOKE, 1, 0, 1, payload)[:16] + struct.pack("!I", 3)
        + frame(protocol.MSG_INVOKE, 1, 0, 1, payload)[20:] + b"xyz",
        "bad-compression": frame(protocol.MSG_INVOKE, 1, protocol.FLAGS_COMPRESSED, 1, b"not zlib data"),
    }[bad]
    with RawClient(daemon.address) as c:
        c.connect("thing")
        c.send_raw(data)
        try:
            msg, reply = c.receive()
        except (errors.ConnectionClosedError, ConnectionError, socket.timeout, errors.TimeoutError):
            reply = None     # the server may just close the connection on a broken frame
        if reply is not None:
            assert is_exception(msg) and isinstance(reply, errors.PyroError)
    _still_serving(daemon)


@pytest.mark.parametrize("bad", ["garbage", "version", "invoke-first", "bad-payload", "bad-structure",
                                 "unknown-serializer", "oversized"])
def test_malformed_handshakes(daemon, bad):
    ser = serializers.serializers["serpent"]
    good = ser.dumps({"handshake": "hello", "object": "thing"})
    data = {
        "garbage": b"GARBAGE!" * 10,
        "version": frame(protocol.MSG_CONNECT, 1, 0, 0, good, version=1),
        "invoke-first": frame(protocol.MSG_INVOKE, 1, 0, 0, ser.dumpsCall("thing", "add", (1, 2), {})),
        "bad-payload": frame(protocol.MSG_CONNECT, 1, 0, 0, b"(((("),
        "bad-structure": frame(protocol.MSG_CONNECT, 1, 0, 0, ser.dumps(["not", "a", "dict"])),
        "unknown-serializer": frame(protocol.MSG_CONNECT, 99, 0, 0, good),
        "oversized": frame(protocol.MSG_CONNECT, 1, 0, 0, b"", data_len=2 ** 31),
    }[bad]
    with RawClient(daemon.address) as c:
        c.send_raw(data)
        try:
            msg, reply = c.receive()
        except (errors.ConnectionClosedError, ConnectionError):
            msg = None
        if msg is not None:
            assert msg.type == protocol.MSG_CONNECTFAIL and isinstance(reply, str) and reply
    _still_serving(daemon)


def test_peer_closing_mid_message(daemon):
    payload = serializers.serializers["serpent"].dumpsCall("thing", "add", (1, 1), {})
    for _ in range(3):
        with RawClient(daemon.address) as c:
            c.connect("thing")
            c.send_raw(frame(protocol.MSG_INVOKE, 1, 0, 1, payload)[:50])
    _still_serving(daemon)


def test_response_annotation_errors_are_reported(servertype, start_daemon):
    from Pyro5.server import expose

    @expose
    class BadAnnotations:
        def m(self):
            Pyro5.current_context.response_annotations = {"TOOLONG": b"x"}
            return 1
    rd = start_daemon()
    rd.daemon.register(BadAnnotations, "bad")
    with RawClient(rd.address) as c:
        c.connect("bad")
        msg, data = c.call("bad", "m")
        assert is_exception(msg) and isinstance(data, errors.PyroError)
        assert "annotation" in str(data)


def test_unserializable_exception_and_oversized_result(servertype, start_daemon):
    import threading

    from Pyro5.server import expose

    @expose
    class Troublemaker:
        def bad_exception(self):
            raise ValueError("with a lock inside", threading.Lock())

        def huge(self):
            return "x" * 50000
    rd = start_daemon()
    rd.daemon.register(Troublemaker, "trouble")
    with RawClient(rd.address) as c:
        c.connect("trouble")
        msg, data = c.call("trouble", "bad_exception")
        assert is_exception(msg) and isinstance(data, errors.PyroError)
        assert "ValueError" in str(data) and "with a lock inside" in str(data)
        Pyro5.config.MAX_MESSAGE_SIZE = 20000
        msg, data = c.call("trouble", "huge")
        assert is_exception(msg) and isinstance(data, errors.MessageTooLargeError)
        Pyro5.config.MAX_MESSAGE_SIZE = 1 << 30
        assert len(c.result("trouble", "huge")) == 50000
