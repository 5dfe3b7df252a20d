"""The daemon's call hooks (interceptors, observers), its in-flight call table and per-method statistics.

`ServerHooks` is ``daemon.dispatcher.hooks`` while anything is registered or call tracking is on, and None
otherwise: the dispatcher pays one ``is None`` check per request for the whole feature. When set, the dispatcher
runs every decoded request through `ServerHooks.perform`, which builds the `Pyro5._hooks.CallInfo`, runs the
hooks around the call in the thread that runs it (a threaded oneway call: on the oneway pool's thread, around
the method) and keeps the in-flight table and the statistics (`_svr_calltable`).
"""
from __future__ import annotations

import functools
import logging
import threading
from typing import Any, Callable, Optional

from . import config, protocol
from ._hooks import CallInfo, HookChain, check_hook, check_observer
from ._svr_calltable import CallTable
from ._svr_coro import Deferred
from ._svr_streams import is_iterator
from .callcontext import current_context

__all__ = ["ServerHooks", "DaemonHooks", "install"]

log = logging.getLogger("Pyro5.server")

_KINDS = {"<batch>": "batch", "__getattr__": "getattr", "__setattr__": "setattr"}


class ServerHooks:
    """What the dispatcher runs around each call of one daemon."""

    def __init__(self, daemon: Any) -> None:
        self.chain = HookChain(log)
        self.table: Optional[CallTable] = None

    def active(self) -> bool:
        return bool(self.chain) or self.table is not None

    def perform(self, dispatcher: Any, conn: Any, flags: int, object_id: str, method_name: str, vargs: Any,
                kwargs: Any, call: list, annotations: Any) -> Any:
        """dispatcher._perform(...) with the hooks around it; the result (None for a oneway call)."""
        if flags & protocol.FLAGS_BATCH and method_name == "<batch>":
            kind = "batch"
        else:
            kind = _KINDS.get(method_name) or ("oneway" if flags & protocol.FLAGS_ONEWAY else "call")
        info = CallInfo("server", kind, object_id, method_name, vargs, kwargs, annotations,
                        current_context.correlation_id, getattr(conn, "sock_addr", None), flags)
        if kind == "oneway" and config.ONEWAY_THREADED:
            # the hooks run around the method on the oneway pool's thread (where it really runs)
            return dispatcher._perform(conn, flags, object_id, method_name, vargs, kwargs, call,
                                       functools.partial(self._wrap_oneway, info))
        self._start(info)
        try:
            result = dispatcher._perform(conn, flags, object_id, method_name, vargs, kwargs, call)
        except Deferred as deferred:
            # (asyncio server) an async def method's coroutine, awaited by the transport: the call ends with it
            deferred.coro = self._awaited(info, deferred.coro)
            raise
        except BaseException as x:
            self._end(info, None, x)
            raise
        self._end(info, result, None)
        return result

    async def _awaited(self, info: CallInfo, coro: Any) -> Any:
        try:
            result = await coro
        except BaseException as x:
            self._end(info, None, x)
            raise
        self._end(info, result, None)
        return result

    def _start(self, info: CallInfo) -> None:
        table = self.table
        if table is not None:
            table.started(info)
        chain = self.chain
        if chain.interceptors or chain.observers:
            info.response_annotations = current_context.response_annotations
            chain.before(info)

    def _end(self, info: CallInfo, result: Any, exception: Optional[BaseException]) -> None:
        info.finish(result, exception)
        if info.kind == "call" and result is not None and is_iterator(result):
            info.kind = "stream"
        chain = self.chain
        if chain.interceptors or chain.observers:
            chain.after(info)
        table = self.table
        if table is not None:
            table.finished(info)

    def _wrap_oneway(self, info: CallInfo, method: Callable) -> Callable:
        @functools.wraps(method)
        def observed(*vargs: Any, **kwargs: Any) -> Any:
            info.thread = threading.get_ident()
            self._start(info)
            try:
                result = method(*vargs, **kwargs)
            except BaseException as x:
                self._end(info, None, x)
                raise
            self._end(info, result, None)
            return result
        return observed

    def close(self) -> None:
        if self.table is not None:
            self.table.close()


class DaemonHooks:
    """The Daemon's methods for hooks and call tracking (a mixin of `Pyro5.server.Daemon`)."""

    _call_hooks: ServerHooks
    _dispatcher: Any

    def _sync_hooks(self) -> None:
        hooks = self._call_hooks
        self._dispatcher.hooks = hooks if hooks.active() else None

    def add_interceptor(self, hook: Any) -> None:
        """Adds an interceptor (an object with ``before(call)`` and/or ``after(call)``, plain or ``async def``:
        see Pyro5._hooks) that runs around every call to any object of this daemon."""
        check_hook(hook)
        chain = self._call_hooks.chain
        chain.interceptors = chain.interceptors + [hook]    # (a new list: calls running now keep theirs)
        self._sync_hooks()

    def remove_interceptor(self, hook: Any) -> None:
        """Removes an interceptor added with add_interceptor (ValueError if it is not there)."""
        chain = self._call_hooks.chain
        if hook not in chain.interceptors:
            raise ValueError("%r is not an interceptor of this daemon" % (hook,))
        chain.interceptors = [h for h in chain.interceptors if h is not hook]
        self._sync_hooks()

    def add_observer(self, observer: Callable[[str, CallInfo], Any]) -> None:
        """Adds an observer: observer(event, call) with event "started" or "finished", for every call."""
        check_observer(observer)
        chain = self._call_hooks.chain
        chain.observers = chain.observers + [observer]
        self._sync_hooks()

    def remove_observer(self, observer: Callable[[str, CallInfo], Any]) -> None:
        """Removes an observer added with add_observer (ValueError if it is not there)."""
        chain = self._call_hooks.chain
        if observer not in chain.observers:
            raise ValueError("%r is not an observer of this daemon" % (observer,))
        chain.observers = [o for o in chain.observers if o is not observer]
        self._sync_hooks()

    def set_hooks_loop(self, loop: Any) -> None:
        """Coroutine hooks (``async def before/after``) are awaited in this running event loop from now on
        (None: each worker thread runs them on a private loop). For an asyncio server whose calls run in
        worker threads (asyncio.to_thread): the hooks then share the server's loop and its objects."""
        self._call_hooks.chain.loop = loop

    def track_calls(self, enabled: bool = True, watchdog_threshold: Optional[float] = None) -> None:
        """Keeps (or stops keeping) the in-flight call table and the per-method statistics (config
        CALL_TRACKING does it for every new daemon). watchdog_threshold: seconds after which a running call is
        logged as a warning with its thread's stack (0: never; None: config.WATCHDOG_THRESHOLD)."""
        hooks = self._call_hooks
        if enabled:
            if hooks.table is None:
                hooks.table = CallTable(self)
            threshold = config.WATCHDOG_THRESHOLD if watchdog_threshold is None else watchdog_threshold
            hooks.table.set_threshold(float(threshold or 0))
        elif hooks.table is not None:
            hooks.table.close()
            hooks.table = None
        self._sync_hooks()

    def calls_in_flight(self) -> list:
        """The calls running now, oldest first: dicts with object, method, kind, client, started (time.time()),
        running (seconds), thread, thread_id, correlation_id. Empty unless call tracking is on (track_calls)."""
        table = self._call_hooks.table
        return table.in_flight() if table is not None else []

    def call_stats(self) -> dict:
        """Per-method statistics since tracking started: {"object.method": {count, errors, p50, p90, p99, max}}
        (latencies in seconds, over the last 1024 calls of each method). Empty unless call tracking is on."""
        table = self._call_hooks.table
        return table.stats() if table is not None else {}


def install(daemon: Any) -> None:
    """Called by Daemon.__init__: the daemon's hooks object, call tracking and OpenTelemetry per config."""
    daemon._call_hooks = ServerHooks(daemon)
    daemon._dispatcher.hooks = None
    if config.CALL_TRACKING or config.WATCHDOG_THRESHOLD > 0:
        daemon.track_calls(True)
    if config.OPENTELEMETRY:
        from . import otel
        tracing = otel.server_tracing()
        if tracing is not None:
            daemon.add_interceptor(tracing)
