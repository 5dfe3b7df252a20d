"""NS_AUTOCLEAN: dead registrations are removed, live ones stay."""
from __future__ import annotations

import threading

import pytest

import Pyro5
from Pyro5.nameserver import AutoCleaner, NameServerDaemon
from Pyro5.server import Daemon, expose
from tests.naming.conftest import wait_for


@expose
class Alive:
    def ping(self):
        return "pong"


def test_autoclean_minimum_period():
    Pyro5.config.NS_AUTOCLEAN = 1.0
    with pytest.raises(ValueError, match="cannot be smaller than 3"):
        NameServerDaemon("127.0.0.1", 0)


def test_autoclean_bad_config_values():
    Pyro5.config.NS_AUTOCLEAN = -1.0
    with pytest.raises(ValueError, match="cannot be negative"):
        NameServerDaemon("127.0.0.1", 0)


def test_autoclean_short_period_parameter():
    """The autoclean parameter of NameServerDaemon is not held to the 3 second minimum of the config item."""
    with NameServerDaemon("127.0.0.1", 0, autoclean=0.1) as d:
        assert d.autocleaner is not None and d.autocleaner.period == 0.1
        cleaner = d.autocleaner
    cleaner.join(5)
    assert not cleaner.is_alive()


def test_autoclean_disabled_by_default(start_ns):
    rn = start_ns()
    assert rn.daemon.autocleaner is None


def test_autoclean_enabled_by_config(start_ns):
    Pyro5.config.NS_AUTOCLEAN = 3.0
    rn = start_ns()
    assert rn.daemon.autocleaner is not None and rn.daemon.autocleaner.period == 3.0
    assert rn.daemon.autocleaner.is_alive()
    cleaner = rn.daemon.autocleaner
    rn.stop()
    cleaner.join(5)
    assert not cleaner.is_alive()


def test_autoclean_removes_dead_registrations(start_ns, monkeypatch):
    monkeypatch.setattr(AutoCleaner, "override_autoclean_min", True)
    monkeypatch.setattr(AutoCleaner, "max_unreachable_time", 0.0)
    Pyro5.config.NS_AUTOCLEAN = 0.2
    rn = start_ns()
    with Daemon(host="127.0.0.1") as live:
        live_uri = live.register(Alive())
        t = threading.Thread(target=live.requestLoop, daemon=True)
        t.start()
        dead = Daemon(host="127.0.0.1")
        dead_uri = dead.register(Alive())
        dead.close()                         # nothing listens there any more
        try:
            ns = rn.nameserver
            ns.register("alive", live_uri)
            ns.register("dead.daemon", dead_uri)
            ns.register("dead.object", "PYRO:no_such_object@%s" % live_uri.location)
            ns.register("other.protocol", "PYRONAME:whatever")
            wait_for(lambda: set(ns.list()) == {"Pyro.NameServer", "alive", "other.protocol"},
                     timeout=15, what="autoclean")
            with rn.proxy() as p:   # the name server itself was not touched and still serves
                assert p.count() == 3
        finally:
            live.shutdown()
            t.join(5)


def test_autoclean_grace_period(start_ns):
    """A registration is only removed after it stayed unreachable for max_unreachable_time."""
    rn = start_ns()
    cleaner = AutoCleaner(rn.nameserver, period=3.0, max_unreachable_time=3600)   # not started: driven by hand
    dead = Daemon(host="127.0.0.1")
    dead_uri = dead.register(Alive())
    dead.close()
    rn.nameserver.register("dead", dead_uri)
    assert cleaner.check_once() == []
    assert "dead" in rn.nameserver.list()
    cleaner.max_unreachable_time = 0
    assert cleaner.check_once() == ["dead"]
    assert "dead" not in rn.nameserver.list()
