"""OpenTelemetry (Pyro5.otel): one client span and one server span per call, joined through the "OTEL"
annotation, in one process and across processes (A -> B -> C); the RPC duration metrics; the config item;
nothing changes without opentelemetry installed."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

from Pyro5 import otel  # noqa: E402
from Pyro5.client import Proxy  # noqa: E402
from tests._support import refpyro  # noqa: E402
from tests.observability._objects import Calc  # noqa: E402


@pytest.fixture
def telemetry():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    yield exporter, provider, reader, meters
    provider.shutdown()
    meters.shutdown()


def _histogram_points(reader, name):
    points = []
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    assert metric.unit == "s"
                    points.extend(metric.data.data_points)
    return points


def test_client_and_server_span_per_call(start_daemon, servertype, telemetry):
    exporter, provider, reader, meters = telemetry
    rd = start_daemon()
    rd.daemon.add_interceptor(otel.ServerTracing(provider, meters))
    uri = rd.daemon.register(Calc(), "calc")
    with Proxy(uri) as p:
        p._pyroInterceptors = [otel.ClientTracing(provider, meters)]
        assert p.add(1, 2) == 3
        with pytest.raises(ValueError):
            p.fail()
        seen = p.annotations_seen()
    spans = exporter.get_finished_spans()
    by = {(s.name, s.kind): s for s in spans}
    client, server = by[("calc/add", SpanKind.CLIENT)], by[("calc/add", SpanKind.SERVER)]
    assert server.parent is not None and server.parent.span_id == client.context.span_id
    assert server.context.trace_id == client.context.trace_id
    assert client.parent is None
    assert client.attributes["rpc.system.name"] == "pyro5" and client.attributes["rpc.method"] == "calc/add"
    assert client.attributes["server.address"] == "127.0.0.1" and client.attributes["server.port"] == rd.port
    assert server.attributes["client.address"] == "127.0.0.1" and server.attributes["network.peer.port"] > 0
    for kind in (SpanKind.CLIENT, SpanKind.SERVER):
        failed = by[("calc/fail", kind)]
        assert failed.status.status_code is StatusCode.ERROR
        assert failed.attributes["error.type"] == "ValueError"
        assert [e.name for e in failed.events] == ["exception"]
        assert by[("calc/add", kind)].status.status_code is StatusCode.UNSET
    # the annotation the server saw: W3C traceparent of the client span
    traceparent = dict(line.split("=", 1) for line in seen["OTEL"].split("\n"))["traceparent"]
    assert traceparent.split("-")[2] == format(by[("calc/annotations_seen", SpanKind.CLIENT)].context.span_id,
                                               "016x")
    # metrics: one histogram point per method and outcome
    for name in ("rpc.client.call.duration", "rpc.server.call.duration"):
        points = {(pt.attributes["rpc.method"], pt.attributes.get("error.type")): pt.count
                  for pt in _histogram_points(reader, name)}
        assert points[("calc/add", None)] == 1 and points[("calc/fail", "ValueError")] == 1


def test_batch_oneway_and_stream_spans(start_daemon, telemetry):
    exporter, provider, reader, meters = telemetry
    rd = start_daemon()
    rd.daemon.add_interceptor(otel.ServerTracing(provider, meters))
    calc = Calc()
    uri = rd.daemon.register(calc, "calc")
    from Pyro5.client import BatchProxy
    with Proxy(uri) as p:
        p._pyroInterceptors = [otel.ClientTracing(provider, meters)]
        b = BatchProxy(p)
        b.add(1, 1)
        assert list(b()) == [2]
        p.fire(1)
        assert calc.oneway_done.wait(5)
        assert list(p.items(1)) == [0]
    from tests.server._helpers import wait_for
    wait_for(lambda: any(s.name == "calc/fire" and s.kind is SpanKind.SERVER
                         for s in exporter.get_finished_spans()))
    spans = exporter.get_finished_spans()
    names = {(s.name, s.kind) for s in spans}
    for name in ("calc/<batch>", "calc/fire", "calc/items", "Pyro.Daemon/get_next_stream_item"):
        assert (name, SpanKind.CLIENT) in names and (name, SpanKind.SERVER) in names
    fire = {s.kind: s for s in spans if s.name == "calc/fire"}
    assert fire[SpanKind.SERVER].parent.span_id == fire[SpanKind.CLIENT].context.span_id


# process B: a daemon traced through the config item (global SDK providers), whose method calls C
CHAIN_B = r'''
import json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
import Pyro5
from Pyro5.client import Proxy
from Pyro5.server import Daemon, expose
assert Pyro5.config.OPENTELEMETRY     # PYRO_OPENTELEMETRY=true in the environment

@expose
class Middle:
    def relay(self, uri, a, b):
        with Proxy(uri) as c:
            return c.add(a, b) * 10
    def spans(self):
        return [{"name": s.name, "kind": s.kind.name, "trace": format(s.context.trace_id, "032x"),
                 "span": format(s.context.span_id, "016x"),
                 "parent": format(s.parent.span_id, "016x") if s.parent else None}
                for s in exporter.get_finished_spans()]

with Daemon(host="127.0.0.1") as d:
    print("READY", d.register(Middle(), "middle"), flush=True)
    d.requestLoop()
'''


def test_trace_joins_across_processes(start_daemon, telemetry):
    """A (this process, client) -> B (another process: server, then client) -> C (this process, server)."""
    exporter, provider, reader, meters = telemetry
    rd = start_daemon()
    rd.daemon.add_interceptor(otel.ServerTracing(provider, meters))
    c_uri = rd.daemon.register(Calc(), "calc")
    env = dict(os.environ, PYRO_OPENTELEMETRY="true")
    b = refpyro.start_python(CHAIN_B, env=env)
    try:
        with Proxy(b.ready) as middle:
            middle._pyroInterceptors = [otel.ClientTracing(provider, meters)]
            assert middle.relay(str(c_uri), 2, 3) == 50
            b_spans = Proxy(b.ready).spans()
    finally:
        b.stop()
    ours = {(s.name, s.kind.name): s for s in exporter.get_finished_spans()}
    theirs = {(s["name"], s["kind"]): s for s in b_spans}
    a_client = ours[("middle/relay", "CLIENT")]
    b_server = theirs[("middle/relay", "SERVER")]
    b_client = theirs[("calc/add", "CLIENT")]
    c_server = ours[("calc/add", "SERVER")]
    trace_id = format(a_client.context.trace_id, "032x")
    assert {b_server["trace"], b_client["trace"], format(c_server.context.trace_id, "032x")} == {trace_id}
    assert b_server["parent"] == format(a_client.context.span_id, "016x")
    assert b_client["parent"] == b_server["span"]
    assert format(c_server.parent.span_id, "016x") == b_client["span"]


def test_config_item_and_instrument(start_daemon):
    import Pyro5
    from Pyro5 import _client_hooks
    Pyro5.config.OPENTELEMETRY = True
    try:
        rd = start_daemon()
        assert any(isinstance(h, otel.ServerTracing) for h in rd.daemon._call_hooks.chain.interceptors)
        Proxy("PYRO:x@127.0.0.1:1")._pyroRelease()
        assert sum(isinstance(h, otel.ClientTracing) for h in _client_hooks.GLOBAL.interceptors) == 1
        Proxy("PYRO:x@127.0.0.1:1")._pyroRelease()      # (added once)
        assert sum(isinstance(h, otel.ClientTracing) for h in _client_hooks.GLOBAL.interceptors) == 1
    finally:
        otel.uninstrument()
    assert not Pyro5.config.OPENTELEMETRY and not _client_hooks.GLOBAL.active
    assert otel.instrument() is True
    assert _client_hooks.GLOBAL.active
    otel.uninstrument()


def test_carrier_encoding():
    carrier = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "a=1,b=2"}
    assert otel.decode_carrier(otel.encode_carrier(carrier)) == carrier
    assert otel.decode_carrier(None) == {} and otel.decode_carrier(b"\xff\xfe") == {}
    assert otel.decode_carrier(b"x" * 5000) == {}
    assert otel.decode_carrier(b"garbage\n=novalue\nk=v") == {"k": "v"}


WITHOUT_OTEL = r'''
import logging, sys
sys.modules["opentelemetry"] = None          # as if opentelemetry-api were not installed
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="LOG %(name)s %(message)s")
import Pyro5
from Pyro5 import otel
from Pyro5.callcontext import current_context
from Pyro5.client import Proxy
from Pyro5.server import Daemon, expose
logging.getLogger("Pyro5").setLevel(logging.WARNING)
assert Pyro5.config.OPENTELEMETRY and not otel.available

@expose
class Thing:
    def annotations(self):
        return sorted(current_context.annotations)

with Daemon(host="127.0.0.1") as d:
    uri = d.register(Thing(), "thing")
    import threading
    threading.Thread(target=d.requestLoop, daemon=True).start()
    with Proxy(uri) as p:
        print("ANNOTATIONS", p.annotations(), d.dispatcher.hooks is None)
    with Proxy(uri) as p:
        p.annotations()
    d.shutdown()
'''


def test_without_opentelemetry_nothing_changes():
    env = dict(os.environ, PYRO_OPENTELEMETRY="true")
    out = subprocess.run([sys.executable, "-c", WITHOUT_OTEL], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "ANNOTATIONS [] True" in lines
    warnings = [line for line in lines if line.startswith("LOG Pyro5.otel")]
    assert len(warnings) == 1 and "opentelemetry-api is not installed" in warnings[0]



@pytest.mark.parametrize("garbage", [b"\xff\xfe\x00", b"traceparent=00-nothex-zz-01", b"x" * 5000, b"=\n=\n"])
def test_bad_trace_annotation_gives_a_root_span(start_daemon, telemetry, garbage):
    """Whatever a client puts in the OTEL annotation, the call works and the server span starts a new trace."""
    from Pyro5.callcontext import current_context
    exporter, provider, reader, meters = telemetry
    rd = start_daemon()
    rd.daemon.add_interceptor(otel.ServerTracing(provider, meters))
    uri = rd.daemon.register(Calc(), "calc")
    current_context.annotations = {"OTEL": garbage}
    try:
        with Proxy(uri) as p:
            assert p.add(1, 1) == 2
    finally:
        current_context.annotations = {}
    (span,) = exporter.get_finished_spans()
    assert (span.name, span.kind, span.parent) == ("calc/add", SpanKind.SERVER, None)
