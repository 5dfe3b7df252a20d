"""The asyncio socket server (``config.SERVERTYPE = "asyncio"``, and the engine of ``Pyro5.aio.server.AsyncDaemon``).

One event loop serves every connection (``Pyro5.aio._svr_conn.AioConnection``, an asyncio Protocol around a
``protocol.MessageReader``). User code never runs on the loop except ``async def`` methods: sync methods, the
handshake (``validateHandshake``), ``clientDisconnect`` and the housekeeping run in a bounded worker pool of
``config.THREADPOOL_SIZE`` threads ("Pyro-worker"). When every worker is busy, the connections whose calls wait
are not read from (backpressure); new connections are still accepted.

It grants the INFL capability (``Pyro5._capabilities``): a client that asks may have up to ``max_inflight``
calls in flight on its connection. The limits of ``daemon.limits`` (``Pyro5._svr_limits.ServerLimits``) apply:
a connection must send its connect message within ``handshake_limit()``, a started message (or TLS handshake)
must complete within ``partial_message_timeout`` (plus the transfer allowance), a peer that does not read its
results is closed after ``partial_message_timeout``, and with COMMTIMEOUT idle connections are closed.
A plain Daemon runs it with ``requestLoop()`` (the loop runs in the calling thread); an AsyncDaemon runs it on
the caller's loop (``await daemon.requestLoop()``).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import time
from typing import Any, Callable, Optional

from Pyro5 import config
from Pyro5._svr_common import (
    close_socket,
    comm_timeout,
    create_listening_socket,
    remove_unix_socket,
    server_ssl_context,
)
from Pyro5._svr_coro import CoroutineRunner
from Pyro5._svr_limits import DEFAULT_LIMITS, ServerLimits
from Pyro5.aio._svr_conn import AioConnection

__all__ = ["AsyncioServer", "DEFAULT_MAX_INFLIGHT"]

log = logging.getLogger("Pyro5.asyncioserver")

DEFAULT_MAX_INFLIGHT = 128     # calls one connection may have in flight (INFL); the transport's max_inflight


class AsyncioServer:
    """The asyncio transport of a daemon (see the module documentation)."""

    def __init__(self) -> None:
        self.daemon: Any = None
        self.sock: Optional[socket.socket] = None
        self.locationStr = ""
        self.shutting_down = False
        self.limits: ServerLimits = DEFAULT_LIMITS
        self.max_inflight = DEFAULT_MAX_INFLIGHT
        self.pool_size = 1
        self.connections: set[AioConnection] = set()
        self.event_loop: Any = None
        self.executor: Any = None
        self.slots: Any = None
        self._ssl_context: Any = None
        self._stop: Optional[asyncio.Event] = None
        self._combined: list[Any] = []
        self._watched: dict[Any, Any] = {}
        self._housekeeping: Optional[concurrent.futures.Future] = None

    def init(self, daemon: Any, host: Optional[str], port: int, unixsocket: Optional[str] = None) -> None:
        log.info("starting asyncio socketserver")
        self.daemon = daemon
        self.limits = daemon.limits
        self._ssl_context = server_ssl_context()
        self.sock, self.locationStr = create_listening_socket(host, port, unixsocket)
        self.sock.setblocking(False)
        self.pool_size = max(1, int(config.THREADPOOL_SIZE))

    def __repr__(self) -> str:
        return "<%s on %s; %d connections>" % (type(self).__name__, self.locationStr, len(self.connections))

    @property
    def sockets(self) -> list:
        return [self.sock] if self.sock is not None else []

    @property
    def selector(self) -> None:
        return None

    # ------------------------------------------------------------------ running

    def loop(self, loopCondition: Callable[[], bool] = lambda: True) -> None:
        """(Daemon.requestLoop) serve in a new event loop in this thread until shutdown() or not loopCondition()."""
        asyncio.run(self.serve(loopCondition))

    async def serve(self, loopCondition: Callable[[], bool] = lambda: True) -> None:
        """Serve on the running event loop until shutdown() or not loopCondition()."""
        if self.sock is None:
            return
        loop = self.event_loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.shutting_down = False
        self.executor = concurrent.futures.ThreadPoolExecutor(self.pool_size, thread_name_prefix="Pyro-worker")
        self.slots = asyncio.Semaphore(self.pool_size)
        self.daemon.dispatcher.coroutines = CoroutineRunner(loop, deferring=True)
        listener = self.sock.dup()      # (asyncio closes what it serves; the daemon's socket stays until close())
        kwargs: dict = {"sock": listener, "backlog": max(100, int(config.THREADPOOL_SIZE))}
        if self._ssl_context is not None:
            kwargs.update(ssl=self._ssl_context, ssl_handshake_timeout=self.limits.partial_message_timeout)
        factory = self._new_connection
        if self.sock.family == getattr(socket, "AF_UNIX", None):
            server = await loop.create_unix_server(factory, **kwargs)
        else:
            server = await loop.create_server(factory, **kwargs)
        watcher = loop.create_task(self._watch(loopCondition))
        try:
            await self._stop.wait()
        finally:
            watcher.cancel()
            server.close()
            self._unwatch_combined()
            for conn in list(self.connections):
                conn.transport.close()
            for _ in range(3):
                await asyncio.sleep(0)      # (the connections' connection_lost callbacks)
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.event_loop = None
            log.debug("asyncio server exits its loop")

    def _new_connection(self) -> AioConnection:
        return AioConnection(self)

    def call_in_loop(self, func: Callable, *args: Any) -> None:
        """Call func(*args) on the server's loop (from any thread)."""
        loop = self.event_loop
        if loop is None or loop.is_closed():
            return
        try:
            if _running_loop() is loop:
                func(*args)
            else:
                loop.call_soon_threadsafe(func, *args)
        except RuntimeError:    # (the loop closed meanwhile)
            pass

    def shutdown(self) -> None:
        self.shutting_down = True
        if self._stop is not None:
            self.call_in_loop(self._stop.set)

    def wakeup(self) -> None:
        """(nothing to wake: the loop reacts to shutdown() at once)"""

    def close(self) -> None:
        self.shutdown()
        sock, self.sock = self.sock, None
        if sock is not None:
            remove_unix_socket(sock)
            close_socket(sock)

    # ------------------------------------------------------------------ connections ending, housekeeping

    def disconnected(self, conn: AioConnection) -> None:
        """(connection_lost) a connection ended: its streams, resources and clientDisconnect (in a worker)."""
        daemon = self.daemon
        if daemon is None:
            return
        handshaked = conn.handshaked

        def cleanup() -> None:
            if handshaked:
                daemon._clientDisconnected(conn)
            conn.release_resources()
        executor = self.executor
        try:
            if executor is None:
                raise RuntimeError("no executor")
            executor.submit(cleanup)
        except RuntimeError:    # (the pool is shut down already)
            cleanup()

    async def _watch(self, loopCondition: Callable[[], bool]) -> None:
        limits = self.limits
        while not self.shutting_down:
            await asyncio.sleep(limits.watch_poll)
            try:
                if not loopCondition():
                    self.shutdown()
                    return
            except Exception:
                log.warning("loopCondition raised an exception: stopping the loop", exc_info=True)
                self.shutdown()
                return
            now = time.monotonic()
            idle = comm_timeout()
            for conn in list(self.connections):
                reason = conn.check(now, limits, idle)
                if reason:
                    log.info("closing connection from %s: %s", conn.sock_addr, reason)
                    conn.transport.close()
            self._sync_combined()
            running = self._housekeeping
            if running is None or running.done():
                self._housekeeping = self.executor.submit(self.daemon._housekeeping)

    # ------------------------------------------------------------------ other event sources (combine)

    def combine(self, other: Any) -> None:
        """Serve another event source in this loop: an object with `sockets` and `events(sockets)` that handles
        a readable socket quickly (the name server's broadcast responder). Daemons cannot be combined with it."""
        if hasattr(other, "transportServer"):
            raise TypeError("the asyncio server cannot combine daemons: run each daemon's requestLoop (or serve "
                            "each AsyncDaemon on the same event loop)")
        self._combined.append(other)
        self.call_in_loop(self._sync_combined)

    def events(self, eventsockets: Any) -> None:
        raise TypeError("the asyncio server has no events() for an external loop: run requestLoop(), or an "
                        "AsyncDaemon on your event loop")

    def _sync_combined(self) -> None:
        loop = self.event_loop
        if loop is None:
            return
        wanted = {s: other for other in self._combined for s in other.sockets}
        for s in list(self._watched):
            if s not in wanted:
                with contextlib.suppress(Exception):
                    loop.remove_reader(s)
                del self._watched[s]
        for s, other in wanted.items():
            if s not in self._watched:
                loop.add_reader(s, self._combined_event, other, s)
                self._watched[s] = other

    def _combined_event(self, other: Any, s: Any) -> None:
        try:
            other.events([s])
        except Exception:
            log.exception("error handling events of combined server")

    def _unwatch_combined(self) -> None:
        loop = self.event_loop
        for s in list(self._watched):
            with contextlib.suppress(Exception):
                loop.remove_reader(s)
        self._watched.clear()


def _running_loop() -> Any:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
