"""Issue 16 item 5: daemon.shutdown() while 32 callers are busy on the thread pool server. Every caller gets its
result or ConnectionClosedError, never a misleading error such as "unknown object" (the objects stay
registered while the workers finish)."""
from __future__ import annotations

import threading

import pytest

import Pyro5
from Pyro5 import errors
from Pyro5.server import behavior, expose
from tests.server._helpers import RawClient, wait_for

CALLERS = 32


@expose
@behavior(instance_mode="single")
class Busy:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = 0
        self.gate = threading.Event()

    def work(self, n):
        with self.lock:
            self.inside += 1
        self.gate.wait(20)
        return n * 2


@pytest.mark.parametrize("per_connection", [False, True])
def test_shutdown_with_busy_callers(per_connection, start_daemon):
    Pyro5.config.SERVERTYPE = "thread"
    Pyro5.config.THREADPOOL_SIZE = CALLERS + 8
    Pyro5.config.THREADPOOL_PER_CONNECTION = per_connection
    busy = Busy()
    rd = start_daemon()
    rd.daemon.register(busy, "rel.service")
    clients = [RawClient(rd.address, timeout=20) for _ in range(CALLERS + 8)]
    outcomes: dict[str, int] = {}
    try:
        for c in clients:
            c.connect("rel.service")
        for i, c in enumerate(clients[:CALLERS]):
            c.send_call("rel.service", "work", (i,))
        wait_for(lambda: busy.inside == CALLERS)
        stopper = threading.Thread(target=rd.daemon.shutdown)
        stopper.start()
        wait_for(lambda: rd.daemon._shutting_down.is_set())
        late = clients[CALLERS:]
        for c in late:           # calls that arrive while the daemon shuts down
            try:
                c.send_call("rel.service", "work", (-1,))
            except OSError:
                pass
        busy.gate.set()
        for i, c in enumerate(clients):
            try:
                msg, data = c.receive()
            except errors.ConnectionClosedError:
                outcomes["closed"] = outcomes.get("closed", 0) + 1
                continue
            except OSError:
                outcomes["closed"] = outcomes.get("closed", 0) + 1
                continue
            assert not isinstance(data, BaseException), data     # e.g. DaemonError: unknown object
            assert data == (i * 2 if i < CALLERS else -2)     # (a late call may still have been served)
            outcomes["result"] = outcomes.get("result", 0) + 1
        stopper.join(20)
        assert not stopper.is_alive()
    finally:
        busy.gate.set()
        for c in clients:
            c.close()
    assert sum(outcomes.values()) == CALLERS + 8
