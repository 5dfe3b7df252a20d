"""Micro-benchmark of the receiving side of the wire protocol, without sockets (CPU only).

    python bench/wire_reader.py               # this checkout's Pyro5 (hatch run bench:python bench/wire_reader.py)
    PYTHONPATH=<other checkout>/packages/pyro5-wire/src python bench/wire_reader.py   # another version, to compare

For a small call message (serpent, ~150 bytes) and a 10 MiB message it measures, per message:
- recv_stub: protocol.recv_stub over an in-memory connection whose recv(n) returns a copy of the next n bytes
  (as a socket's recv() does), i.e. the path the servers and the client use today;
- feed-whole: MessageReader.feed() given one buffer with the whole message (a multiplex read);
- feed-64k: MessageReader.feed() given the message in 64 KiB pieces (how a large message arrives);
- recv_into: the recv_buffer()/received() interface, each 'recv_into' copying at most 256 KiB (like a kernel).
Each figure is the best of several rounds: microseconds of CPU per message and MB/s. Versions without
MessageReader (before it existed) report the recv_stub line only.

The second table receives the same messages over a socketpair (a sender thread writes them) and reports the
receiving thread's CPU time per message for the ways a transport can receive:
- ThreadConnection+recv_stub: the thread-pool server today (its buffered connection, chunked recv_into);
- SocketConnection+recv_stub: the client and plain-socket path (recv with MSG_WAITALL);
- reader.feed(recv(needed)): a MessageReader fed with recv(min(needed, 1 MiB)) results;
- reader.feed(recv(>=64 KiB)): the same with recv(max(64 KiB, min(needed, 1 MiB))): one recv() for a small
  message (the reader keeps any bytes of the next message);
- reader.recv_into: the recv_buffer(1 MiB)/received() interface.
"""
from __future__ import annotations

import socket
import sys
import threading
import time
from typing import Any, Callable

from Pyro5 import protocol, serializers

ROUNDS = 5


class MemConnection:
    """recv(n) returns the next n bytes of a message that repeats forever (a copy, as from a socket)."""

    def __init__(self, message: bytes) -> None:
        self.message = message
        self.view = memoryview(message)
        self.pos = 0

    def recv(self, size: int) -> bytes:
        pos = self.pos
        data = self.view[pos:pos + size].tobytes()
        self.pos = (pos + size) % len(self.message)
        return data


def best(fn: Callable[[], Any], count: int) -> float:
    """Best CPU seconds per call of fn, over ROUNDS rounds of `count` calls."""
    times = []
    for _ in range(ROUNDS):
        start = time.process_time()
        for _ in range(count):
            fn()
        times.append((time.process_time() - start) / count)
    return min(times)


def cases(message: bytes) -> dict[str, Callable[[], Any]]:
    conn = MemConnection(message)
    out: dict[str, Callable[[], Any]] = {"recv_stub": lambda: protocol.recv_stub(conn)}
    reader_class = getattr(protocol, "MessageReader", None)
    if reader_class is None:
        return out
    reader = reader_class()
    pieces = [message[i:i + 65536] for i in range(0, len(message), 65536)]
    view = memoryview(message)

    def feed_whole() -> None:
        assert len(reader.feed(message)) == 1

    def feed_64k() -> None:
        got = []
        for piece in pieces:
            got += reader.feed(piece)
        assert len(got) == 1

    def recv_into() -> None:
        pos = 0
        while True:
            with reader.recv_buffer(256 * 1024) as buf:
                n = len(buf)
                buf[:] = view[pos:pos + n]
            pos += n
            got = reader.received(n)
            if got:
                return

    out.update({"feed-whole": feed_whole, "feed-64k": feed_64k, "recv_into": recv_into})
    return out


def main() -> None:
    ser = serializers.serializers["serpent"]
    small = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 1, ser.serializer_id,
                                    ser.dumpsCall("obj_12345", "method", (1, "two", 3.0), {"k": "v"})).data
    big = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 2, b"\x01" * (10 * 1024 * 1024)).data
    print("Pyro5 from %s, Python %s" % (protocol.__file__, sys.version.split()[0]))
    print("| message | path | CPU us/message | MB/s |")
    print("|---|---|---:|---:|")
    for label, message, count in (("small (%d B)" % len(small), small, 20000), ("10 MiB", big, 20)):
        for name, fn in cases(message).items():
            seconds = best(fn, count)
            print("| %s | %s | %.2f | %.0f |" % (label, name, seconds * 1e6, len(message) / seconds / 1e6))


def socket_receivers() -> dict[str, Callable[[Any], Callable[[], Any]]]:
    from Pyro5.socketutil import SocketConnection
    out: dict[str, Callable[[Any], Callable[[], Any]]] = {}
    try:
        from Pyro5._svr_conn import ThreadConnection
    except ImportError:     # (no pyro5-server installed)
        pass
    else:
        def thread_connection(sock: Any) -> Callable[[], Any]:
            conn = ThreadConnection(sock, None, 30.0)

            def receive() -> Any:
                conn.begin_message()
                return protocol.recv_stub(conn)
            return receive
        out["ThreadConnection+recv_stub"] = thread_connection
    out["SocketConnection+recv_stub"] = lambda sock: (lambda conn=SocketConnection(sock): protocol.recv_stub(conn))
    reader_class = getattr(protocol, "MessageReader", None)
    if reader_class is None:
        return out

    def feed_recv(sock: Any) -> Callable[[], Any]:
        reader = reader_class()

        def receive() -> Any:
            while True:
                messages = reader.feed(sock.recv(min(reader.needed, 1 << 20)))
                if messages:
                    return messages[0]
        return receive

    def recv_into(sock: Any) -> Callable[[], Any]:
        reader = reader_class()

        def receive() -> Any:
            while True:
                with reader.recv_buffer(1 << 20) as buf:
                    n = sock.recv_into(buf)
                messages = reader.received(n)
                if messages:
                    return messages[0]
        return receive

    def feed_recv_more(sock: Any) -> Callable[[], Any]:
        reader = reader_class()
        pending: list = []

        def receive() -> Any:
            while not pending:
                pending.extend(reader.feed(sock.recv(max(65536, min(reader.needed, 1 << 20)))))
            return pending.pop(0)
        return receive

    out["reader.feed(recv(needed))"] = feed_recv
    out["reader.feed(recv(>=64 KiB))"] = feed_recv_more
    out["reader.recv_into"] = recv_into
    return out


def send_all(sock: Any, message: bytes, count: int) -> None:
    for _ in range(count):
        sock.sendall(message)


def over_socket(message: bytes, count: int, make_receiver: Callable[[Any], Callable[[], Any]]) -> float:
    """Best receiving-thread CPU seconds per message over a socketpair."""
    times = []
    for _ in range(ROUNDS):
        a, b = socket.socketpair()
        a.settimeout(60)
        b.settimeout(60)
        sender = threading.Thread(target=send_all, args=(a, message, count), daemon=True)
        receive = make_receiver(b)
        sender.start()
        start = time.thread_time()
        for _ in range(count):
            assert len(receive().data) == len(message) - 40
        times.append((time.thread_time() - start) / count)
        sender.join(60)
        a.close()
        b.close()
    return min(times)


def main_sockets() -> None:
    ser = serializers.serializers["serpent"]
    small = protocol.SendingMessage(protocol.MSG_INVOKE, 0, 1, ser.serializer_id,
                                    ser.dumpsCall("obj_12345", "method", (1, "two", 3.0), {"k": "v"})).data
    big = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 2, b"\x01" * (10 * 1024 * 1024)).data
    print()
    print("| message | over a socketpair | receiver CPU us/message | MB/s |")
    print("|---|---|---:|---:|")
    for label, message, count in (("small (%d B)" % len(small), small, 5000), ("10 MiB", big, 10)):
        for name, make in socket_receivers().items():
            seconds = over_socket(message, count, make)
            print("| %s | %s | %.2f | %.0f |" % (label, name, seconds * 1e6, len(message) / seconds / 1e6))


if __name__ == "__main__":
    main()
    main_sockets()
