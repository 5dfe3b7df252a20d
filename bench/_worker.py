"""Benchmark worker processes, run by bench/run.py with either implementation's interpreter.

Uses only the public Pyro5 API that the original Pyro5 5.x and ours share, plus the standard library.

    python _worker.py server --servertype thread|multiplex      prints "READY <uri>", serves until stdin closes
    python _worker.py client '<json spec>'                      runs workloads, prints one JSON line per result
    python _worker.py raw-server                                a plain-socket echo server: "READY <port>"
    python _worker.py raw-client '<json spec>'                  the same message sizes over a plain socket
"""
from __future__ import annotations

import base64
import json
import os
import socket
import struct
import sys
import threading
import time
from typing import Any, Callable

SMALL_ARGS = ("hello", 42)      # the payload of a "small call": echo("hello", 42)
MIB = 1024 * 1024


# ----------------------------------------------------------------------------------------------- Pyro server
def run_server(servertype: str) -> None:
    import Pyro5.api

    Pyro5.config.SERVERTYPE = servertype
    Pyro5.config.THREADPOOL_SIZE = 64
    Pyro5.config.HOST = "127.0.0.1"

    @Pyro5.api.expose
    @Pyro5.api.behavior(instance_mode="single")
    class Bench:
        def __init__(self) -> None:
            self._oneways = 0
            self._lock = threading.Lock()

        def echo(self, *args: Any) -> Any:
            return args

        def ping(self) -> None:
            pass

        @Pyro5.api.oneway
        def oneway_ping(self) -> None:
            with self._lock:
                self._oneways += 1

        def oneway_count(self) -> int:
            with self._lock:
                return self._oneways

        def upload(self, data: Any) -> int:
            if isinstance(data, dict) and data.get("encoding") == "base64":   # bytes through serpent/json
                data = base64.b64decode(data["data"])
            return len(data)

    daemon = Pyro5.api.Daemon(host="127.0.0.1")
    uri = daemon.register(Bench, "bench")
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    print(f"READY {uri}", flush=True)
    sys.stdin.read()                 # run.py closes our stdin to stop us
    daemon.shutdown()


# ----------------------------------------------------------------------------------------------- Pyro client
def _proxy(uri: str, serializer: str = "serpent") -> Any:
    import Pyro5.api
    p = Pyro5.api.Proxy(uri)
    p._pyroSerializer = serializer
    p._pyroTimeout = 120
    return p


def _for_duration(seconds: float, fn: Callable[[], int]) -> tuple[int, float]:
    """Calls fn (which returns the number of operations it did) until `seconds` have passed."""
    count = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        count += fn()
        now = time.perf_counter()
        if now >= deadline:
            return count, now - t0


def small_calls(uri: str, serializer: str, seconds: float) -> float:
    with _proxy(uri, serializer) as p:
        for _ in range(50):
            p.echo(*SMALL_ARGS)           # warm up: connect, metadata

        def ten() -> int:
            for _ in range(10):
                p.echo(*SMALL_ARGS)
            return 10
        n, t = _for_duration(seconds, ten)
    return n / t


def oneway_calls(uri: str, seconds: float) -> float:
    with _proxy(uri) as p:
        start = p.oneway_count()
        n = 0
        t0 = time.perf_counter()
        deadline = t0 + seconds
        while time.perf_counter() < deadline:
            for _ in range(50):
                p.oneway_ping()
            n += 50
        limit = time.monotonic() + 60
        while p.oneway_count() - start < n:       # until the server has executed all of them
            if time.monotonic() > limit:
                raise RuntimeError("the server did not execute all oneway calls within 60 s")
            time.sleep(0.001)
        return n / (time.perf_counter() - t0)


def batched_calls(uri: str, seconds: float, size: int = 100) -> float:
    import Pyro5.api
    with _proxy(uri) as p:
        p.ping()

        def one_batch() -> int:
            batch = Pyro5.api.BatchProxy(p)
            for _ in range(size):
                batch.echo(*SMALL_ARGS)
            results = list(batch())
            assert len(results) == size
            return size
        n, t = _for_duration(seconds, one_batch)
    return n / t


def upload(uri: str, serializer: str, mib: int, seconds: float) -> float:
    """MB/s of uploads of `mib` MiB, repeated until `seconds` have passed (at least twice)."""
    data: Any = os.urandom(mib * MIB)
    if serializer == "json":      # json has no bytes type: send them the way serpent does, base64 in a dict
        data = {"data": base64.b64encode(data).decode("ascii"), "encoding": "base64"}
    size = mib * MIB
    with _proxy(uri, serializer) as p:
        p.ping()

        def one() -> int:
            if p.upload(data) != size:
                raise RuntimeError("the server received a different number of bytes")
            return 1
        one()                     # warm up: the first large message also grows buffers on both sides
        n, t = _for_duration(seconds, lambda: one() + one())
    return mib * n / t


def concurrent_clients(uri: str, clients: int, seconds: float) -> float:
    counts = [0] * clients
    errors: list[BaseException] = []
    go = threading.Event()

    def client(i: int) -> None:
        try:
            with _proxy(uri) as p:
                p.ping()
                go.wait(30)
                deadline = time.perf_counter() + seconds
                while time.perf_counter() < deadline:
                    p.echo(*SMALL_ARGS)
                    counts[i] += 1
        except BaseException as x:  # reported below
            errors.append(x)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(0.2)                 # let every client connect before the clock starts
    t0 = time.perf_counter()
    go.set()
    for t in threads:
        t.join(seconds + 60)
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} of {clients} clients failed: {errors[0]!r}")
    return sum(counts) / elapsed


def new_connections(uri: str, seconds: float) -> float:
    def one() -> int:
        with _proxy(uri) as p:
            p._pyroBind()
            p.ping()
        return 1
    one()
    n, t = _for_duration(seconds, one)
    return n / t


def run_client(spec: dict[str, Any]) -> None:
    uri = spec["uri"]
    seconds = spec["seconds"]
    for w in spec["workloads"]:
        kind = w["kind"]
        try:
            if kind == "small":
                value = small_calls(uri, w["serializer"], seconds)
            elif kind == "oneway":
                value = oneway_calls(uri, seconds)
            elif kind == "batch":
                value = batched_calls(uri, seconds)
            elif kind == "upload":
                value = upload(uri, w["serializer"], w["mib"], seconds)
            elif kind == "concurrent":
                value = concurrent_clients(uri, w["clients"], seconds)
            elif kind == "connect":
                value = new_connections(uri, seconds)
            else:
                raise ValueError(f"unknown workload kind {kind!r}")
            result = {"id": w["id"], "value": value}
        except Exception as x:  # one failing workload must not stop the others
            result = {"id": w["id"], "value": None, "error": f"{type(x).__name__}: {x}"[:200]}
        print(json.dumps(result), flush=True)


# ----------------------------------------------------------------------------------------------- raw sockets
def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 4 * MIB))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def run_raw_server() -> None:
    """Length-prefixed messages; replies with the message itself if small, else with its length."""
    srv = socket.create_server(("127.0.0.1", 0))
    print(f"READY {srv.getsockname()[1]}", flush=True)

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                while True:
                    size = struct.unpack("!I", _recv_exact(conn, 4))[0]
                    data = _recv_exact(conn, size)
                    reply = data if size <= 4096 else struct.pack("!Q", size)
                    conn.sendall(struct.pack("!I", len(reply)) + reply)
            except (ConnectionError, OSError):
                pass

    def accept() -> None:
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()


def run_raw_client(spec: dict[str, Any]) -> None:
    port = spec["port"]
    seconds = spec["seconds"]
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def roundtrip(payload: bytes) -> bytes:
            s.sendall(struct.pack("!I", len(payload)) + payload)
            size = struct.unpack("!I", _recv_exact(s, 4))[0]
            return _recv_exact(s, size)

        for w in spec["workloads"]:
            if w["kind"] == "small":
                msg = b"x" * w["size"]

                def ten(msg: bytes = msg) -> int:
                    for _ in range(10):
                        roundtrip(msg)
                    return 10
                n, t = _for_duration(seconds, ten)
                value = n / t
            else:
                data = os.urandom(w["mib"] * MIB)
                roundtrip(data)

                def two(data: bytes = data) -> int:
                    roundtrip(data)
                    roundtrip(data)
                    return 2
                n, t = _for_duration(seconds, two)
                value = w["mib"] * n / t
            print(json.dumps({"id": w["id"], "value": value}), flush=True)


def main() -> None:
    role = sys.argv[1]
    if role == "server":
        run_server(sys.argv[sys.argv.index("--servertype") + 1] if "--servertype" in sys.argv else "thread")
    elif role == "client":
        run_client(json.loads(sys.argv[2]))
    elif role == "raw-server":
        run_raw_server()
    elif role == "raw-client":
        run_raw_client(json.loads(sys.argv[2]))
    else:
        raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main()
