"""Large messages: once the header tells the size, the server receives the rest in chunks with recv_into and
hands the daemon one payload (both server types). These tests check that such messages arrive intact in
every shape (split anywhere, with annotations, compressed, followed by more messages in the same packet),
that a peer stalling in the middle of one is still cut off, and that a header merely claiming a huge size
does not make the server allocate that much."""
from __future__ import annotations

import os
import socket
import ssl
import time
import zlib

import pytest

import Pyro5
from Pyro5 import protocol, serializers
from tests._support.certs import make_certs
from tests.server._helpers import RawClient, frame, wait_for
from tests.server._objects import Thing

MIB = 1024 * 1024


def _closed_by_server(sock, timeout=5.0):
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not sock.recv(65536):
                return True
    except (socket.timeout, TimeoutError):
        return False
    except OSError:
        return True
    return False


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


def _call_message(ser_name, seq, vargs, annotations=None, flags=0, compress=False):
    ser = serializers.serializers[ser_name]
    payload = ser.dumpsCall("thing", "echo", vargs, {})
    if compress:
        payload = zlib.compress(payload, 1)
    data = protocol.SendingMessage(protocol.MSG_INVOKE, flags, seq, ser.serializer_id, payload, annotations).data
    if compress:    # (SendingMessage sets FLAGS_COMPRESSED only when it compresses itself, as the original does)
        data = data[:9] + bytes([data[9] | protocol.FLAGS_COMPRESSED]) + data[10:]
    return data


@pytest.mark.parametrize("ser_name", ["marshal", "msgpack", "serpent", "json"])
def test_large_call_then_small_call_in_one_send(servertype, start_daemon, ser_name):
    """A 2 MiB call, with annotations, directly followed by a small call: both are answered, in order."""
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    blob = "ab" * MIB if ser_name in ("serpent", "json") else os.urandom(2 * MIB)
    with RawClient(rd.address, serializer=ser_name, timeout=20) as c:
        c.connect("thing")
        c.send_raw(_call_message(ser_name, 1, (blob,), annotations={"XTRA": b"z" * 300})
                   + _call_message(ser_name, 2, (42,)))
        msg, result = c.receive()
        assert msg.seq == 1 and not msg.flags & protocol.FLAGS_EXCEPTION
        assert result == blob
        msg, result = c.receive()
        assert msg.seq == 2 and result == 42


@pytest.mark.parametrize("split", [3, 17, 40, 41, 5000, MIB, MIB + 40])
def test_large_message_split_anywhere(servertype, start_daemon, split):
    """The first part ends inside the header, at its end, or inside the payload (incl. a chunk boundary)."""
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    blob = os.urandom(3 * MIB + 5)
    with RawClient(rd.address, serializer="marshal", timeout=20) as c:
        c.connect("thing")
        data = _call_message("marshal", 9, (blob,))
        c.send_raw(data[:split])
        time.sleep(0.05)    # (not synchronisation: lets the server read the first part on its own)
        c.send_raw(data[split:])
        msg, result = c.receive()
        assert msg.seq == 9 and result == blob


@pytest.mark.parametrize("ser_name", ["marshal", "msgpack", "json"])
def test_big_uploads_of_any_size_in_turn_arrive_intact(servertype, start_daemon, ser_name):
    """A big call body's buffer is kept for the next big message (_wire_reader.recycle_buffer) and reused, cut to
    a smaller size or replaced by a bigger one: every call still gets exactly its own bytes."""
    from Pyro5 import _wire_reader
    _wire_reader.release_spare_buffer()
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address, serializer=ser_name, timeout=20) as c:
        c.connect("thing")
        for seq, size in enumerate([MIB, MIB, 700_000, 3 * MIB + 7, 2 * MIB, MIB + 1], 1):
            blob = os.urandom(size)
            if ser_name == "json":
                blob = blob.hex()
            c.send_raw(_call_message(ser_name, seq, (blob,)))
            msg, result = c.receive()
            assert msg.seq == seq and not msg.flags & protocol.FLAGS_EXCEPTION
            assert result == blob
    assert len(_wire_reader._spare) == 1    # (the last body's buffer, for the next one)
    _wire_reader.release_spare_buffer()


def test_large_compressed_message(servertype, start_daemon):
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    blob = os.urandom(MIB)      # (incompressible: the compressed message stays large)
    with RawClient(rd.address, serializer="marshal", timeout=20) as c:
        c.connect("thing")
        c.send_raw(_call_message("marshal", 3, (blob,), compress=True))
        msg, result = c.receive()
        assert msg.seq == 3 and result == blob


def test_stall_in_the_middle_of_a_large_message(servertype, start_daemon):
    Pyro5.config.POLLTIMEOUT = 0.1
    rd = start_daemon()
    rd.daemon.limits.partial_message_timeout = 0.5
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address, serializer="marshal") as stalled, RawClient(rd.address) as other:
        stalled.connect("thing")
        other.connect("thing")
        data = _call_message("marshal", 1, (b"q" * (4 * MIB),))
        stalled.send_raw(data[:40 * 1024])    # (the allowance grows with the bytes that arrived)
        started = time.monotonic()
        assert other.result("thing", "add", 1, 2) == 3
        assert _closed_by_server(stalled.sock, 10.0), "peer stalling in a large message was not disconnected"
        assert time.monotonic() - started >= 0.4
        assert other.result("thing", "add", 3, 4) == 7


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc (Linux) to read the memory use")
def test_header_claiming_huge_size_allocates_nothing_big(servertype, start_daemon):
    """Headers that announce 500 MiB but send 1 KiB: memory grows with what arrives, not with the claim."""
    Pyro5.config.MAX_MESSAGE_SIZE = 1024 * MIB
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    before = _rss_mib()
    clients = [RawClient(rd.address, serializer="marshal") for _ in range(6)]
    server = rd.daemon.transportServer
    conns = lambda: server.connections if hasattr(server, "connections") else list(server._connections.values())
    try:
        data = frame(protocol.MSG_INVOKE, 2, 0, 1, b"w" * 1024, data_len=500 * MIB)
        for c in clients:
            c.connect("thing")
            c.send_raw(data[:552])
        wait_for(lambda: sum(getattr(c, "buffered", 0) >= 512 for c in conns()) == 6)
        for c in clients:    # (the multiplex server knows the size from the buffered header when this arrives)
            c.send_raw(data[552:])
        wait_for(lambda: sum(getattr(c, "buffered", 0) >= 1024 for c in conns()) == 6)
        with RawClient(rd.address) as other:
            other.connect("thing")
            assert other.result("thing", "add", 1, 1) == 2
        grown_mib = _rss_mib() - before
        assert grown_mib < 64, "server memory grew by %.0f MiB for 6 KiB received" % grown_mib
    finally:
        for c in clients:
            c.close()


def test_large_message_over_tls(servertype, start_daemon):
    certs = make_certs()
    for name, value in certs.as_config("server", True).items():
        setattr(Pyro5.config, name, value)
    ctx = ssl.create_default_context(cafile=certs.ca_cert)
    ctx.load_cert_chain(certs.client_cert, certs.client_key)
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    blob = os.urandom(3 * MIB)
    with RawClient(rd.address, serializer="marshal", timeout=20, ssl_context=ctx) as c:
        c.connect("thing")
        c.send_raw(_call_message("marshal", 5, (blob,)) + _call_message("marshal", 6, (7,)))
        msg, result = c.receive()
        assert msg.seq == 5 and result == blob
        msg, result = c.receive()
        assert msg.seq == 6 and result == 7


def test_daemon_asks_glibc_for_one_malloc_arena_unless_the_environment_says_otherwise(tmp_path):
    # (a subprocess each: the setting is once per process) see Pyro5._svr_memory.share_one_arena
    import os
    import subprocess
    import sys
    code = ("import os; from Pyro5 import _svr_memory; from Pyro5.server import Daemon\n"
            "glibc = (os.confstr('CS_GNU_LIBC_VERSION') or '').startswith('glibc')\n"
            "print(glibc, _svr_memory._arenas_limited)\n"
            "with Daemon(host='127.0.0.1'): pass\n"
            "print(_svr_memory._arenas_limited, _svr_memory.share_one_arena())\n")
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         check=True).stdout.split()
    assert out[1:] == ["False", "True", "False"]     # set by the first Daemon, once
    env["MALLOC_ARENA_MAX"] = "4"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         check=True).stdout.split()
    assert out[1:] == ["False", "False", "False"]    # the environment's setting wins: not touched


@pytest.mark.parametrize("ser_name", ["marshal", "msgpack"])
def test_oneway_call_right_before_closing_after_big_calls_still_runs(servertype, start_daemon, ser_name):
    """After a big call a connection receives the next header alone (MuxConnection.header_first). A oneway call
    with a body smaller than a header, sent right before the client closes the connection, still runs: the
    messages received before the end of the connection are answered first."""
    Thing.oneway_calls.clear()
    Thing.oneway_event.clear()
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address, serializer=ser_name, timeout=20) as c:
        c.connect("thing")
        for seq in (1, 2):
            c.send_raw(_call_message(ser_name, seq, (os.urandom(MIB),)))
            msg, _ = c.receive()
            assert msg.seq == seq and not msg.flags & protocol.FLAGS_EXCEPTION
        c.send_call("thing", "fire", (7,), flags=protocol.FLAGS_ONEWAY)
    assert Thing.oneway_event.wait(10), "the oneway call sent before the close did not run"
    assert Thing.oneway_calls[0][0] == 7
