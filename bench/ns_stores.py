"""Name server storage benchmark: register and lookup rates on the memory, sql and etcd stores, and the
lookup time with 100 and with 100,000 registered names.

    python bench/ns_stores.py --quick     # about a minute
    python bench/ns_stores.py             # a few minutes (most of it loading 100,000 names into etcd)
    hatch run bench:ns-stores --quick

Each store gets our name server (in this process, thread pool server) on 127.0.0.1 and a client (a Proxy
in this process) calling it over loopback. The etcd store runs on a three-member etcd cluster started on
loopback ports in a temp dir (tests/_support/etcd.py), skipped when etcd is not installed. The 100,000
names are loaded into the storage directly (bulk import), then looked up through the name server.
Writes bench/results/ns-stores.md. Nothing here is asserted by the tests: timing is machine dependent.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import platform
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from Pyro5 import config  # noqa: E402
from Pyro5.client import Proxy  # noqa: E402
from Pyro5.nameserver import start_ns  # noqa: E402

SIZES = (100, 100_000)


@contextlib.contextmanager
def running_ns(storage: str) -> Iterator[tuple[Any, Any]]:
    uri, daemon, _bc = start_ns(host="127.0.0.1", port=0, enableBroadcast=False, storage=storage)
    thread = threading.Thread(target=daemon.requestLoop, daemon=True)
    thread.start()
    try:
        yield uri, daemon
    finally:
        daemon.shutdown()
        thread.join(10)


def rate(action: Callable[[int], Any], seconds: float) -> float:
    """Calls per second of action(i) over `seconds` (after a short warm-up)."""
    for i in range(5):
        action(-1 - i)
    count = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        action(count)
        count += 1
        if count % 10 == 0 and time.perf_counter() >= deadline:
            break
    return count / (time.perf_counter() - started)


def measure_store(label: str, storage: str, seconds: float, sizes: tuple[int, ...]) -> dict[str, float]:
    results: dict[str, float] = {}
    with running_ns(storage) as (uri, daemon), Proxy(uri) as ns:
        ns._pyroBind()
        results["register/s"] = rate(lambda i: ns.register("bench.reg.%d" % i, "PYRO:obj@127.0.0.1:9",
                                                           metadata={"bench"}), seconds)
        results["lookup/s"] = rate(lambda i: ns.lookup("bench.reg.1"), seconds)
        for i in range(10):
            ns.register("bench.yp.%d" % i, "PYRO:yp@127.0.0.1:9", metadata={"bench.yp", "bench"})
        results["yplookup (10 of them)/s"] = rate(lambda i: ns.yplookup(meta_all={"bench.yp"}), seconds)
        ns.remove(prefix="bench.")
        store = daemon.nameserver.storage
        loaded = 0
        for size in sizes:
            started = time.perf_counter()
            store.add_many(("bench.n%06d" % i, "PYRO:obj%d@127.0.0.1:9" % i, frozenset())
                           for i in range(loaded, size))
            print("  %s: loaded %d names in %.1f s" % (label, size - loaded, time.perf_counter() - started),
                  flush=True)
            loaded = size
            names = ["bench.n%06d" % random.randrange(size) for _i in range(1000)]
            per_second = rate(lambda i, names=names: ns.lookup(names[i % len(names)]), seconds)
            results["lookup ms, %d names" % size] = 1000.0 / per_second
        results["count, %d names (ms)" % loaded] = 1000.0 * timed(ns.count)
    return results


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def fmt(value: Optional[float]) -> str:
    if value is None:
        return "-"
    return "%.2f" % value if value < 100 else "%.0f" % value


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short measurements")
    parser.add_argument("--stores", default="memory,sql,etcd", help="comma separated stores to measure")
    parser.add_argument("--out", type=Path, default=BENCH / "results" / "ns-stores.md")
    options = parser.parse_args(argv)
    seconds = 0.5 if options.quick else 2.0
    config.COMMTIMEOUT = 30.0
    results: dict[str, dict[str, float]] = {}
    notes = []
    with tempfile.TemporaryDirectory(prefix="pyro5-ns-bench-") as tmp:
        for store in options.stores.split(","):
            print("== %s" % store, flush=True)
            if store == "memory":
                results[store] = measure_store(store, "memory", seconds, SIZES)
            elif store == "sql":
                results[store] = measure_store(store, "sql:" + str(Path(tmp) / "bench.sqlite"), seconds, SIZES)
            elif store == "etcd":
                from tests._support.etcd import SKIP_REASON, EtcdCluster, etcd_binary
                if etcd_binary() is None:
                    notes.append("etcd: skipped, " + SKIP_REASON)
                    continue
                cluster = EtcdCluster(Path(tmp) / "etcd").start()
                try:
                    results[store] = measure_store("etcd (3 members)", cluster.spec("bench"), seconds, SIZES)
                finally:
                    cluster.stop()
    rows = sorted({key for measured in results.values() for key in measured}, key=_row_order)
    stores = list(results)
    lines = ["# Name server stores (%s, Python %s, %s)" % (datetime.date.today(), platform.python_version(),
                                                         platform.machine()), "",
             "| measurement | " + " | ".join(stores) + " |", "|---" * (len(stores) + 1) + "|"]
    for row in rows:
        lines.append("| %s | %s |" % (row, " | ".join(fmt(results[s].get(row)) for s in stores)))
    lines += [""] + notes + ["Rates are calls per second of one client over loopback (higher is better); "
                             "times in milliseconds (lower is better)."]
    text = "\n".join(lines) + "\n"
    print(text)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(text)
    return 0


def _row_order(row: str) -> tuple[int, str]:
    order = ["register/s", "lookup/s", "yplookup (10 of them)/s"]
    return (order.index(row), row) if row in order else (len(order), row)


if __name__ == "__main__":
    sys.exit(main())
