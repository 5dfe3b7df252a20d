"""Pyro5.socketutil over real sockets: 127.0.0.1, ::1 and unix sockets in tmp dirs, plain and SSL."""
from __future__ import annotations

import gc
import ipaddress
import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

import pytest

import Pyro5
from Pyro5 import errors, socketutil
from tests._support.net import has_ipv6_loopback

WAIT = 10.0  # upper bound for every wait in this module




HAS_IPV6 = has_ipv6_loopback()
needs_ipv6 = pytest.mark.skipif(not HAS_IPV6, reason="this machine has no IPv6 loopback (::1)")
needs_unix = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix domain sockets here")


@pytest.fixture
def unix_path() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="p5su")  # short: AF_UNIX paths are limited to ~100 bytes
    try:
        yield os.path.join(d, "sock")
    finally:
        shutil.rmtree(d, ignore_errors=True)


class Server:
    """Listening socket from create_socket(bind=...) with a thread that accepts one client and runs `handler`."""

    def __init__(self, bind, handler: Callable[[socketutil.SocketConnection], None], **kw) -> None:
        self.sock = socketutil.create_socket(bind=bind, timeout=WAIT, **kw)
        self.handler = handler
        self.error: BaseException | None = None
        self.result = None
        self.conn: socketutil.SocketConnection | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return self.sock.getsockname()

    def _run(self) -> None:
        try:
            csock, _ = self.sock.accept()
            csock.settimeout(WAIT)
            self.conn = socketutil.SocketConnection(csock, "server-side")
            self.result = self.handler(self.conn)
        except BaseException as x:  # reported by join()
            self.error = x

    def join(self):
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "server thread did not finish in time"
        if self.error:
            raise self.error
        return self.result

    def close(self) -> None:
        if self.conn:
            self.conn.close()
        self.sock.close()
        self.thread.join(WAIT)


@contextmanager
def serving(bind, handler, **kw) -> Iterator[Server]:
    srv = Server(bind, handler, **kw)
    try:
        yield srv
    finally:
        srv.close()


def echo_handler(conn: socketutil.SocketConnection) -> None:
    size = int(conn.recv(10))
    conn.send(conn.recv(size))


def payload(size: int) -> bytes:
    return os.urandom(256) * (size // 256) + os.urandom(size % 256)


def _echo_roundtrip(address, data: bytes, **kw) -> bytes:
    sock = socketutil.create_socket(connect=address, timeout=WAIT, **kw)
    with socketutil.SocketConnection(sock, "client") as conn:
        conn.send(b"%010d" % len(data))
        conn.send(data)
        return conn.recv(len(data))


# ------------------------------------------------------------------------------------------ create_socket

def test_ipv4_bind_connect_echo():
    data = payload(100_000)
    with serving(("127.0.0.1", 0), echo_handler) as srv:
        assert srv.sock.family == socket.AF_INET
        host, port = srv.address
        assert host == "127.0.0.1" and port > 0
        assert _echo_roundtrip(("127.0.0.1", port), data) == data
        srv.join()


def test_localhost_name_bind_connect():
    with serving(("localhost", 0), echo_handler) as srv:
        assert _echo_roundtrip(("localhost", srv.address[1]), b"hello") == b"hello"
        srv.join()


@needs_ipv6
def test_ipv6_chosen_automatically_for_ipv6_address():
    data = payload(50_000)
    with serving(("::1", 0), echo_handler) as srv:
        assert srv.sock.family == socket.AF_INET6
        sock = socketutil.create_socket(connect=("::1", srv.address[1]), timeout=WAIT)
        assert sock.family == socket.AF_INET6
        with socketutil.SocketConnection(sock) as conn:
            assert conn.family() == "IPv6"
            conn.send(b"%010d" % len(data))
            conn.send(data)
            assert conn.recv(len(data)) == data
        srv.join()


@needs_ipv6
def test_ipv6_forced_and_preferred():
    with socketutil.create_socket(ipv6=True) as s:
        assert s.family == socket.AF_INET6
    with socketutil.create_socket(ipv6=False) as s:
        assert s.family == socket.AF_INET
    with socketutil.create_socket(ipv6=None) as s:
        assert s.family == socket.AF_INET  # PREFER_IP_VERSION 0
    Pyro5.config.PREFER_IP_VERSION = 6
    with socketutil.create_socket(ipv6=None) as s:
        assert s.family == socket.AF_INET6
    with socketutil.create_bc_socket(ipv6=None) as s:
        assert s.family == socket.AF_INET6


@needs_unix
def test_unix_socket_bind_connect(unix_path):
    data = payload(300_000)
    with serving(unix_path, echo_handler) as srv:
        assert srv.sock.family == socket.AF_UNIX
        assert os.path.exists(unix_path)
        sock = socketutil.create_socket(connect=unix_path, timeout=WAIT)
        with socketutil.SocketConnection(sock) as conn:
            assert conn.family() == "Unix"
            conn.send(b"%010d" % len(data))
            conn.send(data)
            assert conn.recv(len(data)) == data
        srv.join()


@needs_unix
def test_unix_socket_stale_file_is_replaced_but_live_one_is_not(unix_path):
    s1 = socketutil.create_socket(bind=unix_path)
    s1.close()                                    # leaves the socket file behind, nobody listens
    assert os.path.exists(unix_path)
    s2 = socketutil.create_socket(bind=unix_path)  # stale file removed, bind succeeds
    try:
        with pytest.raises(OSError):
            socketutil.create_socket(bind=unix_path)  # a live listener is never removed
    finally:
        s2.close()


def test_bind_and_connect_together_is_an_error():
    with pytest.raises(ValueError, match="bind and connect"):
        socketutil.create_socket(bind=("127.0.0.1", 0), connect=("127.0.0.1", 1))


def test_bad_address_type():
    with pytest.raises(ValueError, match="tuple"):
        socketutil.create_socket(connect=["127.0.0.1", 80])  # type: ignore[arg-type]


def test_connect_refused_raises_oserror():
    with socket.socket() as tmp:
        port = socketutil.bind_unused_port(tmp, "127.0.0.1")  # bound, not listening: connect is refused
        with pytest.raises(OSError):
            socketutil.create_socket(connect=("127.0.0.1", port), timeout=WAIT)


def test_socket_options_defaults_and_flags():
    with socketutil.create_socket(bind=("127.0.0.1", 0)) as s:
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 0
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) != 0  # listening
        assert not s.get_inheritable()
    with socketutil.create_socket(bind=("127.0.0.1", 0), reuseaddr=True, keepalive=False, nodelay=False,
                                  noinherit=True) as s:
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0
        assert not s.get_inheritable()


def test_set_option_helpers():
    with socket.socket() as s:
        s.set_inheritable(True)
        socketutil.set_reuseaddr(s)
        socketutil.set_keepalive(s)
        socketutil.set_nodelay(s)
        socketutil.set_noinherit(s)
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) != 0
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert not s.get_inheritable()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        socketutil.set_nodelay(s)  # not applicable to UDP: silently ignored


def test_timeout_semantics():
    with socketutil.create_socket() as s:
        assert s.gettimeout() is None                # -1 -> COMMTIMEOUT 0.0 -> blocking
    Pyro5.config.COMMTIMEOUT = 2.5
    with socketutil.create_socket() as s:
        assert s.gettimeout() == 2.5                 # -1 -> config default
    with socketutil.create_socket(timeout=None) as s:
        assert s.gettimeout() is None
    with socketutil.create_socket(timeout=0) as s:
        assert s.gettimeout() is None                # 0 means no timeout, as COMMTIMEOUT 0
    with socketutil.create_socket(timeout=1.25) as s:
        assert s.gettimeout() == 1.25
    with socketutil.create_bc_socket() as s:
        assert s.gettimeout() == 2.5


# ------------------------------------------------------------------------------------------ send / recv

@pytest.mark.parametrize("size", [1, 10, 4095, 65536, 1_000_001, 12 * 1024 * 1024])
def test_exact_sizes_socketpair(size):
    a, b = socket.socketpair()
    data = payload(size)
    with socketutil.SocketConnection(a) as ca, socketutil.SocketConnection(b) as cb:
        ca.timeout = cb.timeout = WAIT
        t = threading.Thread(target=ca.send, args=(data,), daemon=True)
        t.start()
        got = cb.recv(size)
        t.join(WAIT)
        assert type(got) is bytes and len(got) == size and got == data


def test_recv_assembles_many_small_pieces():
    a, b = socket.socketpair()
    data = payload(200_000)
    pieces = [data[i:i + 997] for i in range(0, len(data), 997)]

    def sender():
        for p in pieces:
            socketutil.send_data(a, p)

    with a, b:
        b.settimeout(WAIT)
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        assert socketutil.receive_data(b, len(data)) == data
        t.join(WAIT)


@pytest.mark.parametrize("blocking", [True, False])
def test_recv_exact_over_tcp_multi_mb(blocking):
    data = payload(5 * 1024 * 1024 + 3)

    def handler(conn):
        if blocking:
            conn.timeout = None
        return conn.recv(len(data))

    with serving(("127.0.0.1", 0), handler) as srv:
        with socketutil.create_socket(connect=srv.address, timeout=WAIT) as c:
            socketutil.send_data(c, data)
            assert srv.join() == data


def test_recv_zero_size():
    a, b = socket.socketpair()
    with a, b:
        assert socketutil.receive_data(b, 0) == b""


def test_recv_timeout_raises_pyro_timeout_with_partial_data():
    a, b = socket.socketpair()
    with a, b:
        b.settimeout(0.2)
        with pytest.raises(errors.TimeoutError, match="timeout") as exc:
            socketutil.receive_data(b, 10)
        assert exc.value.partialData == b""
        a.sendall(b"12345")
        with pytest.raises(errors.TimeoutError) as exc:
            socketutil.receive_data(b, 10)
        assert exc.value.partialData == b"12345"
        assert isinstance(exc.value, errors.CommunicationError)


def test_connection_timeout_property_and_aliases():
    a, b = socket.socketpair()
    with socketutil.SocketConnection(a) as conn:
        assert conn.timeout is None and conn.gettimeout() is None
        conn.timeout = 0.15
        assert a.gettimeout() == 0.15 and conn.getTimeout() == 0.15
        conn.setTimeout(0.1)
        assert conn.timeout == 0.1
        conn.settimeout(None)
        assert conn.timeout is None
        conn.timeout = 0.1
        with pytest.raises(errors.TimeoutError):
            conn.recv(1)
    b.close()


def test_peer_close_mid_message_raises_connection_closed():
    a, b = socket.socketpair()
    with b:
        b.settimeout(WAIT)
        a.sendall(b"x" * 1000)
        a.close()
        with pytest.raises(errors.ConnectionClosedError, match="not enough data") as exc:
            socketutil.receive_data(b, 5000)
        assert exc.value.partialData == b"x" * 1000


def test_peer_close_mid_message_tcp_large():
    half = payload(2 * 1024 * 1024)

    def handler(conn):
        conn.send(b"%010d" % (len(half) * 2))
        conn.send(half)          # and then the server closes: the client misses the second half

    with serving(("127.0.0.1", 0), handler) as srv:
        with socketutil.SocketConnection(socketutil.create_socket(connect=srv.address, timeout=WAIT)) as c:
            size = int(c.recv(10))
            srv.join()
            srv.conn.close()
            with pytest.raises(errors.ConnectionClosedError) as exc:
                c.recv(size)
            assert exc.value.partialData == half


def test_peer_close_before_anything():
    a, b = socket.socketpair()
    a.close()
    with b:
        b.settimeout(WAIT)
        with pytest.raises(errors.ConnectionClosedError):
            socketutil.receive_data(b, 1)


def test_send_to_closed_peer_raises_connection_closed():
    a, b = socket.socketpair()
    b.close()
    with a:
        a.settimeout(WAIT)
        with pytest.raises(errors.ConnectionClosedError, match="sending"):
            for _ in range(100):  # the first write may still be buffered
                socketutil.send_data(a, b"x" * 65536)


def test_send_timeout_when_peer_does_not_read():
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(0.2)
        with pytest.raises(errors.TimeoutError, match="sending"):
            socketutil.send_data(a, b"x" * (64 * 1024 * 1024))


def test_use_after_close_raises_connection_closed():
    a, b = socket.socketpair()
    conn = socketutil.SocketConnection(a)
    conn.close()
    assert conn.fileno() == -1
    with pytest.raises(errors.ConnectionClosedError):
        conn.recv(1)
    with pytest.raises(errors.ConnectionClosedError):
        conn.send(b"x")
    b.close()


def test_nonblocking_send_and_receive():
    a, b = socket.socketpair()
    data = payload(6 * 1024 * 1024)
    result: list = []
    with a, b:
        a.setblocking(False)
        b.setblocking(False)
        t = threading.Thread(target=lambda: result.append(socketutil.receive_data(b, len(data))), daemon=True)
        t.start()
        socketutil.send_data(a, data)  # must loop over EAGAIN and never lose bytes
        t.join(WAIT)
        assert not t.is_alive()
        assert result == [data]


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")
@pytest.mark.parametrize("timeout", [WAIT, None])
def test_receive_survives_signals(timeout):
    a, b = socket.socketpair()
    hits = threading.Event()
    count = [0]

    def on_alarm(signum, frame):
        count[0] += 1
        if count[0] >= 3:
            hits.set()

    def sender():
        a.sendall(b"early")
        hits.wait(WAIT)  # bounded: the receiver is never left blocked
        a.sendall(b"late data!")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
    try:
        with a, b:
            b.settimeout(timeout)
            t = threading.Thread(target=sender, daemon=True)
            t.start()
            assert socketutil.receive_data(b, 15) == b"earlylate data!"
            t.join(WAIT)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, old)
    assert count[0] >= 3


# ------------------------------------------------------------------------------------------ SocketConnection

class Resource:
    def __init__(self):
        self.closed = 0

    def close(self):
        self.closed += 1


class BadResource:
    def close(self):
        raise RuntimeError("boom")


def test_socketconnection_state_and_close():
    a, b = socket.socketpair()
    conn = socketutil.SocketConnection(a, "obj-42")
    assert conn.objectId == "obj-42" and conn.keep_open is False
    assert conn.pyroInstances == {} and conn.tracked_resources == set()
    assert conn.fileno() == a.fileno()
    assert conn.family() == "Unix"
    assert conn.getpeercert() is None
    r = Resource()
    conn.tracked_resources.add(r)
    conn.tracked_resources.add(BadResource())  # a failing close must not stop the others
    conn.pyroInstances["cls"] = object()
    conn.close()
    assert r.closed == 1
    assert conn.pyroInstances == {} and conn.tracked_resources == set()
    b.settimeout(WAIT)
    assert b.recv(1) == b""  # the peer sees the close
    conn.close()  # closing twice is harmless
    b.close()


def test_socketconnection_keep_open():
    a, b = socket.socketpair()
    conn = socketutil.SocketConnection(a, keep_open=True)
    conn.close()
    conn.send(b"still open")
    b.settimeout(WAIT)
    assert socketutil.receive_data(b, 10) == b"still open"
    del conn
    gc.collect()
    assert a.fileno() != -1  # __del__ leaves a keep_open socket alone as well
    a.close()
    b.close()


def test_socketconnection_ipv4_family_and_del():
    with serving(("127.0.0.1", 0), lambda conn: conn.recv(1)) as srv:
        sock = socketutil.create_socket(connect=srv.address, timeout=WAIT)
        conn = socketutil.SocketConnection(sock)
        assert conn.family() == "IPv4"
        assert "SocketConnection" in repr(conn)
        del conn
        gc.collect()
        assert sock.fileno() == -1  # garbage collection closes the socket
        with pytest.raises(errors.ConnectionClosedError):
            srv.join()


def test_socketconnection_del_safe_when_init_failed():
    conn = socketutil.SocketConnection.__new__(socketutil.SocketConnection)
    conn.__del__()  # no attributes at all: must not raise


# ------------------------------------------------------------------------------------------ ports / interrupt

def test_bind_unused_port_ipv4():
    with socket.socket() as s:
        port = socketutil.bind_unused_port(s)
        assert s.getsockname() == ("127.0.0.1", port) and port > 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        port = socketutil.bind_unused_port(s, "127.0.0.1")
        assert s.getsockname()[1] == port


@needs_ipv6
def test_bind_unused_port_ipv6():
    with socket.socket(socket.AF_INET6) as s:
        port = socketutil.bind_unused_port(s, "::1")
        assert s.getsockname()[:2] == ("::1", port)
    with socket.socket(socket.AF_INET6) as s:
        port = socketutil.bind_unused_port(s)  # 'localhost' on an IPv6 socket
        assert s.getsockname()[1] == port


def test_find_probably_unused_port():
    for family, kind in [(socket.AF_INET, socket.SOCK_STREAM), (socket.AF_INET, socket.SOCK_DGRAM)]:
        port = socketutil.find_probably_unused_port(family, kind)
        assert 0 < port < 65536
        with socket.socket(family, kind) as s:
            s.bind(("127.0.0.1", port))  # usually free indeed
    if HAS_IPV6:
        assert socketutil.find_probably_unused_port(socket.AF_INET6) > 0


def _blocked_accept(bind) -> tuple[socket.socket, threading.Thread, list]:
    lsock = socketutil.create_socket(bind=bind, timeout=None)  # blocking accept: only a connection wakes it
    woke: list = []

    def acceptor():
        c, _ = lsock.accept()
        woke.append(c)

    t = threading.Thread(target=acceptor, daemon=True)
    t.start()
    return lsock, t, woke


@pytest.mark.parametrize("kind", ["ipv4", "ipv6", "unix"])
def test_interrupt_socket_wakes_blocked_accept(kind, unix_path):
    if kind == "ipv6" and not HAS_IPV6:
        pytest.skip("this machine has no IPv6 loopback (::1)")
    bind = {"ipv4": ("127.0.0.1", 0), "ipv6": ("::1", 0), "unix": unix_path}[kind]
    lsock, t, woke = _blocked_accept(bind)
    try:
        assert t.is_alive()
        address = lsock.getsockname() if kind != "unix" else unix_path
        socketutil.interrupt_socket(address[:2] if kind != "unix" else address)
        t.join(WAIT)
        assert not t.is_alive() and len(woke) == 1
        woke[0].close()
    finally:
        lsock.close()


def test_interrupt_socket_nobody_listening_is_silent():
    port = socketutil.find_probably_unused_port()
    socketutil.interrupt_socket(("127.0.0.1", port))  # must not raise


# ------------------------------------------------------------------------------------------ broadcast socket

def test_broadcast_socket_on_loopback():
    with socketutil.create_bc_socket(bind=("127.0.0.1", 0), timeout=WAIT) as receiver, \
            socketutil.create_bc_socket(timeout=WAIT) as sender:
        assert receiver.type == socket.SOCK_DGRAM and sender.family == socket.AF_INET
        assert sender.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST) != 0
        sender.sendto(b"GET_NSURI", ("127.0.0.1", receiver.getsockname()[1]))  # loopback only, never broadcast
        data, addr = receiver.recvfrom(100)
        assert data == b"GET_NSURI" and addr[0] == "127.0.0.1"
        receiver.sendto(b"reply", addr)
        assert sender.recvfrom(100)[0] == b"reply"


def test_broadcast_socket_reuseaddr_and_timeout():
    with socketutil.create_bc_socket(bind=("127.0.0.1", 0), reuseaddr=True, timeout=0.1) as s:
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) != 0
        with pytest.raises(socket.timeout):
            s.recvfrom(10)
    with pytest.raises(ValueError):
        socketutil.create_bc_socket(bind="/tmp/x")  # type: ignore[arg-type]


@needs_ipv6
def test_broadcast_socket_ipv6_loopback():
    with socketutil.create_bc_socket(bind=("::1", 0), timeout=WAIT) as r, \
            socketutil.create_bc_socket(ipv6=True, timeout=WAIT) as s:
        assert r.family == socket.AF_INET6
        s.sendto(b"ping6", ("::1", r.getsockname()[1]))
        assert r.recvfrom(10)[0] == b"ping6"


# ------------------------------------------------------------------------------------------ addresses

def test_get_ip_address_localhost():
    ip = socketutil.get_ip_address("localhost")
    assert isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)) and ip.is_loopback
    assert socketutil.get_ip_address("localhost", version=4) == ipaddress.IPv4Address("127.0.0.1")
    assert socketutil.get_ip_address("127.0.0.1") == ipaddress.IPv4Address("127.0.0.1")
    assert socketutil.get_ip_address(ipaddress.ip_address("127.0.0.1")) == ipaddress.IPv4Address("127.0.0.1")
    with pytest.raises(ValueError, match="IP version"):
        socketutil.get_ip_address("localhost", version=5)


@needs_ipv6
def test_get_ip_address_ipv6():
    assert socketutil.get_ip_address("::1") == ipaddress.IPv6Address("::1")
    assert socketutil.get_ip_address("::1", version=6) == ipaddress.IPv6Address("::1")
    with pytest.raises(OSError, match="IPv4"):
        socketutil.get_ip_address("::1", version=4)


def test_get_ip_address_prefer_version_from_config():
    Pyro5.config.PREFER_IP_VERSION = 4
    assert socketutil.get_ip_address("localhost").version == 4


def test_get_ip_address_workaround127():
    ip = socketutil.get_ip_address("127.0.0.1", workaround127=True)
    assert isinstance(ip, ipaddress.IPv4Address) and not ip.is_unspecified
    route = socketutil._routed_ipv4_address()
    assert ip == (route or ipaddress.IPv4Address("127.0.0.1"))


def test_get_ip_address_unknown_host():
    with pytest.raises(OSError):
        socketutil.get_ip_address("no-such-host.invalid")


def test_get_interface_loopback():
    assert socketutil.get_interface("127.0.0.1") == ipaddress.IPv4Interface("127.0.0.1/32")
    assert socketutil.get_interface(ipaddress.IPv4Address("127.0.0.1")) == ipaddress.IPv4Interface("127.0.0.1/32")
    iface = socketutil.get_interface("localhost")
    assert iface.ip.is_loopback
    if HAS_IPV6:
        assert socketutil.get_interface("::1") == ipaddress.IPv6Interface("::1/128")


# ------------------------------------------------------------------------------------------ SSL

@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    pytest.importorskip("cryptography", reason="the SSL tests generate their certificates with 'cryptography'")
    from tests.wire._certgen import make_certs
    return make_certs(tmp_path_factory.mktemp("certs"))


def _tls_server_handler(conn: socketutil.SocketConnection):
    n = int(conn.recv(10))
    data = conn.recv(n)
    conn.send(data[::-1])
    return conn.getpeercert()


def _client_ctx(certs, **kw):
    return socketutil.get_ssl_context(cacerts=certs.cacert, **kw)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_ssl_one_way(certs, host):
    if host == "::1" and not HAS_IPV6:
        pytest.skip("this machine has no IPv6 loopback (::1)")
    server_ctx = socketutil.get_ssl_context(servercert=certs.servercert, serverkey=certs.serverkey)
    assert server_ctx.verify_mode == ssl.CERT_NONE
    data = payload(3 * 1024 * 1024 + 17)
    with serving((host, 0), _tls_server_handler, sslContext=server_ctx) as srv:
        assert isinstance(srv.sock, ssl.SSLSocket)
        sock = socketutil.create_socket(connect=(host, srv.address[1]), timeout=WAIT, sslContext=_client_ctx(certs))
        with socketutil.SocketConnection(sock) as conn:
            cert = conn.getpeercert()
            assert ((("commonName", "localhost"),) in cert["subject"])
            conn.send(b"%010d" % len(data))
            conn.send(data)
            assert conn.recv(len(data)) == data[::-1]
        assert not srv.join()  # no client certificate in 1-way SSL


@needs_unix
def test_ssl_over_unix_socket(certs, unix_path):
    server_ctx = socketutil.get_ssl_context(servercert=certs.servercert, serverkey=certs.serverkey)
    with serving(unix_path, _tls_server_handler, sslContext=server_ctx) as srv:
        sock = socketutil.create_socket(connect=unix_path, timeout=WAIT, sslContext=_client_ctx(certs))
        with socketutil.SocketConnection(sock) as conn:
            assert conn.family() == "Unix" and conn.getpeercert()
            conn.send(b"0000000004unix")
            assert conn.recv(4) == b"xinu"
        srv.join()


def test_ssl_client_rejects_server_from_unknown_ca(certs):
    server_ctx = socketutil.get_ssl_context(servercert=certs.servercert, serverkey=certs.serverkey)
    with serving(("127.0.0.1", 0), _tls_server_handler, sslContext=server_ctx) as srv:
        bad = socketutil.get_ssl_context(cacerts=certs.othercacert)
        with pytest.raises(ssl.SSLCertVerificationError):
            socketutil.create_socket(connect=srv.address, timeout=WAIT, sslContext=bad)
        with pytest.raises(errors.ConnectionClosedError, match="UNKNOWN_CA"):
            srv.join()


def test_ssl_two_way(certs):
    Pyro5.config.SSL_REQUIRECLIENTCERT = True
    server_ctx = socketutil.get_ssl_context(servercert=certs.servercert, serverkey=certs.serverkey,
                                            cacerts=certs.cacert)
    assert server_ctx.verify_mode == ssl.CERT_REQUIRED
    client_ctx = _client_ctx(certs, clientcert=certs.clientcert, clientkey=certs.clientkey)
    with serving(("127.0.0.1", 0), _tls_server_handler, sslContext=server_ctx) as srv:
        sock = socketutil.create_socket(connect=("localhost", srv.address[1]), timeout=WAIT, sslContext=client_ctx)
        with socketutil.SocketConnection(sock) as conn:
            conn.send(b"0000000005hello")
            assert conn.recv(5) == b"olleh"
        peer = srv.join()
        assert (("commonName", "pyro5 test client"),) in peer["subject"]


def test_ssl_two_way_encrypted_client_key(certs):
    Pyro5.config.SSL_REQUIRECLIENTCERT = True
    server_ctx = socketutil.get_ssl_context(servercert=certs.servercert, serverkey=certs.serverkey,
                                            cacerts=certs.cacert)
    client_ctx = _client_ctx(certs, clientcert=certs.clientcert, clientkey=certs.clientkey_encrypted,
                             keypassword=certs.password)
    with serving(("127.0.0.1", 0), _tls_server_handler, sslContext=server_ctx) as srv:
        with socketutil.SocketConnection(socketutil.create_socket(
                connect=srv.address, timeout=WAIT, sslContext=client_ctx)) as conn:
            conn.send(b"0000000003abc")
            assert conn.recv(3) == b"cba"
        assert srv.join()["subject"]


def test_ssl_two_way_rejects_client_without_cert(certs):
    Pyro5.config.SSL_REQUIRECLIENTCERT = True
    server_ctx = socketutil.get_ssl_context(servercert=certs.servercert, serverkey=certs.serverkey,
                                            cacerts=certs.cacert)
    with serving(("127.0.0.1", 0), _tls_server_handler, sslContext=server_ctx) as srv:
        with pytest.raises((ssl.SSLError, OSError, errors.CommunicationError)):
            # TLS 1.3: the rejection may only show on the first read
            sock = socketutil.create_socket(connect=srv.address, timeout=WAIT, sslContext=_client_ctx(certs))
            with socketutil.SocketConnection(sock) as conn:
                conn.send(b"0000000001x")
                conn.recv(1)
        with pytest.raises(errors.ConnectionClosedError, match="CERTIFICATE"):
            srv.join()  # the server side sees the failed handshake on its first recv


def test_ssl_silent_client_does_not_block_accept(certs):
    """The server's TLS handshake runs on the accepted connection's first recv, not inside accept()."""
    server_ctx = socketutil.get_ssl_context(servercert=certs.servercert, serverkey=certs.serverkey)
    with socketutil.create_socket(bind=("127.0.0.1", 0), timeout=WAIT, sslContext=server_ctx) as lsock:
        with socket.create_connection(lsock.getsockname(), timeout=WAIT) as silent:  # plain TCP, never speaks
            conn_sock, _ = lsock.accept()  # returns at once
            with socketutil.SocketConnection(conn_sock) as conn:
                assert conn.getpeercert() is None  # no handshake yet
                conn.timeout = 0.2
                with pytest.raises(errors.TimeoutError):
                    conn.recv(1)
            silent.close()


def test_ssl_context_cached_per_arguments(certs):
    a = socketutil.get_ssl_context(cacerts=certs.cacert)
    assert socketutil.get_ssl_context(cacerts=certs.cacert) is a
    b = socketutil.get_ssl_context(cacerts=certs.othercacert)
    assert b is not a
    assert a.verify_mode == ssl.CERT_REQUIRED and a.check_hostname
    assert a.minimum_version >= ssl.TLSVersion.TLSv1_2


def test_ssl_context_errors(certs, tmp_path):
    with pytest.raises(FileNotFoundError, match="SSL_SERVERCERT"):
        socketutil.get_ssl_context(servercert=str(tmp_path / "nope.pem"))
    with pytest.raises(FileNotFoundError, match="SSL_SERVERKEY"):
        socketutil.get_ssl_context(servercert=certs.servercert, serverkey=str(tmp_path / "nope.key"))
    with pytest.raises(FileNotFoundError, match="SSL_CACERTS"):
        socketutil.get_ssl_context(cacerts=str(tmp_path / "nope.pem"))
    with pytest.raises(FileNotFoundError, match="SSL_CLIENTCERT"):
        socketutil.get_ssl_context(clientcert=str(tmp_path / "nope.pem"))
    with pytest.raises(errors.SecurityError, match="KEYPASSWD"):
        socketutil.get_ssl_context(cacerts=certs.cacert, clientcert=certs.clientcert,
                                   clientkey=certs.clientkey_encrypted, keypassword="wrong")
    with pytest.raises(errors.SecurityError):
        socketutil.get_ssl_context(servercert=certs.servercert, serverkey=certs.clientkey)  # key/cert mismatch
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(errors.SecurityError, match="SSL_CACERTS"):
        socketutil.get_ssl_context(cacerts=str(garbage))


def test_ssl_cacerts_directory(certs, tmp_path):
    ctx = socketutil.get_ssl_context(cacerts=str(tmp_path))  # a (c_rehash'ed) directory is accepted
    assert ctx.verify_mode == ssl.CERT_REQUIRED


def test_module_surface():
    for name in ["SocketConnection", "bind_unused_port", "create_bc_socket", "create_socket",
                 "find_probably_unused_port", "get_interface", "get_ip_address", "get_ssl_context",
                 "interrupt_socket", "receive_data", "send_data", "set_keepalive", "set_nodelay", "set_noinherit",
                 "set_reuseaddr"]:
        assert callable(getattr(socketutil, name)), name
    assert socketutil.SocketConnection.__module__ == "Pyro5.socketutil"



# ------------------------------------------------------------------------------------------ sending parts

def _parts(size: int) -> tuple[list, bytes]:
    """A header-like small part, an empty part and a big payload (bytes, bytearray, memoryview)."""
    body = payload(size)
    parts = [b"HEADER" * 7, b"", bytearray(body[:1000]), memoryview(body)[1000:]]
    return parts, b"HEADER" * 7 + body


@pytest.mark.parametrize("mode", ["blocking", "timeout", "nonblocking"])
def test_send_data_sequence_of_parts_socketpair(mode):
    parts, expected = _parts(6 * 1024 * 1024 + 5)     # far more than the socket buffers: partial sendmsg calls
    a, b = socket.socketpair()
    result: list = []
    with a, b:
        if mode == "blocking":
            a.settimeout(None)
        elif mode == "timeout":
            a.settimeout(WAIT)
        else:
            a.setblocking(False)
        b.settimeout(WAIT)
        t = threading.Thread(target=lambda: result.append(socketutil.receive_data(b, len(expected))), daemon=True)
        t.start()
        socketutil.send_data(a, parts)
        t.join(WAIT)
        assert not t.is_alive()
        assert result == [expected]


def test_socketconnection_send_tuple_over_tcp_and_single_part():
    parts, expected = _parts(2 * 1024 * 1024 + 1)

    def handler(conn):
        return conn.recv(len(expected) + 5)

    with serving(("127.0.0.1", 0), handler) as srv:
        with socketutil.SocketConnection(socketutil.create_socket(connect=srv.address, timeout=WAIT)) as conn:
            conn.send(tuple(parts))
            conn.send((b"12345",))
            assert srv.join() == expected + b"12345"


def test_send_parts_to_closed_peer_raises_connection_closed():
    a, b = socket.socketpair()
    with a:
        a.settimeout(WAIT)
        b.close()
        with pytest.raises(errors.ConnectionClosedError):
            for _ in range(50):
                socketutil.send_data(a, [b"x" * 40, b"y" * 100000])


def test_ssl_send_parts(certs):
    server_ctx = socketutil.get_ssl_context(servercert=certs.servercert, serverkey=certs.serverkey)
    parts, expected = _parts(1024 * 1024 + 3)
    with serving(("127.0.0.1", 0), _tls_server_handler, sslContext=server_ctx) as srv:
        sock = socketutil.create_socket(connect=("localhost", srv.address[1]), timeout=WAIT,
                                        sslContext=_client_ctx(certs))
        with socketutil.SocketConnection(sock) as conn:
            body = expected[len(parts[0]):]
            conn.send([b"%010d" % len(body)] + parts[1:])
            assert conn.recv(len(body)) == body[::-1]
        srv.join()


@pytest.mark.parametrize("host, family", [("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6),
                                          ("fe80::1%lo", socket.AF_INET6), ("localhost", 0), ("127.1", 0),
                                          ("", 0), ("no such host", 0)])
def test_numeric_family(host, family):
    assert socketutil._numeric_family(host) == family


def test_numeric_address_needs_no_resolver(monkeypatch):
    def no_resolver(*args, **kw):
        raise AssertionError("getaddrinfo must not be called for a numeric address")

    monkeypatch.setattr(socket, "getaddrinfo", no_resolver)
    with serving(("127.0.0.1", 0), echo_handler) as srv:
        assert _echo_roundtrip(srv.address, b"numeric") == b"numeric"
        srv.join()


# ------------------------------------------------------------------------------------------ as the original 5.15

@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract-namespace unix sockets are Linux only")
def test_abstract_namespace_unix_socket():
    name = "\0pyro5-test-%d" % os.getpid()
    with socketutil.create_socket(bind=name, timeout=WAIT) as server:
        assert server.getsockname() == name.encode()
        with socketutil.create_socket(connect=name, timeout=WAIT) as client:
            conn, _ = server.accept()
            with conn:
                client.sendall(b"abstract")
                assert socketutil.receive_data(conn, 8) == b"abstract"
        with pytest.raises(OSError):          # the name is in use: bind() says so (no stale-file clean-up)
            socketutil.create_socket(bind=name)


def test_commtimeout_none_means_no_timeout():
    Pyro5.config.COMMTIMEOUT = None
    with socketutil.create_socket() as s:
        assert s.gettimeout() is None
    with socketutil.create_socket(bind=("127.0.0.1", 0)) as s:
        assert s.gettimeout() is None
    with socketutil.create_bc_socket() as s:
        assert s.gettimeout() is None
    a, b = socket.socketpair()
    with a, b:
        a.setblocking(False)
        socketutil.send_data(a, b"x" * 100)        # the non-blocking send loop reads COMMTIMEOUT too
        assert socketutil.receive_data(b, 100) == b"x" * 100


def test_ssl_context_without_bind_or_connect_gives_an_ssl_socket():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    with socketutil.create_socket(sslContext=ctx) as s:
        assert isinstance(s, ssl.SSLSocket) and not s.server_side
    checking = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)     # checks host names: needs one, as in the original
    with pytest.raises(ValueError, match="server_hostname"):
        socketutil.create_socket(sslContext=checking)
