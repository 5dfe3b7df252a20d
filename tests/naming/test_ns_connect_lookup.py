"""resolve() of a PYRONAME uri against our name server: the lookup is answered on the connect handshake (the NSLK
capability, Pyro5._capabilities) instead of by a lookup call; the answer is the one lookup() gives, and whatever
cannot use it (an unknown name, a name server without the capability, call hooks on either side) gets the
normal lookup call."""
from __future__ import annotations

import threading

import pytest

import Pyro5
import Pyro5.errors
from Pyro5 import _capabilities, core, nameserver, protocol, serializers
from Pyro5.client import Proxy, add_observer, remove_observer, resolve
from Pyro5.server import Daemon, expose
from tests._support.servers import serve_daemon


@expose
class PlainNameServer:
    """A name server without the NSLK capability (like an original one): an object named Pyro.NameServer that is
    not our NameServer; it records the names looked up."""
    def __init__(self) -> None:
        self.calls: list[str] = []

    def lookup(self, name):
        self.calls.append(name)
        return core.URI("PYRO:plain@127.0.0.1:4321")


class CountingNameServer(nameserver.NameServer):
    """Counts the lookup calls that arrive as remote calls (not the ones of the connect handshake)."""

    def __init__(self) -> None:
        super().__init__()
        self.remote_lookups = 0

    @expose
    def lookup(self, name, return_metadata=False):
        if Pyro5.current_context.seq:       # (the connect message has seq 0; calls come after it)
            self.remote_lookups += 1
        return super().lookup(name, return_metadata)


@pytest.fixture
def counting_ns():
    daemon = nameserver.NameServerDaemon(host="127.0.0.1", port=0)
    daemon.unregister(core.NAMESERVER_NAME)
    ns = CountingNameServer()
    daemon.nameserver = ns
    daemon.register(ns, core.NAMESERVER_NAME)
    ns.register("thing", "PYRO:thing@127.0.0.1:4444")
    ns.register("elsewhere", "PYRO:obj@[::1]:5555")
    thread = threading.Thread(target=daemon.requestLoop, daemon=True)
    thread.start()
    yield daemon, ns
    daemon.shutdown()
    thread.join(10)
    assert not thread.is_alive()
    daemon.close()


def _location(daemon) -> str:
    return daemon.locationStr


def test_resolve_answers_on_the_connect_handshake(counting_ns):
    daemon, ns = counting_ns
    assert resolve("PYRONAME:thing@" + _location(daemon)) == core.URI("PYRO:thing@127.0.0.1:4444")
    assert resolve("PYRONAME:elsewhere@" + _location(daemon)) == core.URI("PYRO:obj@[::1]:5555")
    assert ns.remote_lookups == 0
    with Proxy("PYRO:%s@%s" % (core.NAMESERVER_NAME, _location(daemon))) as proxy:   # a plain proxy: a call
        assert proxy.lookup("thing") == core.URI("PYRO:thing@127.0.0.1:4444")
    assert ns.remote_lookups == 1


def test_unknown_name_is_the_lookup_calls_naming_error(counting_ns):
    daemon, ns = counting_ns
    with pytest.raises(Pyro5.errors.NamingError, match="unknown name: nothing"):
        resolve("PYRONAME:nothing@" + _location(daemon))
    assert ns.remote_lookups == 1


def test_client_observers_see_the_lookup_call(counting_ns):
    daemon, ns = counting_ns
    seen = []

    def observer(event, call):
        seen.append((event, call.method))
    add_observer(observer)
    try:
        assert resolve("PYRONAME:thing@" + _location(daemon)).object == "thing"
    finally:
        remove_observer(observer)
    assert ns.remote_lookups == 1 and ("finished", "lookup") in seen


def test_a_name_server_without_the_capability_gets_the_lookup_call():
    """A daemon with an object named Pyro.NameServer that is not our NameServer (like an original name server)
    ignores the annotation: resolve() calls lookup."""
    plain_ns = PlainNameServer()
    calls = plain_ns.calls

    daemon = Daemon(host="127.0.0.1")
    daemon.register(plain_ns, core.NAMESERVER_NAME)
    thread = threading.Thread(target=daemon.requestLoop, daemon=True)
    thread.start()
    try:
        assert resolve("PYRONAME:x@" + daemon.locationStr) == core.URI("PYRO:plain@127.0.0.1:4321")
        assert calls == ["x"]
    finally:
        daemon.shutdown()
        thread.join(10)
        daemon.close()


def test_the_daemon_answers_the_capability_on_the_wire(counting_ns):
    """A raw connect message with the NSLK annotation: the CONNECTOK carries the uri string, and only for a name
    the name server knows."""
    import socket

    daemon, _ns = counting_ns
    ser = serializers.serializers["serpent"]

    def connect(annotations):
        with socket.create_connection(daemon.sock.getsockname(), timeout=10) as sock:
            payload = ser.dumps({"handshake": "hello", "object": core.NAMESERVER_NAME})
            sock.sendall(protocol.SendingMessage(protocol.MSG_CONNECT, 0, 0, ser.serializer_id, payload,
                                                 annotations).data)
            reader = protocol.MessageReader()
            messages = []
            while not messages:
                data = sock.recv(65536)
                assert data
                messages = reader.feed(data)
            return messages[0]
    msg = connect(_capabilities.lookup_offer("thing"))
    assert msg.type == protocol.MSG_CONNECTOK
    assert _capabilities.lookup_answered(msg.annotations) == "PYRO:thing@127.0.0.1:4444"
    msg = connect(_capabilities.lookup_offer("nothing"))
    assert msg.type == protocol.MSG_CONNECTOK and _capabilities.lookup_answered(msg.annotations) is None
    msg = connect(None)
    assert msg.type == protocol.MSG_CONNECTOK and _capabilities.LOOKUP not in (msg.annotations or {})


def test_pyroname_proxy_calls_through_the_answer(counting_ns):
    daemon, ns = counting_ns

    @expose
    class Thing:
        def where(self):
            return "here"

    target = Daemon(host="127.0.0.1")
    uri = target.register(Thing(), "thething")
    thread = threading.Thread(target=target.requestLoop, daemon=True)
    thread.start()
    try:
        ns.register("thething", uri)
        with Proxy("PYRONAME:thething@" + _location(daemon)) as proxy:
            assert proxy.where() == "here"
            assert proxy._pyroUri.protocol == "PYRONAME"
        with Proxy("PYRONAME:thething@" + _location(daemon)) as proxy:
            proxy._pyroBind()
            assert proxy._pyroUri == uri
            assert proxy.where() == "here"
        assert ns.remote_lookups == 0
    finally:
        target.shutdown()
        thread.join(10)
        target.close()


def _serve_ns(ns):
    daemon = nameserver.NameServerDaemon(host="127.0.0.1", port=0)
    daemon.unregister(core.NAMESERVER_NAME)
    daemon.nameserver = ns
    daemon.register(ns, core.NAMESERVER_NAME)
    return daemon, serve_daemon(daemon)


def test_plain_name_server_answers_what_lookup_returns():
    """NameServer's own lookup: the connect reply carries the registered uri string itself (no URI object made
    for it); it is the uri lookup() returns, and an unknown name gets no answer (the lookup call raises)."""
    ns = nameserver.NameServer()
    ns.register("thing", core.URI("PYRO:thing@127.0.0.1:4444"))
    ns.register("elsewhere", "PYRO:obj@[::1]:5555")
    assert ns._pyroConnectLookup("thing") == "PYRO:thing@127.0.0.1:4444"
    with pytest.raises(Pyro5.errors.NamingError, match="unknown name: nothing"):
        ns._pyroConnectLookup("nothing")
    daemon, stop = _serve_ns(ns)
    try:
        for name in ("thing", "elsewhere"):
            assert resolve("PYRONAME:%s@%s" % (name, _location(daemon))) == ns.lookup(name)
        with pytest.raises(Pyro5.errors.NamingError, match="unknown name: nothing"):
            resolve("PYRONAME:nothing@" + _location(daemon))
    finally:
        stop()


def test_subclass_lookup_answers_on_the_connect_reply():
    """A name server subclass whose lookup() answers differently: the connect reply has its answer."""
    class Redirecting(nameserver.NameServer):
        @expose
        def lookup(self, name, return_metadata=False):
            return core.URI("PYRO:redirected@127.0.0.1:7777")

    daemon, stop = _serve_ns(Redirecting())
    try:
        assert resolve("PYRONAME:anything@" + _location(daemon)) == core.URI("PYRO:redirected@127.0.0.1:7777")
    finally:
        stop()


class _CountingDaemon(Daemon):
    """Counts the connect handshakes (connections) it gets; refuses them all when `refuse` is set."""

    def __init__(self, *args, refuse=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.handshakes = 0
        self.refuse = refuse

    def validateHandshake(self, conn, data):
        self.handshakes += 1
        if self.refuse:
            raise Pyro5.errors.CommunicationError(self.refuse)
        return super().validateHandshake(conn, data)



def test_one_connection_per_resolve_whatever_the_name_server_answers():
    """resolve() connects once: the answer on the connect reply, or (a name server without the capability, an
    unknown name) the lookup call over that same connection."""
    plain_ns = PlainNameServer()
    calls = plain_ns.calls

    plain = _CountingDaemon(host="127.0.0.1")
    plain.register(plain_ns, core.NAMESERVER_NAME)
    ours = _CountingDaemon(host="127.0.0.1")
    ns = nameserver.NameServer()
    ns.register("thing", "PYRO:thing@127.0.0.1:4444")
    ours.register(ns, core.NAMESERVER_NAME)
    stops = [serve_daemon(plain), serve_daemon(ours)]
    try:
        for i in range(1, 3):
            assert resolve("PYRONAME:x@" + plain.locationStr) == core.URI("PYRO:plain@127.0.0.1:4321")
            assert (plain.handshakes, calls) == (i, ["x"] * i)
            assert resolve("PYRONAME:thing@" + ours.locationStr) == core.URI("PYRO:thing@127.0.0.1:4444")
            assert Pyro5.current_context.response_annotations == {}     # (the answer is not a response annotation)
            with pytest.raises(Pyro5.errors.NamingError, match="unknown name: nothing"):
                resolve("PYRONAME:nothing@" + ours.locationStr)
            assert ours.handshakes == 2 * i
    finally:
        for stop in stops:
            stop()


def test_refused_connection_is_naming_error():
    refusing = _CountingDaemon(host="127.0.0.1", refuse="go away")
    refusing.register(nameserver.NameServer(), core.NAMESERVER_NAME)
    stop = serve_daemon(refusing)
    try:
        with pytest.raises(Pyro5.errors.NamingError, match="Failed to locate the nameserver .*go away"):
            resolve("PYRONAME:thing@" + refusing.locationStr)
        with pytest.raises(Pyro5.errors.NamingError, match="Failed to locate the nameserver .*go away"):
            with Proxy("PYRONAME:thing@" + refusing.locationStr) as proxy:
                proxy._pyroBind()
        assert refusing.handshakes == 2
    finally:
        stop()


def test_program_replaced_proxy_annotations_are_on_the_connect_message(monkeypatch):
    """A program that replaces Proxy._pyroAnnotations: the name server's connect message has its annotations
    too (resolve() then connects through a proxy object), and the lookup is still answered on the reply."""
    seen = []

    class Watching(_CountingDaemon):
        def validateHandshake(self, conn, data):
            seen.append(dict(Pyro5.current_context.annotations))
            return super().validateHandshake(conn, data)

    daemon = Watching(host="127.0.0.1")
    ns = nameserver.NameServer()
    ns.register("thing", "PYRO:thing@127.0.0.1:4444")
    daemon.register(ns, core.NAMESERVER_NAME)
    stop = serve_daemon(daemon)

    def annotations(self):
        return {"XTRA": b"1"}
    monkeypatch.setattr(Proxy, "_pyroAnnotations", annotations)
    try:
        assert resolve("PYRONAME:thing@" + daemon.locationStr) == core.URI("PYRO:thing@127.0.0.1:4444")
        assert seen[-1].get("XTRA") == b"1" and _capabilities.LOOKUP in seen[-1]
        monkeypatch.undo()
        assert resolve("PYRONAME:thing@" + daemon.locationStr) == core.URI("PYRO:thing@127.0.0.1:4444")
        assert "XTRA" not in seen[-1] and _capabilities.LOOKUP in seen[-1]
    finally:
        stop()
