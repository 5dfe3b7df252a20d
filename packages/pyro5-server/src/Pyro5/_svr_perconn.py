"""The thread pool server's one-thread-per-connection mode (config.THREADPOOL_PER_CONNECTION = True).

As in Pyro5 5.15: every client connection gets a worker thread from the pool for as long as it stays connected
(programs that keep per-connection state in thread-locals rely on that). When all THREADPOOL_SIZE workers are
taken, a new connection is refused with a CONNECTFAIL message that says so (the proxy raises
CommunicationError). A connection must send its connect message within the handshake time limit, and a message
that has started must be completed in time (see _svr_limits: partial_message_timeout), so a client that stalls
mid-message can't hold a worker forever; a client idle between calls keeps its worker (COMMTIMEOUT limits that).
"""
from __future__ import annotations

import logging
import socket
import threading
from typing import Any, Optional

from . import config, errors
from ._svr_common import ClientConnection, close_socket, comm_timeout, wrap_ssl
from ._svr_conn import ThreadConnection
from ._svr_dispatch import answer_message
from ._svr_limits import ServerLimits
from ._svr_pool import Pool, PoolError
from ._svr_serve import PER_CONNECTION_LOG, answer_next, close_client

__all__ = ["PerConnectionServing"]

log = logging.getLogger("Pyro5.threadpoolserver")



class PerConnectionServing:
    """Mixin of the thread pool server: serves an accepted connection on one worker until it closes."""

    daemon: Any
    pool: Optional[Pool]
    shutting_down: bool
    _ssl_context: Any
    limits: ServerLimits

    def _init_per_connection(self) -> None:
        self._pc_connections: set[ClientConnection] = set()
        self._pc_lock = threading.Lock()
        self._refusers = threading.BoundedSemaphore(self.limits.max_refusers)

    def _accept_per_connection(self, csock: socket.socket, caddr: Any) -> None:
        csock.setblocking(True)
        csock.settimeout(comm_timeout())
        try:
            self.pool.submit(lambda: self._serve_connection(csock, caddr))  # type: ignore[union-attr]
        except PoolError as x:
            self._refuse(csock, caddr, str(x))

    def _refuse(self, csock: socket.socket, caddr: Any, reason: str) -> None:
        log.warning("refusing connection from %s: %s (THREADPOOL_SIZE=%d)", caddr, reason, config.THREADPOOL_SIZE)
        if not self._refusers.acquire(blocking=False):
            close_socket(csock)
            return
        message = ("server is busy: too many connections, all %d worker threads are in use; try again later, "
                   "or increase THREADPOOL_SIZE on the server (or use SERVERTYPE=multiplex)"
                   % (self.pool.max_workers if self.pool else config.THREADPOOL_SIZE))

        def refuse() -> None:
            try:
                csock.settimeout(self.limits.refuse_timeout)
                sock = wrap_ssl(csock, self._ssl_context) if self._ssl_context else csock
                conn = ClientConnection(sock, caddr)
                self.daemon._handshake(conn, denied_reason=message)
            except Exception as x:
                log.debug("refusing connection from %s: %s", caddr, x)
            finally:
                close_socket(csock)
                self._refusers.release()
        thread = threading.Thread(target=refuse, name="Pyro-refuse")
        thread.daemon = True
        thread.start()

    def _serve_connection(self, csock: socket.socket, caddr: Any) -> None:
        conn: Optional[ThreadConnection] = None
        daemon = self.daemon
        try:
            sock: Any = csock
            if self._ssl_context:
                try:
                    sock = wrap_ssl(csock, self._ssl_context, self.limits.partial_message_timeout)
                except Exception as x:
                    log.warning("SSL handshake with %s failed: %s", caddr, x)
                    return
            idle_timeout = comm_timeout()
            # a silent client must not hold a worker forever: the connect message must come within a limit
            conn = ThreadConnection(sock, caddr, self.limits.handshake_limit(), limits=self.limits)
            with self._pc_lock:
                if self.shutting_down:
                    return
                self._pc_connections.add(conn)
            try:
                first: Any = conn.read_message()
            except errors.ProtocolError as x:
                first = x
            except (errors.ConnectionClosedError, errors.TimeoutError, OSError) as x:
                log.debug("client %s went away during handshake: %s", caddr, x)
                return
            if not answer_message(daemon.dispatcher, conn, first):
                return
            conn.idle_timeout = idle_timeout
            self._serve_requests(conn)
        finally:
            if conn is not None:
                with self._pc_lock:
                    self._pc_connections.discard(conn)
                close_client(daemon, conn)
            else:
                close_socket(csock)

    def _serve_requests(self, conn: ThreadConnection) -> None:
        # (idle between messages is fine; a started one has a deadline)
        dispatcher = self.daemon.dispatcher
        while not self.shutting_down:
            if not answer_next(log, PER_CONNECTION_LOG, dispatcher, conn, conn.read_message):
                return

    def _close_per_connection(self) -> None:
        with self._pc_lock:
            connections = list(self._pc_connections)
            self._pc_connections.clear()
        for conn in connections:
            close_socket(conn.sock)      # unblocks the worker that is reading from it
