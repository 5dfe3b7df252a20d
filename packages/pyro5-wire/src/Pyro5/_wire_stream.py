"""The blocking stream layer: sending and receiving over one connected socket (plain TCP, TLS or unix), used by
the client (``_client_conn``), the servers' blocking connections (``_svr_conn.ThreadConnection``: the thread
pool server's per-connection mode, the existing-connection server; a worker of the thread pool server that
sends a reply the socket can't take at once) and socketutil's public ``send_data`` / ``receive_data``.

One deadline model. Each operation gets ONE time limit for the whole of it, not one per system call:
sending a message (all its parts), receiving a message, receiving an exact number of bytes. A `Deadline` is
`timeout` seconds from the start of the operation, extended by one second per `rate` bytes transferred when a
rate is given (the servers: a big message on a slow link still gets through, a peer that trickles bytes does
not hold on forever); a timeout of None means no limit. Before each system call the socket gets what is left of
the deadline as its timeout (sockets in blocking or timeout mode; the socket's own timeout is restored at the
end), or is waited on with poll() within that time (non-blocking sockets). Running out raises
Pyro5.errors.TimeoutError, a lost connection ConnectionClosedError.

Sending writes a message's parts as they are (``SendingMessage.parts``): sendmsg() on a plain socket, so a big
payload is never copied behind its header; slices of at most 256 KiB on TLS. Receiving feeds the bytes to a
``protocol.MessageReader`` (the one place where received bytes are checked and the header decoded).
"""
from __future__ import annotations

import select
import socket
import ssl
import sys
import time
from typing import Any, Callable, Optional, Sequence, Union

from . import errors

__all__ = ["Deadline", "as_views", "send", "send_nowait", "recv_message", "recv_exact", "wait_readable", "wait_writable"]

_SSL_CHUNK = 256 * 1024
_IOV_MAX = 512
_FIRST_RECV = 4096          # the first receive of a message: usually all of a small one
_RECV_LIMIT = 4 * 1024 * 1024   # at most this much in one receive of a big message
_INTO = 64 * 1024           # more than this missing of a body (after its first bytes): received into the reader
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
_WOULD_BLOCK_OR_TIMEOUT = _WOULD_BLOCK + (socket.timeout, TimeoutError)
_WAITALL = getattr(socket, "MSG_WAITALL", 0)
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_poll = getattr(select, "poll", None)
_monotonic = time.monotonic
# a big bytes part that the kernel would copy slowly is sent from a copy (see _realigned)
_REALIGN_MIN = 256 * 1024
_REALIGN_MAX = 2 * 1024 * 1024      # (a bigger part is not copied: the copy, out of the caches, costs as much as it saves)
_BYTES_DATA = bytes.__basicsize__ - 1 if sys.implementation.name == "cpython" else None  # data offset from id()
_PAGE = 4096
_SLOW_SPAN = 32
_PAD = bytes(64)
_NOT_GIVEN: Any = object()

Timeout = Union[float, None, "Deadline"]


class Deadline:
    """The time limit of one whole operation: `timeout` seconds from `start` (default: now), plus one second per
    `rate` bytes transferred (rate 0: no extension). timeout None: no limit."""

    __slots__ = ("end", "rate")

    def __init__(self, timeout: Optional[float], rate: float = 0.0, start: Optional[float] = None) -> None:
        self.end = None if timeout is None else (_monotonic() if start is None else start) + timeout
        self.rate = rate

    def remaining(self, transferred: int = 0) -> Optional[float]:
        """Seconds left (None: no limit; <= 0: expired), with `transferred` bytes done so far."""
        end = self.end
        if end is None:
            return None
        if self.rate:
            end += transferred / self.rate
        return end - _monotonic()


def _deadline(timeout: Timeout) -> Deadline:
    return timeout if isinstance(timeout, Deadline) else Deadline(timeout)


def wait_writable(sock: Any, timeout: Optional[float]) -> bool:
    """Wait until the socket can take more data (poll() where available: no FD_SETSIZE limit)."""
    if _poll is not None:
        poller = _poll()
        poller.register(sock, select.POLLOUT)
        return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000))))
    return bool(select.select([], [sock], [], timeout)[1])


def wait_readable(sock: Any, timeout: Optional[float]) -> bool:
    """Wait until the socket has data (or EOF)."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    if _poll is not None:
        poller = _poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(None if timeout is None else max(0, int(timeout * 1000))))
    return bool(select.select([sock], [], [], timeout)[0])


# ------------------------------------------------------------------------------------------ sending

def as_views(data: Any) -> list[memoryview]:
    """The buffers of `data` (a bytes-like object or a sequence of them) as flat byte views, empty ones left out
    (a big bytes part whose copy into the socket would be slow: a view of a copy, see _realigned)."""
    parts = data if isinstance(data, (tuple, list)) else (data,)
    views = []
    pos = 0
    for part in parts:
        view = part if type(part) is memoryview else memoryview(part)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        if view.nbytes:
            if pos and type(part) is bytes and _REALIGN_MIN <= view.nbytes <= _REALIGN_MAX and \
                    _BYTES_DATA is not None and _slow_copy(pos, id(part) + _BYTES_DATA):
                view = _realigned(part, pos)
            views.append(view)
            pos += view.nbytes
    return views


def _slow_copy(pos: int, address: int) -> bool:
    """Would the kernel copy the buffer at `address` slowly into the socket's buffer pages, where its first byte
    lands at offset `pos` of the message (the pages are 4 KiB aligned; a message usually starts at offset 0 of
    one)? On the AMD EPYC machine of the benchmarks, copying (rep movsb) to a destination 1 to 31 bytes past the
    source's offset within a page is several times slower, and the receiver pays too: a 1 MiB upload cost the
    sender and the receiver about twice their CPU time. A big bytes argument that the serializers splice into
    the message (no copy) hits that easily: a bytes object of its own mmap()ed block has its data at offset 48
    of a page, and the header and the serialized call before it take 49 to 79 bytes."""
    return 0 < (pos - address) % _PAGE < _SLOW_SPAN


def _realigned(part: bytes, pos: int) -> memoryview:
    """A view of a copy of `part` that the kernel copies at full speed (for a part up to _REALIGN_MAX one copy of
    the bytes costs less than the slow copy of them: 1,000 uploads of 1 MiB cost the client 240 instead of 370 µs
    each and the server 230 instead of 350; at 10 MiB the copy cost as much as it saved). At most one of the two
    candidates, 64 bytes apart, can be slow."""
    for pad in (_PAD, None):
        if pad is None:
            copy = memoryview(part).tobytes()
            start = 0
        else:
            copy = pad + part
            start = len(pad)
        if not _slow_copy(pos, id(copy) + _BYTES_DATA + start):    # type: ignore[operator]
            return memoryview(copy)[start:]
    return memoryview(part)


def _send_once(sock: Any, views: list[memoryview], flags: int = 0) -> int:
    if isinstance(sock, ssl.SSLSocket):
        return sock.send(views[0][:_SSL_CHUNK])
    if len(views) == 1 or not hasattr(sock, "sendmsg"):
        return sock.send(views[0], flags)
    return sock.sendmsg(views[:_IOV_MAX], (), flags)


def _consume(views: list[memoryview], sent: int) -> None:
    while sent:
        size = views[0].nbytes
        if sent < size:
            views[0] = views[0][sent:]
            return
        sent -= size
        del views[0]


def send_nowait(sock: Any, views: list[memoryview], flags: int = 0) -> int:
    """Send what a non-blocking socket (or a plain one with flags=MSG_DONTWAIT) takes right now of `views` (the
    list is shortened by what was sent); returns the number of bytes sent. Raises ConnectionClosedError when the
    connection is lost."""
    total = 0
    try:
        while views:
            sent = _send_once(sock, views, flags)
            if not sent:
                break
            total += sent
            _consume(views, sent)
    except _WOULD_BLOCK:
        pass
    except OSError as x:
        raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x
    return total


def send(sock: Any, data: Union[bytes, bytearray, memoryview, Sequence[Any]], timeout: Timeout = None,
         timeout_message: str = "sending: timeout", rate: float = 0.0) -> None:
    """Send all of `data` (a bytes-like object, or a sequence of them sent as one stream of bytes) within one
    deadline: `timeout` seconds from now (a float; + one second per `rate` bytes sent), a Deadline, or None (no
    limit)."""
    sock_timeout = sock.gettimeout()
    if isinstance(data, (tuple, list)):
        single = data[0] if len(data) == 1 else None
    else:
        single = data
    if single is not None and sock_timeout != 0.0 and not rate and (
            sock_timeout == timeout if timeout is not None else sock_timeout is None):
        # one buffer on a socket whose own timeout is the deadline: sendall() counts it for the whole call
        try:
            sock.sendall(single)
            return
        except (socket.timeout, TimeoutError):
            raise errors.TimeoutError(timeout_message) from None
        except OSError as x:
            raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x
    views = as_views(data)
    sent = 0
    if _DONTWAIT and sock_timeout != 0.0 and not isinstance(sock, ssl.SSLSocket):
        # one send of what the socket takes right now, without switching its mode (usually all of a small
        # message; the socket is writable at the start: a socket with a timeout does not wait in its poll)
        try:
            sent = _send_once(sock, views, _DONTWAIT)
        except _WOULD_BLOCK_OR_TIMEOUT:
            sent = 0
        except OSError as x:
            raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x
        _consume(views, sent)
        if not views:
            return
    deadline = timeout if isinstance(timeout, Deadline) else Deadline(timeout, rate)
    try:
        while views:
            remaining = deadline.remaining(sent)
            if remaining is not None and remaining <= 0:
                raise errors.TimeoutError(timeout_message)
            if sock_timeout == 0.0:     # non-blocking: what the socket takes now, then wait for it
                done = send_nowait(sock, views)
                sent += done
                if views and not done and not wait_writable(sock, remaining):
                    raise errors.TimeoutError(timeout_message)
                continue
            if sock.gettimeout() != remaining:
                sock.settimeout(remaining)
            try:
                done = _send_once(sock, views)
            except (InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            sent += done
            _consume(views, done)
    except (socket.timeout, TimeoutError):
        raise errors.TimeoutError(timeout_message) from None
    except errors.PyroError:
        raise
    except OSError as x:
        raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x
    finally:
        if sock_timeout != 0.0 and sock.gettimeout() != sock_timeout:
            sock.settimeout(sock_timeout)


# ------------------------------------------------------------------------------------------ receiving

def _recv(sock: Any, size: Any, remaining: Optional[float], sock_timeout: Optional[float]) -> Any:
    """One receive within `remaining` seconds (None: no limit): of at most `size` bytes (an int: returns them),
    or into the buffer `size` (a memoryview: returns the count, 0 when the peer closed). Raises socket.timeout
    (also for a non-blocking socket that stays empty) and OSError."""
    receive = sock.recv if type(size) is int else sock.recv_into
    if sock_timeout == 0.0:
        while True:
            try:
                return receive(size)
            except _WOULD_BLOCK:
                if not wait_readable(sock, remaining):
                    raise socket.timeout("timed out") from None
    if sock.gettimeout() != remaining:
        sock.settimeout(remaining)
    while True:
        try:
            return receive(size)
        except (InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            continue


def _closed(reader: Any, peer: str) -> Exception:
    """The error for a peer that closed the connection (reader.eof() raises the one that says how much of a
    message was cut off)."""
    reader.eof()
    return errors.ConnectionClosedError("receiving: connection closed by the " + peer)


def recv_message(sock: Any, reader: Any, timeout: Optional[float] = None, *, rate: float = 0.0,
                 idle: Any = _NOT_GIVEN, timeout_error: Optional[Callable[[int], Exception]] = None,
                 peer: str = "peer") -> list:
    """Receive until `reader` (a protocol.MessageReader) completes a message; returns the messages completed
    (the first, and any that came with it). The whole message must arrive within `timeout` seconds (+ one
    second per `rate` bytes received) from now, or, when `idle` is given (a server waiting between requests),
    from the arrival of its first byte, which may take `idle` seconds (None: forever).
    `timeout_error(received)` makes the error of a message that did not complete in time."""
    sock_timeout = sock.gettimeout()
    received = reader.received_bytes
    if sock_timeout is None and timeout is None and idle is _NOT_GIVEN and not received and not rate:
        # no time limit on a blocking socket (a proxy without COMMTIMEOUT): one receive, usually all of a reply
        try:
            data = sock.recv(max(reader.needed, _FIRST_RECV))
        except (InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            data = None     # (nothing taken: the loop below receives)
        except OSError as x:
            raise errors.ConnectionClosedError("receiving: connection lost: %s" % x) from x
        if data is not None:
            if not data:
                raise _closed(reader, peer)
            messages = reader.feed(data)
            if messages:
                return messages
            received = reader.received_bytes   # (a part of a bigger message: the loop below receives the rest)
    waiting = idle is not _NOT_GIVEN and not received     # (for the first byte of a message)
    start = _monotonic()
    deadline: Optional[Deadline] = None
    size = max(reader.needed, _FIRST_RECV)
    first = not waiting and not received
    try:
        while True:
            if waiting:
                remaining = idle
            else:
                if deadline is None:
                    deadline = Deadline(timeout, rate, start)
                remaining = deadline.remaining(received)
                if remaining is not None and remaining <= 0:
                    raise _late(received, timeout_error)
            try:
                if size > _INTO and received:
                    # (the rest of a big body: straight into the reader's buffer, no bytes object per receive)
                    with reader.recv_buffer(_RECV_LIMIT) as view:
                        count = _recv(sock, view, remaining, sock_timeout)
                    if not count:
                        raise _closed(reader, peer)
                    messages = reader.received(count)
                    if messages:
                        return messages
                    received = reader.received_bytes
                    size = reader.needed
                    continue
                if sock_timeout != 0.0 and (remaining == sock_timeout or first and timeout == sock_timeout):
                    # the socket's own timeout is the limit (the first receive of a message that starts now)
                    data = sock.recv(min(size, _RECV_LIMIT))
                else:
                    data = _recv(sock, min(size, _RECV_LIMIT), remaining, sock_timeout)
            except (InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                continue
            except (socket.timeout, TimeoutError):
                if waiting:
                    raise errors.TimeoutError("receiving: timeout (no request within %s s)" % idle) from None
                raise _late(received, timeout_error) from None
            except OSError as x:
                raise errors.ConnectionClosedError("receiving: connection lost: %s" % x) from x
            if not data:
                raise _closed(reader, peer)
            first = False
            if waiting:
                waiting = False
                start = _monotonic()    # (the message started)
            messages = reader.feed(data)     # (a whole small message in `data`: the reader's fast path)
            if messages:
                return messages
            received = reader.received_bytes
            size = reader.needed
    finally:
        if sock_timeout != 0.0 and sock.gettimeout() != sock_timeout:
            sock.settimeout(sock_timeout)


def _late(received: int, timeout_error: Optional[Callable[[int], Exception]]) -> Exception:
    return timeout_error(received) if timeout_error is not None else errors.TimeoutError("receiving: timeout")


def _partial(error: Any, got: int, buf: Any) -> Any:
    error.partialData = bytes(buf[:got]) if got else b""
    return error


def recv_exact(sock: Any, size: int, timeout: Timeout = None) -> bytes:
    """Exactly `size` bytes within one deadline; TimeoutError / ConnectionClosedError carry the bytes received so
    far in their `partialData` attribute."""
    if size <= 0:
        return b""
    sock_timeout = sock.gettimeout()
    deadline = _deadline(timeout)
    buf: Any = b""
    got = 0
    try:
        if sock_timeout is None and deadline.end is None and not isinstance(sock, ssl.SSLSocket):
            first = sock.recv(size, _WAITALL)     # (a blocking socket without limit: usually all at once)
            if len(first) == size:
                return first
            if not first:
                raise _partial(errors.ConnectionClosedError("receiving: not enough data"), 0, b"")
            buf = bytearray(size)
            buf[:len(first)] = first
            got = len(first)
        else:
            buf = bytearray(size)
        view = memoryview(buf)
        while got < size:
            remaining = deadline.remaining(got)
            if remaining is not None and remaining <= 0:
                raise _partial(errors.TimeoutError("receiving: timeout"), got, buf)
            data = _recv(sock, size - got, remaining, sock_timeout)
            if not data:
                raise _partial(errors.ConnectionClosedError("receiving: not enough data"), got, buf)
            view[got:got + len(data)] = data
            got += len(data)
        view.release()
        return bytes(buf)
    except (socket.timeout, TimeoutError):
        raise _partial(errors.TimeoutError("receiving: timeout"), got, buf) from None
    except errors.PyroError:
        raise
    except OSError as x:
        raise _partial(errors.ConnectionClosedError("receiving: connection lost: %s" % x), got, buf) from x
    finally:
        if sock_timeout != 0.0 and sock.gettimeout() != sock_timeout:
            sock.settimeout(sock_timeout)
