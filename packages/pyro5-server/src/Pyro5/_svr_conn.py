"""Client connections of the socket servers, and the limits for peers that stall mid-message.

Every connection reads through its own protocol.MessageReader (pyro5-wire: the one place where received bytes
are checked, the header decoded and the body completed; MAX_PREHANDSHAKE_SIZE applies until the handshake is
done) and hands whole messages to the daemon's dispatcher (see _svr_dispatch.answer_message). MuxConnection
reads non-blockingly (the multiplex server, and the thread pool server's selector), ThreadConnection blocks
(the per-connection mode, the existing-connection server). The rest of a large body is received with
recv_into() straight into the reader's buffer (in the end one buffer of the body's size, which stays the
message's data: no join, no copy; see MessageReader._next_buffer).

A connection that is idle *between* messages is legitimate and may stay (COMMTIMEOUT limits that, when set).
But once the first byte of a message arrived, the rest must follow: a message must be complete within
limits.partial_message_timeout seconds, plus one second for every limits.min_transfer_rate bytes that did arrive
(so big messages on slow links still get through, while a peer that trickles bytes does not hold on forever).
The same limit applies to a TLS handshake and (multiplex server) to a peer that stops reading its result.
`limits` is the daemon's ServerLimits (see _svr_limits), shared by all its connections.
"""
from __future__ import annotations

import collections
import contextlib
import select
import socket
import ssl
import struct
import sys
import time
from typing import Any, Optional, cast

from . import _svr_memory, _wire_stream, errors, protocol
from ._svr_common import ClientConnection
from ._svr_limits import DEFAULT_LIMITS, ServerLimits

__all__ = ["ThreadConnection", "MuxConnection", "wait_readable", "wait_writable", "READ_SIZE", "WOULD_BLOCK"]

READ_SIZE = _READ_SIZE = 64 * 1024     # bytes asked for by a receive between messages
_READ_LIMIT = 4 * 1024 * 1024     # bytes read from one connection per event (fairness)
_BIG = 16 * 1024     # a message (part) with more than this still missing is received in chunks
_HEADER_FIRST = 256 * 1024      # after a message this big, the next one's header is received alone (header_first)
_HEADER_SIZE = protocol._header_size

WOULD_BLOCK = _WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


wait_writable = _wire_stream.wait_writable
wait_readable = _wire_stream.wait_readable
_recv_message = _wire_stream.recv_message
_send_nowait = _wire_stream.send_nowait
_SEND_TIMEOUT = "sending: timeout (the peer did not take its result in time)"
_poll = getattr(select, "poll", None)
_POLLIN = getattr(select, "POLLIN", 1)
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_WAITALL = getattr(socket, "MSG_WAITALL", 0)
_LINGER_OK = bool(_DONTWAIT) and hasattr(socket, "SO_RCVTIMEO") and sys.platform.startswith("linux")
_TIMEVAL = struct.Struct("@ll")


class ThreadConnection(ClientConnection):
    """Connection served by one thread with blocking reads (the thread pool server's per-connection mode, the
    existing-connection server): read_message() returns the next whole message, through the connection's
    MessageReader. `idle_timeout` limits the wait for the first byte of a message (None: wait forever); once
    it arrived, the message must be complete in time (limits.allowed_until)."""

    __slots__ = ("idle_timeout", "reader", "messages", "limits")

    def __init__(self, sock: Any, sock_addr: Any = None, idle_timeout: Optional[float] = None,
                 keep_open: bool = False, limits: ServerLimits = DEFAULT_LIMITS) -> None:
        super().__init__(sock, sock_addr, keep_open=keep_open)
        self.limits = limits
        self.idle_timeout = idle_timeout
        self.reader = protocol.MessageReader(prehandshake=True)
        self.reader.keep_buffers = True     # (a big body stays the bytearray it was received into)
        self.messages: collections.deque[protocol.ReceivingMessage] = collections.deque()

    def read_message(self) -> protocol.ReceivingMessage:
        """The next whole message (blocking). Raises ConnectionClosedError, TimeoutError (idle_timeout, or a
        message that stalls) and ProtocolError (bad input)."""
        if self.messages:
            return self.messages.popleft()
        limits = self.limits
        messages = _recv_message(self.sock, self.reader, limits.partial_message_timeout, rate=limits.min_transfer_rate,
                                 idle=self.idle_timeout, timeout_error=limits.partial_timeout_error)
        if messages[-1].data_size >= _svr_memory.LARGE_TRANSFER:
            _svr_memory.note_large_transfer()
        if len(messages) > 1:
            self.messages.extend(messages[1:])
        return messages[0]

    def send(self, data: Any) -> None:
        """Send all data (bytes, or a message's parts: not joined) within one deadline: limits.partial_message_timeout
        (or COMMTIMEOUT when set), extended by one second per limits.min_transfer_rate bytes sent; so a peer that
        does not read its result can't hold the worker forever."""
        _send_within_limits(self.sock, data, self.limits, self.idle_timeout)


def _send_within_limits(sock: Any, data: Any, limits: ServerLimits, timeout: Optional[float] = None) -> None:
    size = sum(map(len, data)) if isinstance(data, (tuple, list)) else len(data)
    if size >= _svr_memory.LARGE_TRANSFER:
        _svr_memory.note_large_transfer()
    limit = timeout if timeout is not None else limits.partial_message_timeout
    _wire_stream.send(sock, data, limit, _SEND_TIMEOUT, limits.min_transfer_rate)


class MuxConnection(ClientConnection):
    """Connection of the multiplex server (and of the thread pool server's selector): non-blocking reads and
    writes, never blocks the loop.

    read_available() feeds what the socket has into the connection's MessageReader (which checks every byte and
    the size limits: MAX_PREHANDSHAKE_SIZE until the handshake is done) and queues the complete messages;
    next_message() hands them out (or the ProtocolError of bad input, after the messages before it).
    send() writes what the socket takes right away and keeps the rest in `outbuf` (views on the message's parts,
    not a copy; the server then waits for writability); with `buffer_writes` False (an external event loop
    drives the server, or a worker thread sends) it sends the rest through the stream layer instead, within one
    deadline: limits.partial_message_timeout plus one second per limits.min_transfer_rate bytes sent.
    A thread pool worker that keeps the connection between requests puts a plain socket in blocking mode with
    a receive timeout (begin_linger / end_linger)."""

    __slots__ = ("reader", "messages", "read_error", "msg_start", "outbuf", "out_since", "tls_since",
                 "buffer_writes", "limits", "is_tls", "_poller", "send_flags", "_rcvtimeo", "linger_time",
                 "answered_at", "header_first")

    def __init__(self, sock: Any, sock_addr: Any = None, limits: ServerLimits = DEFAULT_LIMITS) -> None:
        super().__init__(sock, sock_addr)
        self.limits = limits
        self.reader = protocol.MessageReader(prehandshake=True)
        self.reader.keep_buffers = True     # (a big body stays the bytearray it was received into)
        self.messages: collections.deque[protocol.ReceivingMessage] = collections.deque()
        self.read_error: Optional[errors.ProtocolError] = None
        self.msg_start: Optional[float] = None   # when the first byte of the current message arrived
        self.outbuf: Optional[list[memoryview]] = None    # what the socket did not take yet
        self.out_since = 0.0        # last time the send buffer made progress
        self.tls_since: Optional[float] = None   # TLS handshake in progress since then
        self.buffer_writes = True
        self.is_tls = isinstance(sock, ssl.SSLSocket)
        self._poller: Any = None
        self.send_flags = 0            # MSG_DONTWAIT while a worker has the socket in blocking mode
        self._rcvtimeo: Optional[float] = None
        # (thread pool server) how long a worker waits for the connection's next request (0: not at all), and
        # when its worker answered the last one (monotonic; see svr_threads._next_message_ready)
        self.linger_time = limits.linger
        self.answered_at = 0.0
        # the last message was big (_HEADER_FIRST): receive the next header alone, then its body straight into the
        # buffer kept for it (_wire_reader.recycle_buffer). With the usual 64 KiB receive, those first bytes came as
        # a bytes object of 64 KiB at the top of the heap, right where the deserialized arguments of a big call
        # then went: once small allocations filled the hole it left, the next arguments went 64 KiB higher, and a
        # 1 MiB upload in a loop ratcheted the server's peak memory from 2.0 to 2.2-3.3 times the message.
        self.header_first = False

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

    def read_available(self, received: Optional[bytes] = None) -> bool:
        """Read what the socket has (non-blocking); False when the peer closed the connection. `received`: what
        the caller's own receive of READ_SIZE bytes got, while the reader was between messages (a fast path
        that did not take it: see svr_threads), taken as this method's first receive."""
        if self.read_error is not None:
            return True     # (bad input: the connection is answered and closed)
        sock = self.sock
        reader = self.reader
        total = 0
        while True:
            needed = reader.needed
            if self.header_first and not reader.received_bytes:
                size = needed       # (the header alone: see header_first)
            else:
                size = min(max(needed, _READ_SIZE), _READ_LIMIT - total)
            if needed > _BIG and reader.received_bytes:
                # (the rest of a big body: straight into the reader's buffer, see _read_into)
                count = self._read_into(size)
                if count <= 0:
                    return count == 0   # (nothing there now, or bad input: True; the peer closed: False)
                total += count
                if self.has_message() or total >= _READ_LIMIT or (count < size and not (
                        self.is_tls and cast(ssl.SSLSocket, sock).pending())):
                    return True
                continue
            if received is not None:
                data, received = received, None
            else:
                try:
                    data = sock.recv(size)
                except _WOULD_BLOCK:
                    return True
                except (ssl.SSLError, OSError):
                    return False
            if not data:
                # the peer closed; messages that came before are answered first (a receive that got exactly the
                # bytes asked for, e.g. a header alone that completes a message, goes on with another receive)
                return bool(self.messages)
            total += len(data)
            try:
                messages = reader.feed(data)
            except errors.ProtocolError as x:
                self.read_error = x
                return True
            if messages:
                self.messages.extend(messages)
                if messages[-1].data_size >= _HEADER_FIRST:
                    self._big_received(messages[-1])
                elif self.header_first:
                    self.header_first = False
                if len(data) > _BIG:
                    return True     # a large message is complete: dispatch it before reading on
            if total >= _READ_LIMIT or (len(data) < size and not (self.is_tls and cast(ssl.SSLSocket, sock).pending())):
                return True     # (a peer that keeps sending gets its turn again on the next loop)

    def _read_into(self, size: int) -> int:
        """One receive of up to `size` bytes of a big body into the reader's buffer: the count, 0 when nothing
        is there now (or bad input, in read_error), -1 when the peer closed the connection."""
        reader = self.reader
        try:
            with reader.recv_buffer(size) as view:
                # (a worker lingering in blocking mode: all of it in one call, or what came within the linger time)
                count = self.sock.recv_into(view, 0, _WAITALL) if self.send_flags else self.sock.recv_into(view)
        except _WOULD_BLOCK:
            return 0
        except (ssl.SSLError, OSError):
            return -1
        if not count:
            return -1
        try:
            messages = reader.received(count)
        except errors.ProtocolError as x:
            self.read_error = x
            return 0
        if messages:
            self.messages.extend(messages)
            if messages[-1].data_size >= _HEADER_FIRST:
                self._big_received(messages[-1])
            elif self.header_first:
                self.header_first = False
        return count

    def _big_received(self, msg: protocol.ReceivingMessage) -> None:
        self.header_first = True
        if msg.data_size >= _svr_memory.LARGE_TRANSFER:
            _svr_memory.note_large_transfer()

    def begin_linger(self, timeout: float) -> bool:
        """(a worker thread that keeps the connection between requests) Put a plain socket in blocking mode with
        a receive timeout of `timeout`: read_available() then waits for the next request itself (one system
        call, no poll() first), and sends use MSG_DONTWAIT. end_linger() restores the non-blocking mode."""
        if self.is_tls or not _LINGER_OK:
            return False
        sock = self.sock
        try:
            if self._rcvtimeo != timeout:
                seconds = int(timeout)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                                _TIMEVAL.pack(seconds, int((timeout - seconds) * 1e6)))
                self._rcvtimeo = timeout
            if sock.gettimeout() is not None:   # (a new connection given to a worker is blocking already)
                sock.setblocking(True)
        except OSError:
            with contextlib.suppress(OSError):
                sock.setblocking(False)     # (the worker polls then: reads must not block)
            return False
        self.send_flags = _DONTWAIT
        return True

    def end_linger(self) -> None:
        if self.send_flags:
            self.send_flags = 0
            with contextlib.suppress(OSError):
                self.sock.setblocking(False)

    def wait_readable(self, timeout: float) -> bool:
        """(a worker thread) Wait up to `timeout` seconds for data (True: there is some, or the peer closed)."""
        if self.send_flags:
            return True     # (blocking mode with a receive timeout: read_available waits)
        if self.is_tls and self.tls_pending():
            return True
        poller = self._poller
        if poller is None:
            if _poll is None:
                return wait_readable(self.sock, timeout)
            poller = self._poller = _poll()
            poller.register(self.sock, _POLLIN)
        return bool(poller.poll(int(timeout * 1000)))

    def tls_pending(self) -> bool:
        """True when the TLS layer holds received bytes that read_available() did not take yet."""
        sock = self.sock
        try:
            return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
        except (ValueError, OSError):
            return False

    def send(self, data: Any) -> None:
        """Send data (bytes, or a message's parts: not joined): what the socket takes now; the rest waits in
        outbuf (buffer_writes), or is sent with a deadline (see _send_within_limits)."""
        if self.outbuf is None and type(data) is tuple and len(data) == 1 and type(data[0]) is bytes:
            data = data[0]      # (a small message: the usual case, one send() that takes it all)
            try:
                sent = self.sock.send(data, self.send_flags)
            except _WOULD_BLOCK:
                sent = 0
            except OSError as x:
                raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x
            if sent == len(data):
                return
            data = memoryview(data)[sent:]
        views = _wire_stream.as_views(data)
        if sum(view.nbytes for view in views) >= _svr_memory.LARGE_TRANSFER:
            _svr_memory.note_large_transfer()
        if self.outbuf is None:
            _send_nowait(self.sock, views, self.send_flags)
            if not views:
                return
            if not self.buffer_writes:
                _send_within_limits(self.sock, views, self.limits)
                return
            self.outbuf = []
            self.out_since = time.monotonic()
        # (kept for later: a buffer that is not immutable bytes is copied)
        self.outbuf.extend(view if isinstance(view.obj, bytes) else memoryview(view.tobytes()) for view in views)

    @property
    def unsent(self) -> int:
        """bytes waiting in outbuf"""
        return sum(view.nbytes for view in self.outbuf) if self.outbuf else 0

    def flush(self) -> bool:
        """Send more of outbuf; True when it is empty (raises ConnectionClosedError when the peer is gone)."""
        outbuf = self.outbuf
        if outbuf is None:
            return True
        if _send_nowait(self.sock, outbuf):
            self.out_since = time.monotonic()
        if outbuf:
            return False
        self.outbuf = None
        return True
