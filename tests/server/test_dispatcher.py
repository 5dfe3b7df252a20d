"""The daemon's Dispatcher driven directly: messages in, messages out, no connection and no socket I/O.

The daemon is bound (a Daemon always is) but nothing connects to it: every request is a protocol.SendingMessage
turned into a ReceivingMessage by a MessageReader, every answer is decoded the same way."""
from __future__ import annotations

import logging
import marshal
import threading
import uuid

import pytest

import Pyro5
from Pyro5 import core, errors, protocol, serializers
from Pyro5.callcontext import current_context
from Pyro5.server import Daemon, expose
from tests.server._objects import Partial, PerCall, Session, Single, Thing

SERPENT = serializers.serializers["serpent"]


class ConnState:
    """What the dispatcher knows of a connection: an identity, a peer address, the session instances."""

    def __init__(self, name: str = "peer") -> None:
        self.sock_addr = (name, 1)
        self.pyroInstances: dict = {}


@pytest.fixture
def daemon():
    Pyro5.config.ONEWAY_THREADED = False      # oneway calls run inside handle(): their effect is visible after it
    context = current_context.to_global()
    d = Daemon(host="127.0.0.1")
    d.register(Thing(), "thing")
    yield d
    d.close()
    current_context.from_global(context)    # (handle() sets this thread's call context, as a transport's)


def received(message: protocol.SendingMessage) -> protocol.ReceivingMessage:
    messages = protocol.MessageReader().feed(message.data)
    assert len(messages) == 1
    return messages[0]


def request(method: str, *vargs, object_id: str = "thing", flags: int = 0, seq: int = 7, corr=None,
            serializer=SERPENT, annotations=None, kwargs=None) -> protocol.ReceivingMessage:
    payload = serializer.dumpsCall(object_id, method, vargs, kwargs or {})
    return received(protocol.SendingMessage(protocol.MSG_INVOKE, flags, seq, serializer.serializer_id, payload,
                                            annotations, correlation_id=corr))


def connect(object_id: str = "thing", handshake="hello", seq: int = 1, corr=None,
            annotations=None) -> protocol.ReceivingMessage:
    payload = SERPENT.dumps({"handshake": handshake, "object": object_id})
    return received(protocol.SendingMessage(protocol.MSG_CONNECT, 0, seq, SERPENT.serializer_id, payload,
                                            annotations, correlation_id=corr))


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def recv(self, size: int) -> bytes:
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


def with_serializer_id(raw: bytes, serializer_id: int) -> protocol.ReceivingMessage:
    """The message with another serializer id, as recv_stub receives it (it accepts any id, as the original)."""
    return protocol.recv_stub(_Bytes(raw[:7] + bytes([serializer_id]) + raw[8:]))


def answer(reply: protocol.SendingMessage | None):
    assert reply is not None
    msg = received(reply)
    return msg, serializers.serializers_by_id[msg.serializer_id].loads(msg.data)


# --- handshake -----------------------------------------------------------------------------------------------

def test_handshake_accepts_and_sends_metadata(daemon):
    corr = uuid.uuid4()
    msg, data = answer(daemon.dispatcher.handshake(ConnState(), connect(seq=3, corr=corr)))
    assert msg.type == protocol.MSG_CONNECTOK and msg.seq == 3 and msg.correlation_id == corr
    assert data["handshake"] == "hello"
    assert "add" in data["meta"]["methods"] and "value" in data["meta"]["attrs"]


def test_inflight_capability_is_answered_only_when_asked_and_supported(daemon, monkeypatch):
    from Pyro5 import _capabilities
    # not asked: the reply is the original's (no INFL annotation), the connection runs one call at a time
    conn = ConnState()
    msg, _ = answer(daemon.dispatcher.handshake(conn, connect()))
    assert _capabilities.INFLIGHT not in msg.annotations and not getattr(conn, "inflight", 0)
    # asked, but the transport runs one call at a time (max_inflight 0): no answer either
    monkeypatch.setattr(daemon.transportServer, "max_inflight", 0, raising=False)
    msg, _ = answer(daemon.dispatcher.handshake(conn, connect(annotations=_capabilities.inflight_offer())))
    assert _capabilities.inflight_granted(msg.annotations) == 0 and not getattr(conn, "inflight", 0)
    # asked and supported: the reply grants the transport's limit and the connection remembers it
    monkeypatch.setattr(daemon.transportServer, "max_inflight", 16, raising=False)
    msg, data = answer(daemon.dispatcher.handshake(conn, connect(annotations=_capabilities.inflight_offer())))
    assert msg.type == protocol.MSG_CONNECTOK and data["handshake"] == "hello"
    assert msg.annotations[_capabilities.INFLIGHT] == b"16"
    assert _capabilities.inflight_granted(msg.annotations) == 16 and conn.inflight == 16
    # a value that is not the offer is not a request
    msg, _ = answer(daemon.dispatcher.handshake(ConnState(), connect(annotations={"INFL": b"yes"})))
    assert _capabilities.INFLIGHT not in msg.annotations


def test_inflight_annotation_values():
    from Pyro5 import _capabilities
    assert _capabilities.inflight_granted(None) == 0
    assert _capabilities.inflight_granted({"INFL": b"garbage"}) == 0
    assert _capabilities.inflight_granted({"INFL": b"-3"}) == 0
    assert _capabilities.inflight_granted({"INFL": b"99999999"}) == 65535 // 2
    assert _capabilities.inflight_answer(0) == {"INFL": b"1"}


def test_handshake_unknown_object_fails(daemon):
    msg, reason = answer(daemon.dispatcher.handshake(ConnState(), connect("nope")))
    assert msg.type == protocol.MSG_CONNECTFAIL and "nope" in reason


def test_handshake_refused_with_a_reason(daemon):
    msg, reason = answer(daemon.dispatcher.handshake(ConnState(), connect(), denied_reason="server is busy"))
    assert msg.type == protocol.MSG_CONNECTFAIL and reason == "server is busy"


def test_handshake_validator_sees_the_connection_and_the_data(daemon):
    seen = []

    class Validating(Daemon):
        def validateHandshake(self, conn, data):
            seen.append((conn, data))
            if data != "secret":
                raise errors.SecurityError("wrong secret")
            return "welcome"
    daemon.__class__ = Validating
    conn = ConnState()
    msg, reason = answer(daemon.dispatcher.handshake(conn, connect(handshake="guess")))
    assert msg.type == protocol.MSG_CONNECTFAIL and reason == "wrong secret"
    msg, data = answer(daemon.dispatcher.handshake(conn, connect(handshake="secret")))
    assert msg.type == protocol.MSG_CONNECTOK and data["handshake"] == "welcome"
    assert seen == [(conn, "guess"), (conn, "secret")]


def test_handshake_with_an_unknown_serializer_answers_in_marshal(daemon):
    raw = protocol.SendingMessage(protocol.MSG_CONNECT, 0, 1, SERPENT.serializer_id, b"x").data
    msg = with_serializer_id(raw, 99)
    reply = received(daemon.dispatcher.handshake(ConnState(), msg))
    assert reply.type == protocol.MSG_CONNECTFAIL and reply.serializer_id == 2
    assert "serializer id 99" in marshal.loads(reply.data)


# --- requests ------------------------------------------------------------------------------------------------

def test_call_result_carries_the_requests_seq_and_correlation_id(daemon):
    corr = uuid.uuid4()
    current_context.correlation_id = uuid.uuid4()       # (another call's id: not used for the reply)
    msg, data = answer(daemon.dispatcher.handle(ConnState(), request("add", 3, 4, seq=11, corr=corr)))
    assert msg.type == protocol.MSG_RESULT and msg.seq == 11 and msg.correlation_id == corr
    assert not msg.flags & protocol.FLAGS_EXCEPTION and data == 7


def test_call_context_is_set_for_the_method(daemon):
    conn = ConnState("ctx")
    corr = uuid.uuid4()
    req = request("ctx", seq=5, corr=corr)
    _, data = answer(daemon.dispatcher.handle(conn, req))
    assert data == {"seq": 5, "flags": req.flags, "ser": SERPENT.serializer_id, "corr": str(corr), "addr": ["ctx", 1],
                    "client": True}


def test_response_annotations_of_method_and_daemon(daemon):
    class Annotating(Daemon):
        def annotations(self):
            return {"DAEM": b"d"}
    msg, _ = answer(daemon.dispatcher.handle(ConnState(), request("annotations_echo", annotations={"XTRA": b"1"})))
    assert msg.annotations == {"RESP": b"response"}
    daemon.__class__ = Annotating
    msg, data = answer(daemon.dispatcher.handle(ConnState(), request("annotations_echo", annotations={"XTRA": b"1"})))
    assert msg.annotations == {"RESP": b"response", "DAEM": b"d"} and data == ["XTRA"]


def test_ping(daemon):
    corr = uuid.uuid4()
    ping = received(protocol.SendingMessage(protocol.MSG_PING, 0, 9, SERPENT.serializer_id, b"ping",
                                            correlation_id=corr))
    msg = received(daemon.dispatcher.handle(ConnState(), ping))
    assert (msg.type, msg.seq, msg.data, msg.correlation_id) == (protocol.MSG_PING, 9, b"pong", corr)


def test_oneway_call_has_no_answer_and_runs(daemon):
    Thing.oneway_calls.clear()
    assert daemon.dispatcher.handle(ConnState(), request("fire", "x1", flags=protocol.FLAGS_ONEWAY)) is None
    assert [call[0] for call in Thing.oneway_calls] == ["x1"]


def test_oneway_call_on_the_daemons_pool(daemon):
    Pyro5.config.ONEWAY_THREADED = True
    Thing.oneway_calls.clear()
    Thing.oneway_event.clear()
    assert daemon.dispatcher.handle(ConnState(), request("fire", "x2", flags=protocol.FLAGS_ONEWAY)) is None
    assert Thing.oneway_event.wait(5)
    assert Thing.oneway_calls[0][0] == "x2" and Thing.oneway_calls[0][1] != threading.current_thread().name
    daemon.close()
    assert daemon._oneway.num_workers == 0


def test_failing_oneway_call_has_no_answer(daemon):
    assert daemon.dispatcher.handle(ConnState(), request("boom", flags=protocol.FLAGS_ONEWAY)) is None


def test_exception_answer_and_error_handler(daemon):
    handled = []
    daemon.methodcall_error_handler = lambda d, conn, method, vargs, kwargs, x: handled.append((conn, type(x)))
    conn = ConnState()
    msg, error = answer(daemon.dispatcher.handle(conn, request("boom")))
    assert msg.flags & protocol.FLAGS_EXCEPTION and isinstance(error, ValueError) and str(error) == "kaboom"
    assert "kaboom" in "".join(error._pyroTraceback)
    assert handled == [(conn, ValueError)]


def test_errors_that_are_not_the_methods_do_not_reach_the_error_handler(daemon):
    handled = []
    daemon.methodcall_error_handler = lambda *args: handled.append(args)
    for req in (request("nope"), request("_private"), request("add", object_id="unknown"), request("unserializable")):
        msg, error = answer(daemon.dispatcher.handle(ConnState(), req))
        assert msg.flags & protocol.FLAGS_EXCEPTION and isinstance(error, Exception)
    assert handled == []


def test_callback_error_is_logged_here_too(daemon, caplog):
    daemon.register(Partial(), "partial")
    with caplog.at_level(logging.WARNING, logger="Pyro5"):
        msg, error = answer(daemon.dispatcher.handle(ConnState(), request("cb", object_id="partial")))
    assert isinstance(error, RuntimeError)
    assert [r.levelno for r in caplog.records if "error in callback method" in r.getMessage()] == [logging.WARNING]


def test_attributes(daemon):
    dispatch = daemon.dispatcher.handle
    assert answer(dispatch(ConnState(), request("__getattr__", "value")))[1] == 42
    assert answer(dispatch(ConnState(), request("__setattr__", "value", 5)))[1] is None
    assert answer(dispatch(ConnState(), request("__getattr__", "value")))[1] == 5
    msg, error = answer(dispatch(ConnState(), request("__setattr__", "readonly", 1)))
    assert msg.flags & protocol.FLAGS_EXCEPTION and "read-only" in str(error)


def test_batch_stops_at_the_first_error(daemon, raw_exception_wrappers):
    calls = [("add", (1, 2), {}), ("boom", (), {}), ("add", (3, 4), {})]
    msg, results = answer(daemon.dispatcher.handle(ConnState(), request("<batch>", *calls,
                                                                         flags=protocol.FLAGS_BATCH)))
    assert msg.flags & protocol.FLAGS_BATCH and not msg.flags & protocol.FLAGS_EXCEPTION
    assert results[0] == 3 and results[1][0] == "ExceptionWrapper" and isinstance(results[1][1], ValueError)
    assert len(results) == 2


def test_instance_modes_per_connection(daemon):
    daemon.register(Session, "session")
    daemon.register(Single, "single")
    daemon.register(PerCall, "percall")
    one, two = ConnState("one"), ConnState("two")

    def ident(conn, object_id):
        return answer(daemon.dispatcher.handle(conn, request("ident", object_id=object_id)))[1]
    assert ident(one, "session") == ident(one, "session") != ident(two, "session")
    assert Session in one.pyroInstances and Session in two.pyroInstances
    assert ident(one, "single") == ident(two, "single")
    created = []
    original_init = PerCall.__init__

    def counting_init(self):
        created.append(self)        # (kept alive: their ids stay distinct)
        original_init(self)
    PerCall.__init__ = counting_init
    try:
        assert ident(one, "percall") != ident(one, "percall")
    finally:
        PerCall.__init__ = original_init
    assert len(created) == 2 and PerCall not in one.pyroInstances


def test_item_stream_through_the_daemon_object(daemon):
    conn = ConnState()
    msg, _ = answer(daemon.dispatcher.handle(conn, request("gen", 2)))
    assert msg.flags & protocol.FLAGS_ITEMSTREAMRESULT
    stream_id = msg.annotations["STRM"].decode()
    items = [answer(daemon.dispatcher.handle(conn, request("get_next_stream_item", stream_id,
                                                           object_id=core.DAEMON_NAME)))[1] for _ in range(2)]
    assert items == [0, 1]
    msg, error = answer(daemon.dispatcher.handle(conn, request("get_next_stream_item", stream_id,
                                                               object_id=core.DAEMON_NAME)))
    assert isinstance(error, StopIteration)
    daemon._clientDisconnected(conn)
    assert stream_id not in daemon.streaming_responses


def test_unknown_serializer_gets_an_error_answer(daemon):
    raw = protocol.SendingMessage(
        protocol.MSG_INVOKE, 0, 4, SERPENT.serializer_id, SERPENT.dumpsCall("thing", "add", (1, 2), {})).data
    msg = with_serializer_id(raw, 77)
    reply, error = answer(daemon.dispatcher.handle(ConnState(), msg))
    assert reply.flags & protocol.FLAGS_EXCEPTION and reply.seq == 4 and "serializer id 77" in str(error)


def test_blob_call_annotation_is_checked_for_marshal_bombs(daemon, monkeypatch):
    # a marshal list header that claims 2**31-1 items in 5 bytes: refused before marshal.loads allocates it
    bomb = b"[" + (2 ** 31 - 1).to_bytes(4, "little")
    checked = []

    def checked_marshal_loads(data):
        checked.append(bytes(data))
        return real(data)
    real = serializers.checked_marshal_loads
    monkeypatch.setattr(serializers, "checked_marshal_loads", checked_marshal_loads)
    req = request("echo", b"", flags=protocol.FLAGS_KEEPSERIALIZED, annotations={"BLBI": bomb})
    msg, error = answer(daemon.dispatcher.handle(ConnState(), req))
    assert msg.flags & protocol.FLAGS_EXCEPTION and isinstance(error, errors.ProtocolError)
    assert "BLBI" in str(error) and checked == [bomb]
    with pytest.raises(errors.SerializeError):
        real(bomb)


def test_blob_call_gets_a_serialized_blob(daemon):
    @expose
    class Forwarder:
        def take(self, blob):
            return [blob.info, list(blob.deserialized())]
    daemon.register(Forwarder(), "forwarder")
    # the call goes to the object and method named in BLBI, with a blob of the still-serialized payload
    req = request("ignored", "payload", 2, object_id="elsewhere", flags=protocol.FLAGS_KEEPSERIALIZED,
                  annotations={"BLBI": marshal.dumps(("the info", "forwarder", "take"))})
    _, result = answer(daemon.dispatcher.handle(ConnState(), req))
    assert result == ["the info", ["payload", 2]]


def test_protocol_error_answer(daemon):
    reply = daemon.dispatcher.protocol_error(ConnState(), errors.ProtocolError("bad header"), seq=3)
    msg, error = answer(reply)
    assert msg.seq == 3 and msg.flags & protocol.FLAGS_EXCEPTION and str(error) == "bad header"
