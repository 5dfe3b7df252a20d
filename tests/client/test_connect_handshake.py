"""The connect handshake of a new connection (Pyro5._client_conn.ProxyConnection.open + handshake) over real
sockets, with and without a timeout (a socket with a timeout sends its connect message with one write() of its
descriptor instead of a poll and a send): the daemon gets the same bytes, the reply is read the same way, and a
daemon that goes away during the handshake is the same error."""
from __future__ import annotations

import socket
import threading

import pytest

from Pyro5 import _client_codec as codec
from Pyro5 import errors, protocol, serializers
from Pyro5._client_conn import ProxyConnection

SER = serializers.serializers["serpent"]


class OneShotDaemon:
    """Accepts one connection, reads one message (kept in `received`) and answers CONNECTOK, or closes the
    connection right away (close_at_once)."""

    def __init__(self, close_at_once: bool = False) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.close_at_once = close_at_once
        self.received: list[protocol.ReceivingMessage] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return self.listener.getsockname()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            if self.close_at_once:
                return
            conn.settimeout(10)
            reader = protocol.MessageReader()
            while not self.received:
                data = conn.recv(4096)
                if not data:
                    return
                self.received.extend(reader.feed(data))
            msg = self.received[0]
            payload = SER.dumps({"handshake": "hello", "meta": {"methods": {"m"}, "oneway": set(), "attrs": set()}})
            conn.sendall(protocol.SendingMessage(protocol.MSG_CONNECTOK, 0, msg.seq, SER.serializer_id, payload,
                                                 correlation_id=None).data)

    def close(self) -> None:
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.listener.close()


@pytest.fixture
def daemon_factory():
    daemons = []

    def make(**kwargs):
        daemon = OneShotDaemon(**kwargs)
        daemons.append(daemon)
        return daemon
    yield make
    for daemon in daemons:
        daemon.close()


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_handshake_sends_the_connect_message_and_reads_the_reply(daemon_factory, timeout):
    daemon = daemon_factory()
    link = ProxyConnection(None, timeout)
    conn = link.open(daemon.address, "thing")
    try:
        request = codec.connect_request(SER, 0, "hello", "thing", {})
        msg = link.handshake(conn, request, daemon.address)
        assert msg.type == protocol.MSG_CONNECTOK
        assert codec.connect_result(msg, daemon.address)[1] == "hello"
        assert conn.sock.gettimeout() == timeout      # (the socket's timeout is as it was)
    finally:
        conn.close()
    sent = daemon.received[0]
    assert (sent.type, sent.seq, SER.loads(sent.data)) == (protocol.MSG_CONNECT, 0,
                                                           {"handshake": "hello", "object": "thing"})


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_a_big_connect_message_goes_whole(daemon_factory, timeout):
    """(a connect message in several parts, with annotations: the usual send, not the one write())"""
    daemon = daemon_factory()
    link = ProxyConnection(None, timeout)
    conn = link.open(daemon.address, "thing")
    try:
        request = codec.connect_request(SER, 0, "x" * 100_000, "thing", {"XTRA": b"y" * 50_000})
        assert link.handshake(conn, request, daemon.address).type == protocol.MSG_CONNECTOK
    finally:
        conn.close()
    assert SER.loads(daemon.received[0].data)["handshake"] == "x" * 100_000
    assert daemon.received[0].annotations["XTRA"] == b"y" * 50_000


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_daemon_that_closes_during_the_handshake(daemon_factory, timeout):
    daemon = daemon_factory(close_at_once=True)
    link = ProxyConnection(None, timeout)
    conn = link.open(daemon.address, "thing")
    try:
        daemon.thread.join(10)      # (it has closed its end)
        with pytest.raises(errors.CommunicationError, match="cannot connect to"):
            link.handshake(conn, codec.connect_request(SER, 0, "hello", "thing", {}), daemon.address)
    finally:
        conn.close()
