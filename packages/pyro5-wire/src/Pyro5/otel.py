"""OpenTelemetry tracing and metrics for Pyro calls (optional: ``pip install pyro5-client[otel]`` /
``pyro5-server[otel]``, which add ``opentelemetry-api``; nothing else of Pyro needs it).

Two interceptors (see `Pyro5._hooks`): `ClientTracing` makes one CLIENT span per proxy call and `ServerTracing`
one SERVER span per call a daemon runs, child of the caller's span. They follow the OpenTelemetry semantic
conventions for RPC as of version **1.44.0** (`SEMCONV_VERSION`, the tracers' schema URL):

- span name ``{rpc.method}``; ``rpc.method`` is ``<object id>/<method name>`` (``calc/add``; a batch is
  ``calc/<batch>``, attribute access ``calc/__getattr__``), ``rpc.system.name`` is ``"pyro5"``;
- client spans: ``server.address``, ``server.port`` (or the unix socket path as ``server.address``); server spans:
  ``client.address``, ``client.port``, ``network.peer.address``, ``network.peer.port``;
- a failed call: span status ERROR, the exception recorded as an event, ``error.type`` = the exception's class
  (``ValueError``, ``Pyro5.errors.CommunicationError``);
- ``pyro5.correlation_id`` when the call has one;
- metrics: histograms ``rpc.client.call.duration`` and ``rpc.server.call.duration`` in seconds, with
  ``rpc.system.name``, ``rpc.method`` and ``error.type``.

The trace context travels in the request annotation ``"OTEL"`` (`ANNOTATION`, reserved by Pyro): the carrier of
the globally configured propagator (W3C ``traceparent``/``tracestate`` and baggage by default) as ASCII lines
``key=value``. An original Pyro5 daemon ignores the annotation; an annotation over 4 KiB or not ASCII is ignored.

Turn it on with config ``OPENTELEMETRY`` (``PYRO_OPENTELEMETRY=true``: daemons and proxies created afterwards
trace their calls) or `instrument()`, or add the interceptors yourself (``daemon.add_interceptor(ServerTracing())``,
``Pyro5.client.add_interceptor(ClientTracing())`` or ``proxy._pyroInterceptors``). Without opentelemetry-api
installed `available` is False, `instrument()` and the config item log a warning and change nothing.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from . import __version__
from ._hooks import CallInfo, Interceptor

__all__ = ["ANNOTATION", "SEMCONV_VERSION", "available", "ClientTracing", "ServerTracing", "instrument",
           "uninstrument"]

log = logging.getLogger("Pyro5.otel")

ANNOTATION = "OTEL"
SEMCONV_VERSION = "1.44.0"
SCHEMA_URL = "https://opentelemetry.io/schemas/" + SEMCONV_VERSION
RPC_SYSTEM = "pyro5"
_MAX_CARRIER = 4096

try:
    from opentelemetry import context as _context
    from opentelemetry import metrics as _metrics
    from opentelemetry import propagate as _propagate
    from opentelemetry import trace as _trace
    available = True
except ImportError:
    available = False


def encode_carrier(carrier: dict) -> bytes:
    """The "OTEL" annotation's value for a propagator carrier."""
    return "\n".join("%s=%s" % (key, value) for key, value in carrier.items()).encode("ascii", "replace")


def decode_carrier(value: Optional[bytes]) -> dict:
    """The carrier in an "OTEL" annotation ({} when missing, too long or not ASCII)."""
    if not value or len(value) > _MAX_CARRIER:
        return {}
    try:
        text = bytes(value).decode("ascii")
    except UnicodeDecodeError:
        return {}
    carrier = {}
    for line in text.split("\n"):
        key, sep, item = line.partition("=")
        if sep and key:
            carrier[key.strip().lower()] = item.strip()
    return carrier


def _error_type(exception: BaseException) -> str:
    cls = type(exception)
    return cls.__qualname__ if cls.__module__ == "builtins" else "%s.%s" % (cls.__module__, cls.__qualname__)


def _address_attributes(prefix: str, location: Any) -> dict:
    if isinstance(location, tuple) and len(location) >= 2:
        return {prefix + ".address": str(location[0]), prefix + ".port": int(location[1])}
    if isinstance(location, str) and location:
        if location.startswith("./u:"):
            return {prefix + ".address": location[4:]}
        host, _, port = location.rpartition(":")
        if host and port.isdigit():
            return {prefix + ".address": host.strip("[]"), prefix + ".port": int(port)}
        return {prefix + ".address": location}
    return {}


class _Tracing(Interceptor):
    _kind_name = ""
    _metric = ""
    _CACHE_SIZE = 4096      # (object, method) and peer attribute dicts kept for reuse

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None) -> None:
        if not available:
            raise ModuleNotFoundError("Pyro5.otel needs opentelemetry-api: pip install pyro5-client[otel] or "
                                      "pyro5-server[otel]", name="opentelemetry")
        self.tracer = _trace.get_tracer("Pyro5", __version__, tracer_provider, schema_url=SCHEMA_URL)
        meter = _metrics.get_meter("Pyro5", __version__, meter_provider, schema_url=SCHEMA_URL)
        self.duration = meter.create_histogram(self._metric, unit="s",
                                               description="Duration of %s Pyro calls" % self._kind_name)
        self._methods: dict = {}
        self._peers: dict = {}

    def _method_attributes(self, call: CallInfo) -> dict:
        """{"rpc.system.name", "rpc.method"} of the call (shared: never change the dict returned)"""
        key = (call.object_id, call.method)
        attributes = self._methods.get(key)
        if attributes is None:
            if len(self._methods) >= self._CACHE_SIZE:
                self._methods.clear()
            attributes = self._methods[key] = {"rpc.system.name": RPC_SYSTEM,
                                               "rpc.method": "%s/%s" % (call.object_id, call.method)}
        return attributes

    def _peer_attributes(self, prefix: str, peer: Any) -> dict:
        try:
            attributes = self._peers.get(peer)
        except TypeError:   # (not hashable)
            return _address_attributes(prefix, peer)
        if attributes is None:
            if len(self._peers) >= self._CACHE_SIZE:
                self._peers.clear()
            attributes = self._peers[peer] = _address_attributes(prefix, peer)
            if prefix == "client":
                if "client.address" in attributes:
                    attributes["network.peer.address"] = attributes["client.address"]
                if "client.port" in attributes:
                    attributes["network.peer.port"] = attributes["client.port"]
        return attributes

    def _start(self, call: CallInfo, kind: Any, prefix: str, parent: Any = None) -> Any:
        method_attributes = self._method_attributes(call)
        attributes = dict(method_attributes)
        attributes.update(self._peer_attributes(prefix, call.peer))
        if call.correlation_id:
            attributes["pyro5.correlation_id"] = str(call.correlation_id)
        span = self.tracer.start_span(method_attributes["rpc.method"], context=parent, kind=kind,
                                      attributes=attributes)
        call.store["otel.span"] = span
        return span

    def _end(self, call: CallInfo, span: Any) -> None:
        metric_attributes = self._method_attributes(call)
        if call.exception is not None:
            error_type = _error_type(call.exception)
            metric_attributes = dict(metric_attributes, **{"error.type": error_type})
            if span.is_recording():
                span.set_attribute("error.type", error_type)
                span.record_exception(call.exception)
                span.set_status(_trace.Status(_trace.StatusCode.ERROR, "%s: %s" % (error_type, call.exception)))
        span.end()
        self.duration.record(call.duration or 0.0, metric_attributes)


class ClientTracing(_Tracing):
    """Interceptor for proxies: a CLIENT span per call; the trace context goes out in the "OTEL" annotation."""

    _kind_name = "outgoing"
    _metric = "rpc.client.call.duration"

    def before(self, call: CallInfo) -> None:
        span = self._start(call, _trace.SpanKind.CLIENT, "server")
        if span.get_span_context().is_valid:
            carrier: dict = {}
            _propagate.inject(carrier, context=_trace.set_span_in_context(span))
            if carrier:
                call.annotations[ANNOTATION] = encode_carrier(carrier)

    def after(self, call: CallInfo) -> None:
        span = call.store.pop("otel.span", None)
        if span is not None:
            self._end(call, span)


class ServerTracing(_Tracing):
    """Interceptor for daemons: a SERVER span per call, child of the context in the request's "OTEL" annotation,
    and current while the method runs (calls it makes through proxies are its children)."""

    _kind_name = "incoming"
    _metric = "rpc.server.call.duration"

    def before(self, call: CallInfo) -> None:
        carrier = call.annotations.get(ANNOTATION)
        # (no trace context: a root span, whatever this thread's current context is)
        parent = _propagate.extract(decode_carrier(carrier)) if carrier else _context.Context()
        span = self._start(call, _trace.SpanKind.SERVER, "client", parent)
        call.store["otel.token"] = _context.attach(_trace.set_span_in_context(span, parent))

    def after(self, call: CallInfo) -> None:
        token = call.store.pop("otel.token", None)
        if token is not None:
            try:
                _context.detach(token)
            except Exception:   # (another context was attached in between: nothing to restore then)
                log.debug("cannot detach the call's OpenTelemetry context", exc_info=True)
        span = call.store.pop("otel.span", None)
        if span is not None:
            self._end(call, span)


_warned = False


def _unavailable() -> None:
    global _warned
    if not _warned:
        _warned = True
        log.warning("OpenTelemetry tracing was asked for (config OPENTELEMETRY or Pyro5.otel.instrument()) but "
                    "opentelemetry-api is not installed: pip install pyro5-client[otel] / pyro5-server[otel]")


def client_tracing() -> Optional[ClientTracing]:
    """A ClientTracing for the global client hooks (config OPENTELEMETRY); None without opentelemetry-api."""
    if not available:
        _unavailable()
        return None
    return ClientTracing()


def server_tracing() -> Optional[ServerTracing]:
    """A ServerTracing for a new daemon (config OPENTELEMETRY); None without opentelemetry-api."""
    if not available:
        _unavailable()
        return None
    return ServerTracing()


def instrument() -> bool:
    """Traces from now on: the calls of every proxy, and (config OPENTELEMETRY set to True) of every daemon
    created afterwards. False (with a warning logged) when opentelemetry-api is not installed."""
    from . import config
    if not available:
        _unavailable()
        return False
    config.OPENTELEMETRY = True
    try:
        from . import _client_hooks
    except ImportError:     # no pyro5-client (pip install pyro5-client): daemons only
        return True
    _client_hooks.trace_calls(True)
    return True


def uninstrument() -> None:
    """Stops what instrument() started (daemons that already trace keep their ServerTracing)."""
    from . import config
    config.OPENTELEMETRY = False
    try:
        from . import _client_hooks
    except ImportError:     # no pyro5-client (pip install pyro5-client): nothing to stop there
        return
    _client_hooks.trace_calls(False)
