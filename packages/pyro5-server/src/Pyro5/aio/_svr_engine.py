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
import threading
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
_START_TIMEOUT = 10.0


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
        self._condition: Optional[Callable[[], bool]] = None
        self._server: Any = None
        self._watcher: Any = None
        self._thread: Optional[threading.Thread] = None     # (Daemon.requestLoop: the loop's own thread)
        self._loop_stop = threading.Event()
        self._workers: set[int] = set()

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

    async def serve(self, loopCondition: Callable[[], bool] = lambda: True) -> None:
        """(AsyncDaemon.requestLoop) serve on the running event loop until shutdown() or not loopCondition()."""
        if self.sock is None:
            return
        self._condition = loopCondition
        self.shutting_down = False
        await self._start()
        try:
            await self._listen()
            await self._stop.wait()     # type: ignore[union-attr]
        finally:
            await self._finish()

    def loop(self, loopCondition: Callable[[], bool] = lambda: True) -> None:
        """(Daemon.requestLoop) serve until shutdown() or not loopCondition(): the event loop runs in a thread of its
        own ("Pyro-asyncio-loop", started by the first call, ended by close()); this thread waits. When it returns,
        no new connections are accepted; the connections there are stay until close()."""
        if self.sock is None:
            return
        self._condition = loopCondition
        self.shutting_down = False
        self._loop_stop.clear()
        if self._thread is None:
            ready = threading.Event()
            self._thread = threading.Thread(target=asyncio.run, args=(self._run_thread(ready),),
                                            name="Pyro-asyncio-loop", daemon=True)
            self._thread.start()
            ready.wait(_START_TIMEOUT)
        else:
            self.call_in_loop(self._relisten)
        try:
            while not self._loop_stop.wait(self.limits.poll_interval()):
                if not self._thread.is_alive():
                    break
        finally:
            self._condition = None
            self.call_in_loop(self._unlisten)

    async def _run_thread(self, ready: threading.Event) -> None:
        try:
            await self._start()
            await self._listen()
        finally:
            ready.set()
        try:
            await self._stop.wait()     # type: ignore[union-attr]
        finally:
            await self._finish()

    async def _start(self) -> None:
        loop = self.event_loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.executor = concurrent.futures.ThreadPoolExecutor(self.pool_size, thread_name_prefix="Pyro-worker",
                                                              initializer=self._worker_started)
        self.slots = asyncio.Semaphore(self.pool_size)
        self.daemon.dispatcher.coroutines = CoroutineRunner(loop, deferring=True)
        self._watcher = loop.create_task(self._watch())

    def _worker_started(self) -> None:
        self._workers.add(threading.get_ident())

    async def _listen(self) -> None:
        if self.sock is None or self._server is not None:
            return
        loop = self.event_loop
        listener = self.sock.dup()      # (asyncio closes what it serves; the daemon's socket stays until close())
        kwargs: dict = {"sock": listener, "backlog": max(100, int(config.THREADPOOL_SIZE))}
        if self._ssl_context is not None:
            kwargs.update(ssl=self._ssl_context, ssl_handshake_timeout=self.limits.partial_message_timeout)
        if self.sock.family == getattr(socket, "AF_UNIX", None):
            self._server = await loop.create_unix_server(self._new_connection, **kwargs)
        else:
            self._server = await loop.create_server(self._new_connection, **kwargs)

    def _relisten(self) -> None:
        self.event_loop.create_task(self._listen())

    def _unlisten(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()

    async def _finish(self) -> None:
        """Stop: no new connections; the calls in flight get limits.worker_join_timeout to finish (their replies go
        out), then every connection is closed and the workers are let go."""
        self._unlisten()
        if self._watcher is not None:
            self._watcher.cancel()
        self._unwatch_combined()
        deadline = time.monotonic() + self.limits.worker_join_timeout
        while any(conn.running for conn in self.connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self.connections):
            conn.transport.close()
        for _ in range(3):
            await asyncio.sleep(0)      # (the connections' connection_lost callbacks)
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.event_loop = None
        log.debug("asyncio server stopped")

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
        """End requestLoop (Daemon: the loop thread serves on until close(); AsyncDaemon: the loop stops)."""
        self.shutting_down = True
        if self._thread is not None:
            self._loop_stop.set()
        elif self._stop is not None:
            self.call_in_loop(self._stop.set)

    def wakeup(self) -> None:
        """(nothing to wake: the loop reacts to shutdown() at once)"""

    def close(self) -> None:
        self.shutting_down = True
        self._loop_stop.set()
        if self._stop is not None:
            self.call_in_loop(self._stop.set)
        thread, self._thread = self._thread, None
        current = threading.current_thread()
        if thread is not None and thread is not current and threading.get_ident() not in self._workers:
            thread.join(self.limits.worker_join_timeout + _START_TIMEOUT)
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

    async def _watch(self) -> None:
        limits = self.limits
        while True:
            await asyncio.sleep(limits.watch_poll)
            condition = self._condition
            try:
                if condition is not None and not self.shutting_down and not condition():
                    self.shutdown()
            except Exception:
                log.warning("loopCondition raised an exception: stopping the loop", exc_info=True)
                self.shutdown()
            now = time.monotonic()
            idle = comm_timeout()
            for conn in list(self.connections):
                reason = conn.check(now, limits, idle)
                if reason:
                    log.info("closing connection from %s: %s", conn.sock_addr, reason)
                    conn.transport.abort()      # (close() would wait to send what a stuck peer does not take)
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
