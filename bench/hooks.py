"""Call hooks overhead: small-call rate with no hooks, one no-op hook, call tracking, and OpenTelemetry.

    python bench/hooks.py                        # 5 rounds of 1 s per variant
    python bench/hooks.py --seconds 0.3 --rounds 3
    python bench/hooks.py --baseline /tmp/base   # adds "without the feature": a checkout's packages/*/src

Each variant is a server process and a client process of ours on 127.0.0.1 (thread-pool server, serpent,
``proxy.echo("hello", 42)`` in a loop); the hooks are on both sides (a daemon interceptor plus a proxy
interceptor):

- ``none``: nothing registered (the plain call path: one falsy check per call on each side);
- ``noop``: one interceptor with empty ``before``/``after`` on each side;
- ``tracking``: the daemon's in-flight call table and statistics (``track_calls()``), no interceptor;
- ``otel-api``: Pyro5.otel's ClientTracing/ServerTracing with opentelemetry-api only (no SDK: no-op spans);
- ``otel-sdk``: the same with the SDK's TracerProvider and MeterProvider, spans sent to an exporter that
  drops them (what tracing costs before any export);
- ``baseline`` (with ``--baseline DIR``): DIR/packages/*/src on PYTHONPATH, e.g. an export of the commit
  before the feature (``git archive <commit> packages | tar -x -C DIR``).

The variants' client processes are measured in interleaved rounds (variant A, B, C, ... then again), and the
best round of each is kept, as bench/run.py does, so a burst of load from other processes does not land on one
variant only. Prints ``variant | calls/s | ratio to none``. Nothing asserts on these numbers.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SERVER = r'''
import sys
variant = sys.argv[1]
import Pyro5
Pyro5.config.THREADPOOL_SIZE = 16
from Pyro5.server import Daemon, expose
from bench_hooks_common import setup_otel, Noop

@expose
class Echo:
    def echo(self, message, number):
        return message

daemon = Daemon(host="127.0.0.1")
if variant == "noop":
    daemon.add_interceptor(Noop())
elif variant == "tracking":
    daemon.track_calls()
elif variant.startswith("otel"):
    from Pyro5 import otel
    tracer, meter = setup_otel(variant)
    daemon.add_interceptor(otel.ServerTracing(tracer, meter))
print("READY", daemon.register(Echo(), "echo"), flush=True)
daemon.requestLoop()
'''

CLIENT = r'''
import sys, time
variant, uri = sys.argv[1], sys.argv[2]
from Pyro5.client import Proxy
from bench_hooks_common import setup_otel, Noop
proxy = Proxy(uri)
if variant == "noop":
    proxy._pyroInterceptors = [Noop()]
elif variant.startswith("otel"):
    from Pyro5 import otel
    tracer, meter = setup_otel(variant)
    proxy._pyroInterceptors = [otel.ClientTracing(tracer, meter)]
echo = proxy.echo
for _ in range(200):      # warm-up (connect, metadata)
    echo("hello", 42)
print("READY", flush=True)
for line in sys.stdin:
    seconds = float(line)
    count = 0
    deadline = time.perf_counter() + seconds
    start = time.perf_counter()
    while True:
        for _ in range(20):
            echo("hello", 42)
        count += 20
        now = time.perf_counter()
        if now >= deadline:
            break
    print(count / (now - start), flush=True)
'''

COMMON = r'''
from Pyro5._hooks import Interceptor

class Noop(Interceptor):
    def before(self, call):
        pass
    def after(self, call):
        pass

def setup_otel(variant):
    if variant == "otel-api":
        return None, None      # the API's global no-op providers
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    tracer = TracerProvider()
    tracer.add_span_processor(SimpleSpanProcessor(Drop()))
    return tracer, MeterProvider()
'''


def _env(variant: str, common_dir: Path, baseline: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYRO_")}
    paths = [str(common_dir)]
    if variant == "baseline" and baseline:
        paths += [str(p) for p in sorted(Path(baseline, "packages").glob("*/src"))]
    env["PYTHONPATH"] = os.pathsep.join(paths + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def _start(args: list, env: dict, stdin: bool = False) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-u", "-c", *args], stdout=subprocess.PIPE, text=True, env=env,
                            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)
    box: list = []

    def read() -> None:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        box.append(line)
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)
    if not box or not box[0].startswith("READY"):
        proc.kill()
        raise RuntimeError("%s did not start" % args[1:])
    return proc, box[0][5:].strip()


def _otel_sdk_available() -> bool:
    try:
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one measurement (1.0)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (5)")
    parser.add_argument("--baseline", help="a checkout (or export) without the feature: its packages/*/src")
    parser.add_argument("--variants", default="", help="comma separated subset of the variants")
    options = parser.parse_args(argv)
    variants = (["baseline"] if options.baseline else []) + ["none", "noop", "tracking"]
    if _otel_sdk_available():
        variants += ["otel-api", "otel-sdk"]
    else:
        print("(opentelemetry-sdk not installed: no otel variants)")
    if options.variants:
        wanted = options.variants.split(",")
        variants = [v for v in variants if v in wanted]
    import tempfile
    procs: list = []
    clients: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bench_hooks_common.py").write_text(COMMON)
        try:
            for variant in variants:
                env = _env(variant, Path(tmp), options.baseline)
                server, uri = _start([SERVER, variant], env)
                procs.append(server)
                client, _ = _start([CLIENT, variant, uri], env, stdin=True)
                procs.append(client)
                clients[variant] = client
            rates: dict = {v: [] for v in variants}
            for _ in range(options.rounds):
                for variant in variants:
                    client = clients[variant]
                    client.stdin.write("%f\n" % options.seconds)
                    client.stdin.flush()
                    rates[variant].append(float(client.stdout.readline()))
        finally:
            for proc in procs:
                proc.kill()
                proc.wait(10)
    best = {v: max(r) for v, r in rates.items()}
    reference = best.get("none") or 1.0
    print("| variant | calls/s (best of %d rounds of %.1f s) | ratio to none |" % (options.rounds, options.seconds))
    print("|---|---:|---:|")
    for variant in variants:
        print("| %s | %.0f | %.3f |" % (variant, best[variant], best[variant] / reference))
    return 0


if __name__ == "__main__":
    sys.exit(main())
