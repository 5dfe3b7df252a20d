"""The daemon's bounded pool for oneway calls (config.ONEWAY_THREADED): at most THREADPOOL_SIZE threads run
them, more calls wait in the queue (none is lost); close() joins the threads.
The thread-pool server (not in per-connection mode) attaches its own worker pool instead: oneway calls then run
on the same THREADPOOL_SIZE workers as the requests (in the pool's unbounded queue), so the process has one
thread bound; the server closes (joins) that pool."""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional

from ._svr_pool import Pool, PoolError
from .callcontext import current_context

__all__ = ["OnewayRunner"]

log = logging.getLogger("Pyro5.server")


class OnewayRunner:
    """Runs oneway calls on threads of a pool that is created when the first oneway call arrives."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._pool: Optional[Pool] = None
        self._lock = threading.Lock()
        self._closed = False
        self._shared: Optional[Pool] = None     # the transport's worker pool, when attached

    @property
    def num_workers(self) -> int:
        pool = self._pool
        return pool.num_workers if pool is not None else 0

    def attach(self, pool: Optional[Pool]) -> None:
        """Run the oneway calls on this (the server's) pool from now on; None: on an own pool again."""
        self._shared = pool

    def submit(self, method: Callable, vargs: Any, kwargs: Any,
               on_error: Callable[[Any, Callable, Any, Any, Exception], None]) -> None:
        """Run method(*vargs, **kwargs) on a pool thread, in a copy of the current call context.
        on_error(client, method, vargs, kwargs, exception) is called when it raises."""
        context = current_context.to_global()

        def run() -> None:
            current_context.from_global(context)
            try:
                method(*vargs, **kwargs)
            except Exception as x:
                log.debug("oneway call %s failed: %s: %s", getattr(method, "__qualname__", method),
                          type(x).__name__, x)
                on_error(context.get("client"), method, vargs, kwargs, x)
            finally:
                current_context.client = None
        shared = self._shared
        if shared is not None:
            try:
                shared.submit(run, unbounded=True)
                return
            except PoolError:   # (the server is closing: run the call here rather than lose it)
                run()
                return
        pool = self._pool
        if pool is None:
            with self._lock:
                if self._pool is None and not self._closed:
                    self._pool = Pool(0, self._size, name="Pyro-oneway", max_queued=None)
                pool = self._pool
        try:
            if pool is None:
                raise PoolError("the daemon is closed")
            pool.submit(run)
        except PoolError:       # (the daemon is closing: run the call here rather than lose it)
            run()

    def close(self, join_timeout: float) -> bool:
        """Stops the pool after the running and queued calls (waits at most join_timeout seconds for them);
        True when every thread ended."""
        with self._lock:
            self._closed = True
            self._shared = None
            pool, self._pool = self._pool, None
        if pool is None:
            return True
        if pool.close(join_timeout=join_timeout):
            return True
        log.warning("daemon closed while oneway calls are still running (%d threads)", pool.num_workers)
        return False
