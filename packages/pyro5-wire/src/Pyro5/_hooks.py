"""Call hooks shared by the client and the server: what a hook sees of a call, and how hooks are run.

An *interceptor* is any object with a ``before(call)`` and/or an ``after(call)`` method (subclass `Interceptor`
to get no-op defaults). ``before`` runs when the call starts (the server: after the whole request message was
read and decoded; the client: before the request is built, so it can add request annotations), ``after`` when
it has ended (``call.result`` or ``call.exception`` and ``call.duration`` are set). Both may be ``async def``:

- where the call runs in a thread (the sync Proxy, the thread-pool and multiplex servers) a coroutine returned
  by a hook runs to completion there, on a private event loop of that thread (or, when the thread already runs
  an event loop, on a helper thread); when the chain has a ``loop`` (``daemon.set_hooks_loop(loop)``: an
  asyncio server that runs the calls in worker threads) it is awaited in that loop while the thread waits;
- on the asyncio side (`Pyro5.aio.client.AsyncProxy`, an asyncio transport using `HookChain.abefore` /
  `HookChain.aafter`) it is awaited.

An *observer* is a plain callable ``observer(event, call)`` with event ``"started"`` or ``"finished"``: never
awaited, meant for cheap metrics.

A hook (interceptor or observer) that raises does not break the call: the error is logged (with traceback, on
the side's logger, "Pyro5.server" or "Pyro5.client") and the call goes on; the other hooks still run.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from typing import Any, Awaitable, Callable, Iterable, Iterator, Optional, Sequence

__all__ = ["CallInfo", "Interceptor", "HookChain", "run_coroutine", "check_hook", "check_observer"]

_perf_counter = time.perf_counter
_WALL_OFFSET = time.time() - time.perf_counter()     # (started: one clock read per call instead of two)


class CallInfo:
    """One remote call as the hooks see it (the same object for ``before`` and ``after``).

    side: "client" or "server"; kind: "call", "oneway", "batch", "getattr", "setattr" ("stream" after a call
    whose result is an item stream); object_id, method, args, kwargs: the call; annotations: the request's
    annotations (on the client a dict that ``before`` may add to: they go out with the request);
    response_annotations: the response's (on the server a dict that hooks may add to: they go out with the
    response); correlation_id; peer: the client's address (server) or the daemon's location (client);
    started (time.time()), duration (seconds, set before ``after``), result / exception; thread: the ident of the
    thread that runs it; store: a dict for the hooks' own per-call state."""

    __slots__ = ("side", "kind", "object_id", "method", "args", "kwargs", "annotations", "response_annotations",
                 "correlation_id", "peer", "duration", "result", "exception", "thread", "store", "_t0", "flags")

    def __init__(self, side: str, kind: str, object_id: str, method: str, args: Any, kwargs: Any,
                 annotations: dict, correlation_id: Any, peer: Any, flags: int = 0) -> None:
        self.side = side
        self.kind = kind
        self.object_id = object_id
        self.method = method
        self.args = args
        self.kwargs = kwargs
        self.annotations = annotations
        self.response_annotations: Optional[dict] = None
        self.correlation_id = correlation_id
        self.peer = peer
        self.flags = flags
        self._t0 = _perf_counter()
        self.duration: Optional[float] = None
        self.result: Any = None
        self.exception: Optional[BaseException] = None
        self.thread = threading.get_ident()
        self.store: dict = {}

    @property
    def started(self) -> float:
        """when the call started (time.time())"""
        return self._t0 + _WALL_OFFSET

    @property
    def running(self) -> float:
        """seconds since the call started (its duration once it has ended)"""
        return self.duration if self.duration is not None else _perf_counter() - self._t0

    def finish(self, result: Any = None, exception: Optional[BaseException] = None) -> None:
        self.duration = _perf_counter() - self._t0
        self.result = result
        self.exception = exception

    def __repr__(self) -> str:
        return "<CallInfo %s %s %s.%s>" % (self.side, self.kind, self.object_id, self.method)


class Interceptor:
    """Base class of interceptors: override ``before`` and/or ``after`` (plain or ``async def``)."""

    def before(self, call: CallInfo) -> Optional[Awaitable[None]]:
        """the call starts"""
        return None

    def after(self, call: CallInfo) -> Optional[Awaitable[None]]:
        """the call has ended: call.result or call.exception, call.duration"""
        return None


class _PrivateLoop:
    """A thread's private event loop for coroutine hooks, closed when the thread ends (its locals go)."""

    __slots__ = ("loop",)

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        try:
            self.loop.close()
        except Exception:   # (interpreter shutdown)
            pass


_local = threading.local()


def run_coroutine(coro: Any, loop: Optional[asyncio.AbstractEventLoop] = None) -> Any:
    """Runs a coroutine to completion from synchronous code and returns its result: in `loop` when given and
    running in another thread (an asyncio server's loop: the coroutine is awaited there while this thread
    waits), else on this thread's private event loop, or on a helper thread when this thread already runs an
    event loop."""
    if loop is not None and loop.is_running() and not _runs_in(loop):
        return asyncio.run_coroutine_threadsafe(coro, loop).result()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        private = getattr(_local, "private", None)
        if private is None or private.loop.is_closed():
            private = _local.private = _PrivateLoop()
        return private.loop.run_until_complete(coro)
    box: list = []

    def run() -> None:
        try:
            box.append((True, asyncio.run(coro)))
        except BaseException as x:  # noqa: BLE001 - handed to the caller
            box.append((False, x))
    helper = threading.Thread(target=run, name="Pyro-hook", daemon=True)
    helper.start()
    helper.join()
    ok, value = box[0]
    if not ok:
        raise value
    return value


def _runs_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class HookChain:
    """The interceptors and observers of one side (a daemon, a proxy plus the global client hooks)."""

    __slots__ = ("interceptors", "observers", "log", "loop")

    def __init__(self, log: logging.Logger, interceptors: Iterable[Any] = (), observers: Iterable[Any] = ()
                 ) -> None:
        self.interceptors: list = list(interceptors)
        self.observers: list = list(observers)
        self.log = log
        #: the event loop in which before()/after() await coroutine hooks (an asyncio server's), None: see
        #: run_coroutine
        self.loop: Optional[asyncio.AbstractEventLoop] = None

    def __bool__(self) -> bool:
        return bool(self.interceptors or self.observers)

    def _failed(self, hook: Any, where: str, call: CallInfo) -> None:
        self.log.warning("%s hook %r failed for %s.%s (the call goes on)", where, hook, call.object_id,
                         call.method, exc_info=True)

    def _observe(self, event: str, call: CallInfo) -> None:
        for observer in self.observers:
            try:
                observer(event, call)
            except Exception:
                self._failed(observer, event, call)

    def _methods(self, name: str, extra: Sequence[Any], reverse: bool) -> Iterator[tuple[Any, Callable]]:
        """(hook, its method `name`) of the interceptors, then `extra`'s (reverse: backwards, `extra` first)"""
        for hooks in ((extra, self.interceptors) if reverse else (self.interceptors, extra)):
            for hook in (reversed(hooks) if reverse else hooks):
                method = getattr(hook, name, None)
                if method is not None:
                    yield hook, method

    def _run(self, hook: Any, method: Callable, where: str, call: CallInfo) -> None:
        try:
            outcome = method(call)
            if outcome is not None and inspect.isawaitable(outcome):
                run_coroutine(_awaited(outcome), self.loop)
        except Exception:
            self._failed(hook, where, call)

    async def _arun(self, hook: Any, method: Callable, where: str, call: CallInfo) -> None:
        try:
            outcome = method(call)
            if outcome is not None and inspect.isawaitable(outcome):
                await outcome
        except Exception:
            self._failed(hook, where, call)

    def before(self, call: CallInfo, extra: Sequence[Any] = ()) -> None:
        """observers' "started", then the interceptors' before (in registration order, then those of `extra`:
        a proxy's own); coroutines run here"""
        if self.observers:
            self._observe("started", call)
        for hook, method in self._methods("before", extra, False):
            self._run(hook, method, "before", call)

    def after(self, call: CallInfo, extra: Sequence[Any] = ()) -> None:
        """the interceptors' after (in reverse order: `extra` first), then the observers' "finished";
        coroutines run here"""
        for hook, method in self._methods("after", extra, True):
            self._run(hook, method, "after", call)
        if self.observers:
            self._observe("finished", call)

    async def abefore(self, call: CallInfo, extra: Sequence[Any] = ()) -> None:
        """before() for asyncio code: coroutines are awaited"""
        if self.observers:
            self._observe("started", call)
        for hook, method in self._methods("before", extra, False):
            await self._arun(hook, method, "before", call)

    async def aafter(self, call: CallInfo, extra: Sequence[Any] = ()) -> None:
        """after() for asyncio code: coroutines are awaited"""
        for hook, method in self._methods("after", extra, True):
            await self._arun(hook, method, "after", call)
        if self.observers:
            self._observe("finished", call)


async def _awaited(awaitable: Awaitable) -> Any:
    return await awaitable


def check_hook(hook: Any) -> None:
    """TypeError unless hook looks like an interceptor (has before or after)."""
    if not callable(getattr(hook, "before", None)) and not callable(getattr(hook, "after", None)):
        raise TypeError("an interceptor needs a before(call) and/or an after(call) method, got %r" % (hook,))


def check_observer(observer: Callable) -> None:
    if not callable(observer):
        raise TypeError("an observer is a callable observer(event, call), got %r" % (observer,))
