"""The daemon's in-flight call table, per-method statistics and the watchdog (Daemon.track_calls,
calls_in_flight, call_stats; the same through the Pyro.Daemon object; config CALL_TRACKING /
WATCHDOG_THRESHOLD)."""
from __future__ import annotations

import logging
import threading

import pytest

import Pyro5
from Pyro5 import core
from Pyro5._svr_calltable import percentile
from Pyro5.client import Proxy
from tests.observability._objects import Calc
from tests.server._helpers import wait_for


def _blocked_call(uri):
    """Starts p.block() in a thread; returns (thread, results list)."""
    results: list = []

    def run():
        with Proxy(uri) as p:
            results.append(p.block())
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, results


def test_in_flight_table_local_and_remote(start_daemon):
    rd = start_daemon()
    rd.daemon.track_calls()
    calc = Calc()
    uri = rd.daemon.register(calc, "calc")
    thread, results = _blocked_call(uri)
    try:
        assert calc.entered.wait(5)
        running = rd.daemon.calls_in_flight()
        assert [(c["object"], c["method"], c["kind"]) for c in running] == [("calc", "block", "call")]
        call = running[0]
        assert call["client"].startswith("127.0.0.1:") and call["running"] >= 0
        assert call["thread"].startswith("Pyro-worker") and isinstance(call["thread_id"], int)
        with Proxy(core.URI("PYRO:%s@127.0.0.1:%d" % (core.DAEMON_NAME, rd.port))) as d:
            remote = d.calls_in_flight()        # (its own call is in flight too)
            assert [(c["object"], c["method"]) for c in remote] == [("calc", "block"),
                                                                    (core.DAEMON_NAME, "calls_in_flight")]
            assert remote[0]["client"] == call["client"]
    finally:
        calc.release.set()
        thread.join(10)
    assert results == [True]
    wait_for(lambda: not rd.daemon.calls_in_flight())
    stats = rd.daemon.call_stats()
    assert stats["calc.block"]["count"] == 1 and stats["calc.block"]["errors"] == 0
    assert stats["calc.block"]["p50"] <= stats["calc.block"]["p99"] <= stats["calc.block"]["max"]


def test_stats_count_calls_and_errors(start_daemon, servertype):
    Pyro5.config.CALL_TRACKING = True
    rd = start_daemon()
    uri = rd.daemon.register(Calc(), "calc")
    with Proxy(uri) as p:
        for i in range(5):
            p.add(i, i)
        for _ in range(2):
            with pytest.raises(ValueError):
                p.fail()
    with Proxy(core.URI("PYRO:%s@127.0.0.1:%d" % (core.DAEMON_NAME, rd.port))) as d:
        stats = d.call_stats()
    assert stats["calc.add"]["count"] == 5 and stats["calc.add"]["errors"] == 0
    assert stats["calc.fail"] == dict(stats["calc.fail"], count=2, errors=2)
    assert set(stats["calc.add"]) == {"count", "errors", "p50", "p90", "p99", "max"}


def test_untracked_daemon_reports_nothing(start_daemon):
    rd = start_daemon()
    assert rd.daemon.dispatcher.hooks is None
    assert rd.daemon.calls_in_flight() == [] and rd.daemon.call_stats() == {}
    rd.daemon.track_calls()
    assert rd.daemon.dispatcher.hooks is not None
    rd.daemon.track_calls(False)
    assert rd.daemon.dispatcher.hooks is None


def test_watchdog_reports_a_call_blocked_on_a_lock(start_daemon, servertype, caplog):
    """The deadlock case: a call waits for a lock that another call holds; the watchdog logs both calls with
    the stacks of their threads (on the multiplex server the second call never starts: the first one blocks
    the daemon's only thread, and the watchdog still reports it)."""
    rd = start_daemon()
    rd.daemon.track_calls(watchdog_threshold=0.2)
    calc = Calc()
    uri = rd.daemon.register(calc, "calc")
    with caplog.at_level(logging.WARNING, logger="Pyro5.server"):
        thread, results = _blocked_call(uri)
        try:
            assert calc.entered.wait(5)
            record = wait_for(lambda: [r for r in caplog.records if "WATCHDOG_THRESHOLD" in r.getMessage()],
                              timeout=10)[0]
        finally:
            calc.release.set()
            thread.join(10)
    message = record.getMessage()
    assert record.name == "Pyro5.server" and record.levelno == logging.WARNING
    assert "call calc.block from 127.0.0.1:" in message
    assert "in block" in message and "self.release.wait(10)" in message     # the stack of the stuck thread
    assert results == [True]
    # reported once per call
    assert len([r for r in caplog.records if "WATCHDOG_THRESHOLD" in r.getMessage()]) == 1


def test_watchdog_thread_stops_with_the_daemon(start_daemon):
    Pyro5.config.WATCHDOG_THRESHOLD = 30.0
    rd = start_daemon()
    assert rd.daemon.dispatcher.hooks is not None       # the threshold turns tracking on
    assert any(t.name == "Pyro-watchdog" for t in threading.enumerate())
    watchdog = rd.daemon._call_hooks.table._watchdog
    rd.stop()
    assert not watchdog.is_alive()


def test_percentile():
    data = sorted(float(i) for i in range(1, 101))
    assert percentile(data, 0.5) == 50.0
    assert percentile(data, 0.9) == 90.0
    assert percentile(data, 0.99) == 99.0
    assert percentile([3.0], 0.99) == 3.0


def test_threaded_oneway_call_is_in_flight_on_its_pool_thread(start_daemon, servertype):
    rd = start_daemon()
    rd.daemon.track_calls()
    calc = Calc()
    uri = rd.daemon.register(calc, "calc")
    with Proxy(uri) as p:
        p.block_oneway()        # returns at once
        try:
            assert calc.entered.wait(5)
            running = wait_for(rd.daemon.calls_in_flight)
            assert [(c["method"], c["kind"]) for c in running] == [("block_oneway", "oneway")]
            assert running[0]["thread"] != threading.current_thread().name
            assert running[0]["thread"] != "?"
        finally:
            calc.release.set()
    wait_for(lambda: rd.daemon.call_stats().get("calc.block_oneway", {}).get("count") == 1)
    assert not rd.daemon.calls_in_flight()
