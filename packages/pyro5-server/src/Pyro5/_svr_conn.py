"""Buffered client connections of the socket servers, and the limits for peers that stall mid-message.

Both servers read a client's bytes into a per-connection buffer (one large recv usually delivers a whole
message) and hand complete messages to the daemon, whose protocol.recv_stub then reads from that buffer.
A large message that needs several reads is received differently, once its header told the size: its payload
is read with recv_into() into chunks (allocated as the bytes arrive, so a header that merely claims a huge size
costs nothing) that are joined into the payload bytes at the end: each byte is copied only once after the
kernel, and the daemon gets that payload without another copy.

A connection that is idle *between* messages is legitimate and may stay (COMMTIMEOUT limits that, when set).
But once the first byte of a message arrived, the rest must follow: a message must be complete within
PARTIAL_MESSAGE_TIMEOUT seconds, plus one second for every MIN_TRANSFER_RATE bytes that did arrive (so big
messages on slow links still get through, while a peer that trickles bytes does not hold on forever).
The same limit applies to a TLS handshake and (multiplex server) to a peer that stops reading its result.
"""
from __future__ import annotations

import select
import socket
import ssl
import time
from typing import Any, Optional, cast

from . import _svr_memory, _wire_reader, config, errors, protocol
from ._svr_common import ClientConnection

__all__ = ["PARTIAL_MESSAGE_TIMEOUT", "MIN_TRANSFER_RATE", "HANDSHAKE_TIMEOUT", "handshake_limit", "message_length",
           "ThreadConnection", "MuxConnection"]

PARTIAL_MESSAGE_TIMEOUT = 20.0      # seconds to complete a started message / TLS handshake / stalled send
MIN_TRANSFER_RATE = 64 * 1024       # bytes per second that extend that time while a big message arrives
HANDSHAKE_TIMEOUT = 30.0            # (thread pool server) seconds a new connection has to send its connect message

_HEADER_SIZE = 40
_PREFIX = b"PYRO" + protocol.PROTOCOL_VERSION.to_bytes(2, "big")
_MAGIC = (0x4DC5).to_bytes(2, "big")
_READ_SIZE = 64 * 1024
_THREAD_READ_SIZE = 4096     # (a blocking read: small, it's what one request usually is)
_SSL_SEND_CHUNK = 256 * 1024
_COMPACT = 1024 * 1024
_READ_LIMIT = 4 * 1024 * 1024     # bytes read from one connection per event (fairness)
_BIG = 16 * 1024     # a message (part) with more than this still missing is received in chunks
_CHUNK = 1024 * 1024

_poll = getattr(select, "poll", None)
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


def message_length(buf: Any, start: int, prehandshake: bool = False) -> Optional[int]:
    """Length of the message that starts at buf[start:] when its header is there (None: need more bytes).
    0 means: the data is not a valid message (or too large: MAX_MESSAGE_SIZE, or MAX_PREHANDSHAKE_SIZE for a
    connection's first message); dispatch it now, so that reading it raises the ProtocolError that tells the
    peer what is wrong."""
    avail = len(buf) - start
    if avail < _HEADER_SIZE:
        if avail >= 6 and buf[start:start + 6] != _PREFIX:
            return 0
        if avail and buf[start:start + min(avail, 4)] != b"PYRO"[:avail]:
            return 0 if avail >= 6 else None
        return None
    if buf[start:start + 6] != _PREFIX or buf[start + 38:start + 40] != _MAGIC:
        return 0
    size = int.from_bytes(buf[start + 12:start + 16], "big") + int.from_bytes(buf[start + 16:start + 20], "big")
    if size > protocol.message_size_limit(prehandshake):
        return 0
    return _HEADER_SIZE + size


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


def handshake_limit() -> float:
    """Seconds a new connection of the thread pool server may take to send its connect message: COMMTIMEOUT
    when that is set, else HANDSHAKE_TIMEOUT."""
    timeout = config.COMMTIMEOUT
    return timeout if timeout and timeout > 0 else HANDSHAKE_TIMEOUT


def allowed_until(started: float, received: int) -> float:
    return started + PARTIAL_MESSAGE_TIMEOUT + received / MIN_TRANSFER_RATE


def _partial_timeout_error(received: int) -> errors.TimeoutError:
    return errors.TimeoutError("incomplete message: the peer sent %d bytes of a message and then stalled for "
                               "too long (more than %.0f s); connection closed" % (received, PARTIAL_MESSAGE_TIMEOUT))


class _Buffered(ClientConnection):
    """A client connection whose received bytes go through a buffer (inbuf[rpos:] is not consumed yet)."""

    __slots__ = ("inbuf", "rpos", "msg_start", "big", "big_pos", "big_size", "big_fill", "big_head", "payload",
                 "big_want")

    def __init__(self, sock: Any, sock_addr: Any = None) -> None:
        super().__init__(sock, sock_addr)
        self.inbuf: Any = b""     # bytes or bytearray
        self.rpos = 0
        self.msg_start: Optional[float] = None   # when the first byte of the current message arrived
        self.big: Optional[list] = None          # chunks of a large message (part) being received, or None
        self.big_pos = 0                         # bytes of it received so far
        self.big_size = 0                        # its size
        self.big_fill = 0                        # bytes in its last chunk
        self.big_head: Optional[bytes] = None    # (multiplex) the header of that message
        self.payload: Optional[bytes] = None     # (multiplex) the complete payload after inbuf's header
        self.big_want = 0                        # bytes the last recv_into() asked for

    @property
    def buffered(self) -> int:
        if self.big is not None:
            return self.big_pos if self.big_head is None else self.big_pos + len(self.big_head)
        if self.payload is not None:
            return len(self.inbuf) - self.rpos + len(self.payload)
        return len(self.inbuf) - self.rpos

    def _start_big(self, size: int, header: int = 0) -> None:
        """The next `size` bytes (more than are buffered) will be received in chunks; with `header`, the
        first so many bytes of them are kept apart (the multiplex server: a message's header)."""
        pos = self.rpos
        head = None
        if header:
            head = bytes(self.inbuf[pos:pos + header])
            pos += header
            size -= header
        if pos < len(self.inbuf):
            with memoryview(self.inbuf) as view:
                first = bytes(view[pos:])
        else:
            first = b""
        self.inbuf = b""
        self.rpos = 0
        self.big = [first]
        if not _wire_reader._allocator_settled:
            _wire_reader._settle_allocator()
        if size >= _svr_memory.LARGE_TRANSFER:
            _svr_memory.note_large_transfer()
        self.big_pos = self.big_fill = len(first)
        self.big_size = size
        self.big_head = head

    def _read_big(self, limit: int) -> int:
        """One recv_into() for the large message (part); returns the bytes read (0 = the peer closed the
        connection). When it is complete, the input buffer (thread server) or the payload (multiplex server)
        holds it."""
        chunks = self.big
        assert chunks is not None
        chunk = chunks[-1]
        fill = self.big_fill
        if fill == len(chunk):
            chunk = bytearray(min(self.big_size - self.big_pos, _CHUNK))
            chunks.append(chunk)
            fill = self.big_fill = 0
        count = min(len(chunk) - fill, limit)
        self.big_want = count
        with memoryview(chunk) as view, view[fill:fill + count] as part:
            got = self.sock.recv_into(part, count)
        self.big_fill = fill + got
        self.big_pos += got
        if self.big_pos >= self.big_size:
            data = b"".join(chunks)
            self.big = None
            if self.big_head is None:
                self.inbuf = data
            else:
                self.inbuf = self.big_head
                self.big_head = None
                self.payload = data
            self.rpos = 0
        return got

    def _take(self, size: int) -> bytes:
        # inbuf is the bytes of one recv() in the common case (slicing it is cheapest), or a bytearray
        # while a message accumulates over several reads
        pos = self.rpos
        end = pos + size
        buf = self.inbuf
        if type(buf) is bytes:
            data = buf if (pos == 0 and end == len(buf)) else buf[pos:end]
        elif size > _READ_SIZE:
            with memoryview(buf) as view:
                data = bytes(view[pos:end])
        else:
            data = bytes(buf[pos:end])
        if end >= len(buf):
            self.inbuf = b""
            self.rpos = 0
        else:
            self.rpos = end
        return data  # type: ignore[return-value]

    def _read_some(self, size: int, minimum: int = _READ_SIZE) -> int:
        """One recv() into the buffer; returns the number of bytes (0 = the peer closed the connection)."""
        data = self.sock.recv(min(max(size, minimum), _READ_LIMIT))
        if data:
            buf = self.inbuf
            if self.rpos >= len(buf):
                self.inbuf = data
                self.rpos = 0
            elif type(buf) is bytes or self.rpos > _COMPACT:
                with memoryview(buf) as view:
                    rest = bytearray(view[self.rpos:])
                rest += data
                self.inbuf = rest
                self.rpos = 0
            else:
                buf += data
        return len(data)


class ThreadConnection(_Buffered):
    """Connection served by a worker thread: blocking reads, but a started message gets a deadline.

    `idle_timeout` limits the wait for the first byte of a message (None: wait forever); the worker calls
    begin_message() before each message."""

    __slots__ = ("idle_timeout",)

    def __init__(self, sock: Any, sock_addr: Any = None, idle_timeout: Optional[float] = None) -> None:
        super().__init__(sock, sock_addr)
        self.idle_timeout = idle_timeout

    def begin_message(self) -> None:
        self.msg_start = None

    def recv(self, size: int) -> bytes:
        if len(self.inbuf) - self.rpos < size:
            self._fill(size)
        return self._take(size)

    def send(self, data: Any) -> None:
        """Send all data; a peer that takes nothing for PARTIAL_MESSAGE_TIMEOUT (e.g. it doesn't read its
        result) is given up on with TimeoutError, so it can't hold the worker forever."""
        sock = self.sock
        if isinstance(data, (tuple, list)):     # a message in parts (header, annotations, payload)
            data = b"".join(data)
        if len(data) >= _svr_memory.LARGE_TRANSFER:
            _svr_memory.note_large_transfer()
        if not _DONTWAIT or isinstance(sock, ssl.SSLSocket):
            timeout = self.idle_timeout if self.idle_timeout is not None else PARTIAL_MESSAGE_TIMEOUT
            if sock.gettimeout() != timeout:
                sock.settimeout(timeout)
            super().send(data)
            return
        view = memoryview(data).cast("B")
        limit = self.idle_timeout if self.idle_timeout is not None else PARTIAL_MESSAGE_TIMEOUT
        while view:
            try:
                view = view[sock.send(view, _DONTWAIT):]
            except (BlockingIOError, InterruptedError):
                if not wait_writable(sock, limit):
                    raise errors.TimeoutError("sending: timeout (the peer took nothing for %s s)" % limit) from None
            except OSError as x:
                raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x

    def _fill(self, size: int) -> None:
        sock = self.sock
        if size - (len(self.inbuf) - self.rpos) > _BIG:
            self._start_big(size)
        while True:
            big = self.big
            if big is None:
                avail = len(self.inbuf) - self.rpos
                if avail >= size:
                    return
            else:
                avail = self.big_pos
            if self.msg_start is None and avail:
                self.msg_start = time.monotonic()
            if self.msg_start is None:
                timeout = self.idle_timeout
            else:
                timeout = allowed_until(self.msg_start, avail) - time.monotonic()
                if timeout <= 0:
                    raise _partial_timeout_error(avail)
                if not isinstance(sock, ssl.SSLSocket):
                    # wait for the rest with poll(), keeping the socket's own timeout (no mode switching)
                    if not wait_readable(sock, timeout):
                        raise _partial_timeout_error(avail)
                    timeout = self.idle_timeout
            if sock.gettimeout() != timeout:
                sock.settimeout(timeout)
            try:
                got = self._read_some(size - avail, _THREAD_READ_SIZE) if big is None else self._read_big(_READ_LIMIT)
            except (socket.timeout, TimeoutError):
                if self.msg_start is None:
                    raise errors.TimeoutError("receiving: timeout (no request within %s s)" % timeout) from None
                raise _partial_timeout_error(avail) from None
            except (InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except OSError as x:
                raise errors.ConnectionClosedError("receiving: connection lost: %s" % x) from x
            if not got:
                raise errors.ConnectionClosedError("connection closed: received %d of %d bytes of a Pyro message"
                                                   % (avail, size))
            if self.msg_start is None:
                self.msg_start = time.monotonic()


class MuxConnection(_Buffered):
    """Connection of the multiplex server: non-blocking reads and writes, never blocks the loop.

    The server only dispatches a message when it is completely buffered, so recv() serves from the buffer.
    send() writes what the socket takes right away and keeps the rest in `outbuf` (the server then waits
    for writability); with `buffer_writes` False (an external event loop drives the server) it waits for
    the socket instead, at most PARTIAL_MESSAGE_TIMEOUT without progress."""

    __slots__ = ("outbuf", "out_since", "tls_since", "buffer_writes")

    def __init__(self, sock: Any, sock_addr: Any = None) -> None:
        super().__init__(sock, sock_addr)
        self.outbuf: Optional[memoryview] = None
        self.out_since = 0.0        # last time the send buffer made progress
        self.tls_since: Optional[float] = None   # TLS handshake in progress since then
        self.buffer_writes = True

    def recv(self, size: int) -> bytes:
        avail = len(self.inbuf) - self.rpos
        if avail < size:
            payload = self.payload
            if payload is not None and avail == 0 and len(payload) == size:
                self.payload = None
                self.inbuf = b""
                self.rpos = 0
                return payload
            raise errors.ConnectionClosedError("connection closed: received %d of %d bytes of a Pyro message"
                                               % (avail, size))
        return self._take(size)

    def read_available(self) -> bool:
        """Read what the socket has (non-blocking); False when the peer closed the connection."""
        sock = self.sock
        is_ssl = isinstance(sock, ssl.SSLSocket)
        total = 0
        if self.payload is not None:
            return True     # (a complete large message waits to be dispatched)
        while True:
            if self.big is None:
                size = _READ_SIZE
                length = message_length(self.inbuf, self.rpos, not self.handshaked)
                if length and length - self.buffered > _BIG:
                    self._start_big(length, _HEADER_SIZE)
            big = self.big
            try:
                if big is None:
                    got = self._read_some(size)
                else:
                    got = self._read_big(_READ_LIMIT - total)
                    size = self.big_want
            except _WOULD_BLOCK:
                return True
            except (ssl.SSLError, OSError):
                return False
            if not got:
                return False
            total += got
            if big is not None and self.big is None:
                return True     # a large message is complete: dispatch it before reading on
            if total >= _READ_LIMIT or (got < size and not (is_ssl and cast(ssl.SSLSocket, sock).pending())):
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
            wait = last_progress + PARTIAL_MESSAGE_TIMEOUT - time.monotonic()
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
