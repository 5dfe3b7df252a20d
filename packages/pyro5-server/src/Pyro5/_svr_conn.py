"""Buffered client connections of the socket servers, and the limits for peers that stall mid-message.

Both servers read a client's bytes into a per-connection buffer (one large recv usually delivers a whole
message) and hand complete messages to the daemon, whose protocol.recv_stub then reads from that buffer.

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
from typing import Any, Optional

from . import config, errors, protocol
from ._svr_common import ClientConnection

__all__ = ["PARTIAL_MESSAGE_TIMEOUT", "MIN_TRANSFER_RATE", "message_length", "ThreadConnection", "MuxConnection"]

PARTIAL_MESSAGE_TIMEOUT = 20.0      # seconds to complete a started message / TLS handshake / stalled send
MIN_TRANSFER_RATE = 64 * 1024       # bytes per second that extend that time while a big message arrives

_HEADER_SIZE = 40
_PREFIX = b"PYRO" + protocol.PROTOCOL_VERSION.to_bytes(2, "big")
_MAGIC = (0x4DC5).to_bytes(2, "big")
_READ_SIZE = 64 * 1024
_THREAD_READ_SIZE = 4096     # (a blocking read: small, it's what one request usually is)
_SSL_SEND_CHUNK = 256 * 1024
_COMPACT = 1024 * 1024
_READ_LIMIT = 4 * 1024 * 1024     # bytes read from one connection per event (fairness)
_poll = getattr(select, "poll", None)
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


def message_length(buf: Any, start: int) -> Optional[int]:
    """Length of the message that starts at buf[start:] when its header is there (None: need more bytes).
    0 means: the data is not a valid message (or too large); dispatch it now, so that reading it raises the
    ProtocolError that tells the peer what is wrong."""
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
    if size > config.MAX_MESSAGE_SIZE:
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


def allowed_until(started: float, received: int) -> float:
    return started + PARTIAL_MESSAGE_TIMEOUT + received / MIN_TRANSFER_RATE


def _partial_timeout_error(received: int) -> errors.TimeoutError:
    return errors.TimeoutError("incomplete message: the peer sent %d bytes of a message and then stalled for "
                               "too long (more than %.0f s); connection closed" % (received, PARTIAL_MESSAGE_TIMEOUT))


class _Buffered(ClientConnection):
    """A client connection whose received bytes go through a buffer (inbuf[rpos:] is not consumed yet)."""

    __slots__ = ("inbuf", "rpos", "msg_start")

    def __init__(self, sock: Any, sock_addr: Any = None) -> None:
        super().__init__(sock, sock_addr)
        self.inbuf: Any = b""     # bytes or bytearray
        self.rpos = 0
        self.msg_start: Optional[float] = None   # when the first byte of the current message arrived

    @property
    def buffered(self) -> int:
        return len(self.inbuf) - self.rpos

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
        while True:
            avail = len(self.inbuf) - self.rpos
            if avail >= size:
                return
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
                got = self._read_some(size - avail, _THREAD_READ_SIZE)
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
            raise errors.ConnectionClosedError("connection closed: received %d of %d bytes of a Pyro message"
                                               % (avail, size))
        return self._take(size)

    def read_available(self) -> bool:
        """Read what the socket has (non-blocking); False when the peer closed the connection."""
        sock = self.sock
        is_ssl = isinstance(sock, ssl.SSLSocket)
        total = 0
        while True:
            size = _READ_SIZE
            length = message_length(self.inbuf, self.rpos)
            if length:
                size = min(max(size, length - self.buffered), _READ_LIMIT)
            try:
                got = self._read_some(size)
            except _WOULD_BLOCK:
                return True
            except (ssl.SSLError, OSError):
                return False
            if not got:
                return False
            total += got
            if total >= _READ_LIMIT or (got < size and not (is_ssl and sock.pending())):
                return True     # (a peer that keeps sending gets its turn again on the next loop)

    def send(self, data: Any) -> None:
        if isinstance(data, (tuple, list)):     # a message in parts (header, annotations, payload)
            data = b"".join(data)
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
