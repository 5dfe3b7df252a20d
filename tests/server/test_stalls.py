"""One misbehaving peer must not stall the server for the others (both server types).

Peers that send a partial header or body and then nothing, never do their TLS handshake, or don't read a
big result: meanwhile another client keeps getting answers within a short timeout; and with a lowered
PARTIAL_MESSAGE_TIMEOUT the stalled peer gets disconnected while an idle (between calls) client stays.
"""
from __future__ import annotations

import socket
import ssl
import struct
import time

import pytest

import Pyro5
from Pyro5 import protocol
from Pyro5.server import expose
from tests._support.certs import make_certs
from tests.server._helpers import RawClient, frame, wait_for
from tests.server._objects import Thing

QUICK = 2.0     # seconds another client may wait for an answer while a peer stalls


@expose
class Big:
    def blob(self, size):
        return b"x" * size

    def add(self, a, b):
        return a + b


@pytest.fixture(scope="module")
def certs():
    return make_certs()


def _ssl_context(certs):
    ctx = ssl.create_default_context(cafile=certs.ca_cert)
    ctx.load_cert_chain(certs.client_cert, certs.client_key)
    return ctx


def _ssl_server(certs):
    for name, value in certs.as_config("server", True).items():
        setattr(Pyro5.config, name, value)


def _raw_socket(address, timeout=5.0):
    s = socket.create_connection(address, timeout=timeout)
    return s


def _closed_by_server(sock, timeout=5.0):
    """True when the server closes the connection within the timeout (reads and discards anything sent)."""
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except (socket.timeout, TimeoutError):
        return False
    except (ConnectionError, OSError):
        return True
    return False


def _keeps_answering(address, object_id="thing", calls=5, **kwargs):
    with RawClient(address, timeout=QUICK, **kwargs) as c:
        msg, _ = c.connect(object_id)
        assert msg.type == protocol.MSG_CONNECTOK
        for i in range(calls):
            assert c.result(object_id, "add", i, 1) == i + 1


def _invoke(ser_name="serpent", seq=1):
    ser = Pyro5.serializers.serializers[ser_name]
    return protocol.SendingMessage(protocol.MSG_INVOKE, 0, seq, ser.serializer_id,
                                   ser.dumpsCall("thing", "add", (1, 2), {})).data


STALLS = {
    "header-before-handshake": (False, lambda: b"PYRO\x01"),
    "header-after-handshake": (True, lambda: _invoke()[:17]),
    "body-before-handshake": (False, lambda: frame(protocol.MSG_CONNECT, 1, 0, 0, b"x" * 50, data_len=1000)),
    "body-after-handshake": (True, lambda: _invoke()[:-3]),
}


@pytest.mark.parametrize("stall", sorted(STALLS))
def test_stalled_partial_message_does_not_block_others(servertype, start_daemon, stall):
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    handshake, data = STALLS[stall]
    stalled = RawClient(rd.address)
    try:
        if handshake:
            stalled.connect("thing")
        stalled.send_raw(data())
        _keeps_answering(rd.address)
        _keeps_answering(rd.address)
    finally:
        stalled.close()


@pytest.mark.parametrize("stall", sorted(STALLS))
def test_stalled_partial_message_is_dropped_idle_stays(servertype, start_daemon, stall):
    Pyro5.config.POLLTIMEOUT = 0.1
    rd = start_daemon()
    rd.daemon.limits.partial_message_timeout = 0.5
    rd.daemon.register(Thing, "thing")
    handshake, data = STALLS[stall]
    with RawClient(rd.address) as idle, RawClient(rd.address) as stalled:
        idle.connect("thing")
        if handshake:
            stalled.connect("thing")
        started = time.monotonic()
        stalled.send_raw(data())
        assert _closed_by_server(stalled.sock, 5.0), "stalled peer was not disconnected"
        assert time.monotonic() - started >= 0.4
        time.sleep(0.3)     # the idle client is now idle for longer than the partial-message limit
        assert idle.result("thing", "add", 2, 3) == 5, "an idle connection must stay"


def test_slow_but_steady_message_gets_through(servertype, start_daemon):
    """A message that arrives in pieces (within the limit) is served, byte by byte too."""
    rd = start_daemon()
    rd.daemon.limits.partial_message_timeout = 2.0
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address) as c:
        c.connect("thing")
        data = _invoke(seq=7)
        for i in range(len(data)):
            c.send_raw(data[i:i + 1])
            if i % 10 == 0:
                time.sleep(0.005)
        msg, result = c.receive()
        assert msg.seq == 7 and result == 3


def test_pipelined_messages_in_one_packet(servertype, start_daemon):
    """Several messages in one send (oneway calls followed by a normal call) are all processed."""
    Thing.oneway_calls.clear()
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    ser = Pyro5.serializers.serializers["serpent"]
    with RawClient(rd.address) as c:
        c.connect("thing")
        packet = b"".join(
            protocol.SendingMessage(protocol.MSG_INVOKE, protocol.FLAGS_ONEWAY, seq, ser.serializer_id,
                                    ser.dumpsCall("thing", "fire", (seq,), {})).data for seq in (1, 2, 3))
        packet += _invoke(seq=4)
        c.send_raw(packet)
        msg, result = c.receive()
        assert msg.seq == 4 and result == 3
        wait_for(lambda: len(Thing.oneway_calls) == 3)
        assert sorted(x for x, _ in Thing.oneway_calls) == [1, 2, 3]


def test_garbage_and_oversized_still_get_clear_errors(servertype, start_daemon):
    Pyro5.config.MAX_MESSAGE_SIZE = 1000
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address) as c:
        c.connect("thing")
        c.send_raw(frame(protocol.MSG_INVOKE, 1, 0, 1, b"", data_len=5000))
        msg, error = c.receive()
        assert msg.flags & protocol.FLAGS_EXCEPTION
        assert "too large" in str(error)
    with RawClient(rd.address) as c:
        c.send_raw(b"GET / HTTP/1.0\r\n\r\n")
        msg, reason = c.receive()
        assert msg.type == protocol.MSG_CONNECTFAIL and "not a Pyro message" in reason
    _keeps_answering(rd.address)


def test_tls_peer_that_never_handshakes(servertype, start_daemon, certs):
    Pyro5.config.POLLTIMEOUT = 0.1
    _ssl_server(certs)
    rd = start_daemon()
    rd.daemon.limits.partial_message_timeout = 1.0
    rd.daemon.register(Thing, "thing")
    silent = _raw_socket(rd.address)
    half = _raw_socket(rd.address)
    try:
        half.sendall(b"\x16\x03\x01\x02\x00\x01")     # the start of a TLS ClientHello, then nothing
        _keeps_answering(rd.address, ssl_context=_ssl_context(certs))
        _keeps_answering(rd.address, ssl_context=_ssl_context(certs))
        assert _closed_by_server(silent, 5.0), "never-handshaking TLS peer was not disconnected"
        assert _closed_by_server(half, 5.0), "half-handshaking TLS peer was not disconnected"
        _keeps_answering(rd.address, ssl_context=_ssl_context(certs))
    finally:
        silent.close()
        half.close()


def test_tls_partial_message_after_handshake(servertype, start_daemon, certs):
    _ssl_server(certs)
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address, ssl_context=_ssl_context(certs)) as stalled:
        stalled.connect("thing")
        stalled.send_raw(_invoke()[:30])
        _keeps_answering(rd.address, ssl_context=_ssl_context(certs))


@pytest.mark.parametrize("use_ssl", [False, True], ids=["plain", "tls"])
def test_peer_not_reading_big_result(servertype, start_daemon, certs, use_ssl):
    Pyro5.config.POLLTIMEOUT = 0.1
    kwargs = {}
    if use_ssl:
        _ssl_server(certs)
        kwargs["ssl_context"] = _ssl_context(certs)
    rd = start_daemon()
    rd.daemon.limits.partial_message_timeout = 1.0
    rd.daemon.register(Thing, "thing")
    rd.daemon.register(Big, "big")
    with RawClient(rd.address, **kwargs) as lazy:
        lazy.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        lazy.connect("big")
        lazy.send_call("big", "blob", (16 * 1024 * 1024,))     # and never reads the result
        _keeps_answering(rd.address, **kwargs)
        # the lazy client is dropped once it took nothing for too long
        wait_for(lambda: _num_connections(rd) == 0, timeout=8)
        _keeps_answering(rd.address, **kwargs)


def _num_connections(rd):
    server = rd.daemon.transportServer
    return len(server.connections) if hasattr(server, "connections") else len(server._connections)


def test_big_result_and_upload_are_delivered(servertype, start_daemon):
    rd = start_daemon()
    rd.daemon.register(Big, "big")
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address, serializer="marshal", timeout=20) as c:
        c.connect("big")
        assert c.result("big", "blob", 8 * 1024 * 1024) == b"x" * (8 * 1024 * 1024)
        big = b"y" * (6 * 1024 * 1024)
        assert c.call("thing", "echo", (big,))[1] == big


def test_many_idle_sockets_dont_block_multiplex(start_daemon):
    Pyro5.config.SERVERTYPE = "multiplex"
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    idle = [_raw_socket(rd.address) for _ in range(20)]
    try:
        for s in idle[:10]:
            s.sendall(struct.pack("!4sH", b"PYRO", 502))
        _keeps_answering(rd.address)
    finally:
        for s in idle:
            s.close()


def test_threadpool_refusal_is_clear_when_full_of_silent_sockets(start_daemon):
    """THREADPOOL_SIZE silent sockets occupy the workers: a new client gets a clear refusal, and once the
    silent ones are dropped (connect message limit) the server serves again."""
    Pyro5.config.SERVERTYPE = "thread"
    Pyro5.config.THREADPOOL_PER_CONNECTION = True     # (else silent sockets hold no worker at all)
    Pyro5.config.THREADPOOL_SIZE = 3
    Pyro5.config.THREADPOOL_SIZE_MIN = 1
    rd = start_daemon()
    rd.daemon.limits.handshake_timeout = 1.0
    rd.daemon.register(Thing, "thing")
    silent = [_raw_socket(rd.address) for _ in range(3)]
    try:
        wait_for(lambda: rd.daemon.transportServer.pool.num_busy == 3)
        with RawClient(rd.address) as c:
            msg, reason = c.connect("thing")
            assert msg.type == protocol.MSG_CONNECTFAIL
            assert "server is busy" in reason and "THREADPOOL_SIZE" in reason
        for s in silent:
            assert _closed_by_server(s, 5.0)
        wait_for(lambda: rd.daemon.transportServer.pool.num_busy == 0)
        _keeps_answering(rd.address)
    finally:
        for s in silent:
            s.close()
