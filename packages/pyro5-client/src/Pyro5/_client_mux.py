"""One connection with many calls in flight, shared by any number of threads (a ``Proxy(uri, shared=True)``
whose daemon granted the INFL capability, see ``Pyro5._capabilities``).

One reader: a daemon thread per connection (``Pyro5-shared-reader``) is the only one that receives from the
socket. It feeds the bytes to the connection's ``protocol.MessageReader`` and hands every reply to the thread that
waits for it, matched by the reply's seq. Callers send their requests whole, one at a time (a send lock), after
taking a free seq (16-bit, never one of an unanswered request) and one of the calls the daemon granted (a
semaphore: never more unanswered requests than granted). A caller whose timeout expires stops waiting: its seq
stays reserved until the late reply arrives, which is then dropped; the connection stays usable. When the
connection fails (the daemon closed it or was killed, a malformed reply, a send that failed half-way), every
waiting thread gets ConnectionClosedError at once and the channel is closed for good (the proxy connects anew on
its next call).
"""
from __future__ import annotations

import _thread
import contextlib
import logging
import socket
import threading
import time
from typing import Callable, Optional

from . import errors, protocol, socketutil

__all__ = ["MuxChannel"]

log = logging.getLogger("Pyro5.client")

_MSG_RESULT = (protocol.MSG_RESULT,)
_RECV_SIZE = 64 * 1024
_allocate_lock = _thread.allocate_lock


class _Waiter:
    """A caller waiting for the reply to its request: the reader releases `done` after setting msg or error."""

    __slots__ = ("done", "msg", "error", "abandoned")

    def __init__(self) -> None:
        self.done = _allocate_lock()
        self.done.acquire()
        self.msg: Optional[protocol.ReceivingMessage] = None
        self.error: Optional[BaseException] = None
        self.abandoned = False


class MuxChannel:
    """A connected, handshaked SocketConnection on which up to `granted` calls may be in flight."""

    def __init__(self, conn: socketutil.SocketConnection, granted: int, peer: str) -> None:
        self.conn = conn
        self.sock = conn.sock
        self.object_id: str = conn.objectId or ""
        self.peer = peer
        self.granted = granted
        self.closed = False
        self.pending_closes: list[str] = []     # stream ids to close (sent before the next call)
        self._slots = threading.BoundedSemaphore(granted)
        self._lock = threading.RLock()      # (re-entrant: a proxy collected in the reader thread closes its channel)
        self._send_lock = threading.Lock()
        self._pending: dict[int, _Waiter] = {}
        self._seq = 0
        self._error: Optional[BaseException] = None
        self._reader = protocol.MessageReader(_MSG_RESULT, log)
        self.sock.settimeout(None)      # (the reader blocks; callers wait for their replies with their timeout)
        self._thread = threading.Thread(target=self._read_loop, name="Pyro5-shared-reader", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return "<%s to %s; %d in flight%s>" % (type(self).__name__, self.peer, len(self._pending),
                                               ", closed" if self.closed else "")

    # ------------------------------------------------------------------------------------ calls

    def call(self, build: Callable[[int], protocol.SendingMessage], oneway: bool, timeout: Optional[float]
             ) -> Optional[protocol.ReceivingMessage]:
        """Send the request `build(seq)` and wait for its reply (None for a oneway call). TimeoutError when no
        reply came within `timeout` seconds (None or 0: no limit) of the call; ConnectionClosedError when the
        connection failed (or fails meanwhile)."""
        if oneway:
            with self._lock:
                self._check_open()
                seq = self._next_seq()
            self._send(build(seq))
            return None
        timeout = timeout or None
        deadline = time.monotonic() + timeout if timeout else None
        if not self._slots.acquire(timeout=timeout):
            raise errors.TimeoutError("receiving: timeout (all %d calls in flight on the connection to %s are "
                                      "unanswered)" % (self.granted, self.peer))
        waiter = _Waiter()
        with self._lock:
            if self.closed:
                self._slots.release()
                raise self._closed_error()
            seq = self._next_seq()
            self._pending[seq] = waiter
        try:
            request = build(seq)
        except BaseException:
            with self._lock:
                if self._pending.pop(seq, None) is waiter:
                    self._slots.release()
            raise
        self._send(request)
        del request     # (a big request need not stay in memory while waiting for the reply)
        if deadline is None:
            waiter.done.acquire()
        elif not waiter.done.acquire(timeout=max(0.0, deadline - time.monotonic())):
            with self._lock:
                if waiter.msg is None and waiter.error is None:
                    waiter.abandoned = True     # (its seq stays taken until the reply comes; then it is dropped)
                    raise errors.TimeoutError("receiving: timeout")
        if waiter.error is not None:
            raise waiter.error
        assert waiter.msg is not None
        return waiter.msg

    def _next_seq(self) -> int:
        # (under self._lock) a seq that no unanswered request has
        seq = self._seq
        pending = self._pending
        while True:
            seq = (seq + 1) & 0xffff
            if seq not in pending:
                self._seq = seq
                return seq

    def _send(self, request: protocol.SendingMessage) -> None:
        parts = request.parts
        try:
            with self._send_lock:
                self._check_open()
                if len(parts) == 1:
                    self.sock.sendall(parts[0])
                else:
                    socketutil.send_data(self.sock, parts)
        except errors.ConnectionClosedError:
            raise
        except (OSError, errors.CommunicationError) as x:
            # (a request that went out half-way leaves the connection out of sync: nobody can use it any more)
            error = errors.ConnectionClosedError("sending: connection to %s lost: %s" % (self.peer, x))
            self._fail(error)
            raise error from x

    def _check_open(self) -> None:
        if self.closed:
            raise self._closed_error()

    def _closed_error(self) -> BaseException:
        error = self._error
        if isinstance(error, errors.ConnectionClosedError):
            return errors.ConnectionClosedError(str(error))
        return errors.ConnectionClosedError("the connection to %s is closed" % self.peer)

    # ------------------------------------------------------------------------------------ the reader

    def _read_loop(self) -> None:
        sock = self.sock
        reader = self._reader
        error: BaseException
        try:
            while True:
                data = sock.recv(max(reader.needed, _RECV_SIZE))
                if not data:
                    reader.eof()    # (says how much of a message was cut off)
                    raise errors.ConnectionClosedError("receiving: connection to %s closed by the daemon"
                                                       % self.peer)
                for msg in reader.feed(data):
                    self._deliver(msg)
        except errors.ConnectionClosedError as x:
            error = x
        except errors.ProtocolError as x:
            log.warning("closing the shared connection to %s: %s", self.peer, x)
            error = errors.ConnectionClosedError("connection to %s closed after a protocol error: %s"
                                                 % (self.peer, x))
        except (OSError, ValueError) as x:
            error = errors.ConnectionClosedError("receiving: connection to %s lost: %s" % (self.peer, x))
        except BaseException as x:      # (never leave the waiting threads hanging)
            log.exception("unexpected error in the reader of the shared connection to %s", self.peer)
            error = errors.ConnectionClosedError("connection to %s lost: %s" % (self.peer, x))
        self._fail(error)

    def _deliver(self, msg: protocol.ReceivingMessage) -> None:
        with self._lock:
            waiter = self._pending.pop(msg.seq, None)
            if waiter is None:
                raise errors.ProtocolError("reply with sequence number %d, which no request has: the connection is "
                                           "out of sync" % msg.seq)
            self._slots.release()
            if waiter.abandoned:
                log.debug("dropped the late reply %d (its caller timed out)", msg.seq)
                return
            waiter.msg = msg
        waiter.done.release()

    def _fail(self, error: BaseException) -> None:
        """The connection is unusable: close it; every waiting caller gets `error` (a ConnectionClosedError)."""
        with self._lock:
            if self._error is None:
                self._error = error
            self.closed = True
            waiters = list(self._pending.values())
            self._pending.clear()
        for waiter in waiters:
            if not waiter.abandoned:
                waiter.error = errors.ConnectionClosedError(str(error))
                waiter.done.release()
            self._slots.release()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()

    def close(self) -> None:
        """Close the connection (the proxy is released): waiting callers get ConnectionClosedError. The reader
        thread ends by itself (its receive fails now)."""
        self._fail(errors.ConnectionClosedError("the connection to %s was released" % self.peer))
