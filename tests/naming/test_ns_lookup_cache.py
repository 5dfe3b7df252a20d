"""config.NS_LOOKUP_CACHE: proxies reuse PYRONAME/PYROMETA lookups for that many seconds (off by default);
a cached answer that no longer connects is forgotten and looked up again."""
from __future__ import annotations

import threading

import pytest

import Pyro5
import Pyro5.errors
from Pyro5 import _nslookup
from Pyro5.client import Proxy, resolve
from Pyro5.server import Daemon, expose


@expose
class Thing:
    def __init__(self, label: str) -> None:
        self.label = label

    def where(self) -> str:
        return self.label


class RunningDaemon:
    def __init__(self, label: str) -> None:
        self.daemon = Daemon(host="127.0.0.1")
        self.uri = self.daemon.register(Thing(label), "thing")
        self.thread = threading.Thread(target=self.daemon.requestLoop, daemon=True)
        self.thread.start()
        self.stopped = False

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.daemon.shutdown()
            self.thread.join(10)
            assert not self.thread.is_alive()


@pytest.fixture
def daemons():
    running: list[RunningDaemon] = []

    def start(label: str) -> RunningDaemon:
        d = RunningDaemon(label)
        running.append(d)
        return d
    yield start
    for d in running:
        d.stop()


@pytest.fixture(autouse=True)
def _empty_cache():
    _nslookup.forget_lookups()
    yield
    _nslookup.forget_lookups()


def pyroname(ns, name: str = "thing") -> str:
    return "PYRONAME:%s@%s" % (name, ns.uri.location)


def where(uri: str) -> str:
    with Proxy(uri) as p:
        return p.where()


def test_off_by_default_every_proxy_asks_the_name_server(start_ns, daemons):
    assert Pyro5.config.NS_LOOKUP_CACHE == 0.0
    ns = start_ns()
    with ns.proxy() as nsp:
        nsp.register("thing", daemons("A").uri)
    assert where(pyroname(ns)) == "A"
    ns.stop()
    with pytest.raises(Pyro5.errors.NamingError):
        where(pyroname(ns))


def test_cached_lookup_needs_no_name_server(start_ns, daemons):
    Pyro5.config.NS_LOOKUP_CACHE = 60.0
    ns = start_ns()
    with ns.proxy() as nsp:
        nsp.register("thing", daemons("A").uri)
        nsp.register("other", daemons("B").uri, metadata={"meta.b"})
    assert where(pyroname(ns)) == "A"
    assert where("PYROMETA:meta.b@%s" % ns.uri.location) == "B"
    ns.stop()
    assert where(pyroname(ns)) == "A"
    assert where("PYROMETA:meta.b@%s" % ns.uri.location) == "B"
    with pytest.raises(Pyro5.errors.NamingError):
        resolve(pyroname(ns))                       # resolve() itself always asks the name server
    _nslookup.forget_lookups()
    with pytest.raises(Pyro5.errors.NamingError):
        where(pyroname(ns))


def test_cached_answer_that_fails_is_looked_up_again(start_ns, daemons):
    Pyro5.config.NS_LOOKUP_CACHE = 60.0
    ns = start_ns()
    first = daemons("A")
    with ns.proxy() as nsp:
        nsp.register("thing", first.uri)
        assert where(pyroname(ns)) == "A"
        first.stop()                                # the object moves to another daemon
        nsp.register("thing", daemons("B").uri)
    assert where(pyroname(ns)) == "B"
    with Proxy(pyroname(ns)) as p:
        p._pyroBind()
        assert p.where() == "B"


def test_cache_keeps_a_removed_name_until_it_expires(start_ns, daemons):
    """The documented limit: a removed name whose object is still reachable stays cached until expiry."""
    Pyro5.config.NS_LOOKUP_CACHE = 60.0
    ns = start_ns()
    with ns.proxy() as nsp:
        nsp.register("thing", daemons("A").uri)
        assert where(pyroname(ns)) == "A"
        nsp.remove("thing")
    assert where(pyroname(ns)) == "A"
    for key, (_expiry, answer) in list(_nslookup._cache.items()):
        _nslookup._cache[key] = (0.0, answer)       # expired
    with pytest.raises(Pyro5.errors.NamingError):
        where(pyroname(ns))


def test_cache_turned_off_again(start_ns, daemons):
    Pyro5.config.NS_LOOKUP_CACHE = 60.0
    ns = start_ns()
    with ns.proxy() as nsp:
        nsp.register("thing", daemons("A").uri)
        assert where(pyroname(ns)) == "A"
        nsp.remove("thing")
    Pyro5.config.NS_LOOKUP_CACHE = 0.0
    with pytest.raises(Pyro5.errors.NamingError):
        where(pyroname(ns))
