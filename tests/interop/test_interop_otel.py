"""The "OTEL" trace-context annotation (Pyro5.otel) against the ORIGINAL Pyro5 5.15 as a black box: its daemon
accepts the annotation and ignores it, and its proxies (which send none) get a root server span from ours."""
from __future__ import annotations

import subprocess

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

from Pyro5 import otel  # noqa: E402
from Pyro5.client import Proxy  # noqa: E402
from Pyro5.server import Daemon, expose  # noqa: E402
from tests._support import refpyro  # noqa: E402
from tests.server._helpers import RunningDaemon  # noqa: E402

pytestmark = pytest.mark.interop

ORIG_SERVER = r'''
import Pyro5.api
from Pyro5.api import current_context, expose

@expose
class Thing:
    def add(self, a, b):
        return a + b
    def seen(self):
        return {k: bytes(v).decode("latin-1") for k, v in current_context.annotations.items()}

d = Pyro5.api.Daemon(host="127.0.0.1")
print("READY", d.register(Thing(), "thing"), flush=True)
d.requestLoop()
'''


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter, provider
    provider.shutdown()


def test_original_daemon_ignores_the_trace_annotation(spans):
    exporter, provider = spans
    with refpyro.OrigProcess(ORIG_SERVER) as orig:
        with Proxy(orig.ready) as p:
            p._pyroInterceptors = [otel.ClientTracing(provider)]
            assert p.add(2, 3) == 5
            seen = p.seen()
    assert seen["OTEL"].startswith("traceparent=00-")       # it arrived, and the call went on as usual
    assert [(s.name, s.kind) for s in exporter.get_finished_spans()] == [("thing/add", SpanKind.CLIENT),
                                                                         ("thing/seen", SpanKind.CLIENT)]


@expose
class Calc:
    def add(self, a, b):
        return a + b


def test_original_proxy_gets_a_root_server_span(spans, orig_python):
    exporter, provider = spans
    daemon = Daemon(host="127.0.0.1")
    daemon.add_interceptor(otel.ServerTracing(provider))
    uri = daemon.register(Calc(), "calc")
    rd = RunningDaemon(daemon)
    try:
        out = subprocess.run([orig_python, "-c", "import sys, Pyro5.api; print(Pyro5.api.Proxy(sys.argv[1]).add(1, 2))",
                              str(uri)], capture_output=True, text=True, timeout=60, env=refpyro.clean_env())
    finally:
        rd.stop()
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"
    (span,) = exporter.get_finished_spans()
    assert (span.name, span.kind, span.parent) == ("calc/add", SpanKind.SERVER, None)
