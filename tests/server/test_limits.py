"""The daemon's limits object (Pyro5._svr_limits.ServerLimits) and the threads a daemon owns."""
from __future__ import annotations

import threading

import pytest

import Pyro5
from Pyro5 import protocol
from Pyro5._svr_limits import ServerLimits
from Pyro5.server import Daemon
from tests.server._helpers import RawClient, RunningDaemon, wait_for
from tests.server._objects import Thing


def test_every_daemon_has_its_own_limits():
    with Daemon(host="127.0.0.1") as first, Daemon(host="127.0.0.1") as second:
        assert first.limits == ServerLimits() and first.limits is not second.limits
        first.limits.partial_message_timeout = 0.5
        assert second.limits.partial_message_timeout == ServerLimits.partial_message_timeout
        # the socket server and its connections read the daemon's object (changes apply from then on)
        assert first.transportServer.limits is first.limits


def test_limits_follow_commtimeout_and_pollttimeout():
    limits = ServerLimits(handshake_timeout=7.0, poll_min=0.1, poll_max=2.0)
    assert limits.handshake_limit() == 7.0
    Pyro5.config.COMMTIMEOUT = 3.0
    assert limits.handshake_limit() == 3.0
    Pyro5.config.POLLTIMEOUT = 0.01
    assert limits.poll_interval() == 0.1
    Pyro5.config.POLLTIMEOUT = 5.0
    assert limits.poll_interval() == 2.0 and limits.poll_interval(capped=False) == 5.0
    assert limits.allowed_until(100.0, 2 * limits.min_transfer_rate) == 100.0 + limits.partial_message_timeout + 2


@pytest.mark.parametrize("servertype", ["thread", "multiplex"])
def test_close_joins_the_threads_the_daemon_owns(servertype):
    Pyro5.config.SERVERTYPE = servertype
    Pyro5.config.THREADPOOL_SIZE = 4
    Pyro5.config.THREADPOOL_SIZE_MIN = 1
    Thing.oneway_calls.clear()
    before = set(threading.enumerate())
    rd = RunningDaemon(Daemon(host="127.0.0.1"))
    try:
        rd.daemon.register(Thing, "thing")
        with RawClient(rd.address) as c:
            c.connect("thing")
            for i in range(200):
                c.send_call("thing", "fire", (i,), flags=protocol.FLAGS_ONEWAY)
            assert c.result("thing", "add", 1, 2) == 3
            wait_for(lambda: len(Thing.oneway_calls) == 200, timeout=10)
        owned = [t for t in threading.enumerate() if t not in before and t.name.startswith("Pyro-")]
        if servertype == "thread":      # oneway calls run on the server's worker pool: one bound for all
            assert owned and all(t.name.startswith("Pyro-worker") for t in owned)
            assert len(owned) <= 4
        else:
            assert any(t.name.startswith("Pyro-oneway") for t in owned)
            # the oneway pool is bounded by THREADPOOL_SIZE
            assert len([t for t in owned if t.name.startswith("Pyro-oneway")]) <= 4
    finally:
        rd.stop()
    assert [t.name for t in owned if t.is_alive()] == []
