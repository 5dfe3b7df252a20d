"""Shared proxies (issue 11): 32 threads sharing one proxy vs 32 threads with a proxy each, against our thread pool
daemon and the original Pyro5 5.15 daemon; and the http gateway's requests/s before and after it kept one shared
proxy per name.

    python bench/shared.py                      # 3 interleaved rounds of 3 s per workload
    python bench/shared.py --rounds 5 --seconds 5 --threads 32
    python bench/shared.py --skip-gateway        # only the proxy workloads
    python bench/shared.py --base-src DIR        # "before" gateway code: DIR/packages/<dist>/src (default: a copy
                                                 # of the commit given by --base, extracted with git archive)

Every server and client runs in a process of its own (the original's with the interpreter of its venv,
$PYRO5_ORIG_VENV, see tests/_support/refpyro.py). The workloads run in interleaved rounds (every workload once per
round, in the same order), and the median of the rounds is reported: on a loaded machine the figures are noisy,
so compare the rows of one run, never absolute numbers. Nothing asserts on these numbers.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests._support import refpyro  # noqa: E402  (the original's venv)

SERVER = r"""
import sys, threading
import Pyro5.api
Pyro5.config.SERVERTYPE = "thread"
Pyro5.config.THREADPOOL_SIZE = 64

@Pyro5.api.expose
@Pyro5.api.behavior(instance_mode="single")
class Bench:
    def echo(self, x):
        return x

daemon = Pyro5.api.Daemon(host="127.0.0.1")
uri = daemon.register(Bench, "bench")
threading.Thread(target=daemon.requestLoop, daemon=True).start()
print("READY", uri, flush=True)
sys.stdin.read()
daemon.shutdown()
"""

CLIENT = r"""
import sys, threading, time
import Pyro5.api
uri, mode, threads, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
shared = Pyro5.api.Proxy(uri, shared=True) if mode == "shared" else None
if shared is not None:
    shared._pyroBind()
counts = [0] * threads
errors = []
barrier = threading.Barrier(threads + 1)

def work(i):
    proxy = shared if shared is not None else Pyro5.api.Proxy(uri)
    if shared is None:
        proxy._pyroBind()
    barrier.wait()
    stop = time.monotonic() + seconds
    n = 0
    try:
        while time.monotonic() < stop:
            for k in range(10):
                if proxy.echo(i * 100 + k) != i * 100 + k:
                    errors.append("wrong result")
            n += 10
    except Exception as x:
        errors.append(repr(x))
    counts[i] = n

workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
for w in workers:
    w.start()
barrier.wait()
start = time.monotonic()
for w in workers:
    w.join()
elapsed = time.monotonic() - start
print("RESULT", sum(counts) / elapsed, len(errors), flush=True)
"""

BACKEND = r"""
import Pyro5.api, Pyro5.nameserver

@Pyro5.api.expose
class Echo:
    def echo(self, message):
        return message

import threading
Pyro5.config.THREADPOOL_SIZE = 64
uri, nsdaemon, _ = Pyro5.nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
daemon = Pyro5.api.Daemon(host="127.0.0.1")
nsdaemon.nameserver.register("http.echo", daemon.register(Echo))
threading.Thread(target=nsdaemon.requestLoop, daemon=True).start()
print("READY", uri.port, flush=True)
daemon.requestLoop()
"""

GATEWAY = r"""
import sys
import Pyro5.utils.httpgateway as gw
print("GWFILE", gw.__file__, flush=True)
sys.exit(gw.main(["-H", "127.0.0.1", "-p", "0", "-n", "127.0.0.1", "--nsport", sys.argv[1], "-e", r"http\.",
                  "--server", "waitress"]))
"""

DISTS = ("pyro5-wire", "pyro5-client", "pyro5-server", "pyro5-naming", "pyro5-httpgateway")


def _env(pythonpath: list[str] | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_") and k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(pythonpath)
    return env


def _start(python: str, code: str, *args: str, env: dict | None = None, prefix: str = "READY", drain: bool = True
           ) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([python, "-u", "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env or _env())
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith(prefix):
            if drain:
                threading.Thread(target=proc.stdout.read, daemon=True).start()     # (keep the pipe drained)
            return proc, line[len(prefix):].strip()
    proc.kill()
    raise RuntimeError("%s did not start: %s" % (python, "".join(lines)))


def _stop(proc: subprocess.Popen) -> None:
    try:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(5)
    except (subprocess.TimeoutExpired, OSError):
        proc.kill()
        proc.wait(10)


def _client(python: str, uri: str, mode: str, threads: int, seconds: float) -> float:
    out = subprocess.run([python, "-c", CLIENT, uri, mode, str(threads), str(seconds)], capture_output=True,
                         text=True, timeout=seconds + 120, env=_env())
    for line in out.stdout.splitlines():
        if line.startswith("RESULT"):
            _, rate, errors = line.split()
            if int(errors):
                print("    (%s errors in %s/%s)" % (errors, mode, python), file=sys.stderr)
            return float(rate)
    raise RuntimeError("client failed: %s" % out.stderr[-2000:])


def proxies(rounds: int, seconds: float, threads: int) -> list[tuple[str, float]]:
    ours, orig = sys.executable, refpyro.orig_python()
    our_server, our_uri = _start(ours, SERVER)
    orig_server, orig_uri = _start(orig, SERVER, env=refpyro.clean_env())
    workloads = [
        ("our daemon, our client: %d threads share one proxy" % threads, ours, our_uri, "shared"),
        ("our daemon, our client: %d threads, a proxy each" % threads, ours, our_uri, "own"),
        ("original daemon, our client: %d threads share one proxy (pool)" % threads, ours, orig_uri, "shared"),
        ("original daemon, our client: %d threads, a proxy each" % threads, ours, orig_uri, "own"),
        ("original daemon, original client: %d threads, a proxy each" % threads, orig, orig_uri, "own"),
    ]
    results: dict[str, list[float]] = {w[0]: [] for w in workloads}
    try:
        for r in range(rounds):
            for name, python, uri, mode in workloads:
                results[name].append(_client(python, uri, mode, threads, seconds))
            print("  round %d done" % (r + 1), file=sys.stderr)
    finally:
        _stop(our_server)
        _stop(orig_server)
    return [(name, statistics.median(values)) for name, values in results.items()]


def _http_clients(port: int, clients: int, seconds: float) -> float:
    counts = [0] * clients
    barrier = threading.Barrier(clients + 1)

    def run(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        barrier.wait()
        stop = time.monotonic() + seconds
        n = 0
        while time.monotonic() < stop:
            try:
                conn.request("GET", "/pyro/http.echo/echo?message=m%d" % i)
                resp = conn.getresponse()
                body = resp.read()
                if resp.status == 200 and body == b'"m%d"' % i:
                    n += 1
                if resp.will_close:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()
        counts[i] = n

    workers = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.monotonic()
    for w in workers:
        w.join(seconds + 60)
    return sum(counts) / (time.monotonic() - start)


def _base_src(base: str, target: Path) -> Path:
    """The packages/ of commit `base`, extracted into target (git archive; no worktree is touched)."""
    archive = target / "base.tar"
    with open(archive, "wb") as f:
        subprocess.run(["git", "-C", str(REPO), "archive", base, "packages"], stdout=f, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


def gateway(rounds: int, seconds: float, clients: int, base_src: Path) -> list[tuple[str, float]]:
    backend, ns_port = _start(sys.executable, BACKEND)
    variants = {
        "before (gateway of the base commit: lookup + connection per request)":
            [str(base_src / "packages" / d / "src") for d in DISTS],
        "after (one shared proxy per name)": [str(REPO / "packages" / d / "src") for d in DISTS],
    }
    results: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for r in range(rounds):
            for name, path in variants.items():
                proc, gwfile = _start(sys.executable, GATEWAY, ns_port, env=_env(path), prefix="GWFILE", drain=False)
                try:
                    assert gwfile.startswith(path[-1]), gwfile     # (the variant's code, not the installed one)
                    port = _gateway_port(proc)
                    results[name].append(_http_clients(port, clients, seconds))
                finally:
                    proc.kill()
                    proc.wait(10)
            print("  gateway round %d done" % (r + 1), file=sys.stderr)
    finally:
        backend.kill()
        backend.wait(10)
    return [(name, statistics.median(values)) for name, values in results.items()]


def _gateway_port(proc: subprocess.Popen) -> int:
    """The port from the gateway's "... running on http://127.0.0.1:<port>/" line (then its output is drained)."""
    assert proc.stdout is not None
    for _ in range(100):
        line = proc.stdout.readline()
        if not line:
            break
        m = re.search(r"running on http://127\.0\.0\.1:(\d+)/", line)
        if m:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return int(m.group(1))
    raise RuntimeError("the gateway did not say where it runs")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--threads", type=int, default=32)
    ap.add_argument("--clients", type=int, default=20, help="concurrent HTTP clients of the gateway")
    ap.add_argument("--skip-gateway", action="store_true")
    ap.add_argument("--base", default="de647ae", help="commit whose gateway is 'before' (default: before issue 11)")
    ap.add_argument("--base-src", type=Path, help="a checkout to use as 'before' instead of --base")
    args = ap.parse_args(argv)
    print("%d interleaved rounds of %g s; median per workload (a loaded machine: compare rows, not runs)"
          % (args.rounds, args.seconds))
    for name, rate in proxies(args.rounds, args.seconds, args.threads):
        print("  %-72s %9.0f calls/s" % (name, rate))
    if not args.skip_gateway:
        with tempfile.TemporaryDirectory() as tmp:
            base = args.base_src or _base_src(args.base, Path(tmp))
            print("http gateway (waitress), %d concurrent clients, GET /pyro/http.echo/echo" % args.clients)
            for name, rate in gateway(args.rounds, args.seconds, args.clients, base):
                print("  %-72s %9.0f requests/s" % (name, rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
