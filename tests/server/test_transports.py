"""Transports and resource limits: unix sockets, IPv6, SSL (2-way), existing connections (socketpair),
thread pool refusal when full, COMMTIMEOUT closing idle connections."""
from __future__ import annotations

import socket
import ssl
import threading

import pytest

import Pyro5
from Pyro5 import errors, protocol
from Pyro5.server import Daemon
from tests._support.certs import make_certs
from tests._support.net import has_ipv6_loopback
from tests.server._helpers import RawClient, RunningDaemon, wait_for
from tests.server._objects import Thing


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix domain sockets")
def test_unix_socket(servertype, start_daemon, tmp_path):
    path = str(tmp_path / "pyro.sock")
    rd = start_daemon(unixsocket=path)
    assert rd.daemon.locationStr == "./u:" + path
    uri = rd.daemon.register(Thing, "thing")
    assert str(uri) == "PYRO:thing@./u:" + path
    with RawClient(path) as c:
        c.connect("thing")
        assert c.result("thing", "add", 1, 2) == 3
        assert c.result("thing", "ctx")["client"]
    rd.stop()
    assert not (tmp_path / "pyro.sock").exists()


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback (::1)")
def test_ipv6(servertype, start_daemon):
    rd = start_daemon(host="::1")
    assert rd.daemon.locationStr.startswith("[::1]:")
    uri = rd.daemon.register(Thing, "thing")
    assert uri.host == "::1"
    with RawClient(("::1", rd.port)) as c:
        c.connect("thing")
        assert c.result("thing", "add", 1, 2) == 3
        assert c.result("thing", "ctx")["addr"][0] == "::1"


def test_connected_socket(servertype):
    server_sock, client_sock = socket.socketpair()
    try:
        d = Daemon(connected_socket=server_sock)
        assert d.locationStr == "./u:<<not-bound>>" and d.sockets == [server_sock]
        d.register(Thing, "thing")
        rd = RunningDaemon(d)
        with RawClient(None, sock=client_sock) as c:
            c.connect("thing")
            assert c.result("thing", "add", 1, 2) == 3
            assert c.result("thing", "__getattr__", "value") == 42
        rd.thread.join(5)
        assert not rd.thread.is_alive()     # the loop ends when the connection is closed by the peer
        rd.stop()
        assert server_sock.fileno() != -1   # the daemon does not close the user's socket
    finally:
        server_sock.close()
        client_sock.close()


def test_connected_socket_without_handshake():
    """The original's Proxy on a connected socket sends its calls without a connect message."""
    server_sock, client_sock = socket.socketpair()
    try:
        d = Daemon(connected_socket=server_sock)
        d.register(Thing, "thing")
        rd = RunningDaemon(d)
        with RawClient(None, sock=client_sock) as c:
            meta = c.result("Pyro.Daemon", "get_metadata", "thing")
            assert "add" in meta["methods"]
            assert c.result("thing", "add", 1, 2) == 3
            # a second proxy on the same socket may still do a handshake
            assert c.connect("thing")[0].type == protocol.MSG_CONNECTOK
            assert c.result("thing", "add", 2, 2) == 4
        rd.thread.join(5)
        rd.stop()
    finally:
        server_sock.close()
        client_sock.close()


def test_connected_socket_shutdown():
    server_sock, client_sock = socket.socketpair()
    try:
        d = Daemon(connected_socket=server_sock)
        rd = RunningDaemon(d)
        d.shutdown()
        rd.thread.join(5)
        assert not rd.thread.is_alive()
    finally:
        server_sock.close()
        client_sock.close()


def _ssl_config(certs, require_client_cert=True):
    for name, value in certs.as_config("server", require_client_cert).items():
        setattr(Pyro5.config, name, value)


def _client_context(certs, with_cert=True):
    ctx = ssl.create_default_context(cafile=certs.ca_cert)
    if with_cert:
        ctx.load_cert_chain(certs.client_cert, certs.client_key)
    return ctx


def test_ssl_two_way(servertype, start_daemon):
    certs = make_certs()
    _ssl_config(certs)

    class CertCheckingDaemon(Daemon):
        def validateHandshake(self, conn, data):
            cert = conn.getpeercert()
            if not cert:
                raise errors.CommunicationError("client cert missing")
            subject = dict(p[0] for p in cert["subject"])
            if subject["commonName"] != certs.client_common_name:
                raise errors.CommunicationError("cert not allowed")
            return "cert ok: %s" % int(cert["serialNumber"], 16)
    rd = start_daemon(CertCheckingDaemon)
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address, ssl_context=_client_context(certs)) as c:
        msg, data = c.connect("thing")
        assert data["handshake"] == "cert ok: %d" % certs.client_serial
        assert c.result("thing", "add", 1, 2) == 3
    # without a client certificate the TLS handshake is refused
    with pytest.raises((ssl.SSLError, ConnectionError, errors.CommunicationError, OSError)):
        with RawClient(rd.address, ssl_context=_client_context(certs, with_cert=False)) as c:
            c.connect("thing")
    # a plain (non-TLS) client gets nowhere either, and the server keeps serving
    with pytest.raises((errors.CommunicationError, ConnectionError, OSError)):
        with RawClient(rd.address, timeout=3) as c:
            c.connect("thing")
    with RawClient(rd.address, ssl_context=_client_context(certs)) as c:
        c.connect("thing")
        assert c.result("thing", "echo", "still serving") == "still serving"


def test_ssl_missing_server_cert():
    Pyro5.config.SSL = True
    Pyro5.config.SSL_SERVERCERT = ""
    with pytest.raises(errors.SecurityError, match="SSL_SERVERCERT"):
        Daemon(host="127.0.0.1")


def test_threadpool_refuses_when_full(start_daemon):
    # (one thread per connection, as Pyro5 5.15; by default idle connections hold no worker: tests/reliability)
    Pyro5.config.SERVERTYPE = "thread"
    Pyro5.config.THREADPOOL_PER_CONNECTION = True
    Pyro5.config.THREADPOOL_SIZE = 3
    Pyro5.config.THREADPOOL_SIZE_MIN = 1
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    clients = []
    try:
        for _ in range(3):
            c = RawClient(rd.address)
            clients.append(c)
            assert c.connect("thing")[0].type == protocol.MSG_CONNECTOK
        with RawClient(rd.address) as c:
            msg, data = c.connect("thing")
            assert msg.type == protocol.MSG_CONNECTFAIL
            assert "too many connections" in data and "THREADPOOL_SIZE" in data
        assert clients[0].result("thing", "add", 1, 1) == 2
        clients.pop().close()   # frees a worker
        c = wait_for(lambda: _try_connect(rd.address))
        clients.append(c)
        assert c.result("thing", "add", 2, 2) == 4
    finally:
        for c in clients:
            c.close()


def _try_connect(address):
    c = RawClient(address)
    if c.connect("thing")[0].type == protocol.MSG_CONNECTOK:
        return c
    c.close()
    return None


def test_threadpool_grows_and_serves_concurrently(start_daemon):
    Pyro5.config.SERVERTYPE = "thread"
    Pyro5.config.THREADPOOL_SIZE = 10
    Pyro5.config.THREADPOOL_SIZE_MIN = 2
    barrier = threading.Barrier(6, timeout=10)
    from Pyro5.server import behavior, expose

    @expose
    @behavior(instance_mode="single")
    class Meeting:
        def meet(self):
            barrier.wait()
            return "met"
    rd = start_daemon()
    rd.daemon.register(Meeting, "meeting")
    results = []

    def call():
        with RawClient(rd.address, timeout=10) as c:
            c.connect("meeting")
            results.append(c.result("meeting", "meet"))
    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    barrier.wait()   # only reached when all 5 calls run at the same time
    for t in threads:
        t.join(10)
    assert results == ["met"] * 5
    assert rd.daemon.transportServer.pool.num_workers >= 5


def test_commtimeout_closes_idle_connections(servertype, start_daemon):
    Pyro5.config.COMMTIMEOUT = 0.3
    Pyro5.config.POLLTIMEOUT = 0.1
    disconnected = threading.Event()

    class D(Daemon):
        def clientDisconnect(self, conn):
            disconnected.set()
    rd = start_daemon(D)
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address) as c:
        c.connect("thing")
        assert c.result("thing", "add", 1, 1) == 2
        assert disconnected.wait(5)
        with pytest.raises((errors.ConnectionClosedError, ConnectionError, OSError)):
            c.call("thing", "add", (1, 1))


def test_threadpool_new_connections_taken_by_a_worker(start_daemon):
    # (an idle worker takes a new connection straight from the accept: SocketServer_Threadpool._take_accepted; its
    # socket must be what the general path makes: TCP_NODELAY, served in turn by the loop thread's selector)
    Pyro5.config.SERVERTYPE = "thread"
    Pyro5.config.THREADPOOL_SIZE = 4
    Pyro5.config.THREADPOOL_SIZE_MIN = 2
    from Pyro5.server import expose

    @expose
    class Sockets:
        def options(self):
            sock = Pyro5.current_context.client.sock
            return [sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0, sock.family == socket.AF_INET]
    rd = start_daemon()
    rd.daemon.register(Sockets, "sockets")
    server = rd.daemon.transportServer
    taken = []
    original = type(server)._take_accepted

    def counting(self):
        result = original(self)
        taken.append(result)
        return result
    type(server)._take_accepted = counting
    try:
        for _ in range(5):
            with RawClient(rd.address) as c:
                assert c.connect("sockets")[0].type == protocol.MSG_CONNECTOK
                assert c.result("sockets", "options") == [True, True]
                rd.daemon.limits.linger = 0.0005    # (the next calls are likely handed back to the selector)
                for _ in range(3):
                    assert c.result("sockets", "options") == [True, True]
                rd.daemon.limits.linger = 0.002
    finally:
        type(server)._take_accepted = original
    assert taken and any(taken)
    assert wait_for(lambda: not server._connections)    # (each closed by its worker or the loop thread)
