"""Issue 16 item 3: oneway calls run on a bounded, daemon-owned pool (THREADPOOL_SIZE threads at most); calls
beyond it wait in a queue and none is lost; close() joins the pool's threads."""
from __future__ import annotations

import threading

import pytest

import Pyro5
from Pyro5 import protocol
from Pyro5.server import behavior, expose, oneway
from tests.reliability.conftest import threads_named
from tests.server._helpers import RawClient, wait_for

CALLS = 1000
POOL = 8


@expose
@behavior(instance_mode="single")
class Sink:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[int] = []
        self.running = 0
        self.max_running = 0
        self.gate = threading.Event()

    @oneway
    def put(self, number):
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        self.gate.wait(20)
        with self.lock:
            self.running -= 1
            self.received.append(number)

    def count(self):
        return len(self.received)


@pytest.mark.parametrize("servertype", ["thread", "multiplex"])
def test_thousand_oneway_calls_use_a_bounded_pool(servertype, start_daemon):
    Pyro5.config.SERVERTYPE = servertype
    Pyro5.config.THREADPOOL_SIZE = POOL
    sink = Sink()
    rd = start_daemon()
    rd.daemon.register(sink, "sink")
    threads_before = threading.active_count()
    try:
        with RawClient(rd.address) as c:
            c.connect("sink")
            for i in range(CALLS):
                c.send_call("sink", "put", (i,), flags=protocol.FLAGS_ONEWAY)
            assert c.result("sink", "count") == 0        # all of them are in, none has finished
            wait_for(lambda: sink.running == POOL)
            assert len(threads_named("Pyro-oneway")) == POOL
            # the server itself: at most the oneway pool and THREADPOOL_SIZE workers more than before
            assert threading.active_count() <= threads_before + 2 * POOL
            sink.gate.set()
            wait_for(lambda: c.result("sink", "count") == CALLS, timeout=30)
        assert sorted(sink.received) == list(range(CALLS))       # none lost, none twice
        assert sink.max_running == POOL
    finally:
        sink.gate.set()
    rd.stop()
    assert threads_named("Pyro-oneway") == []      # close() joined them
