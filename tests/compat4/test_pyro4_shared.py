"""Pyro4 proxies shared by threads (issue 11): a Pyro4.Proxy is a shared proxy, so Pyro4 code that hands one
proxy to many threads (with or without its own lock) keeps working, and Future/_pyroAsync calls run at once
over its connection instead of one at a time."""
from __future__ import annotations

import threading

import pytest

from Pyro5.compatibility import Pyro4
from tests._support.servers import start_in_process, wait_for


@Pyro4.expose
@Pyro4.behavior(instance_mode="single")
class Gated:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entered = 0
        self.gate = threading.Event()

    def add(self, a, b):
        return a + b

    def blocked(self, tag):
        with self.lock:
            self.entered += 1
        self.gate.wait(20)
        return tag


@pytest.fixture
def served():
    obj = Gated()
    srv = start_in_process("thread", {"gated": obj})
    yield srv, obj
    obj.gate.set()
    srv.stop()


@pytest.mark.parametrize("own_lock", [True, False], ids=["behind-own-lock", "no-lock"])
def test_threads_share_a_pyro4_proxy(served, own_lock):
    srv, _ = served
    proxy = Pyro4.Proxy(srv.uri("gated"))
    lock = threading.Lock()
    wrong: list = []
    failures: list = []

    def work(k: int) -> None:
        try:
            for i in range(50):
                if own_lock:
                    with lock:
                        result = proxy.add(k * 1000, i)
                else:
                    result = proxy.add(k * 1000, i)
                if result != k * 1000 + i:
                    wrong.append((k, i, result))
        except Exception as x:
            failures.append(x)
    workers = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not failures and not wrong
    assert len(srv.daemon.transportServer.connections) == 1
    proxy._pyroRelease()


def test_async_calls_run_at_once_over_the_shared_connection(served):
    srv, obj = served
    with Pyro4.Proxy(srv.uri("gated")) as proxy:
        proxy._pyroAsync()
        results = [proxy.blocked(k) for k in range(4)]
        assert all(isinstance(r, Pyro4.FutureResult) for r in results)
        assert wait_for(lambda: obj.entered == 4)       # all four running on the server at once
        obj.gate.set()
        assert [r.wait(20) and r.value for r in results] == [0, 1, 2, 3]
        assert len(srv.daemon.transportServer.connections) == 1


def test_future_around_a_pyro4_proxy_call(served):
    srv, _ = served
    with Pyro4.Proxy(srv.uri("gated")) as proxy:
        future = Pyro4.Future(proxy.add)
        result = future(20, 22)
        assert result.wait(20) and result.value == 42
