"""Socket server based on a worker thread pool. Doesn't use select.

Every client connection (proxy) gets a worker thread from the pool for as long as it stays connected.
The pool holds between THREADPOOL_SIZE_MIN and THREADPOOL_SIZE threads: it grows on demand and shrinks
again when workers stay idle. When all THREADPOOL_SIZE workers are busy, a new connection is refused with
a CONNECTFAIL message that says so (the proxy raises CommunicationError), instead of hanging.
A connection must send its connect message within _HANDSHAKE_TIMEOUT (or COMMTIMEOUT), and a message that
has started must be completed in time (see _svr_conn.PARTIAL_MESSAGE_TIMEOUT), so a client that stalls
mid-message (or takes none of its result for that long) can't hold a worker forever; a client idle between
calls keeps its worker (COMMTIMEOUT limits that).
"""
from __future__ import annotations

import logging
import queue
import selectors
import socket
import threading
import time
from typing import Any, Callable, Optional

from . import _svr_conn, config, errors
from ._svr_common import (
    ClientConnection,
    CombinedSockets,
    Wakeup,
    close_socket,
    comm_timeout,
    create_listening_socket,
    remove_unix_socket,
    server_ssl_context,
    wrap_ssl,
)
from ._svr_conn import ThreadConnection

__all__ = ["SocketServer_Threadpool", "Pool", "PoolError", "NoFreeWorkersError"]

log = logging.getLogger("Pyro5.threadpoolserver")

_IDLE_TIMEOUT = 5.0         # seconds an extra (above the minimum) worker may stay idle before it stops
_MAX_REFUSERS = 16          # concurrent threads telling clients that the server is busy
_REFUSE_TIMEOUT = 3.0
_HANDSHAKE_TIMEOUT = 30.0   # without COMMTIMEOUT: a client must send its connect message within this time
_STOP = object()


class PoolError(Exception):
    """The pool has no free worker (or is closed)."""


class NoFreeWorkersError(PoolError):
    """All worker threads of the pool are busy (and it is at its maximum size)."""


class Pool:
    """A dynamically sized pool of worker threads that run jobs (callables)."""

    def __init__(self, min_workers: int, max_workers: int, name: str = "Pyro-worker") -> None:
        self.min_workers = max(0, int(min_workers))
        self.max_workers = max(1, int(max_workers), self.min_workers)
        self._name = name
        self._jobs: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._workers: set[threading.Thread] = set()
        self._busy_threads: set[threading.Thread] = set()
        self._idle = 0
        self._busy = 0
        self._closed = False
        self._counter = 0
        with self._lock:
            for _ in range(self.min_workers):
                self._idle += 1
                self._spawn(None)

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; %d workers, %d busy>" % (self.__module__, self.__class__.__name__, id(self),
                                                       len(self._workers), self._busy)

    @property
    def num_workers(self) -> int:
        return len(self._workers)

    @property
    def num_busy(self) -> int:
        return self._busy

    @property
    def busy(self) -> frozenset:
        """the worker threads that are running a job (read only snapshot, as the original's pool.busy)"""
        with self._lock:
            return frozenset(self._busy_threads)

    @property
    def idle(self) -> frozenset:
        """the worker threads that wait for a job (read only snapshot, as the original's pool.idle)"""
        with self._lock:
            return frozenset(self._workers - self._busy_threads)

    def _spawn(self, job: Any) -> None:
        self._counter += 1
        thread = threading.Thread(target=self._work, args=(job,), name="%s-%d" % (self._name, self._counter))
        thread.daemon = True
        self._workers.add(thread)
        thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        """Run the job on a free worker; raises PoolError when none is free and the pool is at its maximum."""
        with self._lock:
            if self._closed:
                raise PoolError("pool is closed")
            if self._idle > 0:
                self._idle -= 1
                self._busy += 1
                self._jobs.put(job)
                return
            if len(self._workers) < self.max_workers:
                self._busy += 1
                self._spawn(job)
                return
        raise NoFreeWorkersError("no free workers: all %d worker threads are busy" % self.max_workers)

    def _work(self, job: Any) -> None:
        me = threading.current_thread()
        try:
            while True:
                if job is None:
                    try:
                        job = self._jobs.get(timeout=_IDLE_TIMEOUT)
                    except queue.Empty:
                        with self._lock:
                            if len(self._workers) > self.min_workers and self._idle > 0 and self._jobs.empty():
                                self._idle -= 1
                                return
                        continue
                if job is _STOP:
                    return
                with self._lock:
                    self._busy_threads.add(me)
                try:
                    job()
                except Exception:
                    log.exception("unexpected error in worker thread")
                job = None
                with self._lock:
                    self._busy_threads.discard(me)
                    self._busy -= 1
                    if self._closed:
                        return
                    self._idle += 1
        finally:
            with self._lock:
                self._workers.discard(me)
                self._busy_threads.discard(me)

    def close(self, join_timeout: float = 0.5) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
        for _ in workers:
            self._jobs.put(_STOP)
        deadline = time.monotonic() + join_timeout
        current = threading.current_thread()
        for thread in workers:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))


class SocketServer_Threadpool(CombinedSockets):
    """transport server for socket connections, worker thread pool version."""

    def __init__(self) -> None:
        self.daemon: Any = None
        self.sock: Optional[socket.socket] = None
        self.locationStr = ""
        self.pool: Optional[Pool] = None
        self.selector: Optional[selectors.BaseSelector] = None
        self.shutting_down = False
        self._wakeup: Optional[Wakeup] = None
        self._ssl_context: Any = None
        self._connections: set[ClientConnection] = set()
        self._conn_lock = threading.Lock()
        self._refusers = threading.BoundedSemaphore(_MAX_REFUSERS)
        self._combined: list[Any] = []

    def init(self, daemon: Any, host: Optional[str], port: int, unixsocket: Optional[str] = None) -> None:
        log.info("starting thread pool socketserver")
        self.daemon = daemon
        self._ssl_context = server_ssl_context()
        self.sock, self.locationStr = create_listening_socket(host, port, unixsocket)
        self.sock.setblocking(False)
        self._wakeup = Wakeup()
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ, "accept")
        self.selector.register(self._wakeup.reader, selectors.EVENT_READ, "wakeup")
        self.pool = Pool(config.THREADPOOL_SIZE_MIN, config.THREADPOOL_SIZE)

    def __repr__(self) -> str:
        return "<%s on %s; %d workers>" % (self.__class__.__name__, self.locationStr,
                                           self.pool.num_workers if self.pool else 0)

    # ------------------------------------------------------------------ loop

    def loop(self, loopCondition: Callable[[], bool] = lambda: True) -> None:
        log.debug("threadpool server requestloop")
        poll = min(max(float(config.POLLTIMEOUT or 1.0), 0.05), 1.0)
        while self.sock is not None and not self.shutting_down and loopCondition():
            try:
                self._sync_combined()
                events = self.selector.select(poll)  # type: ignore[union-attr]
            except (OSError, ValueError, AttributeError):
                if self.shutting_down or self.sock is None:
                    break
                raise
            if events:
                self._dispatch([key for key, _ in events])
            self.daemon._housekeeping()
        log.debug("threadpool server exits requestloop")

    def _dispatch(self, keys: list) -> None:
        for key in keys:
            if key.data == "accept":
                self._accept()
            elif key.data == "wakeup":
                self._wakeup.drain()  # type: ignore[union-attr]
            elif isinstance(key.data, tuple) and key.data[0] == "combined":
                try:
                    key.data[1].events([key.fileobj])
                except Exception:
                    log.exception("error handling events of combined server")

    def events(self, eventsockets: Any) -> None:
        """used for external event loops: handle events that occur on one of the sockets of this server"""
        for s in eventsockets:
            if s is self.sock:
                self._accept()
            elif self._wakeup is not None and s is self._wakeup.reader:
                self._wakeup.drain()
            else:
                for other in self._combined:
                    if s in other.sockets:
                        other.events([s])
                        break
        if self.daemon is not None:
            self.daemon._housekeeping()

    # ------------------------------------------------------------------ connections

    def _accept(self) -> None:
        accepted = self._accept_socket()
        if accepted is None:
            return
        csock, caddr = accepted
        if self.shutting_down:
            close_socket(csock)
            return
        csock.setblocking(True)
        csock.settimeout(comm_timeout())
        if csock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                csock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
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
                csock.settimeout(_REFUSE_TIMEOUT)
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
        conn: Optional[ClientConnection] = None
        daemon = self.daemon
        try:
            sock: Any = csock
            if self._ssl_context:
                try:
                    sock = wrap_ssl(csock, self._ssl_context, _svr_conn.PARTIAL_MESSAGE_TIMEOUT)
                except Exception as x:
                    log.warning("SSL handshake with %s failed: %s", caddr, x)
                    return
            idle_timeout = comm_timeout()
            # a silent client must not hold a worker forever: the connect message must come within a limit
            conn = ThreadConnection(sock, caddr, idle_timeout if idle_timeout is not None else _HANDSHAKE_TIMEOUT)
            with self._conn_lock:
                if self.shutting_down:
                    return
                self._connections.add(conn)
            if not daemon._handshake(conn):
                return
            conn.idle_timeout = idle_timeout
            conn.handshaked = True
            handle = daemon.handleRequest
            while not self.shutting_down:
                conn.begin_message()    # idle between messages is fine; a started message has a deadline
                try:
                    handle(conn)
                except errors.ConnectionClosedError:
                    log.debug("disconnected %s", caddr)
                    break
                except errors.TimeoutError as x:
                    log.info("closing connection from %s: %s", caddr, x)
                    break
                except errors.ProtocolError as x:
                    log.warning("closing connection from %s after protocol error: %s", caddr, x)
                    break
                except OSError as x:
                    log.debug("socket error on connection from %s: %s", caddr, x)
                    break
                except Exception:
                    log.exception("unexpected error handling request from %s; closing the connection", caddr)
                    break
        finally:
            if conn is not None:
                with self._conn_lock:
                    self._connections.discard(conn)
                conn.close()
                if conn.handshaked and daemon is not None:
                    daemon._clientDisconnected(conn)
            else:
                close_socket(csock)

    # ------------------------------------------------------------------ control

    @property
    def sockets(self) -> list:
        # only the server socket: the client connections are read by their worker threads, an external event
        # loop must not select on them (use len(connections) for the number of active connections)
        return [self.sock] if self.sock is not None else []

    @property
    def connections(self) -> list:
        """the active client connections (SocketConnection objects)"""
        with self._conn_lock:
            return list(self._connections)

    def close(self) -> None:
        self.shutting_down = True
        self.wakeup()
        sock, self.sock = self.sock, None
        if self.selector is not None:
            try:
                self.selector.close()
            except Exception:
                pass
        if sock is not None:
            remove_unix_socket(sock)
            close_socket(sock)
        with self._conn_lock:
            connections = list(self._connections)
            self._connections.clear()
        for conn in connections:
            close_socket(conn.sock)      # unblocks the worker that is reading from it
        if self.pool is not None:
            self.pool.close()
        if self._wakeup is not None:
            self._wakeup.close()
            self._wakeup = None
