"""Issue 16 item 2: idle connections must not starve the thread pool server.

A connection holds a worker only while one of its requests is processed; idle proxies and silent sockets wait
in the selector. The pool still bounds the requests processed at the same time (more wait in a queue, or get a
clear error when that is full too), a connection gets one request processed at a time, a connection that never
sends its connect message is closed after a bounded time, and THREADPOOL_PER_CONNECTION restores one thread per
connection.
"""
from __future__ import annotations

import socket
import threading

import pytest

import Pyro5
from Pyro5 import errors, protocol
from Pyro5.server import behavior, expose
from tests.reliability.conftest import threads_named
from tests.server._helpers import RawClient, is_exception, wait_for


@expose
@behavior(instance_mode="single")
class Service:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.calls = 0
        self.gate = threading.Event()
        self.local = threading.local()

    def add(self, a, b):
        return a + b

    def hold(self, tag):
        """counts the calls that run at the same time; waits for the gate"""
        with self.lock:
            self.active += 1
            self.calls += 1
            self.max_active = max(self.max_active, self.active)
        try:
            self.gate.wait(20)
            return tag
        finally:
            with self.lock:
                self.active -= 1

    def remember(self, value):
        self.local.value = value
        return threading.get_ident()

    def recall(self):
        return getattr(self.local, "value", None), threading.get_ident()


@pytest.fixture
def service():
    s = Service()
    yield s
    s.gate.set()


def _thread_server(start_daemon, service, **config):
    Pyro5.config.SERVERTYPE = "thread"
    for name, value in config.items():
        setattr(Pyro5.config, name, value)
    rd = start_daemon()
    rd.daemon.register(service, "service")
    return rd


def test_thousand_idle_proxies_and_new_clients_coexist(start_daemon, service):
    rd = _thread_server(start_daemon, service)      # the default pool size (THREADPOOL_SIZE=80)
    pool = rd.daemon.transportServer.pool
    idle: list[RawClient] = []
    try:
        for i in range(1000):
            c = RawClient(rd.address)
            idle.append(c)
            msg, _ = c.connect("service")
            assert msg.type == protocol.MSG_CONNECTOK, i
        assert len(rd.daemon.transportServer.connections) == 1000
        wait_for(lambda: pool.num_busy == 0)    # (a worker may still be finishing after its answer went out)
        assert pool.num_workers <= Pyro5.config.THREADPOOL_SIZE
        for i in range(20):     # new clients are served next to them
            with RawClient(rd.address) as c:
                c.connect("service")
                assert c.result("service", "add", i, 1) == i + 1
        for i, c in enumerate(idle):     # and every idle proxy still works
            assert c.result("service", "add", i, 0) == i
        assert pool.num_workers <= Pyro5.config.THREADPOOL_SIZE
    finally:
        for c in idle:
            c.close()


def test_silent_sockets_hold_no_worker_and_are_closed_after_the_handshake_limit(start_daemon, service):
    rd = _thread_server(start_daemon, service, THREADPOOL_SIZE=4, THREADPOOL_SIZE_MIN=1)
    rd.daemon.limits.handshake_timeout = 1.0
    silent = [socket.create_connection(rd.address, timeout=10) for _ in range(200)]
    try:
        wait_for(lambda: len(rd.daemon.transportServer.connections) == 200)
        # (a new connection goes to an idle worker, which waits limits.linger for its connect message and then
        # hands it back: the last one may still be in that wait)
        pool = rd.daemon.transportServer.pool
        wait_for(lambda: pool.num_busy == 0 and pool.num_queued == 0)
        assert pool.num_workers <= 4
        with RawClient(rd.address) as c:
            c.connect("service")
            assert c.result("service", "add", 1, 2) == 3
        for s in silent:
            assert s.recv(10) == b""       # closed by the server (not a socket.timeout)
        assert len(rd.daemon.transportServer.connections) == 0
    finally:
        for s in silent:
            s.close()


def test_pool_bounds_concurrent_requests_and_queues_the_rest(start_daemon, service):
    rd = _thread_server(start_daemon, service, THREADPOOL_SIZE=4, THREADPOOL_SIZE_MIN=1)
    clients = [RawClient(rd.address, timeout=20) for _ in range(12)]
    try:
        for c in clients:
            c.connect("service")
        seqs = [c.send_call("service", "hold", (i,)) for i, c in enumerate(clients)]
        wait_for(lambda: service.calls == 4)
        # (the other 8 requests reach the queue as the selector reads them: wait for all of them)
        wait_for(lambda: rd.daemon.transportServer.pool.num_queued == 8)
        assert service.calls == 4 and rd.daemon.transportServer.pool.num_busy == 4
        service.gate.set()
        for i, (c, seq) in enumerate(zip(clients, seqs, strict=True)):
            msg, data = c.receive()
            assert msg.seq == seq and not is_exception(msg) and data == i
        assert service.calls == 12 and service.max_active == 4
        assert len(threads_named("Pyro-worker")) <= 4
    finally:
        for c in clients:
            c.close()


def test_full_queue_gives_a_clear_error(start_daemon, service):
    rd = _thread_server(start_daemon, service, THREADPOOL_SIZE=2, THREADPOOL_SIZE_MIN=1)
    rd.daemon.limits.max_queued_requests = 2
    rd.daemon.transportServer.pool.max_queued = 2
    clients = [RawClient(rd.address, timeout=20) for _ in range(5)]
    try:
        for c in clients:
            c.connect("service")
        for i, c in enumerate(clients[:2]):
            c.send_call("service", "hold", (i,))
        wait_for(lambda: service.calls == 2)
        for i, c in enumerate(clients[2:4]):
            c.send_call("service", "hold", (i + 2,))
        wait_for(lambda: rd.daemon.transportServer.pool.num_queued == 2)
        msg, data = clients[4].call("service", "hold", (4,))
        assert is_exception(msg) and isinstance(data, errors.CommunicationError) and "server is busy" in str(data)
        service.gate.set()
        assert [c.receive()[1] for c in clients[:4]] == [0, 1, 2, 3]
        assert clients[4].result("service", "add", 2, 2) == 4      # the refused client's connection still works
        assert service.calls == 4
    finally:
        for c in clients:
            c.close()


def test_one_request_at_a_time_per_connection(start_daemon, service):
    rd = _thread_server(start_daemon, service, THREADPOOL_SIZE=8)
    service.gate.set()
    with RawClient(rd.address) as c:
        c.connect("service")
        seqs = [c.send_call("service", "hold", (i,)) for i in range(20)]      # pipelined, no waiting
        answers = [c.receive() for _ in seqs]
    assert [msg.seq for msg, _ in answers] == seqs and [data for _, data in answers] == list(range(20))
    assert service.max_active == 1


def test_thread_per_connection_switch(start_daemon, service):
    rd = _thread_server(start_daemon, service, THREADPOOL_SIZE=8, THREADPOOL_SIZE_MIN=1,
                        THREADPOOL_PER_CONNECTION=True)
    pool = rd.daemon.transportServer.pool
    clients = [RawClient(rd.address) for _ in range(4)]
    try:
        for i, c in enumerate(clients):
            c.connect("service")
            ident = c.result("service", "remember", i)
            assert list(c.result("service", "recall")) == [i, ident]     # same thread, its thread-locals kept
        assert pool.num_busy == 4          # each idle connection holds its worker, as in Pyro5 5.15
    finally:
        for c in clients:
            c.close()
    wait_for(lambda: pool.num_busy == 0)


def test_many_clients_on_a_small_pool_get_their_own_answers(start_daemon, service):
    """48 proxies calling in loops (some reconnecting) through 4 workers: every answer is the right one."""
    from Pyro5.client import Proxy
    rd = _thread_server(start_daemon, service, THREADPOOL_SIZE=4, THREADPOOL_SIZE_MIN=1)
    uri = rd.daemon.uriFor("service")
    wrong: list = []
    finished: list[int] = []

    def client(n: int) -> None:
        with Proxy(uri) as p:
            p._pyroTimeout = 30
            for i in range(150):
                result = p.add(n * 1000, i)
                if result != n * 1000 + i:
                    wrong.append((n, i, result))
                if i % 50 == 49:
                    p._pyroRelease()        # (connection churn: the next call reconnects)
        finished.append(n)
    threads = [threading.Thread(target=client, args=(n,)) for n in range(48)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(finished) == list(range(48)) and wrong == []
    assert rd.daemon.transportServer.pool.num_workers <= 4
