"""Issue 16 item 1: a marshal body declaring a huge container is refused before anything is allocated, on every path
that decodes marshal: the serializer itself, a daemon (both server types, before and after the handshake) and a
client whose server answers with such a body.

The bound asserted is the peak of Python's allocations (tracemalloc) while the bomb is handled, or the growth of
the peak resident memory of a separate process: a 15-byte message declaring a tuple of 100,000,000 elements made
marshal.loads allocate (and touch) 763 MiB.
"""
from __future__ import annotations

import contextlib
import marshal
import socket
import struct
import subprocess
import sys
import threading

import pytest

import Pyro5
from Pyro5 import errors, protocol, serializers
from tests._support.memory import peak_allocation

MIB = 1024 * 1024
BOMB = b"(" + struct.pack("<i", 100_000_000) + b"NNNNNNNNNN"       # 15 bytes: a tuple of 100 million elements
NESTED = (b"(" + struct.pack("<i", 3)) * 3 + b"[" + struct.pack("<i", 10_000_000) + b"N" * 20
CALL_BOMB = b")\x04\xda\x03obj\xda\x04meth" + b"[" + struct.pack("<i", 200_000_000) + b"N" * 8 + b"0"
MARSHAL_ID = serializers.serializers["marshal"].serializer_id


def test_the_measurement_sees_what_marshal_allocates():
    """Calibration: the same kind of bomb, 100x smaller, given to marshal.loads itself, shows up as 7+ MiB."""
    small_bomb = b"(" + struct.pack("<i", 1_000_000) + b"N" * 10
    with peak_allocation() as peak, pytest.raises(EOFError):
        marshal.loads(small_bomb)
    assert peak[0] > 7 * MIB


@pytest.mark.parametrize("data", [BOMB, NESTED, CALL_BOMB], ids=["tuple", "nested", "call"])
def test_serializer_refuses_without_allocating(data):
    ser = serializers.serializers["marshal"]
    with peak_allocation() as peak:
        for load in (ser.loads, ser.loadsCall, serializers.checked_marshal_loads):
            with pytest.raises(errors.SerializeError, match="declares"):
                load(data)
    assert peak[0] < 256 * 1024


def test_resident_memory_stays_flat_in_a_fresh_process():
    code = ("import resource, Pyro5.serializers as s\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try:\n    s.serializers['marshal'].loads(%r)\nexcept Exception as x:\n    print(type(x).__name__)\n"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)\n" % BOMB)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    name, grown_mib = p.stdout.split()
    assert name == "SerializeError"
    assert int(grown_mib) < 16


# --- over the wire -------------------------------------------------------------------------------------------

pytest.importorskip("Pyro5.server")
from Pyro5.server import Daemon, expose  # noqa: E402
from tests.server._helpers import RawClient, RunningDaemon, frame  # noqa: E402


@expose
class Echo:
    def echo(self, x):
        return x


@pytest.fixture(params=["thread", "multiplex"])
def daemon(request):
    Pyro5.config.SERVERTYPE = request.param
    rd = RunningDaemon(Daemon(host="127.0.0.1"))
    rd.daemon.register(Echo, "echo")
    yield rd
    rd.stop()


def _still_serves(rd: RunningDaemon) -> None:
    with RawClient(rd.address, serializer="marshal", timeout=10) as c:
        msg, _ = c.connect("echo")
        assert msg.type == protocol.MSG_CONNECTOK
        assert c.result("echo", "echo", [1, 2, 3]) == [1, 2, 3]


def test_daemon_refuses_the_bomb_as_first_message(daemon):
    with peak_allocation() as peak, RawClient(daemon.address, serializer="marshal", timeout=10) as c:
        c.send_raw(frame(protocol.MSG_CONNECT, MARSHAL_ID, 0, 0, BOMB))
        msg, reason = c.receive()
        assert msg.type == protocol.MSG_CONNECTFAIL
        assert "declares 100000000 elements" in str(reason)
    assert peak[0] < 4 * MIB
    _still_serves(daemon)


def test_daemon_refuses_the_bomb_as_a_call(daemon):
    with RawClient(daemon.address, serializer="marshal", timeout=10) as c:
        c.connect("echo")
        with peak_allocation() as peak:
            c.send_raw(frame(protocol.MSG_INVOKE, MARSHAL_ID, 0, 5, CALL_BOMB))
            msg, error = c.receive()
        assert msg.seq == 5 and msg.flags & protocol.FLAGS_EXCEPTION
        assert isinstance(error, errors.SerializeError) and "declares 200000000 elements" in str(error)
        assert c.result("echo", "echo", "after") == "after"      # the connection goes on
    assert peak[0] < 4 * MIB


class HostileServer:
    """Accepts one connection and answers the handshake (or the first call) with a marshal bomb."""

    def __init__(self, bomb_in: str) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.bomb_in = bomb_in
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def uri(self) -> str:
        return "PYRO:echo@127.0.0.1:%d" % self.listener.getsockname()[1]

    def _serve(self) -> None:
        with contextlib.suppress(OSError, errors.PyroError):
            sock, _ = self.listener.accept()
            with sock:
                sock.settimeout(10)
                conn = _Conn(sock)
                request = protocol.recv_stub(conn)
                if self.bomb_in == "handshake":
                    sock.sendall(frame(protocol.MSG_CONNECTOK, MARSHAL_ID, 0, request.seq, BOMB))
                    return
                ok = serializers.serializers["marshal"].dumps(
                    {"handshake": "hello", "meta": {"methods": ["echo"], "oneway": [], "attrs": []}})
                sock.sendall(frame(protocol.MSG_CONNECTOK, MARSHAL_ID, 0, request.seq, ok))
                call = protocol.recv_stub(conn)
                sock.sendall(frame(protocol.MSG_RESULT, MARSHAL_ID, 0, call.seq, BOMB))
                with contextlib.suppress(OSError, errors.PyroError):
                    protocol.recv_stub(conn)      # until the client closes

    def close(self) -> None:
        self.listener.close()
        self.thread.join(10)
        assert not self.thread.is_alive()


class _Conn:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv(self, size: int) -> bytes:
        from Pyro5.socketutil import receive_data
        return receive_data(self.sock, size)


@pytest.mark.parametrize("bomb_in", ["handshake", "result"])
def test_client_refuses_the_bomb_from_a_hostile_server(bomb_in):
    pytest.importorskip("Pyro5.client")
    from Pyro5.client import Proxy
    Pyro5.config.SERIALIZER = "marshal"
    server = HostileServer(bomb_in)
    try:
        with peak_allocation() as peak, Proxy(server.uri) as proxy:
            proxy._pyroTimeout = 10
            with pytest.raises(errors.PyroError) as exc:
                proxy.echo(1)
        assert "declares 100000000 elements" in str(exc.value) or \
            "declares 100000000 elements" in str(exc.value.__cause__)
    finally:
        server.close()
    assert peak[0] < 4 * MIB
