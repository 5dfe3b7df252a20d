"""Benchmarks: ours against the original Pyro5 5.15, measured in the same run, plus the raw-socket limit.

    python bench/run.py --quick        # about a minute        (hatch run bench:run --quick)
    python bench/run.py                # the full run, several minutes
    python bench/run.py --only ours    # one implementation only (no ratios)

Every measurement runs a server process and a client process of the same implementation (bench/_worker.py,
which uses only the public Pyro5 API), on 127.0.0.1. The original runs in its own venv (see
tests/_support/refpyro.py; $PYRO5_ORIG_VENV overrides its location). Prints a table
`workload | original | ours | ours/original` and writes it to bench/results/latest.md.
Numbers are rates (higher is better). Nothing here is asserted by the tests: timing is machine dependent.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
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
    server: str                 # "thread", "multiplex" or "raw"
    spec: dict[str, Any]


def build_workloads() -> list[Workload]:
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
    ws.append(Workload("raw-small", f"raw socket echo, {RAW_SMALL_SIZE} bytes", "round trips/s", "raw",
                       {"kind": "small", "size": RAW_SMALL_SIZE}))
    ws.append(Workload("raw-1", "raw socket upload, 1 MiB", "MB/s", "raw",
                       {"kind": "upload", "mib": 1}))
    ws.append(Workload("raw-10", "raw socket upload, 10 MiB", "MB/s", "raw",
                       {"kind": "upload", "mib": 10}))
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


def run_client(impl: Impl, role: str, spec: dict[str, Any], timeout: float) -> dict[str, dict[str, Any]]:
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
    for w in spec["workloads"]:
        if w["id"] not in results:
            results[w["id"]] = {"id": w["id"], "value": None,
                                "error": f"client exited with {status}: {err.strip().splitlines()[-1:] or ''}"}
    return results


def measure_group(impl: Impl, server_kind: str, group: list[Workload], seconds: float
                  ) -> dict[str, dict[str, Any]]:
    """One server process of `server_kind` and one client process running the group's workloads."""
    results: dict[str, dict[str, Any]] = {}
    runnable = []
    for w in group:
        s = w.spec.get("serializer")
        if server_kind != "raw" and s and s not in impl.serializers:
            results[w.id] = {"value": None, "error": f"{s} is not installed in this environment"}
        else:
            runnable.append({"id": w.id, **w.spec})
    if not runnable:
        return results
    args = ["raw-server"] if server_kind == "raw" else ["server", "--servertype", server_kind]
    try:
        server = Server(impl, args)
    except RuntimeError as x:
        for w in runnable:
            results[w["id"]] = {"value": None, "error": str(x).splitlines()[0]}
        return results
    try:
        if server_kind == "raw":
            spec = {"port": int(server.ready), "seconds": seconds, "workloads": runnable}
            role = "raw-client"
        else:
            spec = {"uri": server.ready, "seconds": seconds, "workloads": runnable}
            role = "client"
        results.update(run_client(impl, role, spec, timeout=120 + 20 * seconds * len(runnable)))
    finally:
        server.stop()
    return results


def measure(impls: list[Impl], workloads: list[Workload], seconds: float, rounds: int
            ) -> dict[str, dict[str, dict[str, Any]]]:
    """Interleaves the implementations group by group, `rounds` times, and keeps each workload's best rate.

    Taking the best of several interleaved rounds keeps a burst of load from other processes on the machine
    from landing on one implementation only."""
    best: dict[str, dict[str, dict[str, Any]]] = {impl.label: {} for impl in impls}
    for server_kind in ("thread", "multiplex", "raw"):
        group = [w for w in workloads if w.server == server_kind]
        if not group:
            continue
        for r in range(rounds):
            order = impls if r % 2 == 0 else list(reversed(impls))
            for impl in order:
                print(f"  {impl.label}: {server_kind} workloads, round {r + 1} of {rounds}", file=sys.stderr,
                      flush=True)
                for wid, res in measure_group(impl, server_kind, group, seconds).items():
                    old = best[impl.label].get(wid)
                    if old is None or (res.get("value") or 0) > (old.get("value") or 0):
                        best[impl.label][wid] = res
    return best


# ------------------------------------------------------------------------------------------------ setup
def available_serializers(python: str, env: dict[str, str]) -> list[str]:
    code = ("import importlib.util, json; print(json.dumps([s for s in %r if s in ('json', 'marshal') "
            "or importlib.util.find_spec(s)]))" % (SERIALIZERS,))
    cp = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    return json.loads(cp.stdout) if cp.returncode == 0 else ["serpent", "json", "marshal"]


def implementations(only: str | None) -> list[Impl]:
    impls = []
    if only in (None, "original"):
        from tests._support import refpyro
        py = refpyro.orig_python()
        env = refpyro.clean_env()
        impls.append(Impl("original", py, env, available_serializers(py, env)))
    if only in (None, "ours"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
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
    return f"{value:.1f}"


def report(workloads: list[Workload], results: dict[str, dict[str, dict[str, Any]]], header: list[str]) -> str:
    labels = list(results)
    cols = ["workload", "unit"] + labels + (["ours/original"] if set(labels) == {"original", "ours"} else [])
    rows = []
    notes = []
    for w in workloads:
        row = [w.title, w.unit]
        vals = {}
        for label in labels:
            r = results[label].get(w.id, {})
            vals[label] = r.get("value")
            cell = fmt(r.get("value"))
            if r.get("error"):
                notes.append(f"- {label}, {w.title}: {r['error']}")
                cell += " *"
            row.append(cell)
        if "ours/original" in cols:
            o, u = vals.get("original"), vals.get("ours")
            row.append(f"{u / o:.2f}" if o and u else "n/a")
        rows.append(row)
    widths = [max(len(str(r[i])) for r in rows + [cols]) for i in range(len(cols))]
    lines = header + [""]
    lines.append("| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(cols)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        lines.append("| " + " | ".join(str(c).ljust(widths[i]) if i < 2 else str(c).rjust(widths[i])
                                       for i, c in enumerate(r)) + " |")
    lines.append("")
    lines.append("Rates: higher is better. The raw-socket rows are the same plain-socket echo (no Pyro) run with "
                 "each interpreter: the ceiling for this machine, and a noise gauge: their ratio would be 1.00 on "
                 "a quiet machine, so a deviation there shows how much other load disturbed this run.")
    if notes:
        lines += ["", "Not measured (*):"] + notes
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short measurements (about a minute in total)")
    parser.add_argument("--only", choices=["original", "ours"], help="measure one implementation only")
    parser.add_argument("--seconds", type=float, help="seconds per rate measurement (default 0.3 quick, 1.5 full)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds, best result kept (default 2 quick, 3 full)")
    parser.add_argument("--filter", help="only workloads whose id contains this text (e.g. small, upload, conc)")
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.md", help="markdown file to write")
    args = parser.parse_args(argv)

    seconds = args.seconds or (0.3 if args.quick else 1.5)
    workloads = build_workloads()
    if args.filter:
        workloads = [w for w in workloads if args.filter in w.id]
    rounds = args.rounds or (2 if args.quick else 3)
    impls = implementations(args.only)
    started = time.perf_counter()
    versions = {impl.label: version_of(impl) for impl in impls}
    print("measuring " + ", ".join(f"{label} (Pyro5 {v})" for label, v in versions.items()), file=sys.stderr,
          flush=True)
    results = measure(impls, workloads, seconds, rounds)
    header = [
        f"# pyro5 benchmark ({'quick' if args.quick else 'full'})",
        "",
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.platform()}, "
        f"{os.cpu_count()} CPUs, {seconds} s a rate measurement, best of {rounds} interleaved rounds, "
        f"total {time.perf_counter() - started:.0f} s.",
        "",
    ] + [f"- {label}: Pyro5 {v} ({next(i.python for i in impls if i.label == label)})"
         for label, v in versions.items()]
    text = report(workloads, results, header)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    raw = {"mode": "quick" if args.quick else "full", "seconds": seconds, "rounds": rounds, "versions": versions,
           "workloads": {w.id: {"title": w.title, "unit": w.unit} for w in workloads}, "results": results}
    args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1))
    print(f"written to {args.out} (and {args.out.with_suffix('.json').name})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
