"""Load and kills (issue 16, "Our own suite"), all marked slow.

- both server types: 64 client threads in 4 processes make 50,000 calls with distinct arguments (each thread
  reconnects every 100 calls: connection churn). Every call comes back with its own correct answer, and the
  server executed each call exactly once: zero lost, wrong or duplicated. PYRO5_LOAD_CALLS changes the number.
- both server types: client processes killed mid-call (the others are not disturbed, the server lets go), and
  the server killed mid-call (every client thread ends with a CommunicationError, no wrong answer).
- a name server with sql storage killed (SIGKILL) during registrations: nothing acknowledged is lost.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from Pyro5 import errors
from Pyro5.client import Proxy
from tests._support import refpyro
from tests.reliability._fuzz import REPO, server_env, start_server, wait_until

PROCESSES = 4
THREADS_PER_PROCESS = 16
CALLS = int(os.environ.get("PYRO5_LOAD_CALLS", "50000"))
CHURN_EVERY = 100

pytestmark = pytest.mark.slow


@pytest.fixture(params=["thread", "multiplex"])
def server(request):
    proc = start_server(request.param)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.mark.timeout(900)
def test_load_many_clients(server):
    uri = server.ready
    threads = PROCESSES * THREADS_PER_PROCESS
    code = ("import sys; from tests.reliability._fuzz import load_client; "
            "load_client(%r, int(sys.argv[1]), %d, %d, %d, %d)" % (uri, PROCESSES, THREADS_PER_PROCESS, CALLS,
                                                                   CHURN_EVERY))
    env = server_env(server.servertype)
    started = time.monotonic()
    clients = [subprocess.Popen([sys.executable, "-c", code, str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, cwd=str(REPO)) for n in range(PROCESSES)]
    results = []
    try:
        for c in clients:
            out, err = c.communicate(timeout=840)
            assert c.returncode == 0, err
            results.append(json.loads(out))
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait(10)
    elapsed = time.monotonic() - started
    total = {key: sum(r[key] for r in results) for key in ("ok", "wrong", "errors", "hung_threads")}
    texts = [t for r in results for t in r["error_texts"]]
    with Proxy(uri) as p:
        summary = p.summary()
    expected = CALLS
    assert total == {"ok": expected, "wrong": 0, "errors": 0, "hung_threads": 0}, texts
    assert summary == {"calls": expected, "distinct": expected, "duplicated": 0}
    print("\nload %s (%s): %d calls from %d threads in %d processes (reconnect every %d calls) in %.1f s, %.0f calls/s; "
          "server executed %d, distinct %d, duplicated %d"
          % (server.servertype, server.peer, expected, threads, PROCESSES, CHURN_EVERY, elapsed, expected / elapsed,
             summary["calls"], summary["distinct"], summary["duplicated"]))


NS_CODE = r'''
import sys
from Pyro5 import nameserver
uri, daemon, _ = nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False, storage="sql:" + sys.argv[1])
print("READY", uri, flush=True)
daemon.requestLoop()
'''


def _start_ns(db: str) -> refpyro.OrigProcess:
    return refpyro.start_python(NS_CODE, db, env=server_env("thread"), timeout=60)


@pytest.mark.timeout(300)
def test_name_server_with_sql_storage_killed_during_registrations(tmp_path):
    """8 threads register names as fast as they can; the name server process is killed (SIGKILL) once 1,000
    registrations were acknowledged. After a restart on the same database file every acknowledged registration
    is there, with its metadata; at most one registration per thread was in flight (there or not)."""
    db = str(tmp_path / "ns.sqlite")
    ns = _start_ns(db)
    acknowledged: list[list[str]] = [[] for _ in range(8)]
    failures: list[str] = []

    def register(thread: int) -> None:
        with Proxy(ns.ready) as proxy:
            proxy._pyroTimeout = 10
            for i in range(100_000):
                name = "kill.%d.%d" % (thread, i)
                try:
                    proxy.register(name, "PYRO:obj%d@127.0.0.1:%d" % (i, 1000 + thread), metadata={"t%d" % thread})
                except errors.CommunicationError:
                    return
                except Exception as x:  # anything else is a failure of the test
                    failures.append("%s: %s" % (type(x).__name__, x))
                    return
                acknowledged[thread].append(name)

    threads = [threading.Thread(target=register, args=(t,)) for t in range(8)]
    try:
        for t in threads:
            t.start()
        assert wait_until(lambda: sum(map(len, acknowledged)) >= 1000, timeout=120), "registrations too slow"
        ns.proc.kill()
        ns.proc.wait(10)
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads), "a client hangs after the name server was killed"
    finally:
        ns.stop()
    assert not failures, failures
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    restarted = _start_ns(db)
    try:
        with Proxy(restarted.ready) as proxy:
            stored = proxy.list(prefix="kill.", return_metadata=True)
    finally:
        restarted.stop()
    acked = {name for names in acknowledged for name in names}
    missing = acked - set(stored)
    in_flight = set(stored) - acked
    assert not missing, sorted(missing)[:10]
    assert len(in_flight) <= len(threads)
    for thread, names in enumerate(acknowledged):
        for name in names:
            assert stored[name][1] == {"t%d" % thread}
    print("\nname server killed after %d acknowledged registrations (8 threads): all %d there after the restart, "
          "%d more that were in flight" % (len(acked), len(acked), len(in_flight)))


@pytest.mark.timeout(600)
@pytest.mark.parametrize("servertype", ["thread", "multiplex"])
def test_client_processes_killed_mid_call(servertype):
    """Of 4 load processes, 2 are killed (SIGKILL) while they are calling; the other 2 finish with every answer
    correct, and the server lets go of the dead clients' connections (its fd count comes back)."""
    server = start_server(servertype)
    try:
        uri = server.ready
        with Proxy(uri) as checker:
            baseline = checker.stats()["fds"]
        code = ("import sys; from tests.reliability._fuzz import load_client; "
                "load_client(%r, int(sys.argv[1]), 4, 16, %d, 0)" % (uri, 4 * 16 * 300))
        env = server_env(servertype)
        clients = [subprocess.Popen([sys.executable, "-c", code, str(n)], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO)) for n in range(4)]
        try:
            with Proxy(uri) as checker:   # the victims are connected and calling
                assert wait_until(lambda: checker.summary()["calls"] >= 4 * 16 * 50, timeout=120)
            for victim in clients[:2]:
                victim.kill()
            results = []
            for c in clients[2:]:
                out, err = c.communicate(timeout=540)
                assert c.returncode == 0, err
                results.append(json.loads(out))
        finally:
            for c in clients:
                if c.poll() is None:
                    c.kill()
                c.communicate(timeout=30)
        survivors = {key: sum(r[key] for r in results) for key in ("ok", "wrong", "errors", "hung_threads")}
        assert survivors == {"ok": 2 * 16 * 300, "wrong": 0, "errors": 0, "hung_threads": 0}, results
        with Proxy(uri) as checker:
            assert wait_until(lambda: checker.stats()["fds"] <= baseline, timeout=30), checker.stats()
            summary = checker.summary()
        assert summary["duplicated"] == 0
        print("\nclients killed mid-call (%s): survivors made %d calls, all correct; server executed %d in all, "
              "fds back to %d" % (servertype, survivors["ok"], summary["calls"], baseline))
    finally:
        server.stop()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("servertype", ["thread", "multiplex"])
def test_server_killed_mid_call(servertype):
    """The server process is killed (SIGKILL) while 64 client threads call it: every thread ends (no hang),
    no call returns a wrong answer, every failed call raised a Pyro CommunicationError at once."""
    server = start_server(servertype)
    calls = 4 * 16 * 500
    code = ("import sys; from tests.reliability._fuzz import load_client; "
            "load_client(%r, int(sys.argv[1]), 4, 16, %d, 0)" % (server.ready, calls))
    env = server_env(servertype)
    clients = [subprocess.Popen([sys.executable, "-c", code, str(n)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, cwd=str(REPO)) for n in range(4)]
    try:
        with Proxy(server.ready) as checker:
            assert wait_until(lambda: checker.summary()["calls"] >= 4 * 16 * 50, timeout=120)
        server.proc.kill()
        results = []
        for c in clients:
            out, err = c.communicate(timeout=540)
            assert c.returncode == 0, err
            results.append(json.loads(out))
    finally:
        server.stop()
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.communicate(timeout=30)
    total = {key: sum(r[key] for r in results) for key in ("ok", "wrong", "errors", "hung_threads")}
    texts = [t for r in results for t in r["error_texts"]]
    assert total["wrong"] == 0 and total["hung_threads"] == 0
    assert total["ok"] + total["errors"] == calls and total["ok"] >= 4 * 16 * 50 and total["errors"] > 0
    assert all(t.split(":")[0] in ("ConnectionClosedError", "CommunicationError") for t in texts), texts
    print("\nserver killed mid-call (%s): %d calls answered correctly before, %d failed at once after (%s)"
          % (servertype, total["ok"], total["errors"], sorted({t.split(":")[0] for t in texts})))
