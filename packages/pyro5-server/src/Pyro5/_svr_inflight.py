"""Many calls in flight on one connection (the INFL capability, see Pyro5._capabilities), on the socket servers.

What each of our socket servers grants (``transportServer.max_inflight``, from ``daemon.limits.max_inflight``;
0 switches the capability off) and how it runs the calls of a connection that negotiated it:

- thread pool server: the calls of the connection run concurrently on the server's one bounded worker pool
  (``THREADPOOL_SIZE``: no thread per call). The loop thread keeps reading the connection while its calls run
  and gives every complete request to the pool; a worker sends its reply whole as soon as the call is done
  (one reply at a time per connection: a send lock), in any order, each reply carrying its request's seq. When
  the connection has as many calls running or queued as it was granted, or the pool's queue is full, the
  connection is taken out of the selector (it is not read: TCP holds the client back) until one of its calls
  is done. A TLS connection runs its calls one at a time, in order (an SSL socket must not be read and written
  by two threads at once); that is still valid for the client (replies in order are a special case).
- multiplex server: one thread; the requests of the connection are answered in order, one at a time
  (pipelining: the client need not wait for a reply before sending the next request).
- one-thread-per-connection mode (THREADPOOL_PER_CONNECTION): the connection's worker answers the requests in
  order (pipelining too).

Session-mode objects (``@behavior(instance_mode="session")``) are called one call at a time per connection,
as a client without in-flight calls does it, unless the class opts in with ``@behavior(instance_mode="session",
concurrent=True)`` (``cls._pyroSessionConcurrent = True``): `session_lock` is the dispatcher's side of that.
A call waiting for its connection's session object waits on a worker of the pool (at most the granted number of
a connection's calls can wait so).
"""
from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from typing import Any, Optional

from . import _svr_conn, errors, protocol
from ._svr_pool import NoFreeWorkersError, PoolError

__all__ = ["InflightCalls", "session_lock"]

log = logging.getLogger("Pyro5.threadpoolserver")

_INVOKE_TYPES = (protocol.MSG_INVOKE, protocol.MSG_PING)
_SESSION_LOCK = "_pyro_session_lock"
_STATE = "_pyro_inflight"
_new_lock = threading.Lock


def session_lock(conn: Any, clazz: type) -> tuple[Optional[Any], bool]:
    """(lock, exclusive) for a call to the registered class `clazz` on `conn`: (None, False) when the connection
    runs one call at a time anyway or the class is not in session mode; else the connection's session lock, and
    whether the whole call holds it (False for a class that opted in with concurrent=True: then only the creation
    of its session instance holds it)."""
    if not getattr(conn, "inflight", 0):
        return None, False
    mode = getattr(clazz, "_pyroInstancing", ("session", None))[0]
    if mode != "session":
        return None, False
    lock = getattr(conn, _SESSION_LOCK, None)
    if lock is None:
        lock = conn.__dict__.setdefault(_SESSION_LOCK, threading.RLock())   # (atomic: one lock per connection)
    return lock, not getattr(clazz, "_pyroSessionConcurrent", False)


class _State:
    """The in-flight calls of one connection (thread pool server)."""

    __slots__ = ("running", "paused", "orphaned", "send_lock")

    def __init__(self) -> None:
        self.running = 0            # calls given to the pool and not finished
        self.paused = False         # out of the selector until one of its calls is done
        self.orphaned = False       # the server closed meanwhile: the last call's worker closes the connection
        self.send_lock = _new_lock()


class InflightCalls:
    """The thread pool server's part for connections with in-flight calls (see the module documentation).
    `server` is the SocketServer_Threadpool: its loop thread calls dispatch(); workers run the calls."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self._lock = _new_lock()

    @staticmethod
    def applies(conn: Any) -> bool:
        """Does the connection run its calls concurrently? (it negotiated in-flight calls; not TLS)"""
        return bool(conn.inflight) and conn.handshaked and not isinstance(conn.sock, ssl.SSLSocket)

    def dispatch(self, conn: Any) -> bool:
        """(loop thread) Give the message at the front of the connection's buffer to the pool. True: the loop may
        go on with the connection's next buffered message; False: it stops (paused, or closed)."""
        server = self.server
        state = getattr(conn, _STATE, None)
        if state is None:
            state = _State()
            setattr(conn, _STATE, state)
        if not conn.messages:       # bad bytes: the peer gets the error, then the connection is closed
            self._protocol_error(conn, state, conn.next_message())
            server._close_connection(conn)
            return False
        msg = conn.messages[0]
        with self._lock:
            if state.running >= conn.inflight:
                self._pause(conn, state)
                return False
            state.running += 1
        oneway = bool(msg.flags & protocol.FLAGS_ONEWAY)
        try:
            server.pool.submit(lambda: self._run(conn, state, msg), unbounded=oneway)
        except PoolError as x:
            with self._lock:
                state.running -= 1
                if state.running and isinstance(x, NoFreeWorkersError):
                    self._pause(conn, state)    # (resumed when one of its calls is done)
                    return False
            if isinstance(x, NoFreeWorkersError):
                server._refuse_message(conn, str(x))    # (nothing of the connection runs: the client learns it)
                return conn.sock in server._connections
            server._close_connection(conn)
            return False
        conn.messages.popleft()
        return True

    def _pause(self, conn: Any, state: _State) -> None:
        # (loop thread, under self._lock) stop reading the connection until one of its calls is done
        server = self.server
        state.paused = True
        try:
            server.selector.unregister(conn.sock)
        except (KeyError, ValueError, OSError, AttributeError):
            pass
        server._watch.discard(conn)
        server._busy.add(conn)

    def _run(self, conn: Any, state: _State, msg: protocol.ReceivingMessage) -> None:
        """(worker) run one call and send its reply."""
        server = self.server
        conn.last_use = time.monotonic()
        try:
            try:
                protocol.MessageReader.check_msgtype(msg, _INVOKE_TYPES)
            except errors.ProtocolError as x:
                self._protocol_error(conn, state, x)
                _drop(conn)
                return
            reply = server.daemon.dispatcher.handle(conn, msg)
            if reply is not None:
                with state.send_lock:
                    send_whole(conn, reply.parts, server.limits.partial_message_timeout)
            conn.last_use = time.monotonic()
        except (errors.ConnectionClosedError, OSError) as x:
            log.debug("connection from %s lost while answering: %s", conn.sock_addr, x)
        except errors.TimeoutError as x:
            log.warning("closing connection from %s: %s", conn.sock_addr, x)
            _drop(conn)
        except Exception:
            log.exception("unexpected error handling request from %s; closing the connection", conn.sock_addr)
            _drop(conn)
        finally:
            self._finished(conn, state)

    def _finished(self, conn: Any, state: _State) -> None:
        server = self.server
        with self._lock:
            state.running -= 1
            orphan_done = state.orphaned and state.running == 0
            resume = not state.orphaned and state.paused and state.running < conn.inflight
            if resume:
                state.paused = False
        if resume:
            with server._busy_lock:
                closing = server._closing
                if not closing:
                    server._done.append((conn, True))     # the loop thread reads the connection again
            if not closing:
                server.wakeup()
                return
        if resume or orphan_done:   # the server is closed: the connection is ours to close (as a worker's is)
            conn.close()
            if server.daemon is not None:
                server.daemon._clientDisconnected(conn)

    def detach_running(self, connections: Any) -> set:
        """(server close, after it set _closing) The connections with calls still running: their last call's
        worker closes them when it has sent its reply (the server must not close them under the callers)."""
        detached = set()
        with self._lock:
            for conn in connections:
                state = getattr(conn, _STATE, None)
                if state is not None and state.running > 0:
                    state.orphaned = True
                    detached.add(conn)
        return detached

    @staticmethod
    def running(conn: Any) -> bool:
        """Does the connection have calls running (or queued) on the pool?"""
        state = getattr(conn, _STATE, None)
        return state is not None and state.running > 0

    def _protocol_error(self, conn: Any, state: _State, x: Any) -> None:
        reply = self.server.daemon.dispatcher.protocol_error(conn, x)
        if reply is not None:
            with contextlib.suppress(Exception), state.send_lock:
                send_whole(conn, reply.parts, self.server.limits.partial_message_timeout)


def _drop(conn: Any) -> None:
    # (worker) end the connection: the loop thread sees its end and closes it (the selector still has it)
    with contextlib.suppress(OSError, AttributeError):
        conn.sock.shutdown(socket.SHUT_RDWR)


def send_whole(conn: Any, parts: Any, timeout: float) -> None:
    """Send a whole message from a worker over the connection's non-blocking socket: wait for the socket when
    it is full, at most `timeout` seconds without progress (a peer that does not read its replies)."""
    sock = conn.sock
    data = parts[0] if len(parts) == 1 else b"".join(parts)
    view = memoryview(data).cast("B")
    last_progress = time.monotonic()
    while view:
        try:
            sent = sock.send(view)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError as x:
            raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x
        if sent:
            view = view[sent:]
            last_progress = time.monotonic()
            continue
        wait = last_progress + timeout - time.monotonic()
        if wait <= 0:
            raise errors.TimeoutError("sending: timeout (the peer does not read its replies)")
        try:
            _svr_conn.wait_writable(sock, wait)
        except (OSError, ValueError) as x:
            raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x

