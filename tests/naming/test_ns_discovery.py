"""Broadcast responder, locate_ns, PYRONAME/PYROMETA resolution, lookup delays, unix sockets, NAT, serve()."""
from __future__ import annotations

import socket
import threading
import time

import pytest

import Pyro5
from Pyro5 import core, errors, nameserver
from Pyro5.client import Proxy, locate_ns, resolve
from Pyro5.nameserver import BroadcastServer
from Pyro5.server import Daemon, expose
from tests.naming.conftest import wait_for


@expose
class Echo:
    def hello(self, who):
        return "hello " + who


@pytest.fixture
def bcserver(start_ns):
    """A name server on 127.0.0.1 plus a broadcast responder on 127.0.0.1 (random port), combined."""
    rn = start_ns()
    bc = BroadcastServer(rn.uri, bchost="127.0.0.1", bcport=0)
    rn.daemon.combine(bc)
    yield rn, bc
    rn.stop()       # stop the loop before closing a socket that is part of it
    bc.close()


def _ask(port: int, message: bytes, timeout: float = 2.0) -> bytes | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(message, ("127.0.0.1", port))
        try:
            return s.recvfrom(1000)[0]
        except (socket.timeout, TimeoutError):
            return None


def test_broadcast_responder_answers(bcserver):
    rn, bc = bcserver
    assert bc.locationStr == "127.0.0.1:%d" % bc.getPort()
    assert _ask(bc.getPort(), b"GET_NSURI") == str(rn.uri).encode()
    assert _ask(bc.getPort(), b"GET_NSURIxx", timeout=0.3) is None
    assert _ask(bc.getPort(), b"\x00" * 900, timeout=0.3) is None
    assert _ask(bc.getPort(), b"GET_NSURI") == str(rn.uri).encode()   # still serving after junk


def test_broadcast_responder_in_its_own_thread(start_ns):
    rn = start_ns()
    bc = BroadcastServer(rn.uri, bchost="127.0.0.1", bcport=0)
    t = bc.runInThread()     # returns at once, serving in a thread of its own (as the original)
    assert t.is_alive()
    try:
        assert _ask(bc.getPort(), b"GET_NSURI") == str(rn.uri).encode()
    finally:
        bc.close()
    t.join(5)
    assert not t.is_alive()


def test_reply_for_unspecified_host():
    """A name server on 0.0.0.0 answers with the address facing the client (no binding on 0.0.0.0 here)."""
    with BroadcastServer("PYRO:Pyro.NameServer@0.0.0.0:9999", bchost="127.0.0.1", bcport=0) as bc:
        assert bc.reply_for(("127.0.0.1", 5555)) == b"PYRO:Pyro.NameServer@127.0.0.1:9999"
    with BroadcastServer("PYRO:Pyro.NameServer@myhost:9999", bchost="127.0.0.1", bcport=0) as bc:
        assert bc.reply_for(("127.0.0.1", 5555)) == b"PYRO:Pyro.NameServer@myhost:9999"


def test_locate_ns_by_broadcast(bcserver):
    rn, bc = bcserver
    Pyro5.config.NS_HOST = "127.0.0.2"          # not loopback-named: forces the broadcast path first
    Pyro5.config.NS_PORT = 1                    # and the direct fallback would fail
    with locate_ns(port=bc.getPort()) as p:
        assert p._pyroUri == rn.uri
        assert p.ping() is None
    Pyro5.config.NS_BCPORT = bc.getPort()
    with locate_ns() as p:
        assert str(p.lookup("Pyro.NameServer")) == str(rn.uri)
    with Proxy("PYRONAME:Pyro.NameServer") as p:  # PYRONAME without location: broadcast lookup
        assert p.count() == 1


def test_locate_ns_direct(ns):
    with locate_ns("127.0.0.1", ns.uri.port) as p:
        assert p.ping() is None
    with pytest.raises(errors.NamingError):
        locate_ns("127.0.0.1", _free_port())


def test_no_broadcast_responder_for_localhost(start_ns):
    for host in ("127.0.0.1", "localhost"):
        rn = start_ns(host=host, enableBroadcast=True)
        assert rn.bcserver is None


def test_pyroname_and_pyrometa(start_ns):
    rn = start_ns()
    with Daemon(host="127.0.0.1") as d:
        objuri = d.register(Echo())
        t = threading.Thread(target=d.requestLoop, daemon=True)
        t.start()
        try:
            with rn.proxy() as nsp:
                nsp.register("test.echo", objuri, metadata={"echo", "kind:test"})
                nsp.register("test.other", "PYRO:other@127.0.0.1:1", metadata={"kind:test"})
            loc = "127.0.0.1:%d" % rn.uri.port
            with Proxy("PYRONAME:test.echo@" + loc) as p:
                assert p.hello("name") == "hello name"
            with Proxy("PYROMETA:echo,kind:test@" + loc) as p:
                assert p.hello("meta") == "hello meta"
            assert resolve("PYRONAME:test.echo@" + loc) == objuri
            assert resolve("PYROMETA:echo@" + loc) == objuri
            assert resolve(objuri) == objuri
            assert core.resolve("PYRONAME:test.echo@" + loc) == objuri
            with pytest.raises(errors.NamingError, match="unknown name"):
                resolve("PYRONAME:not.there@" + loc)
            with pytest.raises(errors.NamingError):
                resolve("PYROMETA:nosuchtag@" + loc)
            # through NS_HOST/NS_PORT config instead of the uri
            Pyro5.config.NS_HOST = "127.0.0.1"
            Pyro5.config.NS_PORT = rn.uri.port
            with Proxy("PYRONAME:test.echo") as p:
                assert p.hello("cfg") == "hello cfg"
        finally:
            d.shutdown()
            t.join(5)


def test_lookup_delay(start_ns):
    rn = start_ns()
    loc = "127.0.0.1:%d" % rn.uri.port

    def register_later():
        time.sleep(0.5)
        with rn.proxy() as p:
            p.register("late.name", "PYRO:late@127.0.0.1:1", metadata=["late"])

    t = threading.Thread(target=register_later)
    t.start()
    try:
        assert str(resolve("PYRONAME:late.name@" + loc, delay_time=5)) == "PYRO:late@127.0.0.1:1"
    finally:
        t.join(5)
    with pytest.raises(errors.NamingError):
        resolve("PYRONAME:never@" + loc, delay_time=0.3)


def test_lookup_delay_config_item(start_ns):
    rn = start_ns()
    Pyro5.config.NS_LOOKUP_DELAY = 5.0
    timer = threading.Timer(0.5, lambda: rn.nameserver.register("cfg.late", "PYRO:cfg@127.0.0.1:1",
                                                                metadata=["cfgmeta"]))
    timer.start()
    try:
        with rn.proxy() as p:
            assert str(nameserver.lookup(p, "cfg.late")) == "PYRO:cfg@127.0.0.1:1"
            assert set(nameserver.yplookup(p, meta_all=["cfgmeta"])) == {"cfg.late"}
    finally:
        timer.cancel()


@pytest.mark.parametrize("resolver", [resolve, core.resolve], ids=["client.resolve", "core.resolve"])
def test_resolve_uses_ns_lookup_delay_config_item(start_ns, resolver):
    """resolve() without delay_time waits config.NS_LOOKUP_DELAY, like the original (and like proxies)."""
    rn = start_ns()
    loc = "127.0.0.1:%d" % rn.uri.port
    Pyro5.config.NS_LOOKUP_DELAY = 3.0
    timer = threading.Timer(0.5, lambda: rn.nameserver.register("res.late", "PYRO:res@127.0.0.1:1"))
    timer.start()
    try:
        assert str(resolver("PYRONAME:res.late@" + loc)) == "PYRO:res@127.0.0.1:1"
    finally:
        timer.cancel()
        timer.join(5)
    Pyro5.config.NS_LOOKUP_DELAY = 0.6
    started = time.monotonic()
    with pytest.raises(errors.NamingError):
        resolver("PYRONAME:res.never@" + loc)
    elapsed = time.monotonic() - started
    assert elapsed >= 0.6, "gave up after %.2fs, before NS_LOOKUP_DELAY" % elapsed
    assert elapsed < 10
    Pyro5.config.NS_LOOKUP_DELAY = 0.0
    started = time.monotonic()
    with pytest.raises(errors.NamingError):
        resolver("PYRONAME:res.never@" + loc)
    assert time.monotonic() - started < 0.6       # no delay configured: fails at once


def test_module_lookup_helpers_with_delay_time(start_ns):
    rn = start_ns()
    timer = threading.Timer(0.5, lambda: rn.nameserver.register("h.late", "PYRO:h@127.0.0.1:1", metadata=["hm"]))
    timer.start()
    try:
        with rn.proxy() as p:
            found = nameserver.yplookup(p, meta_any=["hm"], delay_time=5)
            assert found == {"h.late": ("PYRO:h@127.0.0.1:1", {"hm"})}
            uri, meta = nameserver.lookup(p, "h.late", return_metadata=True, delay_time=5)
            assert str(uri) == "PYRO:h@127.0.0.1:1" and set(meta) == {"hm"}
            with pytest.raises(errors.NamingError):
                nameserver.lookup(p, "h.never", delay_time=0.2)
            assert nameserver.yplookup(p, meta_all=["never"], delay_time=0.2) == {}
    finally:
        timer.cancel()


def test_unix_socket_name_server(start_ns, tmp_path):
    path = str(tmp_path / "ns.sock")
    rn = start_ns(unixsocket=path, enableBroadcast=True)
    assert rn.bcserver is None
    assert str(rn.uri) == "PYRO:Pyro.NameServer@./u:" + path
    with locate_ns("./u:" + path) as p:
        p.register("u.obj", "PYRO:u@./u:/tmp/other.sock")
        assert str(p.lookup("u.obj")) == "PYRO:u@./u:/tmp/other.sock"
    assert str(resolve("PYRONAME:u.obj@./u:" + path)) == "PYRO:u@./u:/tmp/other.sock"


def test_nat_name_server(start_ns):
    rn = start_ns(nathost="nat.example.org", natport=5555)
    assert str(rn.uri) == "PYRO:Pyro.NameServer@nat.example.org:5555"   # start_ns returns the external uri
    assert rn.daemon.natLocationStr == "nat.example.org:5555"
    registered = rn.nameserver.lookup("Pyro.NameServer")  # and the NS registers its external uri
    assert str(registered) == "PYRO:Pyro.NameServer@nat.example.org:5555"
    internal = rn.daemon.uriFor(rn.nameserver, nat=False)
    assert internal.host == "127.0.0.1"
    with Proxy(internal) as p:
        assert p.count() == 1
    rn0 = start_ns(nathost="nat.example.org", natport=0)  # natport 0: the internal port number
    assert str(rn0.uri) == "PYRO:Pyro.NameServer@nat.example.org:%d" % rn0.daemon.sock.getsockname()[1]


def test_serve_with_name_server(start_ns):
    """Pyro5.server.serve(..., use_ns=True) registers its objects in our name server."""
    from Pyro5.server import serve
    rn = start_ns()
    Pyro5.config.NS_HOST = "127.0.0.1"
    Pyro5.config.NS_PORT = rn.uri.port
    daemon = Daemon(host="127.0.0.1")
    t = threading.Thread(target=serve, args=({Echo: "served.echo"},),
                         kwargs=dict(daemon=daemon, use_ns=True, verbose=False), daemon=True)
    t.start()
    try:
        wait_for(lambda: "served.echo" in rn.nameserver.list(), what="served.echo registration")
        with Proxy("PYRONAME:served.echo") as p:
            assert p.hello("served") == "hello served"
    finally:
        daemon.shutdown()   # the call above was served, so the request loop runs
        t.join(10)
    assert not t.is_alive()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_own_event_loop_with_start_ns():
    """The manual's eventloop pattern: start_ns() plus an own select() loop over the daemon's sockets and the
    broadcast responder (which is selectable through fileno())."""
    import select
    Pyro5.config.SERVERTYPE = "multiplex"
    uri, daemon, _ = nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
    bc = BroadcastServer(uri, bchost="127.0.0.1", bcport=0)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            readable, _, _ = select.select(daemon.sockets + [bc], [], [], 0.05)
            if bc in readable:
                bc.processRequest()
            events = [s for s in readable if s is not bc]
            if events:
                daemon.events(events)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        Pyro5.config.NS_HOST = "127.0.0.2"
        Pyro5.config.NS_PORT = 1
        with locate_ns(port=bc.getPort()) as p:
            p.register("loop.obj", "PYRO:loop@127.0.0.1:1")
            assert str(p.lookup("loop.obj")) == "PYRO:loop@127.0.0.1:1"
    finally:
        stop.set()
        t.join(5)
        daemon.close()
        bc.close()
    assert not t.is_alive()
