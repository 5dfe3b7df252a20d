"""The Python floor of a small call: what a minimal Python server and client speaking the same wire cost per call,
beside ours and the original's, all pairs interleaved in one run (msgpack, one client, one connection).

    python bench/floor.py                       # floor, ours (this checkout) and the original (if its venv exists)
    python bench/floor.py --tree /tmp/old --calls 20000 --rounds 5

- The floor server: one thread per connection; per call one recv, the header with protocol's struct, msgpack,
  the method, one send. No checks beyond the message being whole: it is a yardstick, not a server.
- The floor client: a real proxy makes the connection and the handshake, then the calls go out as a packed
  header + msgpack on its socket, one send and one recv each.
- "ours" and "original": a thread pool Daemon and a Proxy of that implementation, used as a program would.

Each pair is one client process making N calls of ``echo("hello", 42)`` after a warm-up; the table gives calls/s,
the client's CPU per call (getrusage of the client process) and the server's (the scheduler's figure of the
server process's threads over the timed calls). The system calls per call are the same for every pair here
(one send and one recv on each side; the original's client makes more). Compare within one run only.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from server_cpu import cpu_ns  # (bench/ is the script's directory)

PRELUDE = r"""
import os, sys
tree = os.environ.get("FLOOR_TREE")
if tree:    # import Pyro5 from this checkout's packages only
    sys.path[:] = [os.path.join(tree, "packages", d, "src") for d in sorted(os.listdir(os.path.join(tree, "packages")))
                   if d.startswith("pyro5-")] + [p for p in sys.path if "/packages/pyro5-" not in p and p not in ("", ".")]
"""

FLOOR_SERVER = PRELUDE + r"""
import socket, threading, msgpack
from Pyro5 import protocol
HEADER, MAGIC = protocol._header, protocol._magic_number

class Echo:
    def echo(self, value, number):
        return value

objects = {"echo": Echo()}

def serve(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while True:
        data = conn.recv(65536)
        if not data:
            return
        _, version, msgtype, ser, flags, seq, size, annsize, corr, _, _ = HEADER.unpack_from(data)
        while len(data) < 40 + annsize + size:
            data += conn.recv(65536)
        body = data[40 + annsize:40 + annsize + size]
        if msgtype == protocol.MSG_CONNECT:
            meta = {"methods": ["echo"], "oneway": [], "attrs": []}
            payload = msgpack.packb({"handshake": "hello", "meta": meta}, use_bin_type=True)
            reply = protocol.MSG_CONNECTOK
        else:
            obj, method, vargs, kwargs = msgpack.unpackb(body, raw=False)
            payload = msgpack.packb(getattr(objects[obj], method)(*vargs, **kwargs), use_bin_type=True)
            reply = protocol.MSG_RESULT
        conn.send(HEADER.pack(b"PYRO", version, reply, ser, 0, seq, len(payload), 0, corr, 0, MAGIC) + payload)

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
print("READY PYRO:echo@127.0.0.1:%d" % listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""

PYRO_SERVER = PRELUDE + r"""
from Pyro5 import api

class Echo:
    @api.expose
    def echo(self, value, number):
        return value

daemon = api.Daemon(host="127.0.0.1")
print("READY", daemon.register(Echo, "echo"), flush=True)
daemon.requestLoop()
"""

CLIENT = PRELUDE + r"""
import json, resource, time
from Pyro5 import api, config
kind, uri, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
config.SERIALIZER = "msgpack"
proxy = api.Proxy(uri)
proxy._pyroTimeout = 120
proxy.echo("hello", 42)
call = proxy.echo
if kind == "floor":
    import msgpack
    from Pyro5 import protocol
    HEADER, MAGIC, NO_ID = protocol._header, protocol._magic_number, b"\0" * 16
    sock = proxy._pyroConnection.sock
    sock.settimeout(None)
    state = [1000]

    def call(*args):
        state[0] = seq = (state[0] + 1) & 0xffff
        payload = msgpack.packb(("echo", "echo", args, {}), use_bin_type=True)
        sock.send(HEADER.pack(b"PYRO", 502, protocol.MSG_INVOKE, 4, 0, seq, len(payload), 0, NO_ID, 0, MAGIC)
                  + payload)
        data = sock.recv(65536)
        _, _, _, _, flags, _, size, annsize, _, _, _ = HEADER.unpack_from(data)
        while len(data) < 40 + annsize + size:
            data += sock.recv(65536)
        return msgpack.unpackb(data[40 + annsize:], raw=False)
for _ in range(200):
    assert call("hello", 42) == "hello"
print("READY", flush=True)
sys.stdin.readline()
before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
for _ in range(calls):
    call("hello", 42)
elapsed, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
print(json.dumps({"rate": calls / elapsed, "cpu": cpu / calls * 1e6}), flush=True)
"""


def start(python: str, script: str, tree: str | None) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, FLOOR_TREE=tree or "")
    proc = subprocess.Popen([python, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    line = proc.stdout.readline().split()   # type: ignore[union-attr]
    if not line or line[0] != "READY":
        proc.kill()
        raise RuntimeError("server did not start: %r" % line)
    return proc, line[1]


def one_pair(python: str, tree: str | None, kind: str, uri: str, server_pid: int, calls: int) -> dict[str, float]:
    env = dict(os.environ, FLOOR_TREE=tree or "")
    client = subprocess.Popen([python, "-c", CLIENT, kind, uri, str(calls)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        if client.stdout.readline().strip() != "READY":     # type: ignore[union-attr]
            raise RuntimeError("client %s did not start" % kind)
        before = cpu_ns(server_pid)
        client.stdin.write("go\n")      # type: ignore[union-attr]
        client.stdin.flush()            # type: ignore[union-attr]
        result = json.loads(client.stdout.readline())       # type: ignore[union-attr]
        result["server"] = (cpu_ns(server_pid) - before) / 1000 / calls
        client.wait(timeout=60)
        return result
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(timeout=10)


def main(argv: Any = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--tree", default=here, help="our checkout to measure (default: this one)")
    parser.add_argument("--orig", default=os.environ.get("PYRO5_ORIG_VENV", os.path.join(here, ".cache", "pyro5-orig")),
                        help="venv of the original Pyro5 5.15 (skipped when missing)")
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    tree = os.path.abspath(args.tree)
    orig_python = os.path.join(args.orig, "bin", "python")
    impls = {"floor": (sys.executable, tree), "ours": (sys.executable, tree)}
    if os.path.exists(orig_python):
        impls["original"] = (orig_python, None)
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    started = time.monotonic()
    try:
        for name, (python, src) in impls.items():
            servers[name] = start(python, FLOOR_SERVER if name == "floor" else PYRO_SERVER, src)
        for _ in range(args.rounds):
            for server, (proc, uri) in servers.items():
                for client, (python, src) in impls.items():
                    kind = "floor" if client == "floor" else "proxy"
                    results.setdefault((server, client), []).append(one_pair(python, src, kind, uri, proc.pid,
                                                                             args.calls))
    finally:
        for proc, _ in servers.values():
            proc.kill()
            proc.wait(timeout=10)
    print("small msgpack call, one client: medians of %d interleaved rounds of %d calls (%.0f s), tree %s"
          % (args.rounds, args.calls, time.monotonic() - started, tree))
    print()
    print("| server | client | calls/s | client CPU µs/call | server CPU µs/call |")
    print("|---|---|---:|---:|---:|")
    for (server, client), values in results.items():
        print("| %s | %s | %.0f | %.1f | %.1f |" % (server, client, statistics.median(v["rate"] for v in values),
                                                 statistics.median(v["cpu"] for v in values),
                                                 statistics.median(v["server"] for v in values)))


if __name__ == "__main__":
    main()
