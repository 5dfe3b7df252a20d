"""The asyncio server: ``AsyncDaemon``, a Daemon served by an event loop (``await daemon.requestLoop()``).

How it reads::

    @expose
    class Service:
        async def fetch(self, key): ...     # runs as a task on the daemon's loop
        def compute(self, n): ...           # runs in a bounded worker pool, never on the loop

    daemon = AsyncDaemon(host="127.0.0.1", port=0)        # the same arguments as Daemon
    uri = daemon.register(Service, "svc")
    async with daemon:
        await daemon.requestLoop()                        # until daemon.shutdown()

Everything else is the Daemon's: registration and instance modes, expose/oneway/behavior/callback, the
handshake and ``validateHandshake``, SSL (config.SSL*, client certificates), unix sockets, NAT, item streaming
(of generators and async generators), ``current_context`` per call, autoproxy, the name server. The engine is
``Pyro5.aio._svr_engine.AsyncioServer`` (also what ``config.SERVERTYPE = "asyncio"`` gives a plain Daemon);
it lets a client that asks for it (the INFL capability, see ``Pyro5._capabilities``) have many calls in flight
on one connection. Sync methods run in ``config.THREADPOOL_SIZE`` worker threads.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional

from Pyro5 import errors
from Pyro5.server import Daemon, DaemonObject

__all__ = ["AsyncDaemon"]

log = logging.getLogger("Pyro5.server")


class AsyncDaemon(Daemon):
    """A Pyro daemon served by asyncio: ``await daemon.requestLoop()`` on the running event loop; ``async with``
    closes it. Same constructor arguments as Daemon (``connected_socket`` is not supported)."""

    _servertype = "asyncio"

    def __init__(self, host: Any = None, port: int = 0, unixsocket: Optional[str] = None, nathost: Any = None,
                 natport: Optional[int] = None, interface: type = DaemonObject, connected_socket: Any = None) -> None:
        if connected_socket is not None:
            raise errors.DaemonError("AsyncDaemon cannot serve a connected socket: use Daemon(connected_socket=...)")
        super().__init__(host, port, unixsocket, nathost, natport, interface)

    async def requestLoop(self, loopCondition: Callable[[], bool] = lambda: True) -> None:  # type: ignore[override]
        """Serve on the running event loop until shutdown() (or until loopCondition() is false); the daemon is
        closed when shutdown() ended it."""
        if self._closed or self.transportServer is None:
            raise errors.DaemonError("the daemon is closed; create a new AsyncDaemon to serve requests")
        self._shutting_down.clear()
        self._loop_stopped.clear()
        self._loop_thread = threading.current_thread()
        log.info("daemon %s entering requestloop", self.locationStr)
        try:
            await self.transportServer.serve(lambda: not self._shutting_down.is_set() and loopCondition())
        finally:
            self._loop_thread = None
            self._loop_stopped.set()
            log.debug("daemon %s exits requestloop", self.locationStr)
            if self._close_after_loop:
                self.close()

    def shutdown(self) -> None:
        """End requestLoop() (from any thread or task; it does not wait); the daemon closes when the loop ends
        (at once when no loop runs)."""
        log.debug("daemon shutting down")
        self._shutting_down.set()
        server = self.transportServer
        if server is None:
            return
        if self._loop_stopped.is_set():
            self.close()
            return
        self._close_after_loop = True
        server.shutdown()

    async def __aenter__(self) -> "AsyncDaemon":
        return self.__enter__()     # type: ignore[return-value]

    async def __aexit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        self.close()
