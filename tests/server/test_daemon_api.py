"""The Daemon API: registration, URIs, NAT, loop control, events/selector, combine, close, serve()."""
from __future__ import annotations

import gc
import importlib.util
import logging
import selectors
import socket
import threading

import pytest

import Pyro5
from Pyro5 import core, errors
from Pyro5._svr_meta import class_info, is_private_attribute
from Pyro5.server import Daemon, DaemonObject, behavior, expose, oneway, serve
from tests.server._helpers import RawClient, RunningDaemon, wait_for
from tests.server._objects import Thing

HAVE_CLIENT = importlib.util.find_spec("Pyro5.client") is not None


@pytest.fixture
def daemon():
    d = Daemon(host="127.0.0.1")
    yield d
    d.close()


# ------------------------------------------------------------------ decorators and exposure rules

def test_private_attribute_rules():
    for name in ("_x", "__x", "_", "__", "___", "__init__", "__class__", "__getattr__", "__reduce_ex__", "",
                 "_pyroId"):
        assert is_private_attribute(name), name
    for name in ("x", "__len__", "__dunder__", "__getitem__", "method_"):
        assert not is_private_attribute(name), name


def test_expose_class_and_members():
    @expose
    class C:
        def m(self):
            pass

        def _p(self):
            pass

        def __len__(self):
            return 0

        @property
        def prop(self):
            return 1

        @classmethod
        def cm(cls):
            pass

        @staticmethod
        def sm():
            pass

        @oneway
        def ow(self):
            pass
    info = class_info(C)
    assert info.methods == {"m", "__len__", "cm", "sm", "ow"}
    assert info.attrs == {"prop"} and info.writable == set()
    assert info.oneway == {"ow"}


def test_expose_methods_only():
    class C:
        @expose
        def a(self):
            pass

        def b(self):
            pass

        @expose
        @property
        def p(self):
            return 1

        @expose
        @p.setter
        def p(self, v):
            pass

        @classmethod
        @expose
        def cm(cls):
            pass
    info = class_info(C)
    assert info.methods == {"a", "cm"} and info.attrs == {"p"} and info.writable == {"p"}


def test_expose_private_fails():
    with pytest.raises(AttributeError):
        def _private(self):
            pass
        expose(_private)
    with pytest.raises(TypeError):
        expose(42)


def test_expose_third_party_class_as_function():
    class Library:
        def work(self):
            return "work"
    exposed = expose(Library)
    assert exposed is Library and class_info(Library).methods == {"work"}


def test_behavior_validation():
    with pytest.raises(ValueError):
        behavior(instance_mode="bogus")
    with pytest.raises(TypeError):
        behavior(instance_creator=42)
    with pytest.raises(SyntaxError):
        @behavior
        class C:
            pass

    @behavior(instance_mode="percall")
    class D:
        pass
    assert D._pyroInstancing == ("percall", None)


def test_inherited_exposure():
    @expose
    class Base:
        def base(self):
            pass

    class Derived(Base):
        def derived(self):
            pass

        @expose
        def derived_exposed(self):
            pass
    assert class_info(Derived).methods == {"base", "derived_exposed"}


# ------------------------------------------------------------------ registration

def test_register_and_unregister(daemon):
    uri = daemon.register(Thing, "thing")
    assert isinstance(uri, core.URI) and uri.object == "thing"
    assert str(uri) == "PYRO:thing@" + daemon.locationStr
    assert Thing._pyroId == "thing" and Thing._pyroDaemon is daemon
    with pytest.raises(errors.DaemonError):
        daemon.register(Thing, "other")       # already registered
    with pytest.raises(errors.DaemonError):
        daemon.register(Thing(), "thing")     # id in use
    obj = Thing()
    uri2 = daemon.register(obj)
    assert uri2.object.startswith("obj_") and obj._pyroId == uri2.object
    assert set(daemon.objectsById) == {core.DAEMON_NAME, "thing", uri2.object}
    daemon.unregister("thing")
    daemon.unregister(obj)
    assert set(daemon.objectsById) == {core.DAEMON_NAME}
    # as the original: unregistering by object removes its attributes, by id leaves them
    assert "_pyroId" not in vars(obj) and "_pyroDaemon" not in vars(obj)
    assert vars(Thing)["_pyroId"] == "thing" and vars(Thing)["_pyroDaemon"] is daemon
    daemon.unregister("thing")      # unknown: ignored
    daemon.unregister(core.DAEMON_NAME)
    assert core.DAEMON_NAME in daemon.objectsById
    with pytest.raises(ValueError):
        daemon.unregister(None)


def test_register_force(daemon):
    a, b = Thing(), Thing()
    daemon.register(a, "x")
    daemon.register(b, "x", force=True)
    assert daemon.objectsById["x"] is b
    daemon.register(b, "y", force=True)   # re-register the same object under another id
    assert daemon.objectsById["y"] is b and "x" not in daemon.objectsById


def test_register_invalid(daemon):
    # the exception classes of the original 5.15 (tests/interop/test_interop_daemon_api.py checks them there)
    with pytest.raises(TypeError):
        daemon.register(Thing(), 42)
    for bad in (None, 4444, "string"):
        with pytest.raises(AttributeError, match="__slots__"):
            daemon.register(bad)
    for bad in ([1, 2], 4444):
        with pytest.raises(errors.DaemonError):
            daemon.unregister(bad)
    with pytest.raises(AttributeError):
        daemon.unregister(Thing())      # never registered
    assert str(daemon.register(Thing(), "")).startswith("PYRO:obj_")   # "" means: generate an id


def test_register_weak(daemon):
    obj = Thing()
    daemon.register(obj, "weakthing", weak=True)
    assert daemon._lookup("weakthing") is obj
    del obj
    gc.collect()
    assert "weakthing" not in daemon.objectsById


def test_registrations_stay_after_close():
    # as the original: close() keeps the registrations and the ids; a new daemon refuses the class unless forced
    d = Daemon(host="127.0.0.1")
    thing = Thing()
    d.register(Thing, "thing")
    d.register(thing, "instance")
    d.close()
    assert set(d.objectsById) == {core.DAEMON_NAME, "thing", "instance"}
    assert Thing._pyroId == "thing" and thing._pyroId == "instance" and thing._pyroDaemon is d
    d2 = Daemon(host="127.0.0.1")
    try:
        with pytest.raises(errors.DaemonError):
            d2.register(Thing, "thing")
        with pytest.raises(errors.DaemonError):
            d2.register(thing)
        d2.register(Thing, "thing", force=True)
        assert Thing._pyroDaemon is d2
    finally:
        d2.close()


def test_serve_refuses_a_class_of_a_closed_daemon():
    d = Daemon(host="127.0.0.1")
    d.register(Thing, "thing")
    d.close()
    d2 = Daemon(host="127.0.0.1")
    d2.requestLoop = lambda *a: None     # (never reached)
    with pytest.raises(errors.DaemonError):
        serve({Thing: "thing"}, daemon=d2, use_ns=False, verbose=False)
    assert d2.transportServer is None    # serve() closed its daemon


def test_class_exposing_nothing_logs_a_warning(daemon, caplog):
    class Plain:
        def method(self):
            pass
    with caplog.at_level(logging.WARNING, logger="Pyro5.server"):
        daemon.register(Plain, "plain")
        daemon.register(Thing, "thing")
    warnings = [r for r in caplog.records if r.name == "Pyro5.server" and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "doesn't expose any methods or attributes. Did you forget setting @expose on them?" \
        in warnings[0].getMessage() and "Plain" in warnings[0].getMessage()


def test_uri_for_and_nat():
    d = Daemon(host="127.0.0.1", nathost="nat.example.com", natport=5555)
    try:
        port = d.sock.getsockname()[1]
        assert d.locationStr == "127.0.0.1:%d" % port
        assert d.natLocationStr == "nat.example.com:5555"
        assert str(d.register(Thing, "thing")) == "PYRO:thing@nat.example.com:5555"
        assert str(d.uriFor("thing")) == "PYRO:thing@nat.example.com:5555"
        assert str(d.uriFor("thing", nat=False)) == "PYRO:thing@127.0.0.1:%d" % port
        assert str(d.uriFor(Thing, nat=False)) == "PYRO:thing@127.0.0.1:%d" % port
        assert str(d.uriFor("unregistered_name")) == "PYRO:unregistered_name@nat.example.com:5555"
        with pytest.raises(errors.DaemonError):
            d.uriFor(object())
    finally:
        d.close()
    d = Daemon(host="127.0.0.1", nathost="nat.example.com", natport=0)
    try:
        assert d.natLocationStr == "nat.example.com:%d" % d.sock.getsockname()[1]
    finally:
        d.close()
    with pytest.raises(ValueError):
        Daemon(host="127.0.0.1", natport=5555)


def test_nat_from_config():
    Pyro5.config.NATHOST = "cfg.example.com"
    Pyro5.config.NATPORT = 4444
    d = Daemon(host="127.0.0.1")
    try:
        assert d.natLocationStr == "cfg.example.com:4444"
    finally:
        d.close()


def test_invalid_servertype():
    Pyro5.config.SERVERTYPE = "bogus"
    with pytest.raises(errors.PyroError, match="SERVERTYPE"):
        Daemon(host="127.0.0.1")


def test_proxy_for_without_client(daemon, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "Pyro5.client", None)     # as if pyro5-client were not installed
    daemon.register(Thing, "thing")
    with pytest.raises(ModuleNotFoundError, match="pyro5-client"):
        daemon.proxyFor("thing")


def test_get_attribute_and_exposed_members():
    from Pyro5.server import get_attribute, get_exposed_members
    t = Thing()
    assert get_attribute(t, "add")(1, 1) == 2
    assert get_attribute(t, "value") == 42
    for name in ("_private", "plain", "__class__", "nonexisting"):
        with pytest.raises(AttributeError):
            get_attribute(t, name)
    meta = get_exposed_members(Thing, as_lists=True)
    assert meta["oneway"] == ["fire"] and meta["attrs"] == ["readonly", "value"]


@pytest.mark.skipif(not HAVE_CLIENT, reason="needs pyro5-client")
def test_proxy_for(daemon):
    Pyro5.config.NATHOST = None
    daemon.register(Thing, "thing")
    proxy = daemon.proxyFor("thing")
    try:
        assert proxy._pyroUri == daemon.uriFor("thing")
        assert "add" in proxy._pyroMethods and "value" in proxy._pyroAttrs
    finally:
        proxy._pyroRelease()
    with pytest.raises(errors.DaemonError):
        daemon.proxyFor("unknown")


def test_daemon_object_interface(daemon):
    class MyDaemonObject(DaemonObject):
        @expose
        def extra(self):
            return "extra"
    d = Daemon(host="127.0.0.1", interface=MyDaemonObject)
    try:
        assert isinstance(d.objectsById[core.DAEMON_NAME], MyDaemonObject)
    finally:
        d.close()


def test_context_manager_and_close():
    with Daemon(host="127.0.0.1") as d:
        sock = d.sock
        assert d.sockets == [sock]
    assert sock.fileno() == -1 and d.sockets == []
    with pytest.raises(errors.PyroError):
        with d:
            pass
    with pytest.raises(errors.DaemonError):
        d.requestLoop()
    d.close()   # twice is fine


# ------------------------------------------------------------------ loops

def test_request_loop_condition(servertype):
    Pyro5.config.POLLTIMEOUT = 0.1
    stop = threading.Event()
    d = Daemon(host="127.0.0.1")
    rd = RunningDaemon(d, loop_condition=lambda: not stop.is_set())
    try:
        with RawClient(rd.address) as c:
            assert c.connect(core.DAEMON_NAME)[0].type == 2
        stop.set()
        rd.thread.join(5)
        assert not rd.thread.is_alive()
    finally:
        rd.stop()


def test_shutdown_from_other_thread(servertype):
    d = Daemon(host="127.0.0.1")
    rd = RunningDaemon(d)
    with RawClient(rd.address) as c:
        c.connect(core.DAEMON_NAME)
        d.shutdown()
        rd.thread.join(5)
        assert not rd.thread.is_alive()
    assert d.transportServer is None


def test_shutdown_from_inside_a_call(servertype, start_daemon):
    @expose
    class Stopper:
        def stop(self):
            self._pyroDaemon.shutdown()
            return "stopping"
    d = Daemon(host="127.0.0.1")
    d.register(Stopper, "stopper")
    rd = RunningDaemon(d)
    try:
        with RawClient(rd.address) as c:
            c.connect("stopper")
            c.send_call("stopper", "stop")
        rd.thread.join(8)
        assert not rd.thread.is_alive()
    finally:
        rd.stop()


def test_events_and_selector_in_foreign_loop(servertype):
    d = Daemon(host="127.0.0.1")
    d.register(Thing, "thing")
    stop = threading.Event()
    other_a, other_b = socket.socketpair()
    foreign = []

    def loop():
        while not stop.is_set():
            sockets = d.sockets
            sel = selectors.DefaultSelector()
            for s in sockets + [other_a]:
                sel.register(s, selectors.EVENT_READ)
            ready = [key.fileobj for key, _ in sel.select(0.1)]
            sel.close()
            if other_a in ready:
                foreign.append(other_a.recv(10))
                ready.remove(other_a)
            pyro_ready = [s for s in ready if s in sockets]
            if pyro_ready:
                d.events(pyro_ready)
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        with RawClient(d.sock.getsockname()) as c:
            c.connect("thing")
            assert c.result("thing", "add", 1, 2) == 3
        other_b.send(b"foreign")
        wait_for(lambda: foreign)
        assert foreign == [b"foreign"]
        if servertype == "multiplex":
            assert d.selector is not None and d.selector.get_key(d.sock)
    finally:
        stop.set()
        thread.join(5)
        d.close()
        other_a.close()
        other_b.close()


def test_combine_needs_multiplex():
    d1 = Daemon(host="127.0.0.1")
    d2 = Daemon(host="127.0.0.1")
    try:
        with pytest.raises(TypeError):
            d1.combine(d2)       # as the original: the thread pool server can't combine daemons
    finally:
        d1.close()
        d2.close()


def test_combine():
    Pyro5.config.SERVERTYPE = "multiplex"
    d1 = Daemon(host="127.0.0.1")
    d2 = Daemon(host="127.0.0.1")
    d1.register(Thing, "thing")

    @expose
    class Other:
        def who(self):
            return "other"
    d2.register(Other, "other")
    with pytest.raises(ValueError):
        d1.combine(d1)
    d1.combine(d2)
    assert d1.sock in d1.sockets and d2.sock in d1.sockets
    rd = RunningDaemon(d1)
    try:
        with RawClient(d1.sock.getsockname()) as c1, RawClient(d2.sock.getsockname()) as c2:
            c1.connect("thing")
            c2.connect("other")
            for _ in range(3):
                assert c1.result("thing", "add", 1, 1) == 2
                assert c2.result("other", "who") == "other"
    finally:
        rd.stop()
        d2.close()


def test_serve_without_name_server(servertype, capsys):
    d = Daemon(host="127.0.0.1")
    ready = threading.Event()
    orig_loop = d.requestLoop

    def loop(*args):
        ready.set()
        orig_loop(*args)
    d.requestLoop = loop
    thing = Thing()
    thread = threading.Thread(target=serve, args=({Thing: "named", thing: None},),
                              kwargs=dict(daemon=d, use_ns=False, verbose=True), daemon=True)
    thread.start()
    try:
        assert ready.wait(5)
        assert "named" in d.objectsById and thing._pyroId in d.objectsById
        with RawClient(d.sock.getsockname()) as c:
            c.connect("named")
            assert c.result("named", "add", 2, 3) == 5
    finally:
        d.shutdown()
        thread.join(5)
    out = capsys.readouterr().out
    assert "uri = PYRO:named@" in out and "Pyro daemon running." in out


def test_serve_simple_alias(servertype):
    d = Daemon(host="127.0.0.1")
    d.requestLoop = lambda *a: None     # return right away
    Daemon.serveSimple({Thing: "simple"}, daemon=d, ns=False, verbose=False)
    assert d.transportServer is None    # serve() closes the daemon when the loop ends


def test_sockets_property(servertype, start_daemon):
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address) as c:
        c.connect("thing")
        assert c.result("thing", "add", 1, 1) == 2
        sockets = rd.daemon.sockets
        assert sockets[0] is rd.daemon.sock
        if servertype == "multiplex":
            assert len(sockets) == 2       # server socket + our connection
        else:
            # server socket + our (idle) connection (a connection's worker does not own it between requests)
            assert len(sockets) == 2
            assert len(rd.daemon.transportServer.connections) == 1


def test_sockets_property_thread_per_connection(start_daemon):
    Pyro5.config.THREADPOOL_PER_CONNECTION = True
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address) as c:
        c.connect("thing")
        assert c.result("thing", "add", 1, 1) == 2
        assert rd.daemon.sockets == [rd.daemon.sock]    # connections belong to their worker threads
        assert len(rd.daemon.transportServer.connections) == 1
