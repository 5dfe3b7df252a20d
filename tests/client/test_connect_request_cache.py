"""The connect message of a proxy is remembered whole (Pyro5._client_codec.connect_request) while nothing in it
varies; the call context's correlation id, annotations and LOGWIRE each make a fresh one that carries them. Over
real sockets: what the daemon sees in its handshake is the same either way."""
from __future__ import annotations

import uuid

import pytest

import Pyro5
from Pyro5 import _client_codec, protocol, serializers
from Pyro5.callcontext import current_context
from Pyro5.client import Proxy
from Pyro5.server import Daemon, expose
from tests._support.servers import serve_daemon

SER = serializers.serializers["serpent"]


def test_the_same_message_while_nothing_varies():
    first = _client_codec.connect_request(SER, 0, "hello", "obj.cache", {})
    assert _client_codec.connect_request(SER, 0, "hello", "obj.cache", {}) is first
    other_seq = _client_codec.connect_request(SER, 5, "hello", "obj.cache", {})
    assert other_seq is not first and other_seq.seq == 5
    assert _client_codec.connect_request(SER, 0, "hello", "obj.other", {}) is not first
    reader = protocol.MessageReader()
    msg = reader.feed(first.data)[0]
    assert SER.loads(msg.data) == {"handshake": "hello", "object": "obj.cache"} and msg.seq == 0


def test_annotations_correlation_id_and_logwire_make_a_fresh_message(monkeypatch):
    plain = _client_codec.connect_request(SER, 0, "hello", "obj.fresh", {})
    annotated = _client_codec.connect_request(SER, 0, "hello", "obj.fresh", {"XTRA": b"1"})
    assert annotated is not plain and annotated.annotations == {"XTRA": b"1"}
    corr = uuid.uuid4()
    current_context.correlation_id = corr
    try:
        correlated = _client_codec.connect_request(SER, 0, "hello", "obj.fresh", {})
    finally:
        current_context.correlation_id = None
    assert correlated is not plain and correlated.corr_id == corr.bytes
    monkeypatch.setattr(Pyro5.config, "LOGWIRE", True)
    assert _client_codec.connect_request(SER, 0, "hello", "obj.fresh", {}) is not plain
    monkeypatch.setattr(Pyro5.config, "LOGWIRE", False)
    assert _client_codec.connect_request(SER, 0, "hello", "obj.fresh", {}) is plain


@expose
class Thing:
    def ping(self):
        return "pong"


class Watching(Daemon):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def validateHandshake(self, conn, data):
        self.seen.append((data, current_context.correlation_id, dict(current_context.annotations)))
        return "hello"


@pytest.fixture
def daemon():
    d = Watching(host="127.0.0.1", port=0)
    d.register(Thing, "thing")
    stop = serve_daemon(d)
    yield d
    stop()


def test_what_the_daemon_sees(daemon):
    uri = "PYRO:thing@%s" % daemon.locationStr
    for _ in range(2):
        with Proxy(uri) as proxy:
            assert proxy.ping() == "pong"
    corr = uuid.uuid4()
    current_context.correlation_id = corr
    try:
        with Proxy(uri) as proxy:
            assert proxy.ping() == "pong"
    finally:
        current_context.correlation_id = None
    current_context.annotations = {"XTRA": b"yes"}
    try:
        with Proxy(uri) as proxy:
            assert proxy.ping() == "pong"
    finally:
        current_context.annotations = {}
    assert daemon.seen == [("hello", None, {}), ("hello", None, {}), ("hello", corr, {}),
                           ("hello", None, {"XTRA": b"yes"})]


# ------------------------------------------------------------------------------------------ the connect reply

def _reply(annotations=None):
    payload = SER.dumps({"handshake": "hello", "meta": {"methods": {"ping"}, "oneway": set(), "attrs": set()}})
    return protocol.SendingMessage(protocol.MSG_CONNECTOK, 0, 0, SER.serializer_id, payload, annotations,
                                   correlation_id=None).data


@pytest.mark.parametrize("annotations", [None, {"NSLK": b"PYRO:x@127.0.0.1:1"}])
def test_connect_reply_whole_or_in_pieces_is_the_same(annotations):
    from Pyro5._client_conn import _CONNECT_RESULT_TYPES, _ConnectReplyReader
    data = _reply(annotations)
    whole = _ConnectReplyReader(_CONNECT_RESULT_TYPES).feed(data)
    reader = _ConnectReplyReader(_CONNECT_RESULT_TYPES)
    assert reader.feed(data[:50]) == []
    pieces = reader.feed(data[50:])
    assert len(whole) == len(pieces) == 1
    for a, b in ((whole[0], pieces[0]),):
        assert (a.type, a.seq, a.annotations, a.data) == (b.type, b.seq, b.annotations, b.data)


def test_connect_reply_of_another_type_is_the_readers_error():
    from Pyro5._client_conn import _CONNECT_RESULT_TYPES, _ConnectReplyReader
    data = protocol.SendingMessage(protocol.MSG_RESULT, 0, 0, SER.serializer_id, b"x", correlation_id=None).data
    with pytest.raises(Pyro5.errors.ProtocolError, match="invalid msg type"):
        _ConnectReplyReader(_CONNECT_RESULT_TYPES).feed(data)


def test_a_lost_connection_names_the_uri_it_was_attached_with():
    """(ProxyConnection.attach keeps the URI itself; the message formats it as str(uri))"""
    import socket as _socket

    from Pyro5._client_conn import ProxyConnection, ProxySocketConnection
    a, b = _socket.socketpair()
    try:
        link = ProxyConnection(None, None)
        uri = Pyro5.core.URI("PYRO:thing@127.0.0.1:4444")
        link.attach(ProxySocketConnection(a, "thing"), uri)
        with pytest.raises(Pyro5.errors.ConnectionClosedError,
                           match=r"^connection to PYRO:thing@127\.0\.0\.1:4444 lost: reset$"):
            link.lost(ConnectionResetError("reset"))
        assert link.conn is None and a.fileno() == -1
    finally:
        a.close()
        b.close()
