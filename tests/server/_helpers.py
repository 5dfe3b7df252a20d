"""Helpers for the server tests: a daemon running in a thread, and a raw wire-level client.

The raw client speaks protocol 502 with Pyro5.protocol / Pyro5.serializers only (no Pyro5.client), so the
server is tested independently of our Proxy, and can be sent crafted messages a Proxy would never send.
"""
from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from typing import Any, Callable

import pytest

import Pyro5
from Pyro5 import protocol, serializers
from Pyro5.server import Daemon

SERVERTYPES = ["thread", "multiplex"]
HEADER = struct.Struct("!4sHBBHHII16sHH")


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll until predicate() is truthy (returns its value); fails the test after the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met within %.1f s" % timeout)
        time.sleep(interval)


class RunningDaemon:
    """A daemon whose requestLoop runs in a background thread; stop() shuts it down (teardown)."""

    def __init__(self, daemon: Daemon, loop_condition: Callable[[], bool] | None = None) -> None:
        self.daemon = daemon
        args = (loop_condition,) if loop_condition else ()
        self.thread = threading.Thread(target=daemon.requestLoop, args=args, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.daemon.sock.getsockname()[1]

    @property
    def address(self) -> Any:
        return self.daemon.sock.getsockname()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.daemon.shutdown()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "daemon request loop did not stop"
        self.daemon.close()


def frame(msgtype: int, serializer_id: int, flags: int, seq: int, payload: bytes, annotations: dict | None = None,
          version: int = 502, magic: int = 0x4DC5, data_len: int | None = None, corr: bytes = b"\0" * 16) -> bytes:
    """A hand-made wire message (for crafted / malformed messages)."""
    ann = b"".join(k.encode() + struct.pack("!I", len(v)) + v for k, v in (annotations or {}).items())
    header = HEADER.pack(b"PYRO", version, msgtype, serializer_id, flags, seq,
                         len(payload) if data_len is None else data_len, len(ann), corr, 0, magic)
    return header + ann + payload


class _SockConn:
    """Minimal connection object for protocol.recv_stub."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv(self, size: int) -> bytes:
        chunks = []
        while size:
            data = self.sock.recv(size)
            if not data:
                break
            chunks.append(data)
            size -= len(data)
        return b"".join(chunks)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


class RawClient:
    """Talks protocol 502 directly: connect() does the handshake, call() one request/response."""

    def __init__(self, address: Any, serializer: str = "serpent", timeout: float = 5.0,
                 ssl_context: ssl.SSLContext | None = None, sock: socket.socket | None = None) -> None:
        if sock is None:
            family = socket.AF_UNIX if isinstance(address, str) else (
                socket.AF_INET6 if ":" in address[0] else socket.AF_INET)
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            sock.connect(address)
            if ssl_context is not None:
                sock = ssl_context.wrap_socket(sock, server_hostname="localhost")
        else:
            sock.settimeout(timeout)
        self.sock = sock
        self.conn = _SockConn(sock)
        self.ser = serializers.serializers[serializer]
        self.seq = 0

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def receive(self) -> tuple[Any, Any]:
        """(message, decoded payload) of the next message from the server."""
        msg = protocol.recv_stub(self.conn)
        if msg.type == protocol.MSG_PING:
            return msg, msg.data
        ser = serializers.serializers_by_id[msg.serializer_id]
        return msg, ser.loads(msg.data)

    def connect(self, object_id: str, handshake: Any = "hello", annotations: dict | None = None) -> tuple[Any, Any]:
        payload = self.ser.dumps({"handshake": handshake, "object": object_id})
        self.send_raw(protocol.SendingMessage(protocol.MSG_CONNECT, 0, 0, self.ser.serializer_id, payload,
                                              annotations).data)
        return self.receive()

    def send_call(self, object_id: str, method: str, vargs: Any = (), kwargs: Any = None, flags: int = 0,
                  annotations: dict | None = None) -> int:
        self.seq = (self.seq + 1) & 0xFFFF
        payload = self.ser.dumpsCall(object_id, method, vargs, kwargs if kwargs is not None else {})
        self.send_raw(protocol.SendingMessage(protocol.MSG_INVOKE, flags, self.seq, self.ser.serializer_id,
                                              payload, annotations).data)
        return self.seq

    def call(self, object_id: str, method: str, vargs: Any = (), kwargs: Any = None, flags: int = 0,
             annotations: dict | None = None) -> tuple[Any, Any]:
        seq = self.send_call(object_id, method, vargs, kwargs, flags, annotations)
        msg, data = self.receive()
        assert msg.seq == seq
        return msg, data

    def result(self, object_id: str, method: str, *vargs: Any, **kwargs: Any) -> Any:
        """Call and return the result, raising the remote exception (with its _pyroTraceback)."""
        msg, data = self.call(object_id, method, vargs, kwargs)
        if msg.flags & protocol.FLAGS_EXCEPTION:
            raise data
        return data


def is_exception(msg: Any) -> bool:
    return bool(msg.flags & protocol.FLAGS_EXCEPTION)


def config_items(**items: Any) -> None:
    for name, value in items.items():
        setattr(Pyro5.config, name, value)


# --------------------------------------------------------------------------- fixtures (imported by conftests)

@pytest.fixture(params=SERVERTYPES)
def servertype(request):
    """Each server type; sets config.SERVERTYPE (the config is reset after every test)."""
    Pyro5.config.SERVERTYPE = request.param
    return request.param


@pytest.fixture
def start_daemon():
    """start_daemon(daemon_class=Daemon, loop_condition=None, **daemon_kwargs) -> RunningDaemon; all are
    stopped at teardown."""
    running: list[RunningDaemon] = []

    def start(daemon_class=Daemon, loop_condition=None, **kwargs) -> RunningDaemon:
        kwargs.setdefault("host", "127.0.0.1")
        if kwargs.get("unixsocket") or kwargs.get("connected_socket") is not None:
            kwargs.pop("host")
        rd = RunningDaemon(daemon_class(**kwargs), loop_condition)
        running.append(rd)
        return rd

    yield start
    for rd in running:
        rd.stop()
