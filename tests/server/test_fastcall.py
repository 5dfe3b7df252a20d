"""The usual request's short path (Pyro5._svr_fastcall.answer_call, what every socket server runs for a plain
call) answers every kind of request exactly as the dispatcher's general path (Dispatcher.handle): same message
type, flags, seq, correlation id, annotations and result, or the same error; instance modes included. No sockets."""
from __future__ import annotations

import uuid

import pytest

import Pyro5
import Pyro5.server
from Pyro5 import errors, protocol, serializers
from Pyro5._svr_fastcall import answer_call, answer_plain
from Pyro5._wire_reader import plain_message
from tests.server._objects import PerCall, Session, Single
from tests.server.test_dispatcher import ConnState, received, request
from tests.server.test_dispatcher import daemon as _dispatcher_daemon  # noqa: F401  (a fixture)


@pytest.fixture
def daemon(_dispatcher_daemon):  # noqa: F811  (the dispatcher tests' daemon: a Thing as "thing")
    return _dispatcher_daemon


class Conn(ConnState):
    """A handshaked connection that keeps what is sent to it."""

    def __init__(self, name: str = "peer") -> None:
        super().__init__(name)
        self.handshaked = True
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> None:
        self.sent.append(data)


def fast(daemon, conn: Conn, msg: protocol.ReceivingMessage):
    answer_call(daemon.dispatcher, conn, msg)
    return received_reply(conn.sent.pop()) if conn.sent else None


def general(daemon, conn: Conn, msg: protocol.ReceivingMessage):
    reply = daemon.dispatcher.handle(conn, msg)
    return None if reply is None else received_reply(reply.data)


def received_reply(data: bytes):
    msg = protocol.MessageReader().feed(data)[0]
    value = serializers.serializers_by_id[msg.serializer_id].loads(msg.data)
    if isinstance(value, BaseException):
        value = (type(value), str(value))
    annotations = dict(msg.annotations)
    if "STRM" in annotations:
        annotations["STRM"] = b"<a new stream id>"
    return msg.type, msg.flags, msg.seq, msg.correlation_id, annotations, value


CASES = [
    ("add", (1, 2), {}),
    ("add", (1,), {"b": 5}),
    ("echo", ([1, "two", 3.0],), {}),
    ("boom", (), {}),                     # the method raises
    ("nope", (), {}),                     # no such method
    ("_private", (), {}),
    ("plain", (), {}),                    # not exposed
    ("value", (), {}),                    # a remote attribute, not a method
    ("__getattr__", ("value",), {}),      # attribute access
    ("__setattr__", ("readonly", 1), {}),
    ("gen", (2,), {}),                    # a generator: an item stream
    ("iterator", (), {}),
    ("unserializable", (), {}),
    ("annotations_echo", (), {}),         # response annotations
    ("add", ("a", 1), {}),                # TypeError inside the method
]


@pytest.mark.parametrize("method, vargs, kwargs", CASES)
def test_same_answer_as_the_general_path(daemon, method, vargs, kwargs):
    corr = uuid.uuid4()
    msg = request(method, *vargs, kwargs=kwargs, corr=corr, seq=11)
    expected = general(daemon, Conn(), msg)
    got = fast(daemon, Conn(), request(method, *vargs, kwargs=kwargs, corr=corr, seq=11))
    assert got == expected
    assert got is not None and got[2] == 11 and got[3] == corr


def test_unknown_objects_and_bad_call_messages(daemon):
    for object_id in ("nothing", 42, None):
        got = fast(daemon, Conn(), request("add", 1, 2, object_id=object_id))
        assert got == general(daemon, Conn(), request("add", 1, 2, object_id=object_id))
        assert got[5][0] is errors.DaemonError
    serializer = serializers.serializers["serpent"]
    bad = received(protocol.SendingMessage(protocol.MSG_INVOKE, 0, 3, serializer.serializer_id,
                                           serializer.dumps(("thing", 42, [], {}))))
    got = fast(daemon, Conn(), bad)
    assert got[5][0] is errors.ProtocolError and got == general(daemon, Conn(), bad)


@pytest.mark.parametrize("clazz", [Session, Single, PerCall])
def test_instance_modes(daemon, clazz):
    daemon.register(clazz, "cls")
    a, b = Conn("a"), Conn("b")
    ids_a = [fast(daemon, a, request("ident", object_id="cls"))[5] for _ in range(3)]
    ids_b = [fast(daemon, b, request("ident", object_id="cls"))[5] for _ in range(2)]
    if clazz is Session:
        assert len(set(ids_a)) == 1 and len(set(ids_b)) == 1 and ids_a[0] != ids_b[0]
        assert list(a.pyroInstances) == [Session]
    elif clazz is Single:
        assert len(set(ids_a + ids_b)) == 1
    else:
        assert not a.pyroInstances     # (a new instance per call; ids of freed objects may repeat)


def test_oneway_ping_and_other_serializers_take_the_general_path(daemon):
    conn = Conn()
    assert fast(daemon, conn, request("fire", 1, flags=protocol.FLAGS_ONEWAY)) is None
    ping = received(protocol.SendingMessage(protocol.MSG_PING, 0, 5, 1, b"ping"))
    answer_call(daemon.dispatcher, conn, ping)
    reply = protocol.MessageReader().feed(conn.sent.pop())[0]
    assert (reply.type, reply.seq, reply.data) == (protocol.MSG_PING, 5, b"pong")
    for name in ("marshal", "json", "msgpack"):
        serializer = serializers.serializers[name]
        assert fast(daemon, conn, request("add", 3, 4, serializer=serializer))[5] == 7


@pytest.mark.parametrize("size", [0, 50, 100, 101, 5000, 64 * 1024, 64 * 1024 + 100])
@pytest.mark.parametrize("compression", [False, True])
def test_reply_without_correlation_id_is_byte_for_byte_the_general_one(daemon, size, compression, monkeypatch):
    """The usual result is packed into one message directly (no SendingMessage): the same bytes as the general
    path, for every size either side of the compression threshold and of the join limit, compressed or not."""
    monkeypatch.setattr(Pyro5.config, "COMPRESSION", compression)
    for method, vargs in (("echo", ("x" * size,)), ("annotations_echo", ())):
        conn = Conn()
        answer_call(daemon.dispatcher, conn, request(method, *vargs, seq=9))
        expected = daemon.dispatcher.handle(Conn(), request(method, *vargs, seq=9)).data
        assert conn.sent == [expected]
        reply = protocol.MessageReader().feed(expected)[0]
        assert reply.seq == 9 and reply.correlation_id is None
        assert bool(reply.annotations) == (method == "annotations_echo")


@pytest.mark.parametrize("detailed", [False, True])
@pytest.mark.parametrize("path", ["fast", "general"])
def test_a_result_over_max_message_size_answers_with_message_too_large(daemon, monkeypatch, path, detailed):
    """Both paths answer with the MessageTooLargeError itself. When the error response is too large only because
    of the server's traceback (a detailed one here; a plain one too when the server's file paths are long), it
    goes without the traceback rather than as a PyroError substitute."""
    msg = request("echo", "x" * 2000)
    monkeypatch.setattr(Pyro5.config, "MAX_MESSAGE_SIZE", 1000)
    monkeypatch.setattr(Pyro5.config, "DETAILED_TRACEBACK", detailed)
    got = (fast if path == "fast" else general)(daemon, Conn(), msg)
    assert got[0] == protocol.MSG_RESULT and got[1] & protocol.FLAGS_EXCEPTION
    assert got[5][0] is errors.MessageTooLargeError and "MAX_MESSAGE_SIZE=1000" in got[5][1]


def test_an_error_response_too_large_even_without_traceback_is_a_pyro_error(daemon, monkeypatch):
    """An exception whose own text does not fit is answered with a short PyroError that names both causes."""
    @Pyro5.server.expose
    class Failing:
        def fail_with(self, text):
            raise ValueError(text)

    daemon.register(Failing(), "failing")
    msg = request("fail_with", "y" * 1200, object_id="failing")
    monkeypatch.setattr(Pyro5.config, "MAX_MESSAGE_SIZE", 1000)
    got = general(daemon, Conn(), msg)
    assert got[1] & protocol.FLAGS_EXCEPTION
    assert got[5][0] is errors.PyroError
    assert "ValueError" in got[5][1] and "error response could not be sent" in got[5][1]


# ---- answer_plain: the same request taken from one receive's bytes (_wire_reader.plain_message), no message object

def plain(daemon, conn: Conn, method: str, *vargs, kwargs=None, object_id="thing", flags: int = 0, seq: int = 7,
          serializer=serializers.serializers["serpent"]):
    payload = serializer.dumpsCall(object_id, method, vargs, kwargs or {})
    data = protocol.SendingMessage(protocol.MSG_INVOKE, flags, seq, serializer.serializer_id, payload,
                                   correlation_id=None).data
    request_fields = plain_message(protocol.MessageReader(), data, protocol.MSG_INVOKE)
    assert request_fields is not None
    reply = answer_plain(daemon.dispatcher, conn, data, request_fields)
    if reply is None:
        return None
    return received_reply(reply if type(reply) is bytes else reply.data)


@pytest.mark.parametrize("method, vargs, kwargs", CASES)
def test_answer_plain_gives_the_answer_of_the_general_path(daemon, method, vargs, kwargs):
    expected = general(daemon, Conn(), request(method, *vargs, kwargs=kwargs, seq=12))
    assert plain(daemon, Conn(), method, *vargs, kwargs=kwargs, seq=12) == expected


def test_answer_plain_unknown_objects_instance_modes_oneway_and_serializers(daemon):
    for object_id in ("nothing", 42, None):
        got = plain(daemon, Conn(), "add", 1, 2, object_id=object_id)
        assert got == general(daemon, Conn(), request("add", 1, 2, object_id=object_id))
        assert got[5][0] is errors.DaemonError
    for clazz in (Session, Single, PerCall):
        daemon.register(clazz, clazz.__name__)
        a, b = Conn("a"), Conn("b")
        ids_a = [plain(daemon, a, "ident", object_id=clazz.__name__)[5] for _ in range(3)]
        ids_b = [plain(daemon, b, "ident", object_id=clazz.__name__)[5] for _ in range(2)]
        if clazz is Session:
            assert len(set(ids_a)) == 1 and len(set(ids_b)) == 1 and ids_a[0] != ids_b[0]
        elif clazz is Single:
            assert len(set(ids_a + ids_b)) == 1
    assert plain(daemon, Conn(), "fire", 1, flags=protocol.FLAGS_ONEWAY) is None
    for name in ("marshal", "json", "msgpack"):
        assert plain(daemon, Conn(), "add", 3, 4, serializer=serializers.serializers[name])[5] == 7


def test_answer_plain_sets_the_call_context_as_the_general_path(daemon):
    got = plain(daemon, Conn("ctx-peer"), "ctx", seq=33)
    expected = general(daemon, Conn("ctx-peer"), request("ctx", seq=33))
    assert got == expected


def test_answer_plain_bad_call_data(daemon):
    serializer = serializers.serializers["serpent"]
    for payload in (serializer.dumps(("thing", 42, [], {})), b"\xff not serpent"):
        data = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 3, 1, payload, correlation_id=None).data
        got_plain = answer_plain(daemon.dispatcher, Conn(), data, plain_message(protocol.MessageReader(), data, protocol.MSG_INVOKE))
        expected = general(daemon, Conn(), protocol.MessageReader().feed(data)[0])
        assert received_reply(got_plain.data) == expected
        assert expected[5][0] in (errors.ProtocolError, errors.SerializeError)
