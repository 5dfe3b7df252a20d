"""The thread pool server's workers wait a while for the next request of the connection they just served
(svr_threads: twice the gap between the connection's last two requests, from limits.linger up to
limits.linger_max while workers are not scarce; not at all when they come further apart than linger_max), and
give way when requests wait for a worker that no one will take (Pool.starved).
"""
from __future__ import annotations

import threading

import pytest

import Pyro5
from Pyro5._svr_pool import Pool
from Pyro5.server import behavior, expose
from Pyro5.svr_threads import SocketServer_Threadpool
from tests.server._helpers import RawClient, wait_for


@expose
@behavior(instance_mode="single")
class Adder:
    gate = threading.Event()

    def add(self, a, b):
        return a + b

    def gated(self):
        return Adder.gate.wait(20)


def test_starved_only_when_a_job_waits_for_a_worker_that_no_one_takes():
    gate = threading.Event()
    started = threading.Semaphore(0)

    def job():
        started.release()
        gate.wait(20)

    pool = Pool(0, 1, max_queued=4)
    try:
        assert not pool.starved
        pool.submit(job)
        assert not pool.starved          # (the worker started for it takes it)
        assert started.acquire(timeout=10)
        assert not pool.starved
        pool.submit(job)                 # the only worker is busy: this one waits
        assert pool.starved
        gate.set()
        wait_for(lambda: pool.num_queued == 0 and pool.num_busy == 0)
        assert not pool.starved
    finally:
        gate.set()
        pool.close(join_timeout=5)


class _PoolStub:
    def __init__(self, busy: int, workers: int) -> None:
        self.num_busy = busy
        self.max_workers = workers


def test_a_long_linger_only_while_workers_are_not_scarce():
    server = SocketServer_Threadpool()
    limits = server.limits
    conn = type("Conn", (), {"linger_time": limits.linger})()
    server.pool = _PoolStub(0, 8)  # type: ignore[assignment]
    assert server._linger(conn) == limits.linger           # a new connection: the base time
    conn.linger_time = limits.linger_max
    assert server._linger(conn) == limits.linger_max
    server.pool = _PoolStub(4, 8)  # type: ignore[assignment]
    assert server._linger(conn) == limits.linger           # half of the workers busy: the base time again
    server.pool = None
    assert server._linger(conn) == limits.linger
    conn.linger_time = 0.0
    assert server._linger(conn) == 0.0                      # (requests too far apart: no waiting at all)


def test_the_linger_follows_the_gap_between_a_connections_requests():
    server = SocketServer_Threadpool()
    limits = server.limits
    conn = type("Conn", (), {"linger_time": limits.linger})()
    seen = []
    for gap in (limits.linger / 4, limits.linger, limits.linger_max / 4, limits.linger_max,
                limits.linger_max * 1.01, limits.linger_max * 100, limits.linger / 2):
        server._adapt_linger(conn, gap)
        seen.append(conn.linger_time)
    # twice the gap or twice the last wait, from linger up to linger_max; nothing once the requests come further
    # apart than linger_max; back to waiting as soon as they come close together again
    assert seen == pytest.approx([2 * limits.linger, 4 * limits.linger, limits.linger_max / 2, limits.linger_max,
                                  0.0, 0.0, limits.linger])


@pytest.mark.parametrize("calls", [6])
def test_a_connection_whose_requests_come_far_apart_goes_back_to_the_selector_at_once(start_daemon, calls):
    Pyro5.config.SERVERTYPE = "thread"
    rd = start_daemon()
    rd.daemon.register(Adder(), "adder")
    limits = rd.daemon.limits
    # (a microsecond: every gap between an answer and the next request, which takes the client's receive and
    # send and the loop thread's wakeup and read, is longer than that)
    limits.linger = limits.linger_max = 1e-6
    server = rd.daemon.transportServer
    wakeups = []
    wakeup = server.wakeup
    server.wakeup = lambda: (wakeups.append(1), wakeup())  # type: ignore[method-assign]
    with RawClient(rd.address) as c:
        c.connect("adder")
        conn = next(iter(server.connections))
        wait_for(lambda: conn not in server._busy and not server._done)
        seen = [conn.linger_time]
        for i in range(calls):
            assert c.result("adder", "add", i, 1) == i + 1
            wait_for(lambda: conn not in server._busy and not server._done)
            seen.append(conn.linger_time)
        assert server.pool.num_busy == 0           # an idle connection holds no worker
    assert seen == [1e-6] + [0.0] * calls
    # the workers put the connection back into the (epoll) selector themselves: no wakeup of the loop thread
    if server._kernel_selector:
        assert wakeups == []


def test_a_connection_without_linger_stays_in_the_selector_and_its_pipelined_requests_are_all_answered(start_daemon):
    Pyro5.config.SERVERTYPE = "thread"
    rd = start_daemon()
    rd.daemon.register(Adder(), "adder")
    limits = rd.daemon.limits
    limits.linger = limits.linger_max = 1e-6    # (see above: the worker never waits for the next request)
    server = rd.daemon.transportServer
    with RawClient(rd.address) as c:
        c.connect("adder")
        conn = next(iter(server.connections))
        wait_for(lambda: conn not in server._busy and not server._done)
        for i in range(3):
            assert c.result("adder", "add", i, 1) == i + 1
            wait_for(lambda: conn not in server._busy and not server._done)
            assert conn.linger_time == 0.0
            assert server.selector.get_key(conn.sock).data is conn     # (idle: in the selector, no worker)
            assert conn not in server._watched_busy and server.pool.num_busy == 0
        # requests that come while the worker runs one (the connection is still in the selector then): the loop
        # thread takes the connection out of the selector, its worker hands it back, every request is answered
        for i in range(5):
            c.send_call("adder", "add", (i, 10))
        results = [c.receive()[1] for _ in range(5)]
        assert results == [10, 11, 12, 13, 14]
        wait_for(lambda: conn not in server._busy and not server._done)
        assert conn not in server._watched_busy and server.pool.num_busy == 0
        assert server.selector.get_key(conn.sock).data is conn
        # a request that comes while the worker runs a slow one
        Adder.gate.clear()
        c.send_call("adder", "gated")
        wait_for(lambda: conn in server._watched_busy)      # (running, still in the selector)
        c.send_call("adder", "add", (1, 1))
        wait_for(lambda: conn not in server._watched_busy)  # the loop thread took it out of the selector
        assert conn in server._busy and server.pool.num_busy == 1
        with pytest.raises(KeyError):
            server.selector.get_key(conn.sock)
        Adder.gate.set()
        assert [c.receive()[1] for _ in range(2)] == [True, 2]
        wait_for(lambda: conn not in server._busy and not server._done)
        assert server.selector.get_key(conn.sock).data is conn and server.pool.num_busy == 0
    # the peer closed: the connection is gone (it left the selector before its socket was closed)
    wait_for(lambda: not server.connections)
    assert all(key.data is not conn for key in list(server.selector.get_map().values()))
