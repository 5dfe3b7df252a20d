"""Benchmarks: ours against the original Pyro5 5.15, measured in the same run, plus the raw-socket limit.

    python bench/run.py --quick        # a few minutes          (hatch run bench:run --quick)
    python bench/run.py                # the full run, about 12 minutes on a 2-CPU machine
    python bench/run.py --only ours    # one implementation only (no ratios)
    python bench/run.py --before DIR   # also "before": another checkout's packages/*/src (e.g. `git archive`)
    python bench/run.py --before DIR --before r4=DIR2    # several trees (labels before, r4)

Every measurement runs a server process and a client process of the same implementation (bench/_worker.py,
which uses only the public Pyro5 API), on 127.0.0.1. The original runs in its own venv (see
tests/_support/refpyro.py; $PYRO5_ORIG_VENV overrides its location). Prints the tables
`workload | original | ours | ours/original | CPU per op of client and server` (main rows), then the scaling
rows (message size, name server size, number of connections), and writes them to bench/results/latest.md.
Server CPU and memory come from /proc/<server pid> (Linux; elsewhere those columns say n/a).
Nothing here is asserted by the tests: timing is machine dependent.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORKER = BENCH / "_worker.py"
RESULTS = BENCH / "results"
SERIALIZERS = ["serpent", "json", "marshal", "msgpack"]
RAW_SMALL_SIZE = 100         # bytes: about the size of a small Pyro call (40 byte header + serialized call)
MIB = 1024 * 1024

sys.path.insert(0, str(REPO))


@dataclass
class Impl:
    label: str
    python: str
    env: dict[str, str]
    serializers: list[str] = field(default_factory=list)


@dataclass
class Workload:
    id: str
    title: str
    unit: str
    server: str                 # "thread", "multiplex", "raw" or "ns" (a name server alone)
    spec: dict[str, Any]
    section: str = "main"       # which table: main, msgsize, conns, ns
    higher_better: bool = True
    server_args: tuple[str, ...] = ()    # extra worker arguments: --pool N, --ns, --storage S
    max_rounds: int = 0         # at most this many interleaved rounds (0: all)
    extra_rounds: int = 0       # rounds more than the run's (within max_rounds)
    ids: tuple[str, ...] = ()   # the result ids (when a workload reports several results)

    @property
    def group(self) -> tuple[str, tuple[str, ...]]:
        return self.server, self.server_args

    def result_ids(self) -> tuple[str, ...]:
        return self.ids or (self.id,)


# The server types of the connection-scaling rows (each has a starter in _worker.SERVER_STARTERS); "asyncio" is
# our AsyncDaemon (the original has none: its rows say n/a for it).
CONNECTION_SERVERS = ["thread", "multiplex", "asyncio"]
# The rows with this many connections or more get a server process of their own (not the one that served the
# smaller rows, which left it with a hundred idle workers) and one round more than the run's, up to
# MANY_CONNECTIONS_ROUNDS: their rates moved most between rounds (on a loaded 2-CPU machine, ours 4,000-7,500
# calls/s at 1,000 connections against the original's 2,800-3,200; its ratio, best of 2 rounds, 1.70-2.50).
MANY_CONNECTIONS = 1000
MANY_CONNECTIONS_ROUNDS = 4


def build_workloads(quick: bool) -> list[Workload]:
    ws: list[Workload] = []
    for s in SERIALIZERS:
        ws.append(Workload(f"small-{s}", f"small calls, {s}", "calls/s", "thread", {"kind": "small", "serializer": s}))
    ws.append(Workload("oneway", "oneway calls, serpent", "calls/s", "thread", {"kind": "oneway"}))
    ws.append(Workload("batch", "batched calls (100 a batch), serpent", "calls/s", "thread", {"kind": "batch"}))
    for mib in (1, 10):
        for s in SERIALIZERS:
            title = f"{mib} MiB upload, {s}" + (" (bytes as base64 str)" if s == "json" else "")
            ws.append(Workload(f"upload{mib}-{s}", title, "MB/s", "thread",
                               {"kind": "upload", "serializer": s, "mib": mib}))
    for servertype in ("thread", "multiplex"):
        for n in (8, 32):
            ws.append(Workload(f"conc{n}-{servertype}", f"{n} concurrent clients, {servertype} server",
                               "calls/s", servertype, {"kind": "concurrent", "clients": n}))
    ws.append(Workload("connect", "new connections (connect + handshake + call)", "conn/s", "thread",
                       {"kind": "connect"}))
    ns = ("--servertype", "thread", "--ns")
    ws.append(Workload("pyroname", "PYRONAME proxy + call (fresh proxy each time)", "calls/s", "thread",
                       {"kind": "pyroname"}, server_args=ns))
    ws.append(Workload("pyroname-cache", "PYRONAME proxy + call, NS_LOOKUP_CACHE=10 (ours only)", "calls/s",
                       "thread", {"kind": "pyroname", "lookup_cache": 10.0}, server_args=ns))
    ws.append(Workload("nslookup", "name server lookup", "lookups/s", "thread", {"kind": "nslookup"},
                       server_args=ns))
    ws.append(Workload("raw-small", f"raw socket echo, {RAW_SMALL_SIZE} bytes", "round trips/s", "raw",
                       {"kind": "small", "size": RAW_SMALL_SIZE}))
    ws.append(Workload("raw-1", "raw socket upload, 1 MiB", "MB/s", "raw",
                       {"kind": "upload", "mib": 1}))
    ws.append(Workload("raw-10", "raw socket upload, 10 MiB", "MB/s", "raw",
                       {"kind": "upload", "mib": 10}))
    # ---- scaling rows
    sizes = [("1 KiB", 1024), ("1 MiB", MIB), ("10 MiB", 10 * MIB)] + ([] if quick else [("100 MiB", 100 * MIB)])
    for s in ("msgpack", "marshal"):
        for label, size in sizes:
            ws.append(Workload(f"msgsize-{s}-{label.replace(' ', '')}", f"{label} upload, {s}", "ms/MB", "thread",
                               {"kind": "msgsize", "serializer": s, "size": size}, section="msgsize",
                               higher_better=False,     # (a server process per row: its own peak memory)
                               server_args=("--servertype", "thread", "--msgsize", f"{s}-{size}"),
                               max_rounds=2))
    conns = [1, 10, 100] + ([] if quick else [1000])
    for servertype in CONNECTION_SERVERS:
        for n in conns:
            many = n >= MANY_CONNECTIONS
            args = ("--servertype", servertype, "--pool", str(max(conns) + 100))
            ws.append(Workload(f"conns{n}-{servertype}", f"{n} connections, {servertype} server", "calls/s",
                               servertype, {"kind": "connscale", "connections": n}, section="conns",
                               server_args=args + (("--connections", str(n)) if many else ()),
                               max_rounds=MANY_CONNECTIONS_ROUNDS if many else 2, extra_rounds=int(many)))
    ns_sizes = [100, 1000, 10_000] if quick else [100, 10_000, 100_000]
    for storage in ("memory", "sql"):
        wid = f"nsscale-{storage}"
        ws.append(Workload(wid, f"name server, {storage} storage", "µs/lookup", "ns",
                           {"kind": "nsscale", "sizes": ns_sizes, "budget": 30 if quick else 60},
                           section="ns", higher_better=False, server_args=("--storage", storage),
                           max_rounds=1, ids=tuple(f"{wid}-{n}" for n in ns_sizes)))
    return ws


# ------------------------------------------------------------------------------------------------ processes
class Server:
    def __init__(self, impl: Impl, args: list[str], timeout: float = 30):
        self.proc = subprocess.Popen([impl.python, "-u", str(WORKER), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=impl.env)
        self.ready = ""
        self._stderr: list[str] = []
        done = threading.Event()

        def read_ready() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                if line.startswith("READY "):
                    self.ready = line[6:].strip()
                    break
            done.set()

        def read_stderr() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self._stderr.append(line)

        threading.Thread(target=read_ready, daemon=True).start()
        threading.Thread(target=read_stderr, daemon=True).start()
        if not done.wait(timeout) or not self.ready:
            self.stop()
            raise RuntimeError(f"{impl.label} server {args} did not start:\n{''.join(self._stderr[-20:])}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()         # the worker exits when its stdin closes
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, OSError):
                self.proc.kill()
                self.proc.wait(timeout=10)


def run_client(impl: Impl, role: str, spec: dict[str, Any], expected: list[str], timeout: float
               ) -> dict[str, dict[str, Any]]:
    try:
        cp = subprocess.run([impl.python, "-u", str(WORKER), role, json.dumps(spec)], capture_output=True,
                            text=True, timeout=timeout, env=impl.env)
        out, err, status = cp.stdout, cp.stderr, cp.returncode
    except subprocess.TimeoutExpired as x:
        out = x.stdout.decode() if isinstance(x.stdout, bytes) else (x.stdout or "")
        err, status = f"timed out after {timeout:.0f} s", -1
    results = {}
    for line in out.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            results[r["id"]] = r
    for wid in expected:
        if wid not in results:
            results[wid] = {"id": wid, "value": None,
                            "error": f"client exited with {status}: {err.strip().splitlines()[-1:] or ''}"}
    return results


def measure_group(impl: Impl, group: list[Workload], seconds: float, tmpdir: Path) -> dict[str, dict[str, Any]]:
    """One server process for the group (its server kind and arguments) and one client process running the
    group's workloads."""
    results: dict[str, dict[str, Any]] = {}
    runnable = []
    server_kind, server_args = group[0].group
    for w in group:
        s = w.spec.get("serializer")
        if server_kind != "raw" and s and s not in impl.serializers:
            for wid in w.result_ids():
                results[wid] = {"value": None, "error": f"{s} is not installed in this environment"}
        else:
            runnable.append(w)
    if not runnable:
        return results
    if server_kind == "raw":
        args = ["raw-server"]
    elif server_kind == "ns":
        storage = server_args[server_args.index("--storage") + 1]
        if storage == "sql":
            dbfile = tmpdir / f"ns-{impl.label}.sqlite"
            for f in tmpdir.glob(dbfile.name + "*"):
                f.unlink()
            storage = f"sql:{dbfile}"
        args = ["ns-server", "--storage", storage]
    else:
        args = ["server", *server_args] if "--servertype" in server_args else \
            ["server", "--servertype", server_kind, *server_args]
    expected = [wid for w in runnable for wid in w.result_ids()]
    try:
        server = Server(impl, args)
    except RuntimeError as x:
        for wid in expected:
            results[wid] = {"value": None, "error": str(x).splitlines()[0]}
        return results
    try:
        ready = server.ready.split()
        spec: dict[str, Any] = {"seconds": seconds, "server_pid": server.proc.pid,
                                "workloads": [{"id": w.id, **w.spec} for w in runnable]}
        if server_kind == "raw":
            spec["port"] = int(ready[0])
            role = "raw-client"
        else:
            spec["uri"] = ready[0]
            spec["ns_uri"] = ready[1] if len(ready) > 1 else ready[0]
            role = "client"
        budget = sum(w.spec.get("budget", 0) for w in runnable)
        results.update(run_client(impl, role, spec, expected,
                                  timeout=120 + budget + 20 * seconds * len(expected)))
    finally:
        server.stop()
    return results


def _better(w: Workload | None, new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    if old is None or old.get("value") is None:
        return True
    if new.get("value") is None:
        return False
    if w is not None and not w.higher_better:
        return new["value"] < old["value"]
    return new["value"] > old["value"]


def measure(impls: list[Impl], workloads: list[Workload], seconds: float, rounds: int,
            every: dict[str, dict[str, list[dict[str, Any]]]] | None = None
            ) -> dict[str, dict[str, dict[str, Any]]]:
    """Interleaves the implementations group by group, `rounds` times, and keeps each workload's best round
    (with the CPU figures of that round); `every` gets each round's result (label -> workload id -> rounds),
    for medians.

    Taking the best of several interleaved rounds keeps a burst of load from other processes on the machine
    from landing on one implementation only."""
    best: dict[str, dict[str, dict[str, Any]]] = {impl.label: {} for impl in impls}
    groups: dict[Any, list[Workload]] = {}
    for w in workloads:
        groups.setdefault(w.group, []).append(w)
    by_id = {wid: w for w in workloads for wid in w.result_ids()}
    with tempfile.TemporaryDirectory(prefix="pyro5-bench-") as tmp:
        for key, group in groups.items():
            group_rounds = min(rounds + max(w.extra_rounds for w in group),
                               min(w.max_rounds or rounds for w in group))
            for r in range(group_rounds):
                order = impls if r % 2 == 0 else list(reversed(impls))
                for impl in order:
                    print(f"  {impl.label}: {' '.join((key[0],) + key[1])} workloads, round {r + 1} of "
                          f"{group_rounds}", file=sys.stderr, flush=True)
                    for wid, res in measure_group(impl, group, seconds, Path(tmp)).items():
                        if every is not None:
                            every.setdefault(impl.label, {}).setdefault(wid, []).append(res)
                        if _better(by_id.get(wid), res, best[impl.label].get(wid)):
                            best[impl.label][wid] = res
    return best


# ------------------------------------------------------------------------------------------------ setup
def available_serializers(python: str, env: dict[str, str]) -> list[str]:
    code = ("import importlib.util, json; print(json.dumps([s for s in %r if s in ('json', 'marshal') "
            "or importlib.util.find_spec(s)]))" % (SERIALIZERS,))
    cp = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    return json.loads(cp.stdout) if cp.returncode == 0 else ["serpent", "json", "marshal"]


def _before_trees(befores: list[str]) -> list[tuple[str, Path]]:
    """The --before arguments as (label, folder): "DIR" (the first is labelled before, the next ones before2,
    before3, ...) or "LABEL=DIR"."""
    trees = []
    for i, arg in enumerate(befores):
        label, sep, folder = arg.partition("=")
        if not sep or not label.isidentifier():
            label, folder = "before" + (str(i + 1) if i else ""), arg
        trees.append((label, Path(folder)))
    return trees


def implementations(only: str | None, befores: list[str] | None = None) -> list[Impl]:
    impls = []
    if only in (None, "original"):
        from tests._support import refpyro
        py = refpyro.orig_python()
        env = refpyro.clean_env()
        impls.append(Impl("original", py, env, available_serializers(py, env)))
    for label, before in _before_trees(befores or []):
        # another checkout's sources first on the path: its Pyro5 modules shadow this checkout's editable ones
        srcs = sorted(str(d) for d in before.resolve().glob("packages/*/src"))
        if not srcs:
            raise SystemExit(f"--before {before}: no packages/*/src folders there")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
        env["PYTHONPATH"] = os.pathsep.join(srcs)
        impls.append(Impl(label, sys.executable, env, available_serializers(sys.executable, env)))
    if only in (None, "ours"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_") and k != "PYTHONPATH"}
        impls.append(Impl("ours", sys.executable, env, available_serializers(sys.executable, env)))
    return impls


def version_of(impl: Impl) -> str:
    cp = subprocess.run([impl.python, "-c", "import sys, Pyro5; print(Pyro5.__version__, sys.version.split()[0])"],
                        capture_output=True, text=True, timeout=60, env=impl.env)
    return cp.stdout.strip() or f"unknown ({cp.stderr.strip().splitlines()[-1:]})"


# ------------------------------------------------------------------------------------------------ report
def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _table(cols: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows + [cols]) for i in range(len(cols))]
    lines = ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(cols)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
                                       for i, c in enumerate(r)) + " |")
    return lines


def _ratio(w: Workload, ours: float | None, other: float | None) -> str:
    """How many times faster ours is: value ratio for rates, inverse for times (ms/MB, µs/lookup)."""
    if not ours or not other:
        return "n/a"
    return f"{ours / other:.2f}" if w.higher_better else f"{other / ours:.2f}"


class _Report:
    def __init__(self, workloads: list[Workload], results: dict[str, dict[str, dict[str, Any]]]) -> None:
        self.workloads = workloads
        self.results = results
        self.labels = list(results)
        self.others = [label for label in self.labels if label != "ours" and "ours" in self.labels]
        self.notes: list[str] = []

    def get(self, label: str, wid: str) -> dict[str, Any]:
        return self.results[label].get(wid, {})

    def cell(self, label: str, wid: str, title: str, key: str = "value") -> str:
        r = self.get(label, wid)
        text = fmt(r.get(key))
        if key == "value" and r.get("error"):
            self.notes.append(f"- {label}, {title}: {r['error']}")
            text += " *"
        return text

    def per_impl(self, wid: str, key: str) -> str:
        return " / ".join(fmt(self.get(label, wid).get(key)) for label in self.labels)

    def ratios(self, w: Workload, wid: str) -> list[str]:
        ours = self.get("ours", wid).get("value")
        return [_ratio(w, ours, self.get(other, wid).get("value")) for other in self.others]

    def ratio_cols(self) -> list[str]:
        return [f"ours/{other}" for other in self.others]

    def main_table(self) -> list[str]:
        impls = " / ".join(self.labels)
        cols = ["workload", "unit"] + self.labels + self.ratio_cols() + \
            [f"client CPU µs/op ({impls})", f"server CPU µs/op ({impls})"]
        rows = []
        for w in self.workloads:
            if w.section != "main":
                continue
            rows.append([w.title, w.unit] + [self.cell(label, w.id, w.title) for label in self.labels]
                        + self.ratios(w, w.id) + [self.per_impl(w.id, "client_cpu_us"),
                                                  self.per_impl(w.id, "server_cpu_us")])
        return _table(cols, rows) if rows else []

    def section_table(self, section: str, extra: list[tuple[str, str]]) -> list[str]:
        impls = " / ".join(self.labels)
        cols = ["workload", "unit"] + self.labels + self.ratio_cols() + [f"{h} ({impls})" for h, _k in extra]
        rows = []
        for w in self.workloads:
            if w.section != section:
                continue
            for wid in w.result_ids():
                title = w.title + (f", {int(wid.rsplit('-', 1)[1]):,} names" if w.ids else "")
                rows.append([title, w.unit] + [self.cell(label, wid, title) for label in self.labels]
                            + self.ratios(w, wid) + [self.per_impl(wid, k) for _h, k in extra])
        return _table(cols, rows) if rows else []


def report(workloads: list[Workload], results: dict[str, dict[str, dict[str, Any]]], header: list[str]) -> str:
    rep = _Report(workloads, results)
    lines = header + [""] + rep.main_table()
    lines += ["", "Rates: higher is better. `ours/<other>`: how many times faster ours is (for times such as ms/MB "
              "and µs/lookup: the other's time divided by ours). CPU µs/op: user + system CPU time of the client "
              "process and of the server process during the timed part, divided by the operations (calls, "
              "uploads, connections) done in it. The raw-socket rows are the same plain-socket echo (no Pyro) run "
              "with each interpreter: the ceiling for this machine, and a noise gauge: their ratio would be 1.00 "
              "on a quiet machine, so a deviation there shows how much other load disturbed this run."]
    stalls = " / ".join(fmt(results[label].get("oneway", {}).get("after_burst_ms")) for label in rep.labels)
    if "n/a / n/a" not in stalls and any(w.id == "oneway" for w in workloads):
        lines += ["", f"A normal call right after a burst of 20 oneway calls took at most {stalls} ms "
                      f"({' / '.join(rep.labels)}; a Nagle/delayed-ACK stall would show as about 40 ms)."]
    sections = [
        ("msgsize", "Message size: time per MB of uploads (lower is better), and the server's peak memory above "
                    "its idle RSS while receiving (MB, and in multiples of the message size)",
         [("server peak MB", "server_peak_mb"), ("peak / message", "peak_per_message"),
          ("server CPU µs/upload", "server_cpu_us")]),
        ("conns", "Connections: N proxies connected at once, all calling echo (round robin in up to 16 client "
                  "threads); server RSS growth per connection",
         [("server RSS kB/conn", "rss_per_conn_kb"), ("server CPU µs/call", "server_cpu_us"),
          ("server context switches/call", "server_switches"), ("server threads", "server_threads")]),
        ("ns", "Name server size: µs per lookup of a random name; list(prefix=) returning 10 names; seconds to "
               "register all names so far (batches of 1000 register calls); server RSS",
         [("list(prefix) µs", "list_us"), ("register s (cumulative)", "register_s"),
          ("server RSS MB", "server_rss_mb"), ("server CPU µs/lookup", "lookup_server_cpu_us")]),
    ]
    for section, title, extra in sections:
        table = rep.section_table(section, extra)
        if table:
            lines += ["", f"**{title}**", ""] + table
    if rep.notes:
        lines += ["", "Not measured (*):"] + rep.notes
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="short measurements and smaller scaling rows (a few minutes in total)")
    parser.add_argument("--before", action="append", metavar="[LABEL=]DIR",
                        help="also measure another checkout's packages/*/src as 'before' (repeat for several trees: "
                             "before2, before3, ... or the LABEL given)")
    parser.add_argument("--only", choices=["original", "ours"], help="measure one implementation only")
    parser.add_argument("--seconds", type=float, help="seconds per rate measurement (default 0.3 quick, 1.5 full)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds, best result kept (default 2 quick, 3 full)")
    parser.add_argument("--filter", help="only workloads whose id contains this text (or one of several, comma-separated: small,connect)")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.md", help="markdown file to write")
    args = parser.parse_args(argv)

    seconds = args.seconds or (0.3 if args.quick else 1.5)
    workloads = build_workloads(args.quick)
    if args.filter:
        wanted = args.filter.split(",")     # (several: comma-separated)
        workloads = [w for w in workloads if any(f in w.id for f in wanted)]
    rounds = args.rounds or (2 if args.quick else 3)
    impls = implementations(args.only, args.before)
    started = time.perf_counter()
    versions = {impl.label: version_of(impl) for impl in impls}
    print("measuring " + ", ".join(f"{label} (Pyro5 {v})" for label, v in versions.items()), file=sys.stderr,
          flush=True)
    every: dict[str, dict[str, list[dict[str, Any]]]] = {}
    results = measure(impls, workloads, seconds, rounds, every)
    header = [
        f"# pyro5 benchmark ({'quick' if args.quick else 'full'})",
        "",
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.platform()}, "
        f"{os.cpu_count()} CPUs, {seconds} s a rate measurement, best of {rounds} interleaved rounds (scaling "
        f"rows: at most 2; {MANY_CONNECTIONS:,} connections: one more, at most {MANY_CONNECTIONS_ROUNDS}; name "
        f"server rows: 1), "
        f"total {time.perf_counter() - started:.0f} s.",
        "",
    ] + [f"- {label}: Pyro5 {v} ({next(i.python for i in impls if i.label == label)})"
         for label, v in versions.items()]
    text = report(workloads, results, header)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    raw = {"mode": "quick" if args.quick else "full", "seconds": seconds, "rounds": rounds, "versions": versions,
           "workloads": {w.id: {"title": w.title, "unit": w.unit} for w in workloads}, "results": results,
           "every_round": every}
    args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1))
    print(f"written to {args.out} (and {args.out.with_suffix('.json').name})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
