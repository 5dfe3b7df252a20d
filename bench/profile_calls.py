"""Where the time of a call goes: cProfile of the client and of the server, per operation, for our pyro5.

    python bench/profile_calls.py                  # every workload, 2000 operations each
    python bench/profile_calls.py --ops 500 small-serpent pyroname
    hatch run bench:profile

The server (a multiplex Daemon, whose one request loop thread runs every call) and a name server (multiplex
too) run in this process, each in a thread with its own profiler; the client is the main thread with
another. Times are CPU time of the thread (time.thread_time), so waiting for the other side costs nothing;
profiling itself slows everything down about two to three times, so read the split, not the absolute figures.
Prints, per workload, the CPU microseconds per operation of each side and the functions that spend most of it
(own time, µs per operation). The multiplex server shares the dispatcher, serializers and name server with the
thread-pool server; only the socket loop differs.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import Pyro5.api  # noqa: E402
import Pyro5.nameserver  # noqa: E402

Pyro5.config.SERVERTYPE = "multiplex"
Pyro5.config.HOST = "127.0.0.1"


class Profiled:
    """A thread running target() with its own cProfile.Profile (thread CPU time), which can be reset."""

    def __init__(self, name: str, target: Callable[[], None]) -> None:
        self.profile = cProfile.Profile(time.thread_time)
        self.name = name
        self._target = target
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.profile.enable()
        try:
            self._target()
        finally:
            self.profile.disable()


@Pyro5.api.expose
class Bench:
    def echo(self, *args: Any) -> Any:
        return args

    def ping(self) -> None:
        pass

    def upload(self, data: Any) -> int:
        return len(data)


# own time of the functions grouped by what they do (by file; builtins by name)
AREAS = [
    ("client proxy", ("_client_fast.py",)),     # (before serialization's "ast.py")
    ("serialization", ("serpent.py", "ast.py", "serializers.py", "msgpack", "json", "marshal", "compile",
                       "literal_eval", "_marshalcheck.py")),
    ("socket I/O", ("sendall", "recv", "send'", "connect", "socket.py", "socketutil.py", "select", "poll",
                    "_client_stream.py", "selectors.py", "shutdown", "setsockopt", "close")),
    ("wire protocol", ("protocol.py", "_wire_reader.py", "zlib", "struct", "hmac")),
    ("client proxy", ("client.py", "_client_codec.py", "_client_conn.py", "_client_magic.py", "_nslookup.py")),
    ("server dispatch", ("_svr_", "server.py", "svr_", "callcontext.py", "contextvars", "threading.py")),
    ("name server", ("nameserver.py", "_ns_",)),
    ("uri parsing", ("core.py", "ipaddress.py")),
]


def area_of(filename: str, func: str) -> str:
    text = Path(filename).name + " " + func
    for area, marks in AREAS:
        if any(mark in text for mark in marks):
            return area
    return "other"


def top(profile: cProfile.Profile, ops: int, count: int) -> tuple[float, list[str]]:
    stats = pstats.Stats(profile)
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    areas: dict[str, float] = {}
    for (filename, line, func), (_cc, nc, tt, _ct, callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = "~" if filename == "~" else "%s:%d" % (Path(filename).name, line)
        rows.append((tt, nc, "%s(%s)" % (func, where)))
        area = area_of(filename, func)
        if area == "other" and filename == "~" and callers:
            # a builtin (len, isinstance, list.append...): its time goes to the areas of its callers
            calls = sum(c[1] if isinstance(c, tuple) else c for c in callers.values()) or 1
            for (cfile, _cline, cfunc), c in callers.items():
                share = tt * (c[1] if isinstance(c, tuple) else c) / calls
                carea = area_of(cfile, cfunc)
                areas[carea] = areas.get(carea, 0.0) + share
            continue
        areas[area] = areas.get(area, 0.0) + tt
    rows.sort(reverse=True)
    lines = ["by area: " + ", ".join("%s %.0f%%" % (area, 100 * tt / total)
                                     for area, tt in sorted(areas.items(), key=lambda a: -a[1]) if tt > 0.005 * total)]
    lines += ["%8.1f µs %6.1f calls  %s" % (1e6 * tt / ops, nc / ops, name) for tt, nc, name in rows[:count]]
    return 1e6 * total / ops, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", help="small-serpent small-msgpack pyroname nslookup connect batch "
                                                     "upload10-msgpack upload10-marshal (10 MiB uploads)")
    parser.add_argument("--ops", type=int, default=2000, help="operations per workload (batch: calls)")
    parser.add_argument("--top", type=int, default=12, help="functions shown per side")
    args = parser.parse_args()

    def small(serializer: str) -> Callable[[int], None]:
        def run(n: int) -> None:
            with Pyro5.api.Proxy(uri) as p:
                p._pyroSerializer = serializer
                p.ping()
                client.enable()
                for _ in range(n):
                    p.echo("hello", 42)
                client.disable()
        return run

    def pyroname(n: int) -> None:
        client.enable()
        for _ in range(n):
            with Pyro5.api.Proxy("PYRONAME:bench@" + ns_uri.location) as p:
                p.ping()
        client.disable()

    def nslookup(n: int) -> None:
        with Pyro5.api.Proxy(ns_uri) as p:
            p.ping()
            client.enable()
            for _ in range(n):
                p.lookup("bench")
            client.disable()

    def connect(n: int) -> None:
        client.enable()
        for _ in range(n):
            with Pyro5.api.Proxy(uri) as p:
                p.ping()
        client.disable()

    def batch(n: int) -> None:
        with Pyro5.api.Proxy(uri) as p:
            p.ping()
            client.enable()
            for _ in range(max(1, n // 100)):
                b = Pyro5.api.BatchProxy(p)
                for _ in range(100):
                    b.echo("hello", 42)
                list(b())
            client.disable()

    def upload(serializer: str) -> Callable[[int], None]:
        def run(n: int) -> None:
            data = bytes(10 * 1024 * 1024)
            with Pyro5.api.Proxy(uri) as p:
                p._pyroSerializer = serializer
                p.upload(data)
                client.enable()
                for _ in range(n):
                    p.upload(data)
                client.disable()
        return run

    workloads: dict[str, Callable[[int], None]] = {
        "small-serpent": small("serpent"), "small-msgpack": small("msgpack"), "pyroname": pyroname,
        "nslookup": nslookup, "connect": connect, "batch": batch,
        "upload10-msgpack": upload("msgpack"), "upload10-marshal": upload("marshal")}
    for name in args.workloads or list(workloads):
        ops = max(1, args.ops // 4) if name in ("pyroname", "connect") else \
            max(1, args.ops // 100) if name.startswith("upload") else args.ops
        # a fresh daemon and name server for every workload, each in a thread with its own profiler
        daemon = Pyro5.api.Daemon(host="127.0.0.1")
        uri = daemon.register(Bench, "bench", force=True)
        ns_uri, ns_daemon, _bc = Pyro5.nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
        server = Profiled("server", daemon.requestLoop)
        nameserver = Profiled("nameserver", ns_daemon.requestLoop)
        with Pyro5.api.Proxy(ns_uri) as ns:
            ns.register("bench", uri)
        client = cProfile.Profile(time.thread_time)
        workloads[name](ops)
        daemon.shutdown()
        ns_daemon.shutdown()
        server.thread.join(10)
        nameserver.thread.join(10)
        print("\n## %s (%d operations)" % (name, ops))
        for side, prof in (("client", client), ("server", server.profile), ("name server", nameserver.profile)):
            total, lines = top(prof, ops, args.top)
            if total < 1:
                continue
            print("\n%s: %.1f µs CPU per operation" % (side, total))
            print("\n".join("    " + line for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
