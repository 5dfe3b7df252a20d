"""The blocking stream layer (Pyro5._wire_stream): one deadline for a whole send (all parts of a message) and for
a whole message receive, not one timeout per system call; parts are sent without being joined.

The deadline tests use a peer that keeps the transfer going slowly (some bytes every 20 ms): with a timeout per
send()/recv() call such a transfer would never time out and would complete; with one deadline for the operation
it must end in TimeoutError. They assert on the outcome, never on elapsed time."""
from __future__ import annotations

import contextlib
import socket
import threading

import pytest

from Pyro5 import _wire_stream, errors, protocol
from Pyro5._wire_stream import Deadline

MIB = 1024 * 1024


@contextlib.contextmanager
def pair(timeout=None):
    a, b = socket.socketpair()
    a.settimeout(timeout)
    b.settimeout(10)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


@contextlib.contextmanager
def background(fn):
    stop = threading.Event()
    t = threading.Thread(target=fn, args=(stop,), daemon=True)
    t.start()
    try:
        yield stop
    finally:
        stop.set()
        t.join(10)


def receive_all(sock, size):
    chunks, got = [], 0
    while got < size:
        data = sock.recv(min(MIB, size - got))
        assert data
        chunks.append(data)
        got += len(data)
    return b"".join(chunks)


@pytest.mark.parametrize("timeout", [None, 5.0, 0.0])
def test_send_parts_arrive_as_one_stream(timeout):
    parts = (b"head" * 10, bytearray(b"annotation"), memoryview(b"x" * (3 * MIB + 7)), b"", b"tail")
    expected = b"".join(bytes(p) for p in parts)
    with pair(timeout) as (a, b):
        result = []
        with background(lambda stop: result.append(receive_all(b, len(expected)))):
            _wire_stream.send(a, parts, 5.0)
        assert result == [expected]
        assert a.gettimeout() == timeout        # the socket's own timeout is restored


def test_one_deadline_for_a_whole_send():
    """The peer takes 4 KiB every 20 ms: each send() call progresses, but the 6 MiB can't go within 0.3 s."""
    with pair(0.3) as (a, b):
        b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

        def trickle(stop):
            while not stop.wait(0.02):
                with contextlib.suppress(OSError):
                    if not b.recv(4096):
                        return
        with background(trickle):
            with pytest.raises(errors.TimeoutError):
                _wire_stream.send(a, (b"h" * 40, b"p" * (6 * MIB)), 0.3)
        assert a.gettimeout() == 0.3


def test_send_deadline_grows_with_the_transfer_rate():
    deadline = Deadline(1.0, rate=1000)
    assert deadline.remaining(0) <= 1.0
    assert deadline.remaining(5000) > 5.0       # one second more per `rate` bytes transferred
    assert Deadline(None).remaining(10) is None


def _message(seq=1, size=1000):
    return protocol.SendingMessage(protocol.MSG_RESULT, 0, seq, 1, b"r" * size, correlation_id=None).data


def test_one_deadline_for_a_whole_receive():
    """The peer sends a message one byte every 20 ms: every recv() gets data, the message does not come in time."""
    data = _message()
    with pair() as (a, b):
        def trickle(stop):
            for i in range(len(data)):
                if stop.wait(0.02):
                    return
                b.send(data[i:i + 1])
        with background(trickle):
            with pytest.raises(errors.TimeoutError):
                _wire_stream.recv_message(a, protocol.MessageReader(), 0.3)
        assert a.gettimeout() is None


def test_receive_messages_that_came_together():
    with pair(5.0) as (a, b):
        third = _message(3)
        b.sendall(_message(1) + _message(2, 200000) + third[:50])
        reader = protocol.MessageReader()
        first = _wire_stream.recv_message(a, reader, 5.0)
        assert [m.seq for m in first] == [1]
        second = _wire_stream.recv_message(a, reader, 5.0)
        assert [m.seq for m in second] == [2] and second[0].data == b"r" * 200000
        b.sendall(third[50:] + _message(4))
        rest = _wire_stream.recv_message(a, reader, 5.0)
        assert [m.seq for m in rest] in ([3], [3, 4])


def test_idle_wait_then_the_message_deadline():
    """With `idle`, the wait for the first byte has its own limit; the message's deadline starts at its first
    byte (the servers between requests)."""
    with pair() as (a, b):
        with pytest.raises(errors.TimeoutError, match="no request within"):
            _wire_stream.recv_message(a, protocol.MessageReader(), 5.0, idle=0.05)
        b.sendall(_message()[:30])
        with pytest.raises(errors.TimeoutError, match="stalled"):
            _wire_stream.recv_message(a, protocol.MessageReader(), 0.1, idle=5.0,
                                      timeout_error=lambda got: errors.TimeoutError("stalled after %d" % got))


def test_receive_closed_and_partial_data():
    with pair(5.0) as (a, b):
        b.sendall(b"12345")
        b.shutdown(socket.SHUT_WR)
        with pytest.raises(errors.ConnectionClosedError) as exc:
            _wire_stream.recv_exact(a, 10, 5.0)
        assert exc.value.partialData == b"12345"
    with pair(5.0) as (a, b):
        b.sendall(_message()[:60])
        b.shutdown(socket.SHUT_WR)
        with pytest.raises(errors.ConnectionClosedError, match="received 60 of 1040 bytes"):
            _wire_stream.recv_message(a, protocol.MessageReader(), 5.0)
    with pair(5.0) as (a, b):
        b.shutdown(socket.SHUT_WR)
        with pytest.raises(errors.ConnectionClosedError, match="closed by the daemon"):
            _wire_stream.recv_message(a, protocol.MessageReader(), 5.0, peer="daemon")


def test_send_nowait_keeps_what_the_socket_did_not_take():
    with pair(0.0) as (a, b):
        views = _wire_stream.as_views((b"a" * 10, b"b" * (8 * MIB)))
        sent = _wire_stream.send_nowait(a, views)
        assert 0 < sent < 8 * MIB + 10
        assert sum(v.nbytes for v in views) == 8 * MIB + 10 - sent
        received = receive_all(b, sent)
        assert received[:10] == b"a" * 10 and set(received[10:]) == {ord("b")}


@pytest.mark.skipif(_wire_stream._BYTES_DATA is None, reason="needs CPython's bytes layout")
def test_a_big_bytes_part_the_kernel_would_copy_slowly_is_sent_from_a_copy():
    # the kernel copies a buffer slowly into the socket's (4 KiB aligned) pages when its first byte lands 1..31
    # bytes past the source's offset within a page (AMD EPYC: twice the CPU on both sides for 1 MiB): such a part
    # is sent from a copy placed elsewhere; every other part is sent as it is (no copy)
    big = bytes(range(256)) * 4096
    address = id(big) + _wire_stream._BYTES_DATA
    slow_pos = (address + 5) % 4096 + 4096
    head = b"h" * slow_pos
    views = _wire_stream.as_views([head, big, b"tail"])
    assert [v.tobytes() for v in views] == [head, big, b"tail"]
    assert views[0].obj is head and views[2].obj == b"tail"
    assert views[1].obj is not big
    assert not _wire_stream._slow_copy(slow_pos, id(views[1].obj) + _wire_stream._BYTES_DATA
                                       + (len(views[1].obj) - len(big)))
    for pos in (slow_pos + 40, slow_pos - 10, 0):       # (not in the slow span, or the first part: as it is)
        views = _wire_stream.as_views([b"h" * pos, big] if pos else [big])
        assert views[-1].obj is big
    small = bytes(1000)
    pos = (id(small) + _wire_stream._BYTES_DATA + 5) % 4096 + 4096
    assert _wire_stream.as_views([b"h" * pos, small])[1].obj is small     # (small parts: never copied)
    with pair(5.0) as (a, b):
        result = []
        with background(lambda stop: result.append(receive_all(b, len(head) + len(big) + 4))):
            _wire_stream.send(a, [head, big, b"tail"], 5.0)
        assert result == [head + big + b"tail"]
