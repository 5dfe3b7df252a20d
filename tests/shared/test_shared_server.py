"""The server side of shared proxies: a connection with many calls in flight on our thread pool server (its calls
run concurrently on the bounded pool; session objects one call at a time unless they opt in), and what the
waiting threads see when the server dies mid-flight."""
from __future__ import annotations

import threading

import pytest

import Pyro5
import Pyro5.errors
from Pyro5.client import Proxy
from Pyro5.server import behavior, expose
from tests._support.servers import start_in_process, start_subprocess, wait_for
from tests.shared._gate import Gate

GATE = Gate()


@expose
@behavior(instance_mode="session")
class Session:
    def work(self, tag):
        return GATE.run(tag)


@expose
@behavior(instance_mode="session", concurrent=True)
class ConcurrentSession:
    def work(self, tag):
        return GATE.run(tag)


@expose
@behavior(instance_mode="single")
class Single:
    def work(self, tag):
        return GATE.run(tag)


@pytest.fixture
def gate():
    global GATE
    GATE = Gate()
    yield GATE
    GATE.open.set()


def run_calls(proxy: Proxy, n: int) -> tuple[list, list, list]:
    results: list = []
    failures: list = []

    def call(k: int) -> None:
        try:
            results.append(proxy.work(k))
        except Exception as x:
            failures.append(x)
    workers = [threading.Thread(target=call, args=(k,)) for k in range(n)]
    for w in workers:
        w.start()
    return workers, results, failures


def join(workers: list) -> None:
    for w in workers:
        w.join(30)
    assert not any(w.is_alive() for w in workers)


def test_session_object_runs_one_call_at_a_time_per_connection(gate):
    srv = start_in_process("thread", {"session": Session})
    try:
        with Proxy(srv.uri("session"), shared=True) as proxy:
            proxy._pyroBind()
            workers, results, failures = run_calls(proxy, 4)
            assert wait_for(lambda: gate.entered == 1)
            # all four calls reached the server (they run on its pool), but only one is inside the object
            conn = srv.daemon.transportServer.connections[0]
            assert wait_for(lambda: conn._pyro_inflight.running == 4)
            assert gate.active == 1
            gate.open.set()
            join(workers)
            assert sorted(results) == [0, 1, 2, 3] and not failures
            assert gate.most == 1
    finally:
        srv.stop()


@pytest.mark.parametrize("cls", [ConcurrentSession, Single], ids=["session-concurrent", "single"])
def test_concurrent_session_and_single_objects_run_calls_at_once(gate, cls):
    srv = start_in_process("thread", {"obj": cls})
    try:
        with Proxy(srv.uri("obj"), shared=True) as proxy:
            workers, results, failures = run_calls(proxy, 4)
            assert wait_for(lambda: gate.entered == 4)      # all four inside the object at once
            assert gate.active == 4
            gate.open.set()
            join(workers)
            assert sorted(results) == [0, 1, 2, 3] and not failures
    finally:
        srv.stop()


def test_concurrent_flag_is_for_session_mode_only():
    with pytest.raises(ValueError):
        behavior(instance_mode="single", concurrent=True)
    assert getattr(ConcurrentSession, "_pyroSessionConcurrent", False) is True
    assert not getattr(Session, "_pyroSessionConcurrent", False)


def test_worker_threads_stay_bounded(gate):
    Pyro5.config.THREADPOOL_SIZE = 3
    Pyro5.config.THREADPOOL_SIZE_MIN = 1
    srv = start_in_process("thread", {"obj": Single})
    try:
        with Proxy(srv.uri("obj"), shared=True) as proxy:
            workers, results, failures = run_calls(proxy, 12)
            assert wait_for(lambda: gate.entered == 3)
            pool = srv.daemon.transportServer.pool
            # twelve calls in flight on one connection; three run, the others wait in the pool's queue
            assert wait_for(lambda: pool.num_queued == 9)
            assert pool.num_workers == 3 and gate.entered == 3
            assert len(pool.busy) == 3
            gate.open.set()
            join(workers)
            assert sorted(results) == list(range(12)) and not failures
            assert gate.most == 3
    finally:
        srv.stop()


def test_grant_is_the_limits_setting(gate):
    srv = start_in_process("thread", {"obj": Single}, configure=lambda d: setattr(d.limits, "max_inflight", 2))
    try:
        with Proxy(srv.uri("obj"), shared=True) as proxy:
            proxy._pyroBind()
            assert proxy._Proxy__shared._mux.granted == 2
            workers, results, failures = run_calls(proxy, 5)
            assert wait_for(lambda: gate.entered == 2)
            assert gate.active == 2     # (the client never has more than the granted calls unanswered)
            gate.open.set()
            join(workers)
            assert not failures, failures
            assert sorted(results) == list(range(5))
            assert gate.most == 2
    finally:
        srv.stop()


@pytest.mark.parametrize("which", ["ours", "orig"])
def test_server_killed_mid_flight_every_waiting_thread_gets_connection_closed(which, orig_python):
    Pyro5.config.SHARED_POOL_SIZE = 4
    srv = start_subprocess(which)
    try:
        calls = 4 if which == "orig" else 8     # (the original: one call per pooled connection)
        with Proxy(srv.uri(), shared=True) as proxy, Proxy(srv.uri()) as observer:
            failures: list = []

            def call() -> None:
                try:
                    proxy.hang(60)
                except Exception as x:
                    failures.append(x)
            workers = [threading.Thread(target=call) for _ in range(calls)]
            for w in workers:
                w.start()
            assert wait_for(lambda: observer.entered_count() == calls, 20)
            srv.process.proc.kill()     # SIGKILL
            for w in workers:
                w.join(10)
            assert not any(w.is_alive() for w in workers)
            assert len(failures) == calls
            assert all(isinstance(x, Pyro5.errors.ConnectionClosedError) for x in failures), failures
    finally:
        srv.stop()
