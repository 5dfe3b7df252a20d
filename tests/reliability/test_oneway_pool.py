"""Issue 16 item 3: oneway calls run on a bounded, daemon-owned pool (THREADPOOL_SIZE threads at most); calls
beyond it wait in a queue and none is lost; close() joins the pool's threads. Issue 9: on the thread-pool server
that pool is the server's own worker pool (one thread bound per process)."""
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


def test_thousand_oneway_calls_use_a_bounded_pool_multiplex(start_daemon):
    Pyro5.config.SERVERTYPE = "multiplex"
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
            assert threading.active_count() <= threads_before + POOL
            sink.gate.set()
            wait_for(lambda: c.result("sink", "count") == CALLS, timeout=30)
        assert sorted(sink.received) == list(range(CALLS))       # none lost, none twice
        assert sink.max_running == POOL
    finally:
        sink.gate.set()
    rd.stop()
    assert threads_named("Pyro-oneway") == []      # close() joined them


def test_thousand_oneway_calls_share_the_request_workers(start_daemon):
    """The thread-pool server runs oneway calls on its own workers: THREADPOOL_SIZE bounds every worker
    thread of the process (no separate oneway pool)."""
    Pyro5.config.SERVERTYPE = "thread"
    Pyro5.config.THREADPOOL_SIZE = POOL
    sink = Sink()
    threads_before = threading.active_count()
    rd = start_daemon()             # + its loop thread
    rd.daemon.register(sink, "sink")
    try:
        with RawClient(rd.address) as c:
            c.connect("sink")
            for i in range(CALLS):
                c.send_call("sink", "put", (i,), flags=protocol.FLAGS_ONEWAY)
            wait_for(lambda: sink.running == POOL)     # every worker runs a (blocked) oneway call
            assert sink.received == []
            assert threads_named("Pyro-oneway") == []
            assert len(threads_named("Pyro-worker")) == POOL
            assert threading.active_count() == threads_before + 1 + POOL
            sink.gate.set()
            wait_for(lambda: c.result("sink", "count") == CALLS, timeout=30)
        assert sorted(sink.received) == list(range(CALLS))       # none lost, none twice
        assert sink.max_running == POOL
    finally:
        sink.gate.set()
    rd.stop()
    assert threads_named("Pyro-worker") == []      # close() joined them


@expose
@behavior(instance_mode="single")
class Counter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.waiting = 0        # calls inside tick(), waiting for the gate
        self.max_threads = 0
        self.gate = threading.Event()
        self.gate.set()

    @oneway
    def tick(self):
        with self.lock:
            self.waiting += 1
        self.gate.wait(20)
        with self.lock:
            self.waiting -= 1
            self.calls += 1
            self.max_threads = max(self.max_threads, threading.active_count())

    def count(self):
        return self.calls


FLOOD = 20_000


def test_twenty_thousand_oneway_calls_stay_within_the_pool_bound(start_daemon):
    """Issue 9 "Threads": after 20,000 oneway calls the process has no more threads than THREADPOOL_SIZE plus
    its fixed ones (here: the test's main thread and the daemon's loop thread)."""
    Pyro5.config.SERVERTYPE = "thread"
    Pyro5.config.THREADPOOL_SIZE = POOL
    counter = Counter()
    fixed = threading.active_count()        # the test process's own threads (pytest's main thread)
    rd = start_daemon()
    rd.daemon.register(counter, "counter")
    fixed += 1                              # the daemon's request loop thread
    with RawClient(rd.address, timeout=30) as c:
        c.connect("counter")
        for _ in range(FLOOD):
            c.send_call("counter", "tick", flags=protocol.FLAGS_ONEWAY)
        wait_for(lambda: c.result("counter", "count") == FLOOD, timeout=120)
        assert counter.max_threads <= fixed + POOL
        assert threading.active_count() <= fixed + POOL
    rd.stop()
    assert counter.calls == FLOOD
    assert threads_named("Pyro-worker") == []


def test_requests_are_answered_while_slow_oneway_calls_wait(start_daemon):
    """A flood of oneway calls does not starve normal requests: a free worker alternates between the queue of
    oneway calls and the queue of requests."""
    Pyro5.config.SERVERTYPE = "thread"
    Pyro5.config.THREADPOOL_SIZE = 2
    Pyro5.config.THREADPOOL_SIZE_MIN = 1
    counter = Counter()
    counter.gate.clear()
    rd = start_daemon()
    rd.daemon.register(counter, "counter")
    try:
        with RawClient(rd.address, timeout=30) as flood, RawClient(rd.address, timeout=30) as asker:
            flood.connect("counter")
            asker.connect("counter")
            for _ in range(2000):
                flood.send_call("counter", "tick", flags=protocol.FLAGS_ONEWAY)
            pool = rd.daemon.transportServer.pool
            # every worker blocked in a oneway call (nothing else then changes the queues), others queued:
            wait_for(lambda: counter.waiting == pool.max_workers and pool.num_queued >= 1, timeout=30)
            queued = pool.num_queued
            asker.send_call("counter", "count")
            wait_for(lambda: pool.num_queued > queued, timeout=30)      # the request waits for a worker too
            counter.gate.set()              # the oneway calls go on
            msg, answered = asker.receive()
            assert not msg.flags & protocol.FLAGS_EXCEPTION
            assert answered < 100           # answered long before the 2,000 oneway calls were done
            wait_for(lambda: flood.result("counter", "count") == 2000, timeout=60)
    finally:
        counter.gate.set()
    rd.stop()
    assert counter.calls == 2000


def test_pool_alternates_between_its_two_queues():
    """Pool: a free worker takes jobs alternately from the unbounded (oneway) and the bounded (request) queue,
    so queued oneway calls cannot make a request wait behind all of them."""
    from Pyro5._svr_pool import Pool
    pool = Pool(0, 1, max_queued=4)
    gate = threading.Event()
    order: list[str] = []
    try:
        pool.submit(lambda: gate.wait(20))
        wait_for(lambda: pool.num_busy == 1)
        for i in range(50):
            pool.submit(lambda i=i: order.append("oneway-%d" % i), unbounded=True)
        pool.submit(lambda: order.append("request-1"))
        pool.submit(lambda: order.append("request-2"))
        assert pool.num_queued == 52
        gate.set()
        wait_for(lambda: len(order) == 52)
    finally:
        gate.set()
        assert pool.close(join_timeout=5)
    assert order[:4] == ["oneway-0", "request-1", "oneway-1", "request-2"]
    assert order[4:] == ["oneway-%d" % i for i in range(2, 50)]


def test_pool_gives_a_job_to_the_worker_that_became_idle_last():
    """Pool: idle workers form a stack, not a queue: jobs submitted one after the other (a client calling in a
    loop) keep meeting the same warm thread instead of going round all idle workers (each of which would keep
    a malloc arena's worth of a large message)."""
    from Pyro5._svr_pool import Pool
    pool = Pool(0, 4)
    gate = threading.Event()
    ran: list[str] = []
    done = threading.Semaphore(0)
    try:
        for _ in range(4):      # four workers, all busy at once, then all idle
            pool.submit(lambda: (gate.wait(20), done.release()))
        wait_for(lambda: pool.num_busy == 4)
        assert pool.num_workers == 4
        gate.set()
        for _ in range(4):
            assert done.acquire(timeout=20)
        wait_for(lambda: pool.num_busy == 0)
        for _ in range(20):
            pool.submit(lambda: (ran.append(threading.current_thread().name), done.release()))
            assert done.acquire(timeout=20)
            wait_for(lambda: pool.num_busy == 0)
        assert pool.num_workers == 4
    finally:
        gate.set()
        assert pool.close(join_timeout=5)
    assert len(ran) == 20 and len(set(ran)) == 1, ran


def test_pool_close_wakes_idle_workers_and_refuses_jobs():
    from Pyro5._svr_pool import Pool, PoolError
    pool = Pool(3, 5)
    assert pool.num_workers == 3
    threads = set(pool.idle)
    wait_for(lambda: pool.num_busy == 0)
    assert pool.close(join_timeout=5)
    assert not any(t.is_alive() for t in threads)
    with pytest.raises(PoolError):
        pool.submit(lambda: None)
