"""pyro5-top: a live view of a running daemon (its objects, the calls in flight, per-method counts and latency
percentiles), read remotely from its ``Pyro.Daemon`` object.

    pyro5-top PYRO:Pyro.Daemon@localhost:9999      # any uri of the daemon will do (PYRONAME: too)
    pyro5-top --once PYRO:calc@localhost:9999      # print one report and exit

The daemon must track calls (``daemon.track_calls()``, config ``CALL_TRACKING`` or ``WATCHDOG_THRESHOLD``) for
the calls and statistics; without it only the objects are shown. A daemon that is not ours (the original
Pyro5) has no call table: pyro5-top says so.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Optional, Sequence, TextIO

from Pyro5 import core, errors
from Pyro5.client import Proxy

__all__ = ["main", "daemon_uri", "snapshot", "render"]

_CLEAR = "\x1b[H\x1b[2J"


def daemon_uri(text: str) -> core.URI:
    """The uri of the Pyro.Daemon object of the daemon that serves `text` (a PYRO: uri of any of its objects,
    a PYRONAME: uri, or host:port)."""
    if ":" in text and not text.upper().startswith(("PYRO:", "PYRONAME:", "PYROMETA:")):
        text = "PYRO:%s@%s" % (core.DAEMON_NAME, text)
    uri = core.URI(text)
    if uri.protocol != "PYRO":
        uri = core.resolve(uri)
    return core.URI("PYRO:%s@%s" % (core.DAEMON_NAME, uri.location))


def snapshot(proxy: Any) -> dict:
    """What the daemon tells about itself: objects, calls in flight, statistics (None when not supported)."""
    result: dict = {"objects": sorted(proxy.registered()), "calls": None, "stats": None}
    try:
        result["calls"] = proxy.calls_in_flight()
        result["stats"] = proxy.call_stats()
    except (AttributeError, errors.PyroError) as x:     # (the original Pyro5's daemon object has neither)
        if "calls_in_flight" not in str(x) and "call_stats" not in str(x):
            raise
    own = "%s.calls_in_flight" % core.DAEMON_NAME
    if result["calls"]:
        result["calls"] = [c for c in result["calls"]
                           if "%s.%s" % (c.get("object"), c.get("method")) != own]
    return result


def _ms(seconds: Any) -> str:
    return "%.1f" % (float(seconds) * 1000.0)


def render(uri: Any, data: dict, now: Optional[float] = None) -> str:
    """The report as text."""
    lines = ["pyro5-top  %s  %s" % (uri, time.strftime("%H:%M:%S", time.localtime(now)))]
    lines.append("")
    lines.append("objects (%d): %s" % (len(data["objects"]), ", ".join(data["objects"])))
    lines.append("")
    calls, stats = data["calls"], data["stats"]
    if calls is None:
        lines.append("this daemon has no call table (not pyro5 6, or an older one): objects only")
        return "\n".join(lines) + "\n"
    if not calls and not stats:
        lines.append("no calls recorded: is call tracking on? (daemon.track_calls(), PYRO_CALL_TRACKING=true)")
    lines.append("calls in flight: %d" % len(calls))
    if calls:
        lines.append("  %-10s %-32s %-22s %-18s %s" % ("running s", "call", "client", "thread", "correlation id"))
        for call in calls:
            lines.append("  %-10.2f %-32s %-22s %-18s %s" % (
                call.get("running", 0.0), "%s.%s" % (call.get("object"), call.get("method")), call.get("client"),
                call.get("thread"), call.get("correlation_id") or "-"))
    lines.append("")
    lines.append("per method (latency in ms):")
    lines.append("  %-40s %8s %7s %8s %8s %8s %8s" % ("method", "calls", "errors", "p50", "p90", "p99", "max"))
    for name, item in sorted((stats or {}).items(), key=lambda kv: (-kv[1].get("count", 0), kv[0])):
        lines.append("  %-40s %8d %7d %8s %8s %8s %8s" % (
            name, item.get("count", 0), item.get("errors", 0), _ms(item.get("p50", 0)), _ms(item.get("p90", 0)),
            _ms(item.get("p99", 0)), _ms(item.get("max", 0))))
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyro5-top", description="Live view of a running Pyro daemon: objects, "
                                     "calls in flight, per-method counts and latency percentiles.")
    parser.add_argument("uri", help="uri of the daemon or of any of its objects (PYRO:, PYRONAME:, or host:port)")
    parser.add_argument("--once", action="store_true", help="print one report and exit")
    parser.add_argument("-i", "--interval", type=float, default=2.0, help="seconds between refreshes (2)")
    parser.add_argument("-n", "--count", type=int, default=0, help="stop after this many refreshes (0: never)")
    return parser


def main(args: Optional[Sequence[str]] = None, out: TextIO = sys.stdout) -> int:
    """The pyro5-top command. Returns the exit code (0 ok, 1 error)."""
    options = _parser().parse_args(args)
    try:
        uri = daemon_uri(options.uri)
        with Proxy(uri) as proxy:
            proxy._pyroTimeout = 10
            shown = 0
            while True:
                text = render(uri, snapshot(proxy))
                out.write(text if options.once else _CLEAR + text)
                out.flush()
                shown += 1
                if options.once or (options.count and shown >= options.count):
                    return 0
                time.sleep(max(0.1, options.interval))
    except KeyboardInterrupt:
        return 0
    except (errors.PyroError, OSError, ValueError) as x:
        print("Error: %s: %s" % (type(x).__name__, x), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
