"""The proxy's connection part (Pyro5._client_conn.ProxyConnection) over a socketpair: replies are read through a
MessageReader, a reply must arrive within the timeout, and any failure releases the connection."""
from __future__ import annotations

import socket
import threading

import pytest

from Pyro5 import _client_codec as codec
from Pyro5 import errors, protocol, serializers, socketutil
from Pyro5._client_conn import ProxyConnection
from tests._support.wire import header

SER = serializers.serializers["serpent"]


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def connected(sock, timeout=None) -> ProxyConnection:
    link = ProxyConnection(timeout=timeout)
    conn = socketutil.SocketConnection(sock, "thing")
    if timeout:
        conn.timeout = timeout
    link.attach(conn, "PYRO:thing@test:1")
    return link


def result(value, seq) -> bytes:
    return protocol.SendingMessage(protocol.MSG_RESULT, 0, seq, SER.serializer_id, SER.dumps(value),
                                   correlation_id=None).data


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_call_round_trip(pair, timeout):
    ours, peer = pair
    link = connected(ours, timeout)
    request = codec.call_request(SER, "thing", "m", (1,), {}, 0, link.next_seq(), {}, set())
    link.send(request, True)
    assert link.busy
    sent = protocol.MessageReader().feed(peer.recv(65536))[0]
    assert (sent.type, sent.seq) == (protocol.MSG_INVOKE, 1)
    reply = result("answer", 1)
    for i in range(len(reply)):          # the reply in single bytes: the reader puts it together
        peer.sendall(reply[i:i + 1])
    msg = link.receive(1)
    assert codec.call_result(msg, SER, SER.serializer_id) == "answer" and not link.busy
    assert link.conn is not None and link.conn.timeout == timeout     # the socket timeout is as it was


def test_reply_must_come_within_the_timeout(pair):
    ours, peer = pair
    link = connected(ours, 0.2)
    peer.sendall(result("late", 1)[:30])           # part of the header, then nothing
    with pytest.raises(errors.TimeoutError, match="receiving: timeout"):
        link.receive(1)
    assert link.conn is None and link.reader is None   # released: the connection is out of sync


def test_connection_closed_in_the_middle_of_a_reply(pair):
    ours, peer = pair
    link = connected(ours)
    peer.sendall(result("cut", 1)[:50])
    peer.shutdown(socket.SHUT_WR)
    with pytest.raises(errors.ConnectionClosedError):
        link.receive(1)
    assert link.conn is None


def test_connection_closed_in_the_middle_of_a_reply_with_timeout(pair):
    ours, peer = pair
    link = connected(ours, 5.0)
    peer.sendall(result("cut", 1)[:50])
    peer.shutdown(socket.SHUT_WR)
    with pytest.raises(errors.ConnectionClosedError, match="received 50 of"):
        link.receive(1)
    assert link.conn is None


def test_reply_with_wrong_sequence_number(pair):
    ours, peer = pair
    link = connected(ours)
    peer.sendall(result("other", 99))
    with pytest.raises(errors.ProtocolError, match="invalid response sequence number 99, expected 1"):
        link.receive(1)
    assert link.conn is None


@pytest.mark.parametrize("data, match", [
    (header(msgtype=protocol.MSG_CONNECTOK), r"invalid msg type 2 received \(expected: 5\)"),
    (b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"x" * 20, "not a Pyro message"),
    (header(magic=0x1234), "magic number"),
])
def test_invalid_reply(pair, data, match):
    ours, peer = pair
    link = connected(ours)
    peer.sendall(data)
    with pytest.raises(errors.ProtocolError, match=match):
        link.receive(1)
    assert link.conn is None


def test_release_drops_pending_stream_closes(pair):
    ours, _ = pair
    link = connected(ours)
    link.pending_closes.append("s1")
    assert link.release() and link.pending_closes == [] and link.conn is None and link.local_socket is None
    assert not link.release()       # nothing left to release


def test_more_than_the_reply_is_refused(pair):
    # the daemon answers one request with one reply; anything else means the connection is out of sync
    ours, peer = pair
    link = connected(ours)
    peer.sendall(result("first", 1) + result("second", 2))
    with pytest.raises(errors.ProtocolError, match="more than the reply"):
        link.receive(1)
    assert link.conn is None


def test_big_reply_in_pieces(pair):
    ours, peer = pair
    link = connected(ours)
    value = "x" * (3 * 1024 * 1024)
    data = result(value, 1)

    def send():
        for i in range(0, len(data), 100000):
            peer.sendall(data[i:i + 100000])

    sender = threading.Thread(target=send)
    sender.start()
    try:
        msg = link.receive(1)
    finally:
        sender.join(timeout=30)
    assert not sender.is_alive()
    assert codec.call_result(msg, SER, SER.serializer_id) == value


def test_open_logs_the_connection_at_debug_level_and_local_address_on_demand(caplog):
    import logging
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        location = listener.getsockname()
        link = ProxyConnection(timeout=5)
        caplog.set_level(logging.DEBUG, logger="Pyro5.client")
        conn = link.open(location, "thing")
        try:
            assert "connected to %s - IPv4 - unencrypted" % (location,) in caplog.text
            assert link.local_socket is None            # (not attached yet)
            link.attach(conn, "thing")
            assert link.local_socket == conn.sock.getsockname()
            assert link.release() and link.local_socket is None
        finally:
            conn.close()
    finally:
        listener.close()


# ---------------------------------------------------------------------------------------- opening a connection
# (ProxyConnection.open: a numeric host connected to before takes a short way, _open_numeric, that must give the
# socket socketutil.create_socket gives)

@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(10)
    server.settimeout(5)
    try:
        yield server
    finally:
        server.close()


def _options(sock) -> tuple:
    return (sock.family, sock.type, sock.gettimeout(),
            sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0,
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0,
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0)


@pytest.mark.parametrize("timeout", [None, 7.5])
@pytest.mark.parametrize("reuse", [True, False])
def test_open_numeric_host_same_socket_as_create_socket(listener, monkeypatch, timeout, reuse):
    from Pyro5 import _client_conn, config
    monkeypatch.setattr(config, "SOCK_REUSE", reuse)
    monkeypatch.setattr(_client_conn, "_numeric_families", {})
    location = listener.getsockname()
    link = ProxyConnection(timeout=timeout)
    first = link.open(location, "thing")                # (the general way, which remembers the family)
    assert _client_conn._numeric_families == {"127.0.0.1": socket.AF_INET}
    second = link.open(location, "thing")               # (the short way)
    try:
        assert _options(first.sock) == _options(second.sock)
        assert _options(second.sock)[2:] == (timeout, True, True, reuse)
        accepted = [listener.accept()[0] for _ in range(2)]
        for conn, peer in zip((first, second), accepted, strict=True):
            conn.sock.sendall(b"hello")
            assert peer.recv(5) == b"hello"
            peer.close()
    finally:
        first.close()
        second.close()


def test_open_host_name_is_not_remembered(listener, monkeypatch):
    from Pyro5 import _client_conn
    monkeypatch.setattr(_client_conn, "_numeric_families", {})
    conn = ProxyConnection(timeout=5).open(("localhost", listener.getsockname()[1]), "thing")
    try:
        assert _client_conn._numeric_families == {}     # (a name may resolve differently next time)
    finally:
        conn.close()
        listener.accept()[0].close()


def test_open_numeric_host_refused_is_communication_error(monkeypatch):
    from Pyro5 import _client_conn
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    location = probe.getsockname()
    probe.close()           # (nothing listens there now)
    monkeypatch.setattr(_client_conn, "_numeric_families", {"127.0.0.1": socket.AF_INET})
    with pytest.raises(errors.CommunicationError, match="cannot connect to"):
        ProxyConnection(timeout=5).open(location, "thing")


def test_open_numeric_host_without_timeout_is_blocking_despite_a_default_timeout(listener, monkeypatch):
    from Pyro5 import _client_conn
    monkeypatch.setattr(_client_conn, "_numeric_families", {"127.0.0.1": socket.AF_INET})
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(3.0)
    try:
        conn = ProxyConnection(timeout=None).open(listener.getsockname(), "thing")
    finally:
        socket.setdefaulttimeout(previous)
    try:
        assert conn.sock.gettimeout() is None       # (as socketutil.create_socket makes it)
    finally:
        conn.close()
        listener.accept()[0].close()
