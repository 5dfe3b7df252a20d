"""locate_ns (direct, config, unix socket, broadcast) and resolve / PYRONAME / PYROMETA, against a name server
object hosted by the peer server. The broadcast responder here is a small UDP responder on 127.0.0.1."""
from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import uuid

import pytest

import Pyro5
import Pyro5.core
import Pyro5.errors
from Pyro5.client import Proxy, locate_ns, resolve
from tests.client._peer import ns_peer_kind, start_peer


@pytest.fixture(scope="module")
def nspeer(peer):
    """A peer hosting a name server object (the original's when our naming package isn't there)."""
    if "Pyro.NameServer" in peer.uris:
        yield peer
        return
    with start_peer(kind=ns_peer_kind(), nameserver=True) as other:
        yield other


def ns_location(nspeer) -> tuple[str, int]:
    host, port = nspeer.uri("Pyro.NameServer").split("@")[1].rsplit(":", 1)
    return host, int(port)


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeBroadcastResponder:
    """Answers b"GET_NSURI" on 127.0.0.1:<port> with the given uri, like the name server's responder."""

    def __init__(self, reply: bytes | None):
        self.reply = reply
        self.received: list[bytes] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while self.running:
            try:
                data, addr = self.sock.recvfrom(1000)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            self.received.append(data)
            if data == b"GET_NSURI" and self.reply:
                self.sock.sendto(b"garbage, not an uri", addr)  # invalid replies are ignored
                self.sock.sendto(self.reply, addr)

    def close(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def responder(nspeer):
    r = FakeBroadcastResponder(nspeer.uri("Pyro.NameServer").encode())
    yield r
    r.close()


def use_broadcast_only(port: int) -> None:
    """Config so that only 127.0.0.1 gets broadcasts and the direct attempts find nothing."""
    Pyro5.config.BROADCAST_ADDRS = "127.0.0.1"
    Pyro5.config.NS_BCPORT = port
    Pyro5.config.NS_HOST = "localhost"
    Pyro5.config.NS_PORT = free_port()


def test_locate_ns_with_host_and_port(nspeer):
    host, port = ns_location(nspeer)
    with locate_ns(host, port) as ns:
        assert isinstance(ns, Proxy)
        assert str(ns._pyroUri) == "PYRO:Pyro.NameServer@%s:%d" % (host, port)
        assert ns._pyroConnection is not None  # bound
        assert "test.thing" in ns.list()


def test_locate_ns_via_core_and_api(nspeer):
    import Pyro5.api
    host, port = ns_location(nspeer)
    for func in (Pyro5.core.locate_ns, Pyro5.api.locate_ns):
        with func(host, port) as ns:
            assert ns.lookup("test.thing") == Pyro5.core.URI(nspeer.uri())


def test_locate_ns_from_config(nspeer):
    host, port = ns_location(nspeer)
    Pyro5.config.NS_HOST = host
    Pyro5.config.NS_PORT = port
    Pyro5.config.BROADCAST_ADDRS = "127.0.0.1"
    Pyro5.config.NS_BCPORT = free_port(socket.SOCK_DGRAM)
    start = time.monotonic()
    with locate_ns() as ns:  # loopback NS_HOST is tried first, no broadcast needed
        assert ns.lookup("test.thing")
    assert time.monotonic() - start < 1.5


def test_locate_ns_broadcast(nspeer, responder):
    use_broadcast_only(responder.port)
    with locate_ns() as ns:
        assert str(ns._pyroUri) == nspeer.uri("Pyro.NameServer")
        assert ns.lookup("test.thing")
    assert responder.received[0] == b"GET_NSURI"


def test_locate_ns_broadcast_port_argument(nspeer, responder):
    use_broadcast_only(free_port(socket.SOCK_DGRAM))
    with locate_ns(port=responder.port) as ns:  # without host, port is the broadcast port
        assert ns.lookup("test.thing")


def test_locate_ns_port_argument_on_loopback(nspeer, responder):
    use_broadcast_only(responder.port)
    host, port = ns_location(nspeer)
    with locate_ns(port=port) as ns:  # like the original: tried on the loopback NS_HOST first
        assert str(ns._pyroUri) == "PYRO:Pyro.NameServer@localhost:%d" % port
    assert responder.received == []


def test_locate_ns_no_broadcast(responder):
    use_broadcast_only(responder.port)
    with pytest.raises(Pyro5.errors.NamingError):
        locate_ns(broadcast=False)
    assert responder.received == []


@pytest.mark.slow
def test_locate_ns_nothing_found():
    silent = FakeBroadcastResponder(None)
    try:
        use_broadcast_only(silent.port)
        start = time.monotonic()
        with pytest.raises(Pyro5.errors.NamingError, match="Failed to locate the nameserver"):
            locate_ns()
        assert time.monotonic() - start >= 2.0  # three broadcast attempts of 0.7 seconds
        assert silent.received == [b"GET_NSURI"] * 3
    finally:
        silent.close()


def test_locate_ns_host_not_running():
    with pytest.raises(Pyro5.errors.NamingError, match="Failed to locate the nameserver"):
        locate_ns("127.0.0.1", free_port())


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix domain sockets")
def test_locate_ns_unix_socket():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ns.sock")
        with start_peer(kind=ns_peer_kind(), unixsocket=path, nameserver=True):
            with locate_ns("./u:" + path) as ns:
                assert str(ns._pyroUri) == "PYRO:Pyro.NameServer@./u:" + path
                assert ns.lookup("test.thing")
            assert resolve("PYRONAME:test.thing@./u:" + path) == Pyro5.core.URI("PYRO:thing@./u:" + path)
            with Proxy("PYRONAME:test.thing@./u:" + path) as p:
                assert p.add(1, 2) == 3


def test_resolve_pyro_uri_unchanged():
    uri = Pyro5.core.URI("PYRO:x@127.0.0.1:1")
    assert resolve(uri) is uri
    assert resolve("PYRO:x@127.0.0.1:1") == uri
    with pytest.raises(TypeError):
        resolve(42)


def test_resolve_pyroname(nspeer):
    host, port = ns_location(nspeer)
    uri = resolve("PYRONAME:test.thing@%s:%d" % (host, port))
    assert isinstance(uri, Pyro5.core.URI) and uri == Pyro5.core.URI(nspeer.uri())
    assert Pyro5.core.resolve("PYRONAME:test.thing@%s:%d" % (host, port)) == uri
    with pytest.raises(Pyro5.errors.NamingError):
        resolve("PYRONAME:test.unknown@%s:%d" % (host, port))


def test_resolve_pyrometa(nspeer):
    host, port = ns_location(nspeer)
    assert resolve("PYROMETA:meta.thing@%s:%d" % (host, port)) == Pyro5.core.URI(nspeer.uri("thing"))
    seen = {str(resolve("PYROMETA:meta.common@%s:%d" % (host, port))) for _ in range(30)}
    assert seen == {nspeer.uri("thing"), nspeer.uri("nothing")}  # a random pick among the matches
    with pytest.raises(Pyro5.errors.NamingError, match="no registrations available"):
        resolve("PYROMETA:meta.unknown@%s:%d" % (host, port))


def test_resolve_with_delay(nspeer):
    host, port = ns_location(nspeer)
    name = "test.later." + uuid.uuid4().hex

    def register_later():
        time.sleep(0.4)
        with Proxy(nspeer.uri("Pyro.NameServer")) as ns:
            ns.register(name, nspeer.uri())

    t = threading.Thread(target=register_later)
    t.start()
    try:
        start = time.monotonic()
        with pytest.raises(Pyro5.errors.NamingError):
            resolve("PYRONAME:%s@%s:%d" % (name, host, port))  # no delay: fails at once
        assert time.monotonic() - start < 0.4
        assert resolve("PYRONAME:%s@%s:%d" % (name, host, port), delay_time=5) == Pyro5.core.URI(nspeer.uri())
    finally:
        t.join(10)
    start = time.monotonic()
    with pytest.raises(Pyro5.errors.NamingError):
        resolve("PYRONAME:test.never@%s:%d" % (host, port), delay_time=0.5)
    assert time.monotonic() - start >= 0.5


def test_proxy_with_pyroname(nspeer):
    host, port = ns_location(nspeer)
    with Proxy("PYRONAME:test.thing@%s:%d" % (host, port)) as p:
        assert p.add(1, 2) == 3
        assert p._pyroUri.protocol == "PYRONAME"  # not bound: keeps the logical name
    with Proxy("PYRONAME:test.thing@%s:%d" % (host, port)) as p:
        p._pyroBind()
        assert str(p._pyroUri) == nspeer.uri()  # bound to the direct uri


def test_proxy_with_pyrometa(nspeer):
    host, port = ns_location(nspeer)
    with Proxy("PYROMETA:meta.thing@%s:%d" % (host, port)) as p:
        assert p.add(1, 2) == 3


def test_proxy_with_pyroname_via_config(nspeer):
    host, port = ns_location(nspeer)
    Pyro5.config.NS_HOST = host
    Pyro5.config.NS_PORT = port
    with Proxy("PYRONAME:test.thing") as p:
        assert p.add(2, 2) == 4


def test_proxy_unknown_pyroname(nspeer):
    host, port = ns_location(nspeer)
    with Proxy("PYRONAME:test.unknown@%s:%d" % (host, port)) as p:
        with pytest.raises(Pyro5.errors.NamingError):
            p.add(1, 2)


def test_proxy_ns_lookup_delay(nspeer):
    host, port = ns_location(nspeer)
    Pyro5.config.NS_LOOKUP_DELAY = 0.5
    start = time.monotonic()
    with Proxy("PYRONAME:test.never@%s:%d" % (host, port)) as p:
        with pytest.raises(Pyro5.errors.NamingError):
            p._pyroBind()
    assert time.monotonic() - start >= 0.5
