"""Our Proxy (pyro5-client) talking to our Daemon (pyro5-server) over loopback, both server types."""
from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest

import Pyro5
from Pyro5 import errors
from Pyro5.server import Daemon, behavior, callback, expose, oneway

client = pytest.importorskip("Pyro5.client", reason="needs pyro5-client")
Proxy, BatchProxy, SerializedBlob = client.Proxy, client.BatchProxy, client.SerializedBlob

SERIALIZERS = [name for name in ("serpent", "json", "marshal", "msgpack") if name in Pyro5.serializers.serializers]


@expose
@behavior(instance_mode="single")
class Service:
    def __init__(self):
        self._value = 1
        self.oneway_done = threading.Event()

    def add(self, a, b=2):
        return a + b

    def echo(self, x):
        return x

    def boom(self):
        raise ValueError("service exploded")

    def slow(self, delay):
        time.sleep(delay)
        return "slow done"

    def gen(self, n):
        for i in range(n):
            yield i

    def sub(self):
        s = SubService()
        self._pyroDaemon.register(s)
        return s

    @oneway
    def fire(self):
        self.oneway_done.set()

    def fired(self):
        return self.oneway_done.wait(5)

    def context(self):
        ctx = Pyro5.current_context
        ctx.response_annotations = {"RESP": b"yes"}
        return {"ann": sorted(ctx.annotations), "corr": str(ctx.correlation_id)}

    def receive_blob(self, blob):
        return [blob.info, blob.deserialized()]

    def call_me_back(self, cb):
        try:
            cb.notify("called back")
        except Exception as x:
            return "callback raised %s" % type(x).__name__
        return "no error"

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v):
        self._value = v


@expose
class SubService:
    def hello(self):
        return "hello"


class SecretDaemon(Daemon):
    def validateHandshake(self, conn, data):
        if data != "open sesame":
            raise errors.SecurityError("access denied")
        return "welcome"


@pytest.fixture(params=["thread", "multiplex"])
def server(request):
    Pyro5.config.SERVERTYPE = request.param
    d = Daemon(host="127.0.0.1")
    uri = d.register(Service, "service")
    t = threading.Thread(target=d.requestLoop, daemon=True)
    t.start()
    yield d, uri
    d.shutdown()
    t.join(10)


@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_calls(server, serializer):
    _, uri = server
    Pyro5.config.SERIALIZER = serializer
    with Proxy(uri) as p:
        assert p.add(1, 2) == 3
        assert p.echo("text") == "text"
        with pytest.raises(ValueError, match="service exploded"):
            p.boom()
        try:
            p.boom()
        except ValueError:
            tb = "".join(errors.get_pyro_traceback())
        assert "Remote traceback" in tb and "service exploded" in tb
        assert list(p.gen(4)) == [0, 1, 2, 3]
        p.fire()
        assert p.fired() is True
        if serializer != "marshal":
            assert p.sub().hello() == "hello"


def test_attributes(server):
    _, uri = server
    with Proxy(uri) as p:
        p.value = 5
        assert p.value == 5
        with pytest.raises(AttributeError):
            _ = p.nonexisting
        with pytest.raises(AttributeError):
            _ = p._pyroDaemon_remote
        with pytest.raises(AttributeError):
            p.nonexisting_method()


def test_batch(server):
    _, uri = server
    with Proxy(uri) as p:
        batch = BatchProxy(p)
        batch.add(1, 1)
        batch.echo("x")
        batch.boom()
        batch.add(5, 5)
        results = batch()
        assert next(results) == 2
        assert next(results) == "x"
        with pytest.raises(ValueError):
            next(results)


def test_annotations_and_correlation(server):
    _, uri = server
    corr = uuid.uuid4()

    class AnnotatingProxy(Proxy):
        def _pyroAnnotations(self):
            return {"XTRA": b"1"}
    with AnnotatingProxy(uri) as p:
        Pyro5.current_context.correlation_id = corr
        try:
            result = p.context()
        finally:
            Pyro5.current_context.correlation_id = None
        assert result == {"ann": ["XTRA"], "corr": str(corr)}
        assert bytes(Pyro5.current_context.response_annotations["RESP"]) == b"yes"


def test_timeout(server):
    _, uri = server
    with Proxy(uri) as p:
        p._pyroTimeout = 0.2
        with pytest.raises(errors.TimeoutError):
            p.slow(1.0)


def test_handshake():
    d = SecretDaemon(host="127.0.0.1")
    uri = d.register(Service, "service")
    t = threading.Thread(target=d.requestLoop, daemon=True)
    t.start()
    try:
        with Proxy(uri) as p:
            with pytest.raises(errors.CommunicationError, match="access denied"):
                p._pyroBind()
        with Proxy(uri) as p:
            p._pyroHandshake = "open sesame"
            assert p.add(2, 2) == 4
    finally:
        d.shutdown()
        t.join(10)


def test_blob_dispatch(server):
    d, uri = server
    Pyro5.config.COMMTIMEOUT = 10

    class Dispatcher:
        """Forwards the still-serialized blob to the real service (never deserializes it)."""
        @expose
        def dispatch(self, blob):
            assert type(blob).__name__ == "SerializedBlob"
            with Proxy(uri) as target:
                return target.receive_blob(blob)
    dispatch_daemon = Daemon(host="127.0.0.1")    # its own daemon: a multiplex server can't call itself
    dispatcher_uri = dispatch_daemon.register(Dispatcher())
    t = threading.Thread(target=dispatch_daemon.requestLoop, daemon=True)
    t.start()
    try:
        with Proxy(uri) as p:
            assert p.receive_blob(SerializedBlob("direct", [1, 2])) == ["direct", [1, 2]]
        with Proxy(dispatcher_uri) as p:
            assert p.dispatch(SerializedBlob("forwarded", [{"k": "v"}])) == ["forwarded", [{"k": "v"}]]
    finally:
        dispatch_daemon.shutdown()
        t.join(10)


def test_callback(server):
    d, uri = server

    class Callback:
        @expose
        @callback
        def notify(self, text):
            raise RuntimeError("callback failure: " + text)
    cb_daemon = Daemon(host="127.0.0.1")
    cb_uri = cb_daemon.register(Callback())
    t = threading.Thread(target=cb_daemon.requestLoop, daemon=True)
    t.start()
    try:
        with Proxy(uri) as p:
            assert p.call_me_back(Proxy(cb_uri)) == "callback raised RuntimeError"
    finally:
        cb_daemon.shutdown()
        t.join(10)


def test_pool_full_refusal():
    # one thread per connection (as Pyro5 5.15); by default idle proxies hold no worker (tests/reliability)
    Pyro5.config.SERVERTYPE = "thread"
    Pyro5.config.THREADPOOL_PER_CONNECTION = True
    Pyro5.config.THREADPOOL_SIZE = 2
    Pyro5.config.THREADPOOL_SIZE_MIN = 1
    d = Daemon(host="127.0.0.1")
    uri = d.register(Service, "service")
    t = threading.Thread(target=d.requestLoop, daemon=True)
    t.start()
    proxies = [Proxy(uri) for _ in range(3)]
    try:
        proxies[0]._pyroBind()
        proxies[1]._pyroBind()
        with pytest.raises(errors.CommunicationError, match="too many connections"):
            proxies[2]._pyroBind()
        assert proxies[0].add(1, 1) == 2
    finally:
        for p in proxies:
            p._pyroRelease()
        d.shutdown()
        t.join(10)


def test_connected_socket():
    s1, s2 = socket.socketpair()
    d = Daemon(connected_socket=s1)
    d.register(Service, "service")
    t = threading.Thread(target=d.requestLoop, daemon=True)
    t.start()
    try:
        with Proxy("service", connected_socket=s2) as p:
            assert p.add(3, 4) == 7
            assert list(p.gen(2)) == [0, 1]
    finally:
        d.shutdown()
        t.join(10)
        s1.close()
        s2.close()


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix sockets")
def test_unix_socket(tmp_path):
    d = Daemon(unixsocket=str(tmp_path / "s.sock"))
    uri = d.register(Service, "service")
    t = threading.Thread(target=d.requestLoop, daemon=True)
    t.start()
    try:
        with Proxy(uri) as p:
            assert p.add(1, 1) == 2
    finally:
        d.shutdown()
        t.join(10)


def test_two_way_ssl():
    from tests._support.certs import make_certs
    certs = make_certs()
    for name, value in certs.as_config("server").items():
        setattr(Pyro5.config, name, value)
    for name, value in certs.as_config("client").items():
        setattr(Pyro5.config, name, value)

    class CertDaemon(Daemon):
        def validateHandshake(self, conn, data):
            cert = conn.getpeercert()
            if int(cert["serialNumber"], 16) != certs.client_serial:
                raise errors.SecurityError("unknown client certificate")
            return "ok"
    d = CertDaemon(host="localhost")
    uri = d.register(Service, "service")
    t = threading.Thread(target=d.requestLoop, daemon=True)
    t.start()
    try:
        with Proxy(uri) as p:
            assert p.add(1, 1) == 2
    finally:
        d.shutdown()
        t.join(10)


def test_proxy_for_and_autoproxy_roundtrip(server):
    d, uri = server
    p = d.proxyFor("service")
    try:
        assert p.add(2, 3) == 5
    finally:
        p._pyroRelease()


@pytest.mark.parametrize("stall", [b"PYRO\x01", b"PYRO\x01\xf6\x00\x04\x01" + b"\0" * 29 + b"\x4d"],
                         ids=["partial-header", "partial-header-39"])
def test_stalled_peer_does_not_block_proxies(server, stall):
    """The audit's repro: a raw socket sends a partial header and then nothing; proxies still get answers."""
    _, uri = server
    with socket.create_connection((uri.host, uri.port), timeout=5) as stalled:
        stalled.sendall(stall)
        for _ in range(2):
            with Proxy(uri) as p:
                p._pyroTimeout = 3
                assert p.add(1, 2) == 3
                assert p.echo("still serving") == "still serving"


def test_stalled_tls_peer_does_not_block_proxies():
    from tests._support.certs import make_certs
    certs = make_certs()
    for name, value in certs.as_config("server").items():
        setattr(Pyro5.config, name, value)
    for name, value in certs.as_config("client").items():
        setattr(Pyro5.config, name, value)
    for servertype in ("thread", "multiplex"):
        Pyro5.config.SERVERTYPE = servertype
        d = Daemon(host="localhost")
        uri = d.register(Service, "service", force=True)   # (ids stay after close, as the original)
        t = threading.Thread(target=d.requestLoop, daemon=True)
        t.start()
        try:
            with socket.create_connection((uri.host, uri.port), timeout=5):   # never does the TLS handshake
                with Proxy(uri) as p:
                    p._pyroTimeout = 3
                    assert p.add(1, 1) == 2
        finally:
            d.shutdown()
            t.join(10)
