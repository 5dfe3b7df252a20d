"""Socket server based on a worker thread pool.

A connection holds a worker thread only while one of its requests is processed. Between requests (the normal
life of a proxy that is kept around) it waits in the server's selector, as on the multiplex server: a thousand
idle proxies cost no threads, and new clients are served next to them. The loop thread reads every request
non-blockingly into the connection's buffer (see the multiplex server: a client that stalls mid-message is
dropped after limits.partial_message_timeout) and hands a complete message to a worker, which runs it and
sends the response; the connection is watched again after that (one request at a time per connection). A worker
that has answered waits a while for the same connection's next request when no other request waits for a
worker, so a client that calls in a loop costs no hand-off between threads per call: limits.linger (2 ms) at
first; for a connection whose next request came later, twice that gap (measured by the loop thread) or twice
the last wait, whichever is more, up to limits.linger_max (50 ms), while fewer than half of the workers are busy (many clients in one process, or
on a loaded machine, have longer turns than 2 ms: handing such a connection back to the loop thread and out to
a worker again, on each call, cost more than twice the CPU of a call). A connection whose requests come further
apart than linger_max (many connections that each call now and then) gets no wait at all: a worker waiting in
vain cost a wakeup and more thread switches per call than it saved. Its worker puts it back into the (epoll)
selector itself, without waking the loop thread; it even stays there while its call runs (no unregister and
register per call), unless the peer sends or closes meanwhile.
A new connection goes straight to an idle worker, which waits up to limits.linger for its connect message (the
selector watches it otherwise), and a worker that sees its connection end closes and forgets it itself (no
wakeup of the loop thread): a short-lived connection (connect, call, close) costs one hand-off between threads,
as in the original. A name server's lookup connection (a PYRONAME resolve of our client) costs none: the loop
thread answers it and closes it (see _svr_accept and _svr_connect.answer_first).
The pool has at most THREADPOOL_SIZE workers (at least THREADPOOL_SIZE_MIN stay); requests that find them all
busy wait in a queue, which holds at most one request per connection (MAX_QUEUED_REQUESTS at most: beyond that,
the request is answered with a "server is busy" error). A connection that doesn't send its connect message
within limits.handshake_timeout seconds (or COMMTIMEOUT, when set) is closed.

config.THREADPOOL_PER_CONNECTION = True restores the behaviour of Pyro5 5.15: each connection keeps one worker
thread as long as it is connected (for programs that keep per-connection state in thread-locals); see
_svr_perconn.
"""
from __future__ import annotations

import collections
import logging
import selectors
import socket
import threading
import time
from typing import Any, Optional

from . import config, errors, protocol, serializers
from ._svr_accept import DirectAccept
from ._svr_common import close_socket
from ._svr_conn import MuxConnection
from ._svr_connect import CLOSE, KEEP, answer_first
from ._svr_dispatch import answer_message
from ._svr_inflight import InflightCalls
from ._svr_limits import ServerLimits
from ._svr_linger import FAILED, KERNEL_SELECTORS, LingeringWorkers
from ._svr_perconn import PerConnectionServing
from ._svr_pool import NoFreeWorkersError, Pool, PoolError
from ._svr_serve import CONNECTION_LOG, answer_next, close_client
from .svr_multiplex import SocketServer_Multiplex

__all__ = ["SocketServer_Threadpool", "Pool", "PoolError", "NoFreeWorkersError", "MAX_QUEUED_REQUESTS"]

log = logging.getLogger("Pyro5.threadpoolserver")

# the defaults of the daemon's limits (Daemon.limits: a ServerLimits, see _svr_limits)
MAX_QUEUED_REQUESTS = ServerLimits.max_queued_requests     # requests waiting for a worker (one per connection)
_READ_ON_MIN = 64 * 1024     # bytes a lingering worker must get per wait to read on a big message itself
LINGER = ServerLimits.linger           # seconds a worker waits for a connection's next request (see _work)
_MARSHAL_ID = 2


class SocketServer_Threadpool(PerConnectionServing, DirectAccept, LingeringWorkers, SocketServer_Multiplex):
    """transport server for socket connections, worker thread pool version."""

    _log = log
    _answers_plain = False      # (the loop thread hands every request to a worker)

    def __init__(self) -> None:
        super().__init__()
        self.pool: Optional[Pool] = None
        self._per_connection = False
        self._done: collections.deque[tuple[MuxConnection, bool]] = collections.deque()
        self._busy_lock = threading.Lock()
        self._closing = False
        self._last_pending_scan = 0.0
        self._inflight = InflightCalls(self)     # connections with many calls in flight (see _svr_inflight)
        self._kernel_selector = False   # (a registration takes effect during a select(): see _rewatch_idle)
        self._watched_busy: set[MuxConnection] = set()  # busy connections left in the selector (see _dispatch)
        self._init_per_connection()

    def init(self, daemon: Any, host: Optional[str], port: int, unixsocket: Optional[str] = None) -> None:
        log.info("starting thread pool socketserver")
        self._per_connection = bool(getattr(config, "THREADPOOL_PER_CONNECTION", False))
        self._listen(daemon, host, port, unixsocket)
        if not self._per_connection:
            self._prepare_listener()
        self._kernel_selector = isinstance(self.selector, KERNEL_SELECTORS)
        self._refusers = threading.BoundedSemaphore(self.limits.max_refusers)    # (the daemon's limits now)
        queued = 0 if self._per_connection else self.limits.max_queued_requests
        self.pool = Pool(config.THREADPOOL_SIZE_MIN, config.THREADPOOL_SIZE, max_queued=queued)
        if not self._per_connection:    # oneway calls run on the same workers: one thread bound per process
            oneway = getattr(daemon, "_oneway", None)
            if oneway is not None:
                oneway.attach(self.pool)

    def __repr__(self) -> str:
        return "<%s on %s; %d workers>" % (self.__class__.__name__, self.locationStr,
                                           self.pool.num_workers if self.pool else 0)

    @property
    def connections(self) -> list:
        """the active client connections"""
        if self._per_connection:
            with self._pc_lock:
                return list(self._pc_connections)
        return list(self._connections.values())

    @property
    def sockets(self) -> list:
        if self._per_connection:   # (the connections are read by their worker threads, not by a selector)
            return ([self.sock] if self.sock is not None else []) + [s for o in self._combined for s in o.sockets]
        # in an external event loop, the wakeup socket tells when a worker is done with a connection (which is
        # not in this list while it is busy)
        wakeup = [self._wakeup.reader] if self._wakeup is not None and (self._busy or self._done) else []
        return super().sockets + wakeup

    # ------------------------------------------------------------------ connections

    def _accept(self) -> None:
        if not self._per_connection:
            if self._ssl_context or self.sock is None or not self._take_accepted():
                super()._accept()
            return
        accepted = self._accept_socket()
        if accepted is None:
            return
        csock, caddr = accepted
        if self.shutting_down:
            close_socket(csock)
            return
        if csock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                csock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._accept_per_connection(csock, caddr)

    def _dispatch(self, conn: MuxConnection) -> bool:
        """Hand the complete message at the front of the connection's buffer to a worker (the connection leaves
        the selector until the worker hands it back). Returns False: the loop stops processing it for now."""
        if not conn.handshaked:     # (its connect message: answered by this thread when it may, see _svr_connect)
            outcome = answer_first(self.daemon, conn)
            if outcome == CLOSE:
                self._close_connection(conn)
                return False
            if outcome == KEEP:
                return True
        if conn.inflight and self._inflight.applies(conn):
            return self._inflight.dispatch(conn)    # its calls run concurrently (the connection stays read)
        if conn.answered_at:
            self._adapt_linger(conn, time.monotonic() - conn.answered_at)
        if conn.linger_time <= 0 and self._in_loop and self._kernel_selector and not conn.is_tls:
            # its worker will not wait for the next request: the connection stays in the selector (its caller
            # waits for the result; should the peer send or close meanwhile, see _handle_connection)
            self._watched_busy.add(conn)
        else:
            self._unwatch(conn)
        self._watch.discard(conn)
        self._busy.add(conn)
        try:
            try:
                self.pool.submit(lambda: self._work(conn))  # type: ignore[union-attr]
            except NoFreeWorkersError:
                if not (conn.handshaked and conn.messages and conn.messages[0].flags & protocol.FLAGS_ONEWAY):
                    raise
                # a oneway call is never refused: it waits in the pool's unbounded queue (one per connection)
                self.pool.submit(lambda: self._work(conn), unbounded=True)  # type: ignore[union-attr]
        except PoolError as x:
            self._busy.discard(conn)
            if conn in self._watched_busy:
                self._watched_busy.discard(conn)
            elif not self._rewatch(conn):
                self._close_connection(conn)
                return False
            self._refuse_message(conn, str(x))
            return conn.sock in self._connections      # (then the next buffered message, if any)
        return False

    def _take_new(self, conn: MuxConnection) -> bool:
        """(loop thread) A new connection goes straight to an idle worker, which waits up to LINGER for its connect
        message (a client sends it right away) instead of the selector; False: no worker is idle."""
        pool = self.pool
        if self._per_connection or pool is None or pool.num_workers - pool.num_busy <= pool.num_queued:
            return False
        self._busy.add(conn)
        try:
            pool.submit(lambda: self._work(conn, True))
        except PoolError:
            self._busy.discard(conn)
            return False
        return True

    def _work(self, conn: MuxConnection, new: bool = False) -> None:
        """(worker thread) process the connection's message (new: wait for the connect message of a connection
        that was just accepted); then the next ones while they come right away."""
        keep = True
        conn.buffer_writes = False      # a worker may block while sending (with a deadline)
        linger = self._linger(conn)
        if linger > 0:
            conn.begin_linger(linger)
        dispatcher = self.daemon.dispatcher
        try:
            ready = self._next_message_ready(conn) if new else True
            while ready:
                keep = answer_next(log, CONNECTION_LOG, dispatcher, conn, conn.next_message)
                if not keep or (conn.inflight and self._inflight.applies(conn)):
                    break
                # (blocking linger mode: the usual requests are received and answered in _serve_plain)
                ready = self._serve_plain(conn, dispatcher) if conn.send_flags else self._next_message_ready(conn)
                if ready is FAILED:
                    keep = False
                    break
            if ready is None:
                keep = False    # (the peer closed)
        except BaseException:
            keep = False
            raise
        finally:
            # a connection that ends is closed by its worker, which also forgets it (no wakeup of the loop thread)
            closed = not keep and not conn.inflight and not self.shutting_down
            if not (conn in self._watched_busy and self._stays_watched(conn, keep and not closed)):
                self._hand_back(conn, keep, closed)    # (else: idle again, still in the selector)

    def _hand_back(self, conn: MuxConnection, keep: bool, closed: bool) -> None:
        """(worker thread) close the connection that ended, or put it back into the selector, or leave it to
        the loop thread."""
        if closed:
            close_client(self.daemon, conn)
        else:
            conn.end_linger()
        rewatched = False
        with self._busy_lock:
            closing = self._closing
            if closed and not closing:      # (the loop thread copies these two before iterating them)
                self._connections.pop(conn.sock, None)
                self._busy.discard(conn)
            elif not closing:
                rewatched = keep and self._rewatch_idle(conn)
                if not rewatched:
                    self._done.append((conn, keep))     # the loop thread takes it back
        if closing:     # the server is gone: this worker closes the connection itself
            if not closed:
                close_client(self.daemon, conn)
        elif not closed and not rewatched:
            self.wakeup()

    def _next_message_ready(self, conn: MuxConnection) -> Optional[bool]:
        """(worker thread) Is the connection's next message complete in its buffer, possibly after waiting
        a while for it (see _linger)? (A client calling in a loop then keeps its worker: no hand-offs between the loop
        thread and a worker per call. Not when other requests wait for a worker.) None: the peer closed."""
        if self.shutting_down:
            return False
        if conn.messages or conn.read_error is not None:
            return True
        pool = self.pool
        conn.answered_at = time.monotonic()
        if pool is None or pool.starved or (conn.reader.received_bytes and conn.receiving_big):
            return False
        linger = self._linger(conn)
        if linger <= 0:
            return False    # (its requests come too far apart: see _adapt_linger)
        if conn.send_flags or conn.wait_readable(linger):    # (lingering: recv waits)
            if not conn.read_available():
                return None         # (the peer closed)
            return self._read_on(conn)
        # the next request did not come in time (the loop thread measures when it comes: see _adapt_linger)
        return False

    def _read_on(self, conn: MuxConnection) -> Optional[bool]:
        """(worker thread, after a receive) True when a message is complete; else read on while a big message
        comes, as _next_message_ready says."""
        if conn.messages or conn.read_error is not None:
            return True
        pool = self.pool
        if pool is not None:
            # a big message has begun: this worker reads on while its bytes keep coming (each wait at most the
            # linger time) and no other request waits for a worker, instead of handing the connection back to
            # the loop thread and getting it again once it is complete (two thread switches and a poll per
            # message: a third of a 1 MiB upload's server CPU)
            while conn.receiving_big and not pool.starved and not self.shutting_down:
                before = conn.reader.received_bytes
                if not conn.send_flags and not conn.wait_readable(self._linger(conn)):
                    return False
                if not conn.read_available():
                    return None
                if conn.messages or conn.read_error is not None:
                    return True
                if conn.reader.received_bytes - before < _READ_ON_MIN:
                    # (nothing, or a trickle, within the linger time: the loop thread waits for the rest and
                    # holds the message to its deadline; a worker is not kept by a slow peer)
                    return False
        return False

    def _finish_done(self) -> None:
        """(loop thread) take back the connections that their workers are done with."""
        while self._done:
            conn, keep = self._done.popleft()
            self._busy.discard(conn)
            if conn.sock not in self._connections:
                continue
            if not keep or self.shutting_down or not self._rewatch(conn):
                self._close_connection(conn)
                continue
            # handle what arrived meanwhile: buffered messages, more bytes, or the peer's EOF
            self._handle_connection(conn, selectors.EVENT_READ)

    def _refuse_message(self, conn: MuxConnection, reason: str) -> None:
        """(loop thread) the queue is full: answer the message with a clear error instead of processing it."""
        message = ("server is busy: all %d worker threads are in use and %d requests are waiting; try again later, "
                   "or increase THREADPOOL_SIZE on the server" % (config.THREADPOOL_SIZE, self.limits.max_queued_requests))
        log.warning("refusing a request from %s: %s", conn.sock_addr, reason)
        conn.buffer_writes = self._in_loop
        msg = conn.next_message()
        if not conn.handshaked:
            answer_message(self.daemon.dispatcher, conn, msg, denied_reason=message)
            self._close_connection(conn)
            return
        try:
            if isinstance(msg, errors.ProtocolError):
                raise msg
            if msg.flags & protocol.FLAGS_ONEWAY:
                log.warning("oneway call from %s dropped: the server is too busy", conn.sock_addr)
                return
            serializer = serializers.serializers_by_id.get(msg.serializer_id) \
                or serializers.serializers_by_id[_MARSHAL_ID]
            error = errors.CommunicationError(message)
            error._pyroTraceback = None  # type: ignore[attr-defined]
            conn.send(protocol.SendingMessage(protocol.MSG_RESULT, protocol.FLAGS_EXCEPTION, msg.seq,
                                              serializer.serializer_id, serializer.dumps(error),
                                              correlation_id=msg.correlation_id).data)
        except Exception as x:
            log.debug("closing connection from %s: %s", conn.sock_addr, x)
            self._close_connection(conn)

    def _housekeeping(self) -> None:
        if self._done:
            self._finish_done()
        now = time.monotonic()
        if not self._per_connection and self._connections and now - self._last_pending_scan > self.limits.pending_scan_interval:
            self._last_pending_scan = now
            limit = self.limits.handshake_limit()
            for conn in list(self._connections.values()):
                if not conn.handshaked and conn not in self._busy and conn.msg_start is None \
                        and now - conn.last_use > limit:
                    log.info("closing connection from %s: no connect message within %s s", conn.sock_addr, limit)
                    self._close_connection(conn)
        super()._housekeeping()

    # ------------------------------------------------------------------ control

    def close(self) -> None:
        with self._busy_lock:
            self._closing = True
            done = list(self._done)
            self._done.clear()
        for conn, _ in done:
            self._busy.discard(conn)
            self._close_connection(conn)
        busy = set(self._busy) | self._inflight.detach_running(self._connections.values())
        # the busy connections are closed by their workers when they are done (their callers get the result)
        for sock, conn in list(self._connections.items()):
            if conn in busy:
                self._connections.pop(sock, None)
        super().close()
        self._close_per_connection()
        if self.pool is not None and not self.pool.close(join_timeout=self.limits.worker_join_timeout):
            log.debug("server closed while %d workers are still running calls", self.pool.num_busy)

