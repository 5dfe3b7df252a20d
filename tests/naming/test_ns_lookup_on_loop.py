"""A name server lookup on the connect handshake (NSLK), answered by the thread pool server's loop thread: the
connect reply carries the answer and the server closes the connection after it (the client never uses it for
anything else); whatever the loop thread must not do (user code, TLS, an unknown name, an answer that is no uri)
goes to a worker as before, on a connection that stays open. Also the accept path's socket options."""
from __future__ import annotations

import socket
import struct
import threading

import pytest

import Pyro5
import Pyro5.errors
from Pyro5 import _capabilities, _nslookup, core, nameserver, protocol, serializers
from Pyro5.client import Proxy, resolve
from Pyro5.server import Daemon, expose
from tests._support.servers import serve_daemon, serving_name_server, wait_for

SER = serializers.serializers["serpent"]
THING = "PYRO:thing@127.0.0.1:4444"



@pytest.fixture
def ns_daemon():
    yield from serving_name_server({"thing": THING})


def _connect_message(name=None, seq=0):
    payload = SER.dumps({"handshake": "hello", "object": core.NAMESERVER_NAME})
    annotations = _capabilities.lookup_offer(name) if name is not None else None
    return protocol.SendingMessage(protocol.MSG_CONNECT, 0, seq, SER.serializer_id, payload, annotations).data


def _call_message(method, args, seq):
    payload = SER.dumpsCall(core.NAMESERVER_NAME, method, args, {})
    return protocol.SendingMessage(protocol.MSG_INVOKE, 0, seq, SER.serializer_id, payload).data


def _read_message(sock):
    reader = protocol.MessageReader()
    messages = []
    while not messages:
        data = sock.recv(65536)
        assert data, "the server closed the connection before its reply"
        messages = reader.feed(data)
    assert len(messages) == 1
    return messages[0]


def _closed_by_server(sock) -> bool:
    """Does the server close the connection (end of stream) without sending anything more?"""
    return sock.recv(65536) == b""


def _raw(daemon):
    return socket.create_connection(daemon.sock.getsockname(), timeout=10)


def test_the_loop_thread_answers_a_lookup_and_closes(ns_daemon):
    with _raw(ns_daemon) as sock:
        sock.sendall(_connect_message("thing"))
        msg = _read_message(sock)
        assert msg.type == protocol.MSG_CONNECTOK
        assert _capabilities.lookup_answered(msg.annotations) == THING
        assert SER.loads(msg.data)["meta"]["methods"] >= {"lookup", "register", "list"}    # the usual reply
        assert _closed_by_server(sock)
    assert resolve("PYRONAME:thing@" + ns_daemon.locationStr) == core.URI(THING)


def test_a_connect_message_that_comes_later_is_answered_too(ns_daemon):
    """The connect message is not there when the connection is accepted: the loop thread's selector waits for it
    (no worker), then the same answer and close."""
    server = ns_daemon.transportServer
    with _raw(ns_daemon) as sock:
        assert wait_for(lambda: len(server._connections) == 1)
        conn = next(iter(server._connections.values()))
        assert conn not in server._busy and not conn.handshaked     # (watched by the selector)
        sock.sendall(_connect_message("thing"))
        msg = _read_message(sock)
        assert _capabilities.lookup_answered(msg.annotations) == THING
        assert _closed_by_server(sock)
    assert wait_for(lambda: not server._connections)


def test_a_lookup_split_over_two_sends(ns_daemon):
    data = _connect_message("thing")
    with _raw(ns_daemon) as sock:
        sock.sendall(data[:30])
        server = ns_daemon.transportServer
        assert wait_for(lambda: len(server._connections) == 1)
        sock.sendall(data[30:])
        msg = _read_message(sock)
        assert _capabilities.lookup_answered(msg.annotations) == THING
        assert _closed_by_server(sock)


def _lookup_call_works(sock, name, seq=1):
    """The connection stays open after the connect reply: a lookup call over it gets the lookup's answer."""
    sock.sendall(_call_message("lookup", (name,), seq))
    reply = _read_message(sock)
    assert reply.seq == seq
    return reply


def test_unknown_name_no_answer_and_the_connection_stays(ns_daemon):
    with _raw(ns_daemon) as sock:
        sock.sendall(_connect_message("nothing"))
        msg = _read_message(sock)
        assert msg.type == protocol.MSG_CONNECTOK and _capabilities.LOOKUP not in (msg.annotations or {})
        reply = _lookup_call_works(sock, "nothing")
        assert reply.flags & protocol.FLAGS_EXCEPTION
        assert isinstance(SER.loads(reply.data), Pyro5.errors.NamingError)


def test_connect_without_lookup_is_a_normal_connection(ns_daemon):
    with _raw(ns_daemon) as sock:
        sock.sendall(_connect_message(None))
        msg = _read_message(sock)
        assert msg.type == protocol.MSG_CONNECTOK and not msg.annotations
        reply = _lookup_call_works(sock, "thing")
        assert SER.loads(reply.data) == core.URI(THING)
    with Proxy("PYRO:%s@%s" % (core.NAMESERVER_NAME, ns_daemon.locationStr)) as proxy:
        assert proxy.lookup("thing") == core.URI(THING)
        assert proxy.count() == 2


def test_answer_that_is_no_uri_leaves_the_connection_open():
    """A name server whose lookup() answers something that is not a valid uri: the client calls lookup over the
    same connection to learn what is wrong, so the server must not close it."""
    class Odd(nameserver.NameServer):
        @expose
        def lookup(self, name, return_metadata=False):
            return "not a uri"

    daemon = nameserver.NameServerDaemon(host="127.0.0.1", port=0)
    daemon.unregister(core.NAMESERVER_NAME)
    daemon.register(Odd(), core.NAMESERVER_NAME)
    stop = serve_daemon(daemon)
    try:
        with _raw(daemon) as sock:
            sock.sendall(_connect_message("thing"))
            msg = _read_message(sock)
            assert _capabilities.lookup_answered(msg.annotations) == "not a uri"
            assert SER.loads(_lookup_call_works(sock, "thing").data) == "not a uri"
        with pytest.raises(Pyro5.errors.PyroError):
            resolve("PYRONAME:thing@" + daemon.locationStr)
    finally:
        stop()


class _Watching(nameserver.NameServerDaemon):
    """A validateHandshake of its own: it runs on a worker thread (never the loop thread)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.threads = []

    def validateHandshake(self, conn, data):
        self.threads.append(threading.current_thread())
        return super().validateHandshake(conn, data)


def test_a_daemon_with_its_own_validate_handshake_answers_on_a_worker():
    daemon = _Watching(host="127.0.0.1", port=0)
    daemon.nameserver.register("thing", THING)
    loop = threading.Thread(target=daemon.requestLoop, daemon=True)
    loop.start()
    try:
        with _raw(daemon) as sock:
            sock.sendall(_connect_message("thing"))
            msg = _read_message(sock)
            assert _capabilities.lookup_answered(msg.annotations) == THING      # (still answered)
            assert SER.loads(_lookup_call_works(sock, "thing").data) == core.URI(THING)    # (and open)
        assert resolve("PYRONAME:thing@" + daemon.locationStr) == core.URI(THING)
        assert len(daemon.threads) == 2 and all(t is not loop for t in daemon.threads)
    finally:
        daemon.shutdown()
        loop.join(10)
        assert not loop.is_alive()
        daemon.close()


def test_client_disconnect_is_called_for_an_answered_lookup(ns_daemon):
    seen = []
    original = ns_daemon._clientDisconnected

    def disconnected(conn):
        seen.append(conn.handshaked)
        original(conn)
    ns_daemon._clientDisconnected = disconnected
    assert resolve("PYRONAME:thing@" + ns_daemon.locationStr) == core.URI(THING)
    assert wait_for(lambda: seen == [True])


def test_multiplex_name_server_answers_the_same(monkeypatch):
    monkeypatch.setattr(Pyro5.config, "SERVERTYPE", "multiplex")
    daemon = nameserver.NameServerDaemon(host="127.0.0.1", port=0)
    daemon.nameserver.register("thing", THING)
    stop = serve_daemon(daemon)
    try:
        for _ in range(3):
            assert resolve("PYRONAME:thing@" + daemon.locationStr) == core.URI(THING)
        with pytest.raises(Pyro5.errors.NamingError, match="unknown name: nothing"):
            resolve("PYRONAME:nothing@" + daemon.locationStr)
    finally:
        stop()


def test_many_lookups_in_a_row(ns_daemon):
    """(every lookup connection is closed by the server: none stays behind in the server)"""
    for _ in range(200):
        assert resolve("PYRONAME:thing@" + ns_daemon.locationStr) == core.URI(THING)
    assert wait_for(lambda: not ns_daemon.transportServer._connections)


# ------------------------------------------------------------------------------------------ accepted sockets

@expose
class SocketInfo:
    def options(self):
        sock = Pyro5.current_context.client.sock
        rcvtimeo = struct.unpack("@ll", sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16))
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), rcvtimeo != (0, 0)


@pytest.mark.parametrize("inherits", [True, False])
def test_accepted_connections_have_tcp_nodelay(monkeypatch, inherits):
    """TCP_NODELAY on every accepted connection: inherited from the listening socket (Linux), else set on each;
    a worker that lingers for the next request has its receive timeout."""
    from Pyro5._svr_accept import DirectAccept
    if not inherits:
        def no_inheritance(self, csock):
            self._inherits_nodelay = False
            self._inherited_rcvtimeo = None
        monkeypatch.setattr(DirectAccept, "_check_inherited", no_inheritance)
    daemon = Daemon(host="127.0.0.1")
    uri = daemon.register(SocketInfo, "info")
    stop = serve_daemon(daemon)
    try:
        for _ in range(3):
            with Proxy(uri) as proxy:
                nodelay, rcvtimeo = proxy.options()
                assert nodelay and rcvtimeo
        assert daemon.transportServer._inherits_nodelay is inherits
    finally:
        stop()


# ------------------------------------------------------------------------------------------ the client's side

def test_the_lookup_request_is_remembered_while_the_context_is_plain():
    first = _nslookup._lookup_request(SER, "thing")
    assert _nslookup._lookup_request(SER, "thing") is first
    assert _nslookup._lookup_request(SER, "other") is not first
    assert first.annotations == _capabilities.lookup_offer("thing") and first.seq == 0
    ctx = Pyro5.current_context
    ctx.annotations = {"XTRA": b"1"}
    try:
        extra = _nslookup._lookup_request(SER, "thing")
        assert extra is not first and extra.annotations["XTRA"] == b"1"
        assert _capabilities.LOOKUP in extra.annotations
    finally:
        ctx.annotations = {}
    assert _nslookup._lookup_request(SER, "thing") is first


@expose
class PlainNameServer:
    """like an original name server: no NSLK answer; the lookup call answers"""
    def lookup(self, name):
        return core.URI(THING)


def test_a_kept_lookup_connection_gets_the_proxy_socket_options():
    daemon = Daemon(host="127.0.0.1")
    daemon.register(PlainNameServer(), core.NAMESERVER_NAME)
    stop = serve_daemon(daemon)
    try:
        for _ in range(2):      # (the second time the socket is opened the short way, bare)
            answer, proxy = _nslookup._connect_lookup(daemon.locationStr, "thing")
            assert answer is None
            if not _:
                proxy._pyroRelease()
        with proxy:
            sock = proxy._pyroConnection.sock
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
            assert proxy.lookup("thing") == core.URI(THING)
    finally:
        stop()


def test_an_answered_lookup_needs_no_connection_objects(ns_daemon, caplog, monkeypatch):
    # the usual lookup is done on the bare socket: no SocketConnection is made, the answer comes back, the
    # connection is logged (at DEBUG) as a name server lookup
    made = []
    real = _nslookup.ProxySocketConnection
    monkeypatch.setattr(_nslookup, "ProxySocketConnection", lambda *args: made.append(args) or real(*args))
    with caplog.at_level("DEBUG", logger="Pyro5.core"):
        answer, proxy = _nslookup._connect_lookup(ns_daemon.locationStr, "thing")
    assert proxy is None and answer == core.URI(THING)
    assert made == []
    assert any("(name server lookup)" in r.getMessage() for r in caplog.records)


def test_a_refused_lookup_connection_is_the_usual_error():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()        # (nothing listens there now)
    with pytest.raises(Pyro5.errors.CommunicationError, match="cannot connect"):
        _nslookup._connect_lookup("127.0.0.1:%d" % port, "thing")


@expose
class RefusingDaemon(Daemon):
    def validateHandshake(self, conn, data):
        raise ValueError("go away")


def test_a_failed_lookup_handshake_closes_the_socket(monkeypatch):
    # the name server's daemon refuses the connection: the error of a proxy's connect, and the socket is closed
    opened = []
    real_open = _nslookup.open_socket
    monkeypatch.setattr(_nslookup, "open_socket", lambda *args, **kw: opened.append(real_open(*args, **kw)) or opened[-1])
    daemon = RefusingDaemon(host="127.0.0.1")
    daemon.register(PlainNameServer(), core.NAMESERVER_NAME)
    stop = serve_daemon(daemon)
    try:
        with pytest.raises(Pyro5.errors.CommunicationError, match="go away"):
            _nslookup._connect_lookup(daemon.locationStr, "thing")
        assert len(opened) == 1 and opened[0].fileno() == -1
    finally:
        stop()
