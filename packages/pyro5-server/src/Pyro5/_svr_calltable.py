"""A daemon's in-flight call table, per-method statistics and the watchdog for calls that run too long.

`CallTable` is kept by `_svr_hooks.ServerHooks` while call tracking is on (``daemon.track_calls()``, config
CALL_TRACKING or WATCHDOG_THRESHOLD). The watchdog is a thread of its own ("Pyro-watchdog"), not the socket
server's housekeeping: a multiplex server whose only thread is stuck in a call must still be reported. It logs
one warning per call that runs longer than the threshold, with the call and the stack of the thread running it
(logger "Pyro5.server"), and ends when the daemon closes.
"""
from __future__ import annotations

import collections
import logging
import math
import sys
import threading
import time
import traceback
import weakref
from typing import Any, Optional

from ._hooks import CallInfo

__all__ = ["CallTable", "percentile"]

log = logging.getLogger("Pyro5.server")

_SAMPLES = 1024     # latencies kept per method for the percentiles


def percentile(ordered: list, fraction: float) -> float:
    """The value below which `fraction` of the (sorted, non-empty) samples lie (nearest rank)."""
    index = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered) - 1e-9) - 1))
    return ordered[index]


class _MethodStats:
    __slots__ = ("count", "errors", "samples")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.samples: collections.deque = collections.deque(maxlen=_SAMPLES)


class CallTable:
    """The calls running now (by a per-call number) and the statistics of the ended ones."""

    def __init__(self, daemon: Any) -> None:
        self._running: dict[int, CallInfo] = {}
        self._stats: dict[tuple, _MethodStats] = {}
        self._lock = threading.Lock()
        self.threshold = 0.0
        self._stop = threading.Event()
        self._watchdog: Optional[threading.Thread] = None
        self._daemon = weakref.ref(daemon)

    # ------------------------------------------------------------------ the call path

    def started(self, call: CallInfo) -> None:
        self._running[id(call)] = call      # (a running call is alive: its id is unique meanwhile)

    def finished(self, call: CallInfo) -> None:
        self._running.pop(id(call), None)
        key = (call.object_id, call.method)
        with self._lock:
            stats = self._stats.get(key)
            if stats is None:
                stats = self._stats[key] = _MethodStats()
            stats.count += 1
            if call.exception is not None:
                stats.errors += 1
            stats.samples.append(call.duration)

    # ------------------------------------------------------------------ reading

    def in_flight(self) -> list:
        now = time.time()
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        calls = sorted(list(self._running.values()), key=lambda c: c.started)
        return [{
            "object": call.object_id,
            "method": call.method,
            "kind": call.kind,
            "client": _address(call.peer),
            "started": call.started,
            "running": max(0.0, now - call.started),
            "thread": names.get(call.thread, "?"),
            "thread_id": call.thread,
            "correlation_id": str(call.correlation_id) if call.correlation_id else None,
        } for call in calls]

    def stats(self) -> dict:
        with self._lock:
            items = [(key, stats.count, stats.errors, sorted(stats.samples)) for key, stats in self._stats.items()]
        result = {}
        for (object_id, method), count, errors, ordered in items:
            result["%s.%s" % (object_id, method)] = {"count": count, "errors": errors,
                           "p50": percentile(ordered, 0.5) if ordered else 0.0,
                           "p90": percentile(ordered, 0.9) if ordered else 0.0,
                           "p99": percentile(ordered, 0.99) if ordered else 0.0,
                           "max": ordered[-1] if ordered else 0.0}
        return result

    # ------------------------------------------------------------------ the watchdog

    def set_threshold(self, seconds: float) -> None:
        self.threshold = max(0.0, seconds)
        if self.threshold > 0 and self._watchdog is None:
            self._stop.clear()
            self._watchdog = threading.Thread(target=self._watch, name="Pyro-watchdog", daemon=True)
            self._watchdog.start()

    def _watch(self) -> None:
        while not self._stop.wait(min(1.0, max(0.01, self.threshold / 4))):
            if self._daemon() is None:
                return
            self.check()

    def check(self) -> list:
        """Logs a warning (once per call) for every call that has run longer than the threshold; returns them."""
        threshold = self.threshold
        if threshold <= 0:
            return []
        late = [call for call in list(self._running.values())
                if not call.store.get("pyro.watchdog") and call.running > threshold]
        if not late:
            return []
        frames = sys._current_frames()
        for call in late:
            call.store["pyro.watchdog"] = True
            frame = frames.get(call.thread)
            stack = "".join(traceback.format_stack(frame)) if frame is not None else "(thread not found)\n"
            log.warning("call %s.%s from %s has been running for %.1f s (over the WATCHDOG_THRESHOLD of %.1f s), "
                        "in thread %s:\n%s", call.object_id, call.method, _address(call.peer), call.running,
                        threshold, _thread_name(call.thread), stack.rstrip())
        return late

    def close(self) -> None:
        self._stop.set()
        watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog is not threading.current_thread():
            watchdog.join(timeout=5)


def _address(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host, port = peer[0], peer[1]
        return "[%s]:%s" % (host, port) if ":" in str(host) else "%s:%s" % (host, port)
    return str(peer) if peer else "?"


def _thread_name(ident: int) -> str:
    for thread in threading.enumerate():
        if thread.ident == ident:
            return "%s (%d)" % (thread.name, ident)
    return str(ident)
