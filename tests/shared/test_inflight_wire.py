"""The thread pool server's in-flight calls seen from a hand-written client (pyro5's codec over a raw socket):
requests beyond the grant, a full pool, a server closing with calls running, bad bytes, TLS."""
from __future__ import annotations

import socket
import ssl
import threading

import pytest

import Pyro5
from Pyro5 import _capabilities, errors, protocol, serializers
from Pyro5 import _client_codec as codec
from Pyro5.client import Proxy
from Pyro5.server import behavior, expose
from tests._support import certs as certgen
from tests._support.servers import start_in_process, wait_for
from tests.shared._gate import Gate

SERPENT = serializers.serializers["serpent"]


GATE = Gate()


@expose
@behavior(instance_mode="single")
class Gated:
    def work(self, tag):
        return GATE.run(tag)


@pytest.fixture
def gate():
    global GATE
    GATE = Gate()
    yield GATE
    GATE.open.set()


class RawClient:
    """A connection that speaks the protocol with the client's codec, with the in-flight offer."""

    def __init__(self, address, context: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection(address, timeout=20)
        self.sock = context.wrap_socket(sock, server_hostname="localhost") if context else sock
        self.reader = protocol.MessageReader((protocol.MSG_CONNECTOK, protocol.MSG_CONNECTFAIL))
        self.pending: list = []
        self.sock.sendall(codec.connect_request(SERPENT, 0, "hello", "obj", _capabilities.inflight_offer()).data)
        answer = self.read(1)[0]
        assert answer.type == protocol.MSG_CONNECTOK
        self.granted = _capabilities.inflight_granted(answer.annotations)
        self.reader = protocol.MessageReader((protocol.MSG_RESULT,))

    def call(self, seq: int, tag) -> None:
        self.sock.sendall(codec.call_request(SERPENT, "obj", "work", (tag,), {}, 0, seq, {}, ()).data)

    def read(self, count: int) -> list:
        while len(self.pending) < count:
            data = self.sock.recv(65536)
            if not data:
                raise errors.ConnectionClosedError("closed")
            self.pending.extend(self.reader.feed(data))
        result, self.pending = self.pending[:count], self.pending[count:]
        return result

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def served(gate):
    servers: list = []

    def serve(**kwargs):
        srv = start_in_process("thread", {"obj": Gated}, **kwargs)
        servers.append(srv)
        return srv
    yield serve
    gate.open.set()
    for srv in servers:
        srv.stop()


def address(srv):
    return srv.daemon.sock.getsockname()[:2]


def test_requests_beyond_the_grant_wait_unread(served, gate):
    srv = served(configure=lambda d: setattr(d.limits, "max_inflight", 2))
    client = RawClient(address(srv))
    try:
        assert client.granted == 2
        for seq in range(1, 6):     # five requests, two granted
            client.call(seq, "t%d" % seq)
        assert wait_for(lambda: gate.entered == 2)
        conn = srv.daemon.transportServer.connections[0]
        assert wait_for(lambda: conn._pyro_inflight.paused)     # not read while two of its calls run
        assert gate.entered == 2
        gate.open.set()
        replies = client.read(5)
        assert sorted(m.seq for m in replies) == [1, 2, 3, 4, 5]
        assert {m.seq: codec.call_result(m, SERPENT, SERPENT.serializer_id) for m in replies} == \
            {seq: "t%d" % seq for seq in range(1, 6)}
        assert gate.most == 2
    finally:
        client.close()


def test_full_pool_pauses_the_connection_until_a_call_is_done(served, gate):
    Pyro5.config.THREADPOOL_SIZE = 2
    Pyro5.config.THREADPOOL_SIZE_MIN = 1
    srv = served(configure=lambda d: setattr(d.transportServer.pool, "max_queued", 1))
    with Proxy(srv.uri("obj"), shared=True) as proxy:
        results: list = []
        failures: list = []

        def call(k: int) -> None:
            try:
                results.append(proxy.work(k))
            except Exception as x:
                failures.append(x)
        workers = [threading.Thread(target=call, args=(k,)) for k in range(6)]
        for w in workers:
            w.start()
        assert wait_for(lambda: gate.entered == 2)
        conn = srv.daemon.transportServer.connections[0]
        assert wait_for(lambda: conn._pyro_inflight.paused)     # two running, one queued, the rest unread
        gate.open.set()
        for w in workers:
            w.join(30)
        assert not failures and sorted(results) == list(range(6))
        assert gate.most == 2


def test_server_closing_with_calls_running_still_answers_them(served, gate):
    srv = served()
    with Proxy(srv.uri("obj"), shared=True) as proxy:
        results: list = []
        workers = [threading.Thread(target=lambda k=k: results.append(proxy.work(k))) for k in range(3)]
        for w in workers:
            w.start()
        assert wait_for(lambda: gate.entered == 3)
        closer = threading.Thread(target=srv.stop)
        closer.start()
        assert wait_for(lambda: getattr(srv.daemon.transportServer, "sock", None) is None)    # closed
        gate.open.set()
        for w in workers:
            w.join(30)
        closer.join(30)
        assert sorted(results) == [0, 1, 2]
        mux = proxy._Proxy__shared._mux
        assert wait_for(lambda: mux.closed)     # the last call's worker closed the connection


def test_bad_bytes_after_calls_get_an_error_and_the_connection_closes(served, gate):
    srv = served()
    client = RawClient(address(srv))
    try:
        gate.open.set()
        client.call(1, "ok")
        assert codec.call_result(client.read(1)[0], SERPENT, SERPENT.serializer_id) == "ok"
        client.sock.sendall(b"GARBAGE!" * 10)
        reply = client.read(1)[0]
        assert reply.flags & protocol.FLAGS_EXCEPTION
        with pytest.raises(errors.ProtocolError):
            codec.call_result(reply, SERPENT, SERPENT.serializer_id)
        with pytest.raises(errors.ConnectionClosedError):
            client.read(1)
    finally:
        client.close()


@pytest.fixture(scope="module")
def certs():
    return certgen.make_certs()


def test_tls_connection_runs_its_calls_in_order(served, gate, certs):
    for key, value in certs.as_config("server", require_client_cert=False).items():
        setattr(Pyro5.config, key, value)
    srv = served()
    context = ssl.create_default_context(cafile=certs.ca_cert)
    client = RawClient(address(srv), context)
    try:
        assert client.granted > 0     # (granted: replies in order are a valid answer)
        for seq in (1, 2, 3):
            client.call(seq, seq)
        assert wait_for(lambda: gate.entered == 1)
        gate.open.set()
        assert [m.seq for m in client.read(3)] == [1, 2, 3]
        assert gate.most == 1       # one at a time (a plain connection runs them at once: test_shared_server)
    finally:
        client.close()


def test_shared_proxy_over_tls_uses_the_pool(served, certs):
    for key, value in certs.as_config("server", require_client_cert=False).items():
        setattr(Pyro5.config, key, value)
    GATE.open.set()
    srv = served()
    Pyro5.config.SSL_CACERTS = certs.ca_cert
    with Proxy(srv.uri("obj"), shared=True) as proxy:
        results: list = []
        workers = [threading.Thread(target=lambda k=k: results.append(proxy.work(k))) for k in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)
        assert sorted(results) == list(range(6))
        assert proxy._Proxy__shared.pooled and isinstance(proxy._pyroConnection.sock, ssl.SSLSocket)
