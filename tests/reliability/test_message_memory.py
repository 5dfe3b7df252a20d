"""Issue 16 item 6: big messages cost their size once, not a multiple of it; a connection can't make the receiver
buffer more than MAX_PREHANDSHAKE_SIZE before its handshake.

Bounds are on the peak of Python's allocations (tracemalloc) while a message is built or received, in bytes.
Before these changes: a compressed message inflating to N cost 2N at peak (zlib joins its output blocks), a big
annotation chunk cost its size three times (payload, slice copy, value), a compressed first message could inflate to
MAX_MESSAGE_SIZE before any handshake.
"""
from __future__ import annotations

import contextlib
import socket
import threading
import zlib

import pytest

import Pyro5
from Pyro5 import errors, protocol
from Pyro5.socketutil import SocketConnection
from tests._support.memory import peak_allocation

MIB = 1024 * 1024
SIZE = 48 * MIB
SLACK = 2 * MIB     # headers, the decompression step, Python's own bookkeeping


@contextlib.contextmanager
def sender(data_parts):
    """A blocking socketpair; a thread sends the parts on one end; yields the receiving SocketConnection."""
    a, b = socket.socketpair()
    b.settimeout(None)          # blocking: the MSG_WAITALL fast path receives each part into one bytes object

    def send():
        with contextlib.suppress(OSError):
            for part in data_parts:
                a.sendall(part)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    try:
        yield SocketConnection(b)
    finally:
        a.close()
        b.close()
        t.join(10)
        assert not t.is_alive()


def _compressed_message(size: int, msgtype: int = protocol.MSG_INVOKE) -> bytes:
    body = zlib.compress(b"\x5a" * size, 9)
    header = bytearray(protocol.SendingMessage(msgtype, 0, 1, 1, body).data[:40])
    header[9] |= protocol.FLAGS_COMPRESSED
    return bytes(header) + body


def test_decompression_costs_the_output_once():
    Pyro5.config.MAX_MESSAGE_SIZE = SIZE + MIB
    data = _compressed_message(SIZE)
    with peak_allocation() as peak:
        msg = protocol.ReceivingMessage(data[:40], data[40:])
        assert len(msg.data) == SIZE and type(msg.data) is bytes
        del msg
    assert peak[0] < SIZE + SLACK          # was 2 x SIZE


def test_decompression_over_the_socket_costs_the_output_once():
    Pyro5.config.MAX_MESSAGE_SIZE = SIZE + MIB
    data = _compressed_message(SIZE)
    with sender([data]) as conn, peak_allocation() as peak:
        msg = protocol.recv_stub(conn)
        assert len(msg.data) == SIZE
        del msg
    assert peak[0] < SIZE + len(data) + SLACK


def test_decompression_bomb_stops_at_the_limit():
    Pyro5.config.MAX_MESSAGE_SIZE = 8 * MIB
    data = _compressed_message(SIZE)         # inflates to 6x the limit
    with peak_allocation() as peak:
        with pytest.raises(errors.ProtocolError, match="MAX_MESSAGE_SIZE=8388608"):
            protocol.ReceivingMessage(data[:40], data[40:])
    assert peak[0] < SLACK


def test_big_annotation_is_received_once():
    value = b"\x01" * SIZE
    message = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 1, 1, b"payload", {"BIGA": value, "XTRA": b"x"})
    parts = message.parts
    assert any(part is value for part in parts)       # built without copying the value behind its chunk header
    del value
    with sender(parts) as conn, peak_allocation() as peak:
        msg = protocol.recv_stub(conn)
        assert len(msg.annotations["BIGA"]) == SIZE and msg.annotations["XTRA"] == b"x" and msg.data == b"payload"
        del msg
    assert peak[0] < SIZE + SLACK           # was 3 x SIZE


def test_building_a_message_with_a_big_annotation_does_not_copy_it():
    value = b"\x02" * SIZE
    with peak_allocation() as peak:
        message = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"x" * 100, {"BIGA": value})
    assert peak[0] < SLACK
    assert b"".join(message.parts) == message.data      # the parts are the message
    assert message.annotations_size == SIZE + 8


def test_add_payload_parts_keeps_the_data():
    data = b"\x03" * SIZE
    header = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, data, {"ANNO": b"abc"}).data[:40]
    with peak_allocation() as peak:
        msg = protocol.ReceivingMessage(header)
        msg.add_payload_parts(b"ANNO\x00\x00\x00\x03abc", data)
    assert msg.data is data and msg.annotations == {"ANNO": b"abc"}
    assert peak[0] < SLACK


# --- before the handshake ---------------------------------------------------------------------------------------

def test_prehandshake_limit_from_the_header():
    assert Pyro5.config.MAX_PREHANDSHAKE_SIZE == 64 * 1024
    assert protocol.message_size_limit(True) == 64 * 1024
    assert protocol.message_size_limit(False) == Pyro5.config.MAX_MESSAGE_SIZE
    big = protocol.SendingMessage(protocol.MSG_CONNECT, 0, 0, 1, b"x" * (64 * 1024 + 1)).data
    with pytest.raises(errors.MessageTooLargeError, match="MAX_PREHANDSHAKE_SIZE=65536"):
        protocol.ReceivingMessage(big[:40], prehandshake=True)
    protocol.ReceivingMessage(big[:40], big[40:])          # after the handshake, the same message is fine
    Pyro5.config.MAX_PREHANDSHAKE_SIZE = 0                  # 0: no separate limit
    protocol.ReceivingMessage(big[:40], big[40:], prehandshake=True)


def test_prehandshake_header_claiming_a_gigabyte_is_refused_before_reading():
    header = bytearray(protocol.SendingMessage(protocol.MSG_CONNECT, 0, 0, 1, b"").data)
    header[12:16] = (1024 * MIB - 100).to_bytes(4, "big")
    with sender([bytes(header), b"never read"]) as conn, peak_allocation() as peak:
        with pytest.raises(errors.MessageTooLargeError, match="before the handshake"):
            protocol.recv_stub(conn, [protocol.MSG_CONNECT], prehandshake=True)
    assert peak[0] < 64 * 1024


def test_prehandshake_compressed_message_is_bounded_by_the_small_limit():
    data = _compressed_message(SIZE, protocol.MSG_CONNECT)     # ~50 KiB on the wire, inflating to 48 MiB
    assert len(data) < 64 * 1024
    with sender([data]) as conn, peak_allocation() as peak:
        with pytest.raises(errors.ProtocolError, match="MAX_PREHANDSHAKE_SIZE=65536"):
            protocol.recv_stub(conn, [protocol.MSG_CONNECT], prehandshake=True)
    assert peak[0] < 2 * MIB      # one decompression step beyond 64 KiB, not 48 MiB


# --- the servers' side -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("servertype", ["thread", "multiplex"])
def test_daemon_refuses_a_big_message_before_the_handshake(servertype):
    pytest.importorskip("Pyro5.server")
    from Pyro5.server import Daemon
    from tests.server._helpers import RawClient, RunningDaemon
    Pyro5.config.SERVERTYPE = servertype
    rd = RunningDaemon(Daemon(host="127.0.0.1"))
    try:
        with RawClient(rd.address, serializer="serpent", timeout=10) as c:
            try:
                msg, reason = c.connect("Pyro.Daemon", handshake="h" * MIB)    # a 1 MiB connect message
            except errors.ConnectionClosedError:
                return      # refused by closing the connection: fine
            assert msg.type == protocol.MSG_CONNECTFAIL and "MAX_PREHANDSHAKE_SIZE" in str(reason)
    finally:
        rd.stop()
