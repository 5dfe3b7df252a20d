"""The thread pool server's workers between the requests of a connection (see svr_threads): how long a worker
waits for the connection's next request, and how a worker puts an idle connection back into the selector.

A worker that has answered waits for the same connection's next request: limits.linger at first; when the next
request came later, twice the gap the loop thread measured between the answer and that request, or twice the
last wait, whichever is more (up to limits.linger_max), while fewer than half of the workers are busy; not at
all for a connection whose requests come further apart than linger_max (many connections that each call now and
then: a wait in vain cost a wakeup and more thread switches per call than it saved). With nothing buffered, the worker puts the connection back into the loop
thread's selector itself when that is an epoll/kqueue selector (a registration takes effect at once, also during
a select(): no wakeup of the loop thread); a connection whose worker does not wait at all even stays in the
selector while its call runs (no unregister and register per call) unless the peer sends or closes meanwhile.
"""
from __future__ import annotations

import logging
import selectors
import threading
import time
from typing import Any, Callable, Optional

from ._svr_conn import READ_SIZE, WOULD_BLOCK, MuxConnection
from ._svr_fastcall import answer_plain
from ._svr_limits import ServerLimits
from ._svr_pool import Pool
from ._svr_serve import CONNECTION_LOG, log_failure
from ._wire_reader import plain_message
from .protocol import MSG_INVOKE as _MSG_INVOKE

__all__ = ["LingeringWorkers", "KERNEL_SELECTORS", "FAILED"]

FAILED: Any = "failed"      # (_serve_plain: answering a request failed; the worker closes the connection)
_monotonic = time.monotonic

KERNEL_SELECTORS = tuple(getattr(selectors, name) for name in ("EpollSelector", "KqueueSelector", "DevpollSelector")
                         if hasattr(selectors, name))


class LingeringWorkers:
    """Mixin of the thread pool server: the linger policy and the selector hand-back of its workers."""

    _log: logging.Logger
    limits: ServerLimits
    pool: Optional[Pool]
    shutting_down: bool
    selector: Optional[selectors.BaseSelector]
    _connections: dict[Any, MuxConnection]
    _busy: set[MuxConnection]
    _busy_lock: threading.Lock
    _closing: bool
    _in_loop: bool
    _kernel_selector: bool
    _watched_busy: set[MuxConnection]
    _next_message_ready: Callable[[MuxConnection], Optional[bool]]     # (svr_threads)
    _read_on: Callable[[MuxConnection], Optional[bool]]

    def _serve_plain(self, conn: MuxConnection, dispatcher: Any) -> Optional[bool]:
        """(worker thread, done with a request of a connection in the blocking linger mode: see
        MuxConnection.begin_linger) Wait for the connection's next request and answer it right here, receive,
        answer and send in this one frame, while each comes whole in one receive and is a plain call (see
        _wire_reader.plain_message and _svr_fastcall.answer_plain; most requests of a client that calls in a
        loop are). Returns what _next_message_ready returns: True when a message waits in the connection (or
        the error of bad input), False when the connection goes back to the selector (its next request did
        not come within the linger time, workers are scarce, the server shuts down), None when the peer
        closed; or FAILED: answering a request failed (logged here; the worker closes the connection)."""
        reader = conn.reader
        if conn.messages or conn.read_error is not None or conn.header_first or reader.received_bytes \
                or conn.inflight or not conn.handshaked or conn.outbuf is not None:
            return self._next_message_ready(conn)
        sock = conn.sock
        pool = self.pool
        send = conn.send
        send_flags = conn.send_flags    # (MSG_DONTWAIT: the socket blocks in receives only)
        while True:
            # (as in _next_message_ready: with the receive timeout set, the linger time matters only when it is 0)
            if self.shutting_down:
                return False
            conn.answered_at = _monotonic()
            if pool is None or (pool.queued and pool.starved) or conn.linger_time <= 0:
                return False
            try:
                data = sock.recv(READ_SIZE)     # (waits up to the linger time: the socket's receive timeout)
            except WOULD_BLOCK:
                return False
            except OSError:
                return None
            request = plain_message(reader, data, _MSG_INVOKE) if data else None
            if request is None:     # (anything else, and the peer's EOF: the general path reads and answers it)
                if not conn.read_available(data):
                    return None
                return self._read_on(conn)
            try:
                reply = answer_plain(dispatcher, conn, data, request)
                if type(reply) is bytes:
                    try:
                        sent = sock.send(reply, send_flags)     # (the usual reply: all of it at once)
                    except OSError:
                        sent = 0    # (conn.send tries again: it sends what is left, or says what is wrong)
                    if sent != len(reply):
                        send((reply[sent:],))
                elif reply is not None:
                    send(reply.parts)
            except Exception as x:
                log_failure(self._log, CONNECTION_LOG, conn, x)
                return FAILED

    def _unwatch(self, conn: MuxConnection) -> None:
        try:
            self.selector.unregister(conn.sock)  # type: ignore[union-attr]
        except (KeyError, ValueError, OSError, AttributeError):
            pass

    def _handle_connection(self, conn: MuxConnection, mask: int) -> None:
        if conn in self._watched_busy:
            with self._busy_lock:
                if conn in self._watched_busy:
                    # (its worker runs a call: the connection leaves the selector until the worker is done)
                    self._watched_busy.discard(conn)
                    self._unwatch(conn)
                    return
        super()._handle_connection(conn, mask)  # type: ignore[misc]  # (SocketServer_Multiplex)

    def _rewatch(self, conn: MuxConnection) -> bool:
        try:
            self.selector.register(conn.sock, selectors.EVENT_READ, conn)  # type: ignore[union-attr]
            return True
        except (KeyError, ValueError, OSError, AttributeError):
            return False

    def _stays_watched(self, conn: MuxConnection, keep: bool) -> bool:
        """(worker thread, done with a connection that stayed in the selector: see _dispatch) True when it is
        idle again and stays there; else it leaves the selector first (before it is closed, or handed back)."""
        with self._busy_lock:
            if conn not in self._watched_busy:
                return False
            self._watched_busy.discard(conn)
            if keep and not self._closing and self._idle(conn):
                conn.last_use = time.monotonic()
                self._busy.discard(conn)
                return True
            self._unwatch(conn)
            return False

    def _idle(self, conn: MuxConnection) -> bool:
        """Has the connection nothing buffered and nothing in flight (the selector alone can tell when its next
        request comes)?"""
        return not (conn.is_tls or conn.inflight or conn.reader.received_bytes or conn.messages
                    or conn.read_error is not None or conn.outbuf is not None) and conn.sock in self._connections

    def _rewatch_idle(self, conn: MuxConnection) -> bool:
        """(worker thread, under _busy_lock) Put a connection that has nothing buffered back into the selector
        itself, while the loop thread runs its own epoll/kqueue selector (a registration takes effect at once,
        also during the loop's select(); the loop thread is not woken up: one thread switch less per call).
        False: the loop thread must take it back (see _finish_done)."""
        if not self._in_loop or not self._kernel_selector or not self._idle(conn):
            return False
        conn.last_use = time.monotonic()    # (no COMMTIMEOUT or handshake scan closes it meanwhile)
        self._busy.discard(conn)
        if self._rewatch(conn):
            return True
        self._busy.add(conn)
        return False

    def _linger(self, conn: MuxConnection) -> float:
        """Seconds a worker waits for the connection's next request (see _next_message_ready): the connection's
        own time (it grows while its requests come later than that), as long as workers are not scarce."""
        base = self.limits.linger
        linger = conn.linger_time
        if linger <= base:
            return linger
        pool = self.pool
        if pool is None or pool.num_busy * 2 >= pool.max_workers:
            return base
        return linger

    def _adapt_linger(self, conn: MuxConnection, gap: float) -> None:
        """(loop thread) The connection's request came `gap` seconds after its worker answered the one before,
        and the worker had handed the connection back by then: next time its worker waits longer, twice that
        gap or twice the time it waited now, whichever is more (from limits.linger up to limits.linger_max);
        or not at all when its requests come further apart than linger_max (many connections that each call
        now and then: a worker that waits in vain on each of them costs a wakeup and more thread switches per
        call than the hand-back; they are served from the selector)."""
        limits = self.limits
        if gap > limits.linger_max:
            conn.linger_time = 0.0
        else:
            conn.linger_time = min(max(gap * 2, conn.linger_time * 2, limits.linger), limits.linger_max)
