"""Client connections of the socket servers, and the limits for peers that stall mid-message.

Every connection reads through its own protocol.MessageReader (pyro5-wire: the one place where received bytes
are checked, the header decoded and the body completed; MAX_PREHANDSHAKE_SIZE applies until the handshake is
done) and hands whole messages to the daemon's dispatcher (see _svr_dispatch.answer_message). MuxConnection
reads non-blockingly (the multiplex server, and the thread pool server's selector), ThreadConnection blocks
(the per-connection mode, the existing-connection server). A large body is received with recv() calls of up to
the size still missing; the reader keeps those bytes objects and joins them into the payload once at the end.

A connection that is idle *between* messages is legitimate and may stay (COMMTIMEOUT limits that, when set).
But once the first byte of a message arrived, the rest must follow: a message must be complete within
limits.partial_message_timeout seconds, plus one second for every limits.min_transfer_rate bytes that did arrive
(so big messages on slow links still get through, while a peer that trickles bytes does not hold on forever).
The same limit applies to a TLS handshake and (multiplex server) to a peer that stops reading its result.
`limits` is the daemon's ServerLimits (see _svr_limits), shared by all its connections.
"""
from __future__ import annotations

import collections
import select
import socket
import ssl
import time
from typing import Any, Optional, cast

from . import _svr_memory, errors, protocol
from ._svr_common import ClientConnection
from ._svr_limits import DEFAULT_LIMITS, ServerLimits

__all__ = ["ThreadConnection", "MuxConnection", "wait_readable", "wait_writable"]

_READ_SIZE = 64 * 1024
_THREAD_READ_SIZE = 4096     # (a blocking read: small, it's what one request usually is)
_SSL_SEND_CHUNK = 256 * 1024
_READ_LIMIT = 4 * 1024 * 1024     # bytes read from one connection per event (fairness)
_BIG = 16 * 1024     # a message (part) with more than this still missing is received in chunks

_poll = getattr(select, "poll", None)
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


def wait_writable(sock: Any, timeout: float) -> bool:
    """Wait until the socket can take more data (poll() where available: no FD_SETSIZE limit)."""
    if _poll is not None:
        poller = _poll()
        poller.register(sock, select.POLLOUT)
        return bool(poller.poll(max(0, int(timeout * 1000))))
    return bool(select.select([], [sock], [], timeout)[1])


def wait_readable(sock: Any, timeout: float) -> bool:
    if _poll is not None:
        poller = _poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout * 1000))))
    return bool(select.select([sock], [], [], timeout)[0])


class ThreadConnection(ClientConnection):
    """Connection served by one thread with blocking reads (the thread pool server's per-connection mode, the
    existing-connection server): read_message() returns the next whole message, through the connection's
    MessageReader. `idle_timeout` limits the wait for the first byte of a message (None: wait forever); once
    it arrived, the message must be complete in time (limits.allowed_until)."""

    __slots__ = ("idle_timeout", "reader", "messages", "msg_start", "limits")

    def __init__(self, sock: Any, sock_addr: Any = None, idle_timeout: Optional[float] = None,
                 keep_open: bool = False, limits: ServerLimits = DEFAULT_LIMITS) -> None:
        super().__init__(sock, sock_addr, keep_open=keep_open)
        self.limits = limits
        self.idle_timeout = idle_timeout
        self.reader = protocol.MessageReader(prehandshake=True)
        self.messages: collections.deque[protocol.ReceivingMessage] = collections.deque()
        self.msg_start: Optional[float] = None

    def read_message(self) -> protocol.ReceivingMessage:
        """The next whole message (blocking). Raises ConnectionClosedError, TimeoutError (idle_timeout, or a
        message that stalls) and ProtocolError (bad input)."""
        if self.messages:
            return self.messages.popleft()
        sock = self.sock
        reader = self.reader
        self.msg_start = None
        while True:
            avail = reader.received_bytes
            if self.msg_start is None and avail:
                self.msg_start = time.monotonic()
            if self.msg_start is None:
                timeout = self.idle_timeout
            else:
                timeout = self.limits.allowed_until(self.msg_start, avail) - time.monotonic()
                if timeout <= 0:
                    raise self.limits.partial_timeout_error(avail)
                if not isinstance(sock, ssl.SSLSocket):
                    # wait for the rest with poll(), keeping the socket's own timeout (no mode switching)
                    if not wait_readable(sock, timeout):
                        raise self.limits.partial_timeout_error(avail)
                    timeout = self.idle_timeout
            if sock.gettimeout() != timeout:
                sock.settimeout(timeout)
            try:
                data = sock.recv(min(max(reader.needed, _THREAD_READ_SIZE), _READ_LIMIT))
            except (socket.timeout, TimeoutError):
                if self.msg_start is None:
                    raise errors.TimeoutError("receiving: timeout (no request within %s s)" % timeout) from None
                raise self.limits.partial_timeout_error(avail) from None
            except (InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except OSError as x:
                raise errors.ConnectionClosedError("receiving: connection lost: %s" % x) from x
            if not data:
                reader.eof()
                raise errors.ConnectionClosedError("connection closed")
            messages = reader.feed(data)
            if messages:
                if messages[-1].data_size >= _svr_memory.LARGE_TRANSFER:
                    _svr_memory.note_large_transfer()
                self.messages.extend(messages[1:])
                return messages[0]

    def send(self, data: Any) -> None:
        """Send all data; a peer that takes nothing for limits.partial_message_timeout (e.g. it doesn't read its
        result) is given up on with TimeoutError, so it can't hold the worker forever."""
        sock = self.sock
        if isinstance(data, (tuple, list)):     # a message in parts (header, annotations, payload)
            data = b"".join(data)
        if len(data) >= _svr_memory.LARGE_TRANSFER:
            _svr_memory.note_large_transfer()
        if not _DONTWAIT or isinstance(sock, ssl.SSLSocket):
            timeout = self.idle_timeout if self.idle_timeout is not None else self.limits.partial_message_timeout
            if sock.gettimeout() != timeout:
                sock.settimeout(timeout)
            super().send(data)
            return
        view = memoryview(data).cast("B")
        limit = self.idle_timeout if self.idle_timeout is not None else self.limits.partial_message_timeout
        while view:
            try:
                view = view[sock.send(view, _DONTWAIT):]
            except (BlockingIOError, InterruptedError):
                if not wait_writable(sock, limit):
                    raise errors.TimeoutError("sending: timeout (the peer took nothing for %s s)" % limit) from None
            except OSError as x:
                raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x


class MuxConnection(ClientConnection):
    """Connection of the multiplex server (and of the thread pool server's selector): non-blocking reads and
    writes, never blocks the loop.

    read_available() feeds what the socket has into the connection's MessageReader (which checks every byte and
    the size limits: MAX_PREHANDSHAKE_SIZE until the handshake is done) and queues the complete messages;
    next_message() hands them out (or the ProtocolError of bad input, after the messages before it).
    send() writes what the socket takes right away and keeps the rest in `outbuf` (the server then waits
    for writability); with `buffer_writes` False (an external event loop drives the server, or a worker thread
    sends) it waits for the socket instead, at most limits.partial_message_timeout without progress."""

    __slots__ = ("reader", "messages", "read_error", "msg_start", "outbuf", "out_since", "tls_since",
                 "buffer_writes", "limits")

    def __init__(self, sock: Any, sock_addr: Any = None, limits: ServerLimits = DEFAULT_LIMITS) -> None:
        super().__init__(sock, sock_addr)
        self.limits = limits
        self.reader = protocol.MessageReader(prehandshake=True)
        self.messages: collections.deque[protocol.ReceivingMessage] = collections.deque()
        self.read_error: Optional[errors.ProtocolError] = None
        self.msg_start: Optional[float] = None   # when the first byte of the current message arrived
        self.outbuf: Optional[memoryview] = None
        self.out_since = 0.0        # last time the send buffer made progress
        self.tls_since: Optional[float] = None   # TLS handshake in progress since then
        self.buffer_writes = True

    @property
    def buffered(self) -> int:
        """bytes of the message in progress received so far"""
        return self.reader.received_bytes

    @property
    def receiving_big(self) -> bool:
        """True while a large message arrives (more than _BIG bytes of it are missing)"""
        reader = self.reader
        return reader.state == reader.READING_BODY and reader.needed > _BIG

    def has_message(self) -> bool:
        """Is a complete message (or the error of bad input) waiting for next_message()?"""
        return bool(self.messages) or self.read_error is not None

    def next_message(self) -> Any:
        """The next complete message, or the ProtocolError of the bad bytes that followed the messages."""
        if self.messages:
            return self.messages.popleft()
        error, self.read_error = self.read_error, None
        return error

    def read_available(self) -> bool:
        """Read what the socket has (non-blocking); False when the peer closed the connection."""
        sock = self.sock
        is_ssl = isinstance(sock, ssl.SSLSocket)
        reader = self.reader
        total = 0
        if self.read_error is not None:
            return True     # (bad input: the connection is answered and closed)
        while True:
            size = min(max(reader.needed, _READ_SIZE), _READ_LIMIT - total)
            try:
                data = sock.recv(size)
            except _WOULD_BLOCK:
                return True
            except (ssl.SSLError, OSError):
                return False
            if not data:
                return False
            total += len(data)
            try:
                messages = reader.feed(data)
            except errors.ProtocolError as x:
                self.read_error = x
                return True
            if messages:
                self.messages.extend(messages)
                if messages[-1].data_size >= _svr_memory.LARGE_TRANSFER:
                    _svr_memory.note_large_transfer()
                if len(data) > _BIG:
                    return True     # a large message is complete: dispatch it before reading on
            if total >= _READ_LIMIT or (len(data) < size and not (is_ssl and cast(ssl.SSLSocket, sock).pending())):
                return True     # (a peer that keeps sending gets its turn again on the next loop)

    def tls_pending(self) -> bool:
        """True when the TLS layer holds received bytes that read_available() did not take yet."""
        sock = self.sock
        try:
            return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        except (ValueError, OSError):
            return False

    def send(self, data: Any) -> None:
        if isinstance(data, (tuple, list)):     # a message in parts (header, annotations, payload)
            data = b"".join(data)
        if len(data) >= _svr_memory.LARGE_TRANSFER:
            _svr_memory.note_large_transfer()
        view = memoryview(data).cast("B")
        if self.outbuf is not None:
            self.outbuf = memoryview(bytes(self.outbuf) + bytes(view))
            return
        view = self._send_some(view)
        if not view:
            return
        if self.buffer_writes:
            self.outbuf = view if isinstance(data, bytes) else memoryview(bytes(view))
            self.out_since = time.monotonic()
            return
        last_progress = time.monotonic()
        while view:
            wait = last_progress + self.limits.partial_message_timeout - time.monotonic()
            if wait <= 0:
                raise errors.TimeoutError("sending: timeout (the peer does not read its result)")
            try:
                wait_writable(self.sock, wait)
            except (OSError, ValueError) as x:
                raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x
            before = len(view)
            view = self._send_some(view)
            if len(view) != before:
                last_progress = time.monotonic()

    def flush(self) -> bool:
        """Send more of outbuf; True when it is empty (raises ConnectionClosedError when the peer is gone)."""
        if self.outbuf is None:
            return True
        before = len(self.outbuf)
        rest = self._send_some(self.outbuf)
        if not rest:
            self.outbuf = None
            return True
        if len(rest) != before:
            self.out_since = time.monotonic()
        self.outbuf = rest
        return False

    def _send_some(self, view: memoryview) -> memoryview:
        sock = self.sock
        chunk = _SSL_SEND_CHUNK if isinstance(sock, ssl.SSLSocket) else len(view)
        try:
            while view:
                sent = sock.send(view[:chunk])
                if not sent:
                    break
                view = view[sent:]
        except _WOULD_BLOCK:
            pass
        except OSError as x:
            raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x
        return view
