"""HTTP gateway throughput: requests/s with N concurrent HTTP clients, for each WSGI server of pyro5-httpgateway.

    python bench/gateway.py                       # 20 clients, waitress and wsgiref, 3 s each
    python bench/gateway.py --clients 50 --seconds 5 --server waitress

Starts (on 127.0.0.1) a name server with an object `http.echo` in one process, then per WSGI server the
`pyro5-httpgateway` command (`--server waitress|wsgiref`), and N client threads that each call
GET /pyro/http.echo/echo?message=... over one keep-alive connection (reconnecting when the server closes it)
until the time is up. Prints requests/s per server. Nothing asserts on these numbers: they are machine dependent.
"""
from __future__ import annotations

import argparse
import http.client
import os
import re
import subprocess
import sys
import threading
import time

BACKEND = r"""
import sys
import Pyro5.api
import Pyro5.nameserver

@Pyro5.api.expose
class Echo:
    def echo(self, message):
        return message

uri, nsdaemon, _ = Pyro5.nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
daemon = Pyro5.api.Daemon(host="127.0.0.1")
nsdaemon.combine(daemon)
nsdaemon.nameserver.register("http.echo", daemon.register(Echo))
print("READY", uri.port, flush=True)
nsdaemon.requestLoop()
"""


def _start(cmd: list[str], pattern: str, timeout: float = 30) -> tuple[subprocess.Popen[str], re.Match[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    found: list[re.Match[str]] = []

    def reader() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            m = re.search(pattern, line)
            if m and not found:
                found.append(m)
        # keep draining so the child never blocks on a full pipe

    threading.Thread(target=reader, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not found and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if not found:
        proc.kill()
        raise RuntimeError(f"{cmd} did not print {pattern!r}")
    return proc, found[0]


def _client(host: str, port: int, stop_at: float, counts: list[int], errors: list[str], index: int,
            path: str | None) -> None:
    conn: http.client.HTTPConnection | None = None
    done = 0
    while time.monotonic() < stop_at:
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("GET", path or f"/pyro/http.echo/echo?message=hello{index}")
            resp = conn.getresponse()
            body = resp.read()
            if path is None and (resp.status != 200 or body != f'"hello{index}"'.encode()):
                errors.append(f"{resp.status} {body[:80]!r}")
                return
            done += 1
            if resp.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as x:
            errors.append(repr(x))
            if conn is not None:
                conn.close()
            conn = None
            if len(errors) > 100:
                return
    if conn is not None:
        conn.close()
    counts[index] = done


def measure(server: str, ns_port: int, clients: int, seconds: float, path: str | None = None) -> tuple[float, int]:
    cmd = [sys.executable, "-u", "-m", "Pyro5.utils.httpgateway", "-H", "127.0.0.1", "-p", "0", "-n", "127.0.0.1",
           "--nsport", str(ns_port), "-e", r"http\."]
    if server != "default":
        cmd += ["--server", server]
    proc, m = _start(cmd, r"running on http://127\.0\.0\.1:(\d+)/")
    try:
        port = int(m.group(1))
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        warm.request("GET", "/pyro/http.echo/echo?message=warm")
        assert warm.getresponse().read() == b'"warm"'
        warm.close()
        counts = [0] * clients
        errors: list[str] = []
        start = time.monotonic()
        threads = [threading.Thread(target=_client, args=("127.0.0.1", port, start + seconds, counts, errors, i, path))
                   for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(seconds + 30)
        elapsed = time.monotonic() - start
        return sum(counts) / elapsed, len(errors)
    finally:
        proc.kill()
        proc.wait(10)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--server", action="append", choices=["waitress", "wsgiref", "default"],
                    help="WSGI server(s) to measure (repeatable; default: waitress and wsgiref)")
    ap.add_argument("--path", help="request this path instead of the echo call (e.g. /pyro/ for a 404 that "
                                   "makes no Pyro call: the WSGI server's own overhead)")
    args = ap.parse_args(argv)
    backend, m = _start([sys.executable, "-u", "-c", BACKEND], r"READY (\d+)")
    try:
        print(f"{args.clients} concurrent clients, {args.seconds:g} s per server, "
              f"GET {args.path or '/pyro/http.echo/echo'}")
        for server in args.server or ["waitress", "wsgiref"]:
            rate, errors = measure(server, int(m.group(1)), args.clients, args.seconds, args.path)
            print(f"  {server:10s} {rate:8.0f} requests/s" + (f"   ({errors} errors)" if errors else ""))
    finally:
        backend.kill()
        backend.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
