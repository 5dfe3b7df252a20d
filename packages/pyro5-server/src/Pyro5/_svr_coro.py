"""``async def`` methods on every daemon: where the dispatcher's coroutines (and async generators) run.

A method call that returns a coroutine (an ``async def`` method) or an async generator gives it to the
dispatcher's `CoroutineRunner` (``Dispatcher.coroutines``):

- the thread pool and multiplex servers: one event loop thread per daemon ("Pyro-asyncio"), started at the first
  such call and stopped by ``Daemon.close()``; the calling worker waits for the result (a oneway call does not);
- the asyncio server (``Pyro5.aio.server``) gives its own loop, and its workers do not wait: the runner raises
  `Deferred` out of the dispatcher, and the transport awaits the coroutine as a task of its loop and then makes
  the reply (``Dispatcher.result_message`` / ``failure_message``).

The coroutine runs in the call's context (``current_context`` of the call). An async generator becomes an
`AsyncGenIterator` (an ordinary iterator whose steps run on the loop), so item streaming works as for generators.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import types
from typing import Any, Optional

__all__ = ["ASYNC_RESULT_TYPES", "Deferred", "AsyncGenIterator", "CoroutineRunner"]

log = logging.getLogger("Pyro5.server")

ASYNC_RESULT_TYPES = (types.CoroutineType, types.AsyncGeneratorType)
_CLOSE_TIMEOUT = 5.0


class Deferred(BaseException):
    """(asyncio server) The call's coroutine, to be awaited by the transport; `call` is [method, vargs, kwargs].
    A BaseException so that the dispatcher's error handling lets it through."""

    def __init__(self, coro: Any, call: Any) -> None:
        super().__init__("deferred coroutine")
        self.coro = coro
        self.call = list(call)


class AsyncGenIterator:
    """An iterator over an async generator whose steps run on `loop` (called from any thread but the loop's)."""

    def __init__(self, agen: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._agen = agen
        self._loop = loop

    def __iter__(self) -> "AsyncGenIterator":
        return self

    def __next__(self) -> Any:
        try:
            return asyncio.run_coroutine_threadsafe(self._agen.__anext__(), self._loop).result()
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        loop = self._loop
        if loop.is_closed():
            return
        if _running_loop() is loop:
            loop.create_task(self._agen.aclose())    # (on the loop itself: must not wait for it)
            return
        try:
            asyncio.run_coroutine_threadsafe(self._agen.aclose(), loop).result(_CLOSE_TIMEOUT)
        except Exception:
            log.debug("closing an async generator failed", exc_info=True)


def _running_loop() -> Optional[asyncio.AbstractEventLoop]:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class CoroutineRunner:
    """Runs async def methods' coroutines on an event loop: a given one (`loop`), or one in a thread of its own
    that is started at the first call. With `deferring`, a call's coroutine is handed to the transport
    (`Deferred`) instead of being waited for."""

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop] = None, deferring: bool = False) -> None:
        self._loop = loop
        self._deferring = deferring
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None:
            with self._lock:
                if self._loop is None:
                    started = threading.Event()
                    new_loop = asyncio.new_event_loop()

                    def run() -> None:
                        asyncio.set_event_loop(new_loop)
                        new_loop.call_soon(started.set)
                        new_loop.run_forever()
                        # stopped by close(): what still runs is cancelled (a worker waiting for it gets
                        # CancelledError instead of waiting for ever), then the loop is closed
                        tasks = asyncio.all_tasks(new_loop)
                        for task in tasks:
                            task.cancel()
                        if tasks:
                            new_loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                        new_loop.close()
                    self._thread = threading.Thread(target=run, name="Pyro-asyncio", daemon=True)
                    self._thread.start()
                    started.wait(_CLOSE_TIMEOUT)
                    self._loop = new_loop
                loop = self._loop
        return loop

    def run(self, dispatcher: Any, conn: Any, result: Any, call: Any, oneway: bool, deferrable: bool) -> Any:
        """What the method call's `result` (a coroutine or async generator) gives: its value (waiting for it),
        None for a oneway call (it runs on), an iterator for an async generator; or raises Deferred."""
        loop = self.loop()
        if isinstance(result, types.AsyncGeneratorType):
            return AsyncGenIterator(result, loop)
        if oneway:
            future = asyncio.run_coroutine_threadsafe(result, loop)   # (in a copy of the call's context)
            method, vargs, kwargs = call

            def done(fut: concurrent.futures.Future) -> None:
                if not fut.cancelled() and fut.exception() is not None:
                    dispatcher.method_failed(conn, method, vargs, kwargs, fut.exception())
            future.add_done_callback(done)
            return None
        if deferrable and self._deferring:
            raise Deferred(result, call)
        if _running_loop() is loop:
            result.close()
            raise RuntimeError("an async def method cannot be waited for on the daemon's own event loop")
        return asyncio.run_coroutine_threadsafe(result, loop).result()

    def close(self) -> None:
        """Stops the loop thread (when this runner started one)."""
        with self._lock:
            thread, self._thread = self._thread, None
            loop = self._loop
            if thread is not None:
                self._loop = None
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):     # (closed already)
            loop.call_soon_threadsafe(loop.stop)
        if thread is not threading.current_thread():
            thread.join(_CLOSE_TIMEOUT)
