"""Proxy(uri, shared=True): one proxy called by many threads at once (issue 11).

Against our daemons the calls share one connection with many calls in flight (the INFL capability); against the
original Pyro5 5.15 daemon (and ours without the capability) a small pool of connections. Every result must come
back to the thread that made the call: the calls have distinct arguments and each thread checks its results.
"""
from __future__ import annotations

import pickle
import threading

import pytest

import Pyro5
import Pyro5.errors
from Pyro5.callcontext import current_context
from Pyro5.client import BatchProxy, Proxy
from Pyro5.server import behavior, expose, oneway
from tests._support.servers import SERVER_KINDS, SUBPROCESS_KINDS, start, start_in_process, wait_for


@expose
@behavior(instance_mode="single")
class Thing:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entered = 0
        self.gate = threading.Event()
        self.stored: list = []
        self.value = 5

    def add(self, a, b):
        return a + b

    def echo(self, x):
        return x

    def annotation(self):
        return current_context.annotations.get("XTRA", b"").decode()

    def gen(self, n):
        yield from range(n)

    def blocked(self, tag):
        """Waits for the test to open the gate (at most 20 s)."""
        with self.lock:
            self.entered += 1
        self.gate.wait(20)
        return tag

    @oneway
    def store(self, x):
        self.stored.append(x)

    @property
    def attr(self):
        return self.value

    @attr.setter
    def attr(self, v):
        self.value = v


@pytest.fixture(params=SERVER_KINDS)
def server(request):
    srv = start(request.param, {"thing": Thing()})
    yield srv
    srv.stop()


@pytest.fixture
def threadpool():
    thing = Thing()
    srv = start_in_process("thread", {"thing": thing})
    srv.extra["thing"] = thing
    yield srv
    thing.gate.set()
    srv.stop()


def hammer(proxy: Proxy, threads: int, calls: int) -> tuple[list, list]:
    """`threads` threads make `calls` calls each with distinct arguments; (wrong results, errors)."""
    wrong: list = []
    failures: list = []
    start = threading.Barrier(threads)

    def work(k: int) -> None:
        try:
            start.wait(30)
            base = k * 1_000_000
            for i in range(calls):
                result = proxy.add(base, i)
                if result != base + i:
                    wrong.append((k, i, result))
        except Exception as x:      # (reported by the test)
            failures.append(x)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(300)
    assert not any(w.is_alive() for w in workers), "calls did not finish"
    return wrong, failures


def test_many_threads_every_result_matched(server):
    with Proxy(server.uri(), shared=True) as proxy:
        wrong, failures = hammer(proxy, 8, 100)
    assert not failures and not wrong


@pytest.mark.slow
def test_32_threads_1000_calls_each_every_result_matched(server):
    with Proxy(server.uri(), shared=True) as proxy:
        wrong, failures = hammer(proxy, 32, 1000)
    assert not failures and not wrong


def test_our_daemon_grants_one_connection(threadpool):
    with Proxy(threadpool.uri(), shared=True) as proxy:
        wrong, failures = hammer(proxy, 16, 20)
        assert not failures and not wrong
        assert proxy._Proxy__shared._mux is not None and not proxy._Proxy__shared.pooled
        assert len(threadpool.daemon.transportServer.connections) == 1
        conn = threadpool.daemon.transportServer.connections[0]
        assert proxy._pyroLocalSocket == conn.sock_addr


def test_without_the_grant_a_bounded_pool_of_connections(threadpool):
    threadpool.daemon.limits.max_inflight = 0
    Pyro5.config.SHARED_POOL_SIZE = 2
    with Proxy(threadpool.uri(), shared=True) as proxy:
        wrong, failures = hammer(proxy, 8, 30)
        assert not failures and not wrong
        assert proxy._Proxy__shared.pooled and proxy._Proxy__shared._mux is None
        assert 1 <= len(threadpool.daemon.transportServer.connections) <= 2


def test_original_daemon_gets_a_pool(orig_python):
    from tests._support.servers import start_subprocess
    srv = start_subprocess("orig")
    try:
        Pyro5.config.SHARED_POOL_SIZE = 3
        with Proxy(srv.uri(), shared=True) as proxy:
            wrong, failures = hammer(proxy, 6, 20)
            assert not failures and not wrong
            link = proxy._Proxy__shared
            assert link.pooled and 1 <= len(link._open) <= 3
    finally:
        srv.stop()


def test_slow_call_does_not_hold_up_fast_ones(threadpool):
    thing = threadpool.extra["thing"]
    with Proxy(threadpool.uri(), shared=True) as proxy:
        result: list = []
        slow = threading.Thread(target=lambda: result.append(proxy.blocked("slow")))
        slow.start()
        assert wait_for(lambda: thing.entered == 1)
        # the slow call is still running (the gate is closed) while other calls come and go on the same proxy
        assert [proxy.add(i, 1) for i in range(20)] == [i + 1 for i in range(20)]
        assert not thing.gate.is_set() and result == []
        thing.gate.set()
        slow.join(20)
        assert result == ["slow"]


def test_timed_out_call_leaves_the_proxy_working(threadpool):
    thing = threadpool.extra["thing"]
    with Proxy(threadpool.uri(), shared=True) as proxy:
        proxy._pyroBind()
        mux = proxy._Proxy__shared._mux
        proxy._pyroTimeout = 0.3
        with pytest.raises(Pyro5.errors.TimeoutError):
            proxy.blocked("late")
        proxy._pyroTimeout = None
        assert proxy.add(1, 2) == 3
        thing.gate.set()        # the late reply arrives now: it is dropped by its seq
        assert [proxy.echo(i) for i in range(10)] == list(range(10))
        assert proxy._Proxy__shared._mux is mux and not mux.closed
        assert wait_for(lambda: not mux._pending)


@pytest.mark.parametrize("kind", [k for k in SERVER_KINDS if k not in SUBPROCESS_KINDS])
def test_everything_a_proxy_does(kind):
    server = start(kind, {"thing": Thing()})
    try:
        _everything(server.uri())
    finally:
        server.stop()


def test_everything_a_proxy_does_without_the_grant(threadpool):
    threadpool.daemon.limits.max_inflight = 0
    _everything(threadpool.uri())


def _everything(thing_uri: str) -> None:
    with Proxy(thing_uri, shared=True) as proxy:
        assert proxy.attr == 5
        proxy.attr = 7
        assert proxy.attr == 7
        assert "add" in proxy._pyroMethods and "store" in proxy._pyroOneway
        proxy.store("x")
        assert proxy.echo("after oneway") == "after oneway"
        assert list(proxy.gen(5)) == [0, 1, 2, 3, 4]
        with BatchProxy(proxy) as batch:
            batch.add(1, 2)
            batch.echo("b")
            assert list(batch()) == [3, "b"]
        proxy._pyroRelease()
        assert proxy._pyroConnection is None
        assert proxy.add(2, 2) == 4     # connects again
        proxy._pyroReconnect()
        assert proxy.add(3, 3) == 6


def test_streams_belong_to_the_iterating_thread(threadpool):
    with Proxy(threadpool.uri(), shared=True) as proxy:
        results: dict = {}

        def iterate(k: int) -> None:
            results[k] = list(proxy.gen(50 + k))

        workers = [threading.Thread(target=iterate, args=(k,)) for k in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(30)
        assert results == {k: list(range(50 + k)) for k in range(6)}


def test_streams_on_pooled_connections(threadpool):
    threadpool.daemon.limits.max_inflight = 0
    Pyro5.config.SHARED_POOL_SIZE = 2
    with Proxy(threadpool.uri(), shared=True) as proxy:
        first = proxy.gen(3)
        second = proxy.gen(4)
        assert next(first) == 0 and next(second) == 0
        assert list(first) == [1, 2] and list(second) == [1, 2, 3]


def test_pickled_shared_proxy_is_a_normal_one(threadpool):
    proxy = Proxy(threadpool.uri(), shared=True)
    copy = pickle.loads(pickle.dumps(proxy))
    assert copy.__getstate__() == Proxy(threadpool.uri()).__getstate__()
    assert copy._Proxy__shared is None
    other = threading.Thread(target=lambda: None)
    other.start()
    other.join()
    assert proxy.add(1, 1) == 2
    proxy._pyroRelease()


def test_shared_keyword_refuses_a_connected_socket():
    import socket
    a, b = socket.socketpair()
    try:
        with pytest.raises(ValueError):
            Proxy("PYRO:thing@localhost:1", connected_socket=a, shared=True)
    finally:
        a.close()
        b.close()


def test_unix_socket(tmp_path):
    path = str(tmp_path / "shared.sock")
    srv = start_in_process("thread", {"thing": Thing()}, unixsocket=path)
    try:
        with Proxy(srv.uri(), shared=True) as proxy:
            wrong, failures = hammer(proxy, 4, 25)
            assert not failures and not wrong
            assert proxy._pyroConnection.family() == "Unix"
    finally:
        srv.stop()


def test_max_retries_repeats_a_call_whose_connection_was_lost(threadpool):
    import socket
    thing = threadpool.extra["thing"]
    with Proxy(threadpool.uri(), shared=True) as proxy:
        proxy._pyroMaxRetries = 1
        assert proxy.add(1, 1) == 2
        mux = proxy._Proxy__shared._mux
        result: list = []
        caller = threading.Thread(target=lambda: result.append(proxy.blocked("again")))
        caller.start()
        assert wait_for(lambda: thing.entered == 1)
        mux.sock.shutdown(socket.SHUT_RDWR)     # the connection is lost while the call waits for its reply
        assert wait_for(lambda: thing.entered == 2)     # retried over a new connection
        thing.gate.set()
        caller.join(20)
        assert result == ["again"] and proxy._Proxy__shared._mux is not mux
        assert proxy.add(2, 2) == 4


def test_handshake_and_annotations(threadpool):
    class MyProxy(Proxy):
        seen: list = []

        def _pyroValidateHandshake(self, response):
            self.seen.append(response)

        def _pyroAnnotations(self):
            return {"XTRA": b"1"}

    with MyProxy(threadpool.uri(), shared=True) as proxy:
        assert proxy.add(1, 2) == 3
        assert MyProxy.seen == ["hello"]    # (the daemon's default validateHandshake answer)
        assert proxy.annotation() == "1"


def test_pyroname_is_resolved_again_for_a_new_connection():
    from Pyro5 import nameserver
    ns_uri, ns_daemon, _ = nameserver.start_ns("127.0.0.1", 0, enableBroadcast=False)
    ns_thread = threading.Thread(target=ns_daemon.requestLoop, daemon=True)
    ns_thread.start()
    Pyro5.config.NS_HOST, Pyro5.config.NS_PORT = "127.0.0.1", ns_uri.port
    first, second = Thing(), Thing()
    first.value, second.value = 1, 2
    servers = [start_in_process("thread", {"thing": first})]
    try:
        ns_daemon.nameserver.register("shared.thing", servers[0].uri())
        with Proxy("PYRONAME:shared.thing", shared=True) as proxy:
            assert proxy.attr == 1
            mux = proxy._Proxy__shared._mux
            servers[0].stop()
            servers.append(start_in_process("thread", {"thing": second}))
            ns_daemon.nameserver.register("shared.thing", servers[1].uri(), safe=False)
            assert wait_for(lambda: mux.closed)     # (the reader saw the connection end)
            assert proxy.attr == 2                  # a new connection: the name was looked up again
            assert str(proxy._pyroUri) == "PYRONAME:shared.thing"
    finally:
        for srv in servers:
            srv.stop()
        ns_daemon.shutdown()
        ns_thread.join(10)
        ns_daemon.close()


@expose
class Streams:
    def __init__(self) -> None:
        self.closed = threading.Event()

    def endless(self):
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            self.closed.set()


@pytest.mark.parametrize("pooled", [False, True], ids=["one-connection", "pool"])
def test_closing_a_remote_iterator(pooled):
    streams = Streams()
    srv = start_in_process("thread", {"streams": streams})
    try:
        if pooled:
            srv.daemon.limits.max_inflight = 0
        with Proxy(srv.uri("streams"), shared=True) as proxy:
            items = proxy.endless()
            assert [next(items) for _ in range(3)] == [0, 1, 2]
            items.close()
            if pooled:      # (sent before the next call on its connection)
                other = proxy.endless()
                assert next(other) == 0
            assert streams.closed.wait(10)
    finally:
        srv.stop()


def test_dropped_remote_iterator_is_closed_before_the_next_call():
    streams = Streams()
    srv = start_in_process("thread", {"streams": streams})
    try:
        with Proxy(srv.uri("streams"), shared=True) as proxy:
            items = proxy.endless()
            assert next(items) == 0
            del items       # (a finalizer does not send: the close goes out with the next call)
            assert not streams.closed.is_set()
            other = proxy.endless()
            assert next(other) == 0
            assert streams.closed.wait(10)
    finally:
        srv.stop()


def test_unserializable_argument_leaves_the_proxy_working(threadpool):
    Pyro5.config.SERIALIZER = "json"
    with Proxy(threadpool.uri(), shared=True) as proxy:
        assert proxy.echo(1) == 1
        with pytest.raises(Exception):
            proxy.echo(object())
        assert [proxy.echo(i) for i in range(5)] == list(range(5))
        assert not proxy._Proxy__shared._mux._pending


def test_reader_thread_ends_with_the_connection(threadpool):
    proxy = Proxy(threadpool.uri(), shared=True)
    proxy._pyroBind()
    reader = proxy._Proxy__shared._mux._thread
    assert reader.is_alive() and reader.daemon and reader.name == "Pyro5-shared-reader"
    proxy._pyroRelease()
    reader.join(10)
    assert not reader.is_alive()
    proxy._pyroBind()
    reader = proxy._Proxy__shared._mux._thread
    del proxy       # a collected proxy closes its connection too
    reader.join(10)
    assert not reader.is_alive()
