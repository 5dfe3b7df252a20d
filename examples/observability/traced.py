"""Call hooks, OpenTelemetry spans and pyro5-top in one program.

A daemon (thread) with call tracking, an interceptor that logs each call and OpenTelemetry's ServerTracing; a
client proxy with ClientTracing calls it, through a second object that calls the first one (a chain of calls
in one trace). The spans are printed, then what `pyro5-top --once` shows for the daemon.

    pip install pyro5-server[otel] pyro5-client[otel] opentelemetry-sdk
    python traced.py
"""
import io
import threading

import Pyro5.api
from Pyro5.api import Interceptor
from Pyro5.client import add_interceptor as add_client_interceptor

try:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
except ImportError:
    TracerProvider = None


class CallLog(Interceptor):
    """prints every call the daemon runs, with its duration and outcome"""

    def after(self, call):
        if call.object_id == "Pyro.Daemon":
            return      # (pyro5-top's calls)
        outcome = "raised %s" % type(call.exception).__name__ if call.exception else "returned %r" % (call.result,)
        print("  [hook] %s.%s%r from %s %s" % (call.object_id, call.method, tuple(call.args), call.peer[0],
                                               outcome))


@Pyro5.api.expose
class Calculator:
    def add(self, a, b):
        return a + b

    def divide(self, a, b):
        return a / b

    def wait(self):
        """a call that runs until the example lets it go (it shows in pyro5-top's calls in flight)"""
        return release.wait(10)


release = threading.Event()


@Pyro5.api.expose
class Accountant:
    """calls the calculator: its client span is a child of this call's server span"""

    def __init__(self, calculator_uri):
        self.calculator_uri = calculator_uri

    def total(self, numbers):
        result = 0
        with Pyro5.api.Proxy(self.calculator_uri) as calc:
            for n in numbers:
                result = calc.add(result, n)
        return result


def main():
    from Pyro5 import otel
    exporter = provider = None
    if TracerProvider is not None and otel.available:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        # (the providers are passed explicitly here; a program that sets OpenTelemetry's global providers can
        # use PYRO_OPENTELEMETRY=true or Pyro5.otel.instrument() instead)
        add_client_interceptor(otel.ClientTracing(provider))     # every proxy of this process
    else:
        print("(opentelemetry-sdk is not installed: no spans, the hooks and pyro5-top still work)")

    daemon = Pyro5.api.Daemon(host="127.0.0.1")
    daemon.track_calls()
    daemon.add_interceptor(CallLog())
    if provider is not None:
        daemon.add_interceptor(otel.ServerTracing(provider))
    calc_uri = daemon.register(Calculator(), "example.calculator")
    accountant_uri = daemon.register(Accountant(calc_uri), "example.accountant")
    thread = threading.Thread(target=daemon.requestLoop, daemon=True)
    thread.start()

    print("calls:")
    with Pyro5.api.Proxy(accountant_uri) as accountant:
        print("  total:", accountant.total([1, 2, 3]))
    with Pyro5.api.Proxy(calc_uri) as calc:
        try:
            calc.divide(1, 0)
        except ZeroDivisionError as x:
            print("  divide(1, 0) raised", type(x).__name__)

    if exporter is not None:
        print("spans (trace id, span id, parent span id, kind, name, status):")
        for span in sorted(exporter.get_finished_spans(), key=lambda s: s.start_time):
            parent = format(span.parent.span_id, "016x") if span.parent else "-" * 16
            print("  %s %s %s %-6s %-34s %s" % (format(span.context.trace_id, "032x")[:8],
                                              format(span.context.span_id, "016x"), parent, span.kind.name,
                                              span.name, span.status.status_code.name))

    def waiting_call():
        with Pyro5.api.Proxy(calc_uri) as calc:
            calc.wait()
    waiting = threading.Thread(target=waiting_call)
    waiting.start()
    while not daemon.calls_in_flight():     # (until the call has started)
        release.wait(0.01)

    from Pyro5 import top
    out = io.StringIO()
    top.main(["--once", str(calc_uri)], out=out)
    print("pyro5-top --once:")
    print(out.getvalue())
    release.set()
    waiting.join(10)
    daemon.shutdown()
    thread.join(5)
    daemon.close()


if __name__ == "__main__":
    main()
