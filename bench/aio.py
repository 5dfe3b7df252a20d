"""asyncio benchmarks: many concurrent calls from one process, and many connections on one AsyncDaemon.

    python bench/aio.py                    # 3 interleaved rounds of 3 s per row
    python bench/aio.py --rounds 1 --seconds 1 --connections 300

Rows (calls/s, the median of the rounds; the rows of a round run one after another, so the original and ours
see the same machine load):

- `100 threads x Proxy -> original thread server`: the original Pyro5 5.15 on both sides (its own venv), 100
  threads with a Proxy each, THREADPOOL_SIZE 120 so that none is refused;
- `100 threads x Proxy -> ours thread server`: the same with ours on both sides;
- `1 AsyncProxy x 100 tasks -> ours AsyncDaemon`: one proxy, one connection, 100 calls in flight (INFL);
- `1 AsyncProxy x 100 tasks -> original thread server`: the same proxy against the original daemon (no INFL:
  a pool of ASYNC_POOL_SIZE connections);
- `N connections -> ours AsyncDaemon`: N AsyncProxy objects (one connection each) in one client process, each
  calling in a loop; also the AsyncDaemon's resident memory (VmRSS before the clients, VmHWM after).

Besides calls/s, each row gives the CPU time per call of the client process and of the server process (Linux
/proc): on a loaded machine calls/s mostly measures the scheduler, CPU per call is steadier.

The original's thread server refuses connections past its THREADPOOL_SIZE, so the N-connection row has no
original counterpart. Servers and clients are separate processes on 127.0.0.1. Nothing asserts on these
numbers: on a shared machine they are noisy; compare rows of the same run only.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests._support import refpyro  # noqa: E402

SERVER = r'''
import asyncio, sys
import Pyro5.api as P
kind = sys.argv[1]
P.config.THREADPOOL_SIZE = 120

@P.expose
class Echo:
    def echo(self, *args):
        return args

    async def aecho(self, *args):
        return args

if kind == "async":
    daemon = P.AsyncDaemon(host="127.0.0.1")
else:
    daemon = P.Daemon(host="127.0.0.1")
print("READY", daemon.register(Echo(), "echo"), flush=True)
asyncio.run(daemon.requestLoop()) if kind == "async" else daemon.requestLoop()
'''

CLIENT = r'''
import asyncio, json, sys, threading, time
import Pyro5.api as P
mode, uri, seconds, n, method = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ARGS = (1, "two", 3.0)

def threads():
    counts = [0] * n
    go = threading.Event()
    def client(i):
        with P.Proxy(uri) as p:
            p._pyroBind()
            go.wait(60)
            call = getattr(p, method)
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                call(*ARGS)
                counts[i] += 1
    ts = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    time.sleep(0.5)
    t0 = time.perf_counter()
    go.set()
    for t in ts:
        t.join()
    return sum(counts) / (time.perf_counter() - t0)

async def tasks(proxies):
    counts = [0] * n
    await asyncio.gather(*(p._pyroBind() for p in set(proxies)))
    deadline = time.perf_counter() + seconds
    async def worker(i):
        call = getattr(proxies[i], method)
        while time.perf_counter() < deadline:
            await call(*ARGS)
            counts[i] += 1
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(n)))
    rate = sum(counts) / (time.perf_counter() - t0)
    await asyncio.gather(*(p._pyroRelease() for p in set(proxies)))
    return rate

cpu = time.process_time()
if mode == "threads":
    rate = threads()
elif mode == "tasks":
    from Pyro5.aio.client import AsyncProxy
    proxy = AsyncProxy(uri)
    rate = asyncio.run(tasks([proxy] * n))
else:
    from Pyro5.aio.client import AsyncProxy
    rate = asyncio.run(tasks([AsyncProxy(uri) for _ in range(n)]))
print(json.dumps({"rate": rate, "cpu": time.process_time() - cpu}), flush=True)
'''


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process in KiB (Linux; empty elsewhere)."""
    try:
        text = Path("/proc/%d/status" % pid).read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def _cpu_seconds(pid: int) -> float:
    """user + system CPU time of a process (Linux; 0 elsewhere)."""
    try:
        fields = Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _client(python: str, env: dict, mode: str, uri: str, seconds: float, n: int, method: str,
            server_pid: int) -> tuple[float, float, float]:
    """calls/s, and the client's and the server's CPU microseconds per call."""
    server_cpu = _cpu_seconds(server_pid)
    proc = subprocess.run([python, "-c", CLIENT, mode, uri, str(seconds), str(n), method], capture_output=True,
                          text=True, env=env, timeout=seconds + 300)
    server_cpu = _cpu_seconds(server_pid) - server_cpu
    if proc.returncode != 0:
        raise RuntimeError("client %s failed: %s" % (mode, proc.stderr[-2000:]))
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    calls = max(1.0, float(result["rate"]) * seconds)
    return float(result["rate"]), 1e6 * float(result["cpu"]) / calls, 1e6 * server_cpu / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    ours_env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    orig_env = refpyro.clean_env()
    orig_py = refpyro.orig_python()
    ours_py = sys.executable
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = args.connections + 512
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))   # (inherited by the children)
    except (ImportError, ValueError, OSError):
        pass
    servers = {
        "orig": refpyro.OrigProcess(SERVER, "thread", env=orig_env),
        "thread": refpyro.start_python(SERVER, "thread", env=ours_env),
        "async": refpyro.start_python(SERVER, "async", env=ours_env),
    }
    uris = {kind: server.ready.split()[0] for kind, server in servers.items()}
    c = args.concurrency
    rows = [
        ("%d threads x Proxy -> original thread server" % c, orig_py, orig_env, "threads", "orig", c, "echo"),
        ("%d threads x Proxy -> ours thread server" % c, ours_py, ours_env, "threads", "thread", c, "echo"),
        ("1 AsyncProxy x %d tasks -> ours AsyncDaemon" % c, ours_py, ours_env, "tasks", "async", c, "echo"),
        ("1 AsyncProxy x %d tasks -> ours AsyncDaemon, async def" % c, ours_py, ours_env, "tasks", "async", c,
         "aecho"),
        ("1 AsyncProxy x %d tasks -> original thread server" % c, ours_py, ours_env, "tasks", "orig", c, "echo"),
        ("%d connections -> ours AsyncDaemon" % args.connections, ours_py, ours_env, "conns", "async",
         args.connections, "echo"),
    ]
    results: dict[str, list[tuple[float, float, float]]] = {row[0]: [] for row in rows}
    async_pid = servers["async"].proc.pid
    memory_before = _memory(async_pid)
    try:
        for rnd in range(args.rounds):
            for name, python, env, mode, kind, n, method in rows:
                rate, client_us, server_us = _client(python, env, mode, uris[kind], args.seconds, n, method,
                                                     servers[kind].proc.pid)
                results[name].append((rate, client_us, server_us))
                print("round %d  %-58s %8.0f calls/s  CPU/call: client %5.0f us, server %5.0f us"
                      % (rnd + 1, name, rate, client_us, server_us), flush=True)
        memory_after = _memory(async_pid)
    finally:
        for server in servers.values():
            server.stop()
    print()
    print("| workload | calls/s | client CPU us/call | server CPU us/call |  (medians of %d rounds)" % args.rounds)
    print("|---|---|---|---|")
    for name, _, _, _, _, _, _ in rows:
        print("| %s | %.0f | %.0f | %.0f |" % (name, *(statistics.median(r[i] for r in results[name])
                                                       for i in range(3))))
    if memory_before and memory_after:
        print()
        print("AsyncDaemon memory: VmRSS %.1f MiB before any client, peak (VmHWM) %.1f MiB with %d connections"
              % (memory_before["VmRSS"] / 1024, memory_after["VmHWM"] / 1024, args.connections))
    print("(a loaded, shared machine gives noisy figures: compare rows of one run only)")


if __name__ == "__main__":
    time.sleep(0)
    main()
