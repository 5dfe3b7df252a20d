"""Client CPU per small call with N threads (a proxy each) in one client process, for one or more code trees,
interleaved (tree A, tree B, tree A, ...), against one server process. Linux only (/proc, perf).

    python bench/client_cpu.py                                      # this checkout: 1, 8 and 32 threads
    python bench/client_cpu.py --tree /tmp/old --tree . --rounds 9  # compare another checkout with this one
    python bench/client_cpu.py --tree orig --tree .                 # the original Pyro5 (its venv) and ours
    python bench/client_cpu.py --perf --threads 8,32                # + syscalls, futex calls, context switches

A tree is a checkout of this repository: the client process imports Pyro5 from its packages/*/src folders only;
"orig" runs the client with the original Pyro5's interpreter (PYRO5_ORIG_VENV, default .cache/pyro5-orig). The
server is this environment's Pyro5 thread pool server (64 workers), the same for every tree. Every client thread
calls echo("hello", 42) with `_pyroTimeout` 120 s (as bench/run.py does) for the given time; the figure is the
client process's CPU microseconds per call (user + system, os.times), the median of the rounds. With --perf,
`perf stat` counts the client process's system calls, futex calls and context switches during the timed part
(per call). Compare trees only within one run: absolute figures depend on the load.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_PATHS = r"""
import os, sys
def use_tree(tree):
    if tree != "orig":
        sys.path[:] = [os.path.join(tree, "packages", d, "src") for d in sorted(os.listdir(os.path.join(tree, "packages")))
                       if d.startswith("pyro5-")] + [p for p in sys.path if "/packages/pyro5-" not in p and p not in ("", ".")]
"""

SERVER = _PATHS + r"""
import threading
use_tree(sys.argv[1])
import Pyro5.server
Pyro5.config.SERVERTYPE = "thread"
Pyro5.config.THREADPOOL_SIZE = 64


class Echo:
    @Pyro5.server.expose
    def echo(self, *args):
        return args


daemon = Pyro5.server.Daemon(host="127.0.0.1")
uri = daemon.register(Echo, "echo")
print("READY", uri, flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), daemon.shutdown()), daemon=True).start()
daemon.requestLoop()
daemon.close()
"""

CLIENT = _PATHS + r"""
import json, threading, time
tree, uri, nthreads, serializer, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
use_tree(tree)
import Pyro5.client
counts = [0] * nthreads
stop = False
go = threading.Event()
ready = threading.Barrier(nthreads + 1, timeout=60)


def client(i):
    with Pyro5.client.Proxy(uri) as p:
        p._pyroSerializer = serializer
        p._pyroTimeout = 120
        for _ in range(100):
            p.echo("hello", 42)
        ready.wait()
        go.wait(60)
        n = 0
        while not stop:
            p.echo("hello", 42)
            n += 1
        counts[i] = n


threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(nthreads)]
for t in threads:
    t.start()
ready.wait()
print("WARM", os.getpid(), flush=True)
sys.stdin.readline()
t0, w0 = os.times(), time.perf_counter()
go.set()
time.sleep(seconds)
stop = True
t1, w1 = os.times(), time.perf_counter()
for t in threads:
    t.join(30)
print(json.dumps({"calls": sum(counts), "cpu": t1.user + t1.system - t0.user - t0.system, "sys": t1.system - t0.system,
                  "wall": w1 - w0}), flush=True)
"""

PERF_EVENTS = {"raw_syscalls:sys_enter": "syscalls", "syscalls:sys_enter_futex": "futex",
               "context-switches": "switches"}


def _perf_counts(path: str) -> dict[str, float]:
    counts = {}
    for line in Path(path).read_text().splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1] in PERF_EVENTS and fields[0].replace(",", "").isdigit():
            counts[PERF_EVENTS[fields[1]]] = float(fields[0].replace(",", ""))
    return counts


def one_round(python: str, tree: str, uri: str, threads: int, serializer: str, seconds: float, perf: bool
              ) -> dict[str, Any]:
    """One client process of `tree` with `threads` threads: calls, CPU and wall seconds (+ perf counts)."""
    proc = subprocess.Popen([python, "-c", CLIENT, tree, uri, str(threads), serializer, str(seconds)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    monitor = None
    try:
        line = proc.stdout.readline().split()      # type: ignore[union-attr]
        if not line or line[0] != "WARM":
            raise RuntimeError("the client of %s did not start" % tree)
        with tempfile.NamedTemporaryFile(suffix=".perf") as out:
            if perf:
                monitor = subprocess.Popen(["perf", "stat", "-e", ",".join(PERF_EVENTS), "-o", out.name, "-p", line[1]],
                                           stderr=subprocess.DEVNULL)
                time.sleep(0.3)     # (perf attaches)
            proc.stdin.write("go\n")                # type: ignore[union-attr]
            proc.stdin.flush()                      # type: ignore[union-attr]
            result = json.loads(proc.stdout.readline())     # type: ignore[union-attr]
            if monitor is not None:
                monitor.send_signal(2)
                monitor.wait(30)
                result.update(_perf_counts(out.name))
        proc.stdin.close()                          # type: ignore[union-attr]
        proc.wait(30)
    finally:
        for p in (proc, monitor):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait(10)
    return result


def _per_call(rounds: list[dict[str, Any]], key: str, scale: float = 1.0) -> float:
    """The median over the rounds of `key` per call."""
    return statistics.median(r.get(key, 0) * scale / r["calls"] for r in rounds)


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tree", action="append", help="checkout to measure, or 'orig' (repeat to compare; default: .)")
    parser.add_argument("--threads", default="1,8,32", help="client threads, comma-separated (default 1,8,32)")
    parser.add_argument("--serializer", default="serpent")
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--perf", action="store_true", help="count syscalls, futex calls, context switches (perf)")
    args = parser.parse_args(argv)
    trees = args.tree or [str(ROOT)]
    orig = os.path.join(os.environ.get("PYRO5_ORIG_VENV", str(ROOT / ".cache" / "pyro5-orig")), "bin", "python")
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(ROOT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    started = time.monotonic()
    try:
        uri = server.stdout.readline().split()[1]       # type: ignore[union-attr]
        for _ in range(args.rounds):
            for n in [int(x) for x in args.threads.split(",")]:
                for tree in trees:
                    python = orig if tree == "orig" else sys.executable
                    r = one_round(python, tree, uri, n, args.serializer, args.seconds, args.perf)
                    results.setdefault((tree, n), []).append(r)
    finally:
        server.stdin.close()                            # type: ignore[union-attr]
        server.wait(30)
    print("client CPU per %s call, median of %d rounds of %.1f s (%.0f s)" % (args.serializer, args.rounds, args.seconds,
                                                                            time.monotonic() - started))
    extra = list(PERF_EVENTS.values()) if args.perf else []
    print("%-40s %7s %8s %8s %8s" % ("tree", "threads", "CPU us", "sys us", "calls/s") +
          "".join(" %9s" % e for e in extra) + "  rounds (CPU us)")
    for (tree, n), rounds in results.items():
        print("%-40s %7d %8.1f %8.1f %8.0f" % (tree, n, _per_call(rounds, "cpu", 1e6), _per_call(rounds, "sys", 1e6),
                                              statistics.median(r["calls"] / r["wall"] for r in rounds)) +
              "".join(" %9.2f" % _per_call(rounds, e) for e in extra) +
              "  " + " ".join("%.0f" % (r["cpu"] * 1e6 / r["calls"]) for r in rounds))


if __name__ == "__main__":
    main()
