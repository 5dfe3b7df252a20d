"""Load on both server types (issue 16, "Our own suite"): 64 client threads in 4 processes make 50,000 calls
with distinct arguments (each thread reconnects every 100 calls: connection churn). Every call must come back
with its own correct answer, and the server must have executed each call exactly once: zero lost, wrong or
duplicated. PYRO5_LOAD_CALLS changes the number of calls."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from Pyro5.client import Proxy
from tests.reliability._fuzz import REPO, server_env, start_server

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
