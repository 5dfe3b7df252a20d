"""Benchmark worker processes, run by bench/run.py with either implementation's interpreter.

Uses only the public Pyro5 API that the original Pyro5 5.x and ours share, plus the standard library.

    python _worker.py server --servertype thread|multiplex|asyncio [--pool N] [--ns]
                                                                prints "READY <uri> [<ns uri>]", serves until
                                                                stdin closes (--ns: a name server in this process
                                                                too, with the Bench object registered as "bench")
    python _worker.py ns-server --storage memory|sql:<file>     a name server alone: "READY <ns uri>"
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
def _bench_class() -> Any:
    import Pyro5.api

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

    return Bench


def _start_blocking_daemon(servertype: str) -> tuple[Any, Callable[[], None]]:
    import Pyro5.api
    Pyro5.config.SERVERTYPE = servertype
    daemon = Pyro5.api.Daemon(host="127.0.0.1")
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    return daemon, daemon.shutdown


def _start_async_daemon(servertype: str) -> tuple[Any, Callable[[], None]]:
    """Our AsyncDaemon (Pyro5.aio.server), served on an event loop in a thread of its own."""
    import Pyro5.server
    try:
        from Pyro5.aio.server import AsyncDaemon
    except ImportError:
        raise RuntimeError("this implementation has no asyncio daemon (Pyro5.aio.server.AsyncDaemon)") from None
    # (Pyro5 is a namespace package: a tree without Pyro5.aio, run with --before, finds this environment's instead,
    # which does not work with that tree's server modules)
    aio_src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(sys.modules[AsyncDaemon.__module__].__file__ or ""))))
    if aio_src != os.path.dirname(os.path.dirname(os.path.abspath(Pyro5.server.__file__ or ""))):
        raise RuntimeError("this implementation has no asyncio daemon (Pyro5.aio.server.AsyncDaemon)")
    import asyncio
    started = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        async def main() -> None:
            holder["daemon"] = daemon = AsyncDaemon(host="127.0.0.1")
            started.set()
            await daemon.requestLoop()
        try:
            asyncio.run(main())
        finally:
            started.set()

    threading.Thread(target=serve, daemon=True).start()
    if not started.wait(30) or "daemon" not in holder:
        raise RuntimeError("the asyncio daemon did not start")
    daemon = holder["daemon"]
    return daemon, daemon.shutdown


# How each server type is started: (daemon, stop function). To add a server type (e.g. an asyncio daemon once
# it exists), add a starter here that returns a daemon with register() and uriFor(), and list the type in
# run.py's CONNECTION_SERVERS (and in the groups whose rows should include it).
SERVER_STARTERS: dict[str, Callable[[str], tuple[Any, Callable[[], None]]]] = {
    "thread": _start_blocking_daemon,
    "multiplex": _start_blocking_daemon,
    "asyncio": _start_async_daemon,
}


def run_server(servertype: str, pool: int = 64, with_ns: bool = False) -> None:
    import Pyro5.api

    Pyro5.config.THREADPOOL_SIZE = pool
    Pyro5.config.HOST = "127.0.0.1"
    daemon, stop = SERVER_STARTERS[servertype](servertype)
    uri = daemon.register(_bench_class(), "bench")
    ready = f"READY {uri}"
    ns_stop: Callable[[], None] | None = None
    if with_ns:
        ns_uri, ns_stop = _start_ns("memory")
        with Pyro5.api.Proxy(ns_uri) as ns:
            ns.register("bench", uri)
        ready += f" {ns_uri}"
    print(ready, flush=True)
    sys.stdin.read()                 # run.py closes our stdin to stop us
    if ns_stop:
        ns_stop()
    stop()


def _start_ns(storage: str) -> tuple[Any, Callable[[], None]]:
    import Pyro5.nameserver
    if storage == "memory":
        uri, daemon, _bc = Pyro5.nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
    else:
        uri, daemon, _bc = Pyro5.nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False,
                                                     storage=storage)
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    return uri, daemon.shutdown


def run_ns_server(storage: str) -> None:
    import Pyro5.api
    Pyro5.config.HOST = "127.0.0.1"
    uri, stop = _start_ns(storage)
    print(f"READY {uri}", flush=True)
    sys.stdin.read()
    stop()


# ----------------------------------------------------------------------------------------------- measuring
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _self_cpu() -> float:
    """CPU seconds (user + system) of this process, all threads."""
    t = os.times()
    return t.user + t.system


def _proc_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) of another process, from /proc (None where there is no /proc)."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK_TCK      # utime, stime (fields 14 and 15)
    except (OSError, IndexError, ValueError):
        return None


def proc_switches(pid: int | None) -> tuple[int, int] | None:
    """A process's context switches so far (voluntary and not, summed over its threads) and its number of
    threads, from /proc/<pid>/task/*/status (None where there is no /proc). A thread that ends meanwhile takes
    its count along: compare over intervals in which the server's threads stay (its pool keeps idle workers
    for seconds)."""
    if not pid:
        return None
    total = threads = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        total += int(line.split()[1])
            threads += 1
        except (OSError, ValueError):
            pass
    return total, threads


def proc_memory(pid: int | None, key: str = "VmRSS") -> float | None:
    """A process's resident memory (VmRSS) or its peak (VmHWM), in MB, from /proc/<pid>/status."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def reset_peak_memory(pid: int | None) -> None:
    """Resets the process's peak RSS (VmHWM) to its current RSS (Linux: /proc/<pid>/clear_refs)."""
    if pid:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


class Meter:
    """Wall time, and the CPU time of this process (the client) and of the server process, over the timed part
    of a workload: start() before it, stop(ops) after it."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self.ops = 0
        self.elapsed = 0.0
        self.client_cpu = 0.0
        self.server_cpu: float | None = None

    def start(self) -> None:
        self._s0 = _proc_cpu(self.server_pid)
        self._c0 = _self_cpu()
        self._t0 = time.perf_counter()

    def stop(self, ops: int) -> None:
        self.elapsed = time.perf_counter() - self._t0
        self.client_cpu = _self_cpu() - self._c0
        s1 = _proc_cpu(self.server_pid)
        self.server_cpu = None if s1 is None or self._s0 is None else s1 - self._s0
        self.ops = ops

    def result(self, value: float, **extra: Any) -> dict[str, Any]:
        """The result line: value, and CPU microseconds per operation of client and server."""
        ops = max(self.ops, 1)
        res: dict[str, Any] = {"value": value, "ops": self.ops, "seconds": self.elapsed,
                               "client_cpu_us": 1e6 * self.client_cpu / ops,
                               "server_cpu_us": None if self.server_cpu is None else 1e6 * self.server_cpu / ops}
        res.update(extra)
        return res

    def rate(self, scale: float = 1.0, **extra: Any) -> dict[str, Any]:
        return self.result(scale * self.ops / self.elapsed, **extra)


def _for_duration(seconds: float, fn: Callable[[], int], meter: Meter) -> None:
    """Calls fn (which returns the number of operations it did) until `seconds` have passed, metered."""
    count = 0
    meter.start()
    deadline = time.perf_counter() + seconds
    while True:
        count += fn()
        if time.perf_counter() >= deadline:
            meter.stop(count)
            return


# ----------------------------------------------------------------------------------------------- Pyro client
def _proxy(uri: str, serializer: str = "serpent") -> Any:
    import Pyro5.api
    p = Pyro5.api.Proxy(uri)
    p._pyroSerializer = serializer
    p._pyroTimeout = 120
    return p


def small_calls(uri: str, serializer: str, seconds: float, m: Meter) -> dict[str, Any]:
    with _proxy(uri, serializer) as p:
        for _ in range(50):
            p.echo(*SMALL_ARGS)           # warm up: connect, metadata

        def ten() -> int:
            for _ in range(10):
                p.echo(*SMALL_ARGS)
            return 10
        _for_duration(seconds, ten, m)
    return m.rate()


def oneway_calls(uri: str, seconds: float, m: Meter) -> dict[str, Any]:
    """Oneway calls until the server has executed all of them; also the time of one normal call right after a
    burst of oneways (a 40 ms Nagle/delayed-ack stall would show there)."""
    with _proxy(uri) as p:
        start = p.oneway_count()
        n = 0
        m.start()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for _ in range(50):
                p.oneway_ping()
            n += 50
        limit = time.monotonic() + 60
        while p.oneway_count() - start < n:       # until the server has executed all of them
            if time.monotonic() > limit:
                raise RuntimeError("the server did not execute all oneway calls within 60 s")
            time.sleep(0.001)
        m.stop(n)
        stalls = []
        for _ in range(5):
            for _ in range(20):
                p.oneway_ping()
            t0 = time.perf_counter()
            p.ping()
            stalls.append(time.perf_counter() - t0)
        return m.rate(after_burst_ms=1000 * max(stalls))


def batched_calls(uri: str, seconds: float, m: Meter, size: int = 100) -> dict[str, Any]:
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
        _for_duration(seconds, one_batch, m)
    return m.rate()


def _upload_data(serializer: str, size: int) -> Any:
    data: Any = os.urandom(size)
    if serializer == "json":      # json has no bytes type: send them the way serpent does, base64 in a dict
        data = {"data": base64.b64encode(data).decode("ascii"), "encoding": "base64"}
    return data


def upload(uri: str, serializer: str, size: int, seconds: float, m: Meter, min_ops: int = 2) -> None:
    """Uploads of `size` bytes, repeated until `seconds` have passed (at least min_ops times), metered."""
    data = _upload_data(serializer, size)
    with _proxy(uri, serializer) as p:
        p.ping()

        def one() -> int:
            if p.upload(data) != size:
                raise RuntimeError("the server received a different number of bytes")
            return 1
        one()                     # warm up: the first large message also grows buffers on both sides
        m.start()
        n = 0
        deadline = time.perf_counter() + seconds
        while n < min_ops or time.perf_counter() < deadline:
            n += one()
        m.stop(n)


def message_size(uri: str, serializer: str, size: int, seconds: float, m: Meter) -> dict[str, Any]:
    """ms per MB of uploads of one size, and the server's peak memory above its idle RSS while receiving."""
    pid = m.server_pid
    idle = proc_memory(pid)
    reset_peak_memory(pid)
    upload(uri, serializer, size, seconds, m, min_ops=2 if size >= 10 * MIB else 20)
    peak = proc_memory(pid, "VmHWM")
    above = None if peak is None or idle is None else max(0.0, peak - idle)
    mb = size / MIB
    return m.result(1000 * m.elapsed / (m.ops * mb), server_peak_mb=above,
                    peak_per_message=None if above is None else above / mb)


def concurrent_clients(uri: str, clients: int, seconds: float, m: Meter) -> dict[str, Any]:
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
    m.start()
    go.set()
    for t in threads:
        t.join(seconds + 60)
    m.stop(sum(counts))
    if errors:
        raise RuntimeError(f"{len(errors)} of {clients} clients failed: {errors[0]!r}")
    return m.rate()


def connection_scaling(uri: str, connections: int, seconds: float, m: Meter) -> dict[str, Any]:
    """`connections` proxies connected at once, all of them calling echo (round robin in up to 16 client
    threads): calls/s, and the server's RSS growth per connection."""
    pid = m.server_pid
    nthreads = min(connections, 16)
    ready = threading.Barrier(nthreads + 1, timeout=120)
    go = threading.Event()
    counts = [0] * nthreads
    errors: list[BaseException] = []
    with _proxy(uri) as control:
        control.ping()
        rss_before = proc_memory(pid)

        def client(t: int) -> None:
            proxies = []
            try:
                for _ in range(t, connections, nthreads):
                    p = _proxy(uri)
                    p._pyroBind()
                    proxies.append(p)
                ready.wait()
                go.wait(120)
                deadline = time.perf_counter() + seconds
                while time.perf_counter() < deadline:
                    for p in proxies:
                        p.echo(*SMALL_ARGS)
                    counts[t] += len(proxies)
            except BaseException as x:  # reported below
                errors.append(x)
                if not ready.broken:
                    ready.abort()
            finally:
                for p in proxies:
                    p._pyroRelease()

        threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(nthreads)]
        for t in threads:
            t.start()
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            go.set()
        rss_connected = proc_memory(pid)
        switches_before = proc_switches(pid)
        m.start()
        go.set()
        for t in threads:
            t.join(seconds + 120)
        m.stop(sum(counts))
        switches_after = proc_switches(pid)
    if errors:
        raise RuntimeError(f"{len(errors)} client threads failed: {errors[0]!r}")
    per_conn = None if rss_before is None or rss_connected is None else \
        1024 * max(0.0, rss_connected - rss_before) / connections
    # the server's thread switches per call (each hand-off between its threads costs at least one) and its threads
    switches = None if switches_before is None or switches_after is None else \
        (switches_after[0] - switches_before[0]) / max(1, sum(counts))
    return m.rate(rss_per_conn_kb=per_conn, server_switches=switches,
                  server_threads=None if switches_after is None else switches_after[1],
                  server_threads_start=None if switches_before is None else switches_before[1])


def new_connections(uri: str, seconds: float, m: Meter) -> dict[str, Any]:
    def one() -> int:
        with _proxy(uri) as p:
            p._pyroBind()
            p.ping()
        return 1
    one()
    _for_duration(seconds, one, m)
    return m.rate()


def pyroname_calls(ns_uri: str, seconds: float, m: Meter, lookup_cache: float = 0.0) -> dict[str, Any]:
    """Proxy("PYRONAME:bench@host:port") + one call + release, a fresh proxy each time."""
    import Pyro5.api
    if lookup_cache:
        if not hasattr(Pyro5.config, "NS_LOOKUP_CACHE"):
            raise RuntimeError("this implementation has no NS_LOOKUP_CACHE config item")
        Pyro5.config.NS_LOOKUP_CACHE = lookup_cache
    location = Pyro5.api.URI(ns_uri).location
    name = f"PYRONAME:bench@{location}"

    def one() -> int:
        with _proxy(name) as p:
            p.ping()
        return 1
    try:
        one()
        _for_duration(seconds, one, m)
    finally:
        if lookup_cache:
            Pyro5.config.NS_LOOKUP_CACHE = 0.0
    return m.rate()


def ns_lookups(ns_uri: str, seconds: float, m: Meter) -> dict[str, Any]:
    with _proxy(ns_uri) as ns:
        ns.lookup("bench")

        def ten() -> int:
            for _ in range(10):
                ns.lookup("bench")
            return 10
        _for_duration(seconds, ten, m)
    return m.rate()


def _timed_ops(seconds: float, fn: Callable[[int], Any], m: Meter, min_ops: int = 20) -> float:
    """Microseconds per fn(i) call, measured for `seconds` (at least min_ops calls)."""
    n = 0
    m.start()
    deadline = time.perf_counter() + seconds
    while n < min_ops or time.perf_counter() < deadline:
        fn(n)
        n += 1
    m.stop(n)
    return 1e6 * m.elapsed / n


def ns_scaling(ns_uri: str, sizes: list[int], seconds: float, budget: float, server_pid: int | None
               ) -> list[dict[str, Any]]:
    """The name server with growing numbers of names (registered in batches of 1000): lookup time and
    list(prefix=) returning 10 names at each size, the time to register up to each size, the server's RSS.
    Stops registering when `budget` seconds of registration have passed (the rest is reported as not reached)."""
    import random

    import Pyro5.api
    results = []
    registered = 0
    reg_time = 0.0
    target_uri = "PYRO:bench@127.0.0.1:9"
    rnd = random.Random(12)
    with _proxy(ns_uri) as ns:
        ns.ping()
        for size in sizes:
            m = Meter(server_pid)
            t0 = time.perf_counter()
            while registered < size:
                if reg_time + (time.perf_counter() - t0) > budget:
                    break
                batch = Pyro5.api.BatchProxy(ns)
                upto = min(size, registered + 1000)
                for i in range(registered, upto):
                    batch.register("n.%06d" % i, target_uri)
                for _ in batch():
                    pass
                registered = upto
            reg_time += time.perf_counter() - t0
            if registered < size:
                results.append({"size": size, "value": None,
                                "error": f"registered only {registered} names in {budget:.0f} s"})
                break
            lookup_us = _timed_ops(seconds / 2, lambda i, size=size: ns.lookup("n.%06d" % rnd.randrange(size)), m)
            lookup_cpu = m.result(0)["server_cpu_us"]

            def list10(i: int, size: int = size) -> None:
                found = ns.list(prefix="n.%05d" % rnd.randrange(size // 10))
                if len(found) != 10:
                    raise RuntimeError(f"list(prefix=) returned {len(found)} names, not 10")
            list_us = _timed_ops(seconds / 2, list10, m)
            results.append({"size": size, "value": lookup_us, "lookup_us": lookup_us, "list_us": list_us,
                            "register_s": reg_time, "server_rss_mb": proc_memory(server_pid),
                            "lookup_server_cpu_us": lookup_cpu, "list_server_cpu_us": m.result(0)["server_cpu_us"]})
    return results


def run_client(spec: dict[str, Any]) -> None:
    uri = spec["uri"]
    seconds = spec["seconds"]
    ns_uri = spec.get("ns_uri")
    server_pid = spec.get("server_pid")
    for w in spec["workloads"]:
        kind = w["kind"]
        m = Meter(server_pid)
        try:
            if kind == "small":
                result = small_calls(uri, w["serializer"], seconds, m)
            elif kind == "oneway":
                result = oneway_calls(uri, seconds, m)
            elif kind == "batch":
                result = batched_calls(uri, seconds, m)
            elif kind == "upload":
                upload(uri, w["serializer"], w["mib"] * MIB, seconds, m)
                result = m.rate(scale=w["mib"])
            elif kind == "msgsize":
                result = message_size(uri, w["serializer"], w["size"], seconds, m)
            elif kind == "concurrent":
                result = concurrent_clients(uri, w["clients"], seconds, m)
            elif kind == "connscale":
                result = connection_scaling(uri, w["connections"], seconds, m)
            elif kind == "connect":
                result = new_connections(uri, seconds, m)
            elif kind == "pyroname":
                result = pyroname_calls(ns_uri, seconds, m, w.get("lookup_cache", 0.0))
            elif kind == "nslookup":
                result = ns_lookups(ns_uri, seconds, m)
            elif kind == "nsscale":
                for r in ns_scaling(ns_uri, w["sizes"], seconds, w["budget"], server_pid):
                    print(json.dumps({"id": "%s-%d" % (w["id"], r["size"]), **r}), flush=True)
                continue
            else:
                raise ValueError(f"unknown workload kind {kind!r}")
            result["id"] = w["id"]
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
    server_pid = spec.get("server_pid")
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def roundtrip(payload: bytes) -> bytes:
            s.sendall(struct.pack("!I", len(payload)) + payload)
            size = struct.unpack("!I", _recv_exact(s, 4))[0]
            return _recv_exact(s, size)

        for w in spec["workloads"]:
            m = Meter(server_pid)
            if w["kind"] == "small":
                msg = b"x" * w["size"]

                def ten(msg: bytes = msg) -> int:
                    for _ in range(10):
                        roundtrip(msg)
                    return 10
                _for_duration(seconds, ten, m)
                result = m.rate()
            else:
                data = os.urandom(w["mib"] * MIB)
                roundtrip(data)

                def two(data: bytes = data) -> int:
                    roundtrip(data)
                    roundtrip(data)
                    return 2
                _for_duration(seconds, two, m)
                result = m.rate(scale=w["mib"])
            print(json.dumps({"id": w["id"], **result}), flush=True)


def main() -> None:
    try:        # the connection-scaling rows open 1000+ sockets
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = 8192 if hard == resource.RLIM_INFINITY else min(hard, 8192)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ImportError, ValueError, OSError):
        pass
    role = sys.argv[1]
    args = sys.argv[2:]

    def option(name: str, default: str) -> str:
        return args[args.index(name) + 1] if name in args else default
    if role == "server":         # (other options, e.g. --msgsize, only give the group its own server process)
        run_server(option("--servertype", "thread"), int(option("--pool", "64")), "--ns" in args)
    elif role == "ns-server":
        run_ns_server(option("--storage", "memory"))
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
