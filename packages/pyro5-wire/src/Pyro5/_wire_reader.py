"""The receiving side of the wire protocol without I/O (h11 style): bytes in, validated messages out.

Import it as ``Pyro5.protocol.MessageReader``. A transport gives a MessageReader the bytes it receives, in any
split, and gets back the complete messages; the reader does no I/O and never blocks::

    reader = MessageReader()
    for msg in reader.feed(data):      # data: what one recv() gave (any size, 0..many messages)
        ...

A blocking transport that wants to read exactly what is needed (no buffering, no copies) asks the reader::

    while True:
        with reader.recv_buffer() as buf:       # where the next bytes go: at most `reader.needed` bytes
            n = sock.recv_into(buf)
        if not n:
            reader.eof()                        # ConnectionClosedError when a message was cut off
            break
        for msg in reader.received(n):
            ...

Every check of received bytes happens here (the header itself is decoded by ReceivingMessage, the body by
protocol._complete_body; the reader calls both): the 'PYRO' tag and the protocol version as soon as the first
bytes arrive (a peer speaking another protocol is rejected after 6 bytes, not after 40), the magic number,
MAX_MESSAGE_SIZE from the header before any of the body is buffered, the message type (known, and accepted
when `accepted_msgtypes` is set), the annotation chunks and the bounded decompression. Any serializer id is
accepted (as the original 5.15 does): whoever deserializes the payload checks it.
Bad input raises ProtocolError (MessageTooLargeError for an oversized message) and leaves the reader failed:
every later call raises the same error. When bad bytes follow complete messages in the same feed(), those
messages are returned first and the error is raised by the next call (``feed(b"")`` raises it at once).

A body that spans several receives is kept as the pieces it arrived in and joined into the message's payload
bytes once at the end, so each byte is copied once after the kernel (and not at all when one fed bytes
object is exactly the payload). Pieces of a fed ``bytes`` object are kept by reference (it cannot change) until
the reader has a buffer of its own for that part of the body (then they are copied into it); bytes from a bytearray or memoryview, which the caller may reuse, are copied into the reader's own buffers,
as are the bytes received through recv_buffer(). Those buffers are allocated as the bytes arrive, doubling in
size, so a header that merely claims a huge size costs nothing.

For a large body, ``feed(sock.recv(reader.needed))`` is the cheapest way to use the reader from Python:
recv() fills a new bytes object without zeroing it first, while recv_buffer() must hand out a zeroed buffer,
and its bytes are copied once more into the payload (recv_buffer suits transports that ask for a buffer,
such as asyncio's BufferedProtocol).
"""
from __future__ import annotations

import logging
import os
import struct
import sys
from typing import Any, Iterable

try:
    import mmap as _mmap
except ImportError:     # (a platform without it: early pieces come from the heap)
    _mmap = None  # type: ignore[assignment]

from . import config, errors, protocol
from .protocol import (
    _MSG_TYPES,
    ReceivingMessage,
    _check_start,
    _complete_body,
    _header_size,
    log,
    log_wiredata,
)

__all__ = ["MessageReader", "check_msgtype", "recycle_buffer", "release_spare_buffer", "READING_HEADER",
           "READING_BODY", "FAILED"]

READING_HEADER = "reading header"    # between messages, or part of a header received
READING_BODY = "reading body"        # a valid header received, the annotations and payload not complete yet
FAILED = "failed"                    # bad input was received: every call raises the error

_FIRST_CHUNK = 1024 * 1024           # first buffer of a body that is collected over several receives
_AT_ONCE = 2 * 1024 * 1024           # a body region up to this size gets its one buffer at once
_EXACT_FACTOR = 16                   # a bigger one once this fraction of it arrived (see _next_buffer)
_PREFIX_SIZE = 6                     # b"PYRO" and the protocol version: enough to recognise another protocol
_FLAGS_COMPRESSED = protocol.FLAGS_COMPRESSED
_SETTLE_SIZE = 1024 * 1024           # a body this large, collected in pieces, settles the allocator first
_RECYCLE_MIN = 256 * 1024            # a body buffer this large may be kept for the next message (recycle_buffer)
_spare: list = []                    # at most one such buffer (list.append and pop are atomic under the GIL)
_getrefcount = getattr(sys, "getrefcount", None)


def _is_glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False


_allocator_settled = not _is_glibc()


def _settle_allocator() -> None:
    """(glibc) Let malloc settle at its largest heap thresholds before the first large body is collected.

    glibc gives freed memory at the top of its heap back to the OS once more than twice the largest freed
    mmap()ed block is free there (a threshold it raises by itself, up to 32 MiB blocks). A large message
    frees its pieces and its payload together, which hits that threshold: every message gave its memory
    back and faulted it in again, a page fault per 4 KiB (several times the cost of the copies for a 10 MiB
    message). Freeing one untouched 32 MiB block (calloc: mmap without touching a page) once raises the
    thresholds now, as any message of that size would have done anyway."""
    global _allocator_settled
    _allocator_settled = True
    block = bytes(32 * 1024 * 1024 - 8192)
    del block


def recycle_buffer(buf: Any) -> bool:
    """Keep a big body buffer (the bytearray data of a message received by a reader with ``keep_buffers``) that
    nothing refers to any more, for the next big message of any such reader in this process: receiving a large
    message then allocates nothing (no zeroing of a new buffer, no page faults of fresh memory, and the heap is
    not fragmented by one big buffer after another: a server's peak memory stays the received buffer plus what
    was deserialized from it). At most one buffer is kept. The caller drops its own reference to it right after
    this call (one more reference elsewhere and it is not kept). The buffer is written over completely by the
    next message before that message is complete; a message cut off midway is discarded with it.
    True when the buffer was kept."""
    if type(buf) is not bytearray or len(buf) < _RECYCLE_MIN or _spare:
        return False
    # no references but the caller's variable and this parameter (as counted by _unshared_count): a deserialized
    # object that still uses the buffer keeps it from being reused
    if _getrefcount is None or _getrefcount(buf) > _UNSHARED:
        return False
    _spare.append(buf)
    del _spare[1:]      # (two threads at once: still one)
    return True


def _unshared_count() -> int:
    """What getrefcount says in recycle_buffer for a buffer that only its caller's variable refers to (measured
    once: interpreters differ in how they count the references of a call)."""
    buf = bytearray(1)
    return _count_in_callee(buf)


def _count_in_callee(buf: Any) -> int:
    return _getrefcount(buf) if _getrefcount is not None else 0


_UNSHARED = _unshared_count()


def release_spare_buffer() -> None:
    """Free the kept buffer (see recycle_buffer), e.g. after a burst of large messages."""
    _spare.clear()


def _take_spare(size: int) -> bytearray | None:
    """The kept buffer, shortened to `size` bytes, when there is one of at least that size (else None; a
    smaller one is freed)."""
    try:
        buf = _spare.pop()
    except IndexError:
        return None
    if len(buf) < size:
        return None
    if len(buf) > size:
        del buf[size:]
    return buf


def _early_piece(size: int, own_mapping: bool) -> Any:
    """A buffer for an early piece of a big body region (see MessageReader._next_buffer). own_mapping (a server's
    reader): an anonymous memory mapping of its own, which goes back to the system the moment the region's one
    buffer has replaced it. From the heap, its room stayed resident under that buffer (glibc keeps freed room
    that is not at the top of the heap, and the settled allocator keeps up to 64 MiB at the top too): a server's
    peak memory for a 10 MiB upload was 2.1 times the message instead of 2.0, for 100 MiB 2.08. (Not for a
    proxy's reader: it collects every big reply in pieces, and fresh pages for them each time cost page faults.)"""
    if own_mapping and _mmap is not None:
        try:
            return _mmap.mmap(-1, size)
        except (OSError, ValueError):
            pass    # (no mapping to be had: the heap, as for any other reader)
    return bytearray(size)


def check_msgtype(msg: ReceivingMessage, accepted_msgtypes: Any = None) -> None:
    """ProtocolError unless the message's type is known (and in accepted_msgtypes, when that is given)."""
    if accepted_msgtypes is not None and msg.type not in accepted_msgtypes:
        raise errors.ProtocolError("invalid msg type %d received (expected: %s)"
                                   % (msg.type, ",".join(str(t) for t in accepted_msgtypes)))
    if msg.type not in _MSG_TYPES:
        raise errors.ProtocolError("invalid msg type %d received: unknown message type" % msg.type)


class MessageReader:
    """Turns received bytes into validated ReceivingMessages; no I/O (see the module documentation).

    `accepted_msgtypes`: the message types allowed (None: any known type); it may be changed between calls.
    `logger`: where received messages are logged when config.LOGWIRE is set.
    Not thread-safe: one reader per connection, used by one thread (or task) at a time.
    ``state`` is one of READING_HEADER, READING_BODY, FAILED (also attributes of this class);
    ``check_msgtype(msg, accepted)`` checks a message's type against another set (e.g. a dispatcher that
    expects a connect message first).
    """

    READING_HEADER = READING_HEADER
    READING_BODY = READING_BODY
    FAILED = FAILED
    check_msgtype = staticmethod(check_msgtype)

    # the state between messages (class defaults: a new reader costs little, e.g. one per connection)
    _head: bytearray | None = None          # a header that arrives in pieces
    _hfill = 0                              # bytes of it received
    _msg: ReceivingMessage | None = None    # the message whose body is being collected
    _asize = 0                              # its annotations size
    _size = 0                               # its body size (annotations + payload)
    _got = 0                                # body bytes received
    _ann: Any = None                        # the annotation chunks (when they came in pieces)
    _parts: list | None = None              # the pieces of the body region (annotations or payload) so far
    _chunk: Any = None                      # the reader's buffer (a bytearray) being filled, the last of _parts
    _cfill = 0                              # bytes in it
    _error: errors.ProtocolError | None = None
    # True: a body received into ONE buffer of the reader becomes the message's data as that bytearray (no
    # copy; the servers' readers, whose serializers take a bytearray); False: data is always bytes
    keep_buffers = False

    def __init__(self, accepted_msgtypes: Iterable[int] | None = None, logger: logging.Logger | None = None, *,
                 prehandshake: bool = False) -> None:
        self.accepted_msgtypes = accepted_msgtypes
        self.logger = logger or log
        # a server's reader before the connection's handshake: MAX_PREHANDSHAKE_SIZE applies instead of
        # MAX_MESSAGE_SIZE (set it to False once the handshake is done)
        self.prehandshake = prehandshake

    # ---------------------------------------------------------------------------------------- state

    @property
    def state(self) -> str:
        """READING_HEADER, READING_BODY or FAILED."""
        if self._error is not None:
            return FAILED
        return READING_HEADER if self._msg is None else READING_BODY

    @property
    def needed(self) -> int:
        """How many bytes complete the current step: the rest of the header, or the rest of the body (once the
        header is known). A blocking transport can receive exactly this many bytes; never 0 (except FAILED)."""
        if self._error is not None:
            return 0
        if self._msg is None:
            return _header_size - self._hfill
        return self._size - self._got

    @property
    def received_bytes(self) -> int:
        """Bytes of the message in progress received so far (0 between messages)."""
        return self._hfill if self._msg is None else _header_size + self._got

    @property
    def message_size(self) -> int | None:
        """Total size (header included) of the message in progress once its header is known, else None."""
        return None if self._msg is None else _header_size + self._size

    def eof(self) -> None:
        """The peer closed the connection: ConnectionClosedError when that cut off a message."""
        if self._error is None and self.received_bytes:
            expected = "" if self._msg is None else " of %d" % (_header_size + self._size)
            raise errors.ConnectionClosedError("connection closed: received %d%s bytes of a Pyro message"
                                               % (self.received_bytes, expected))

    # ---------------------------------------------------------------------------------------- input

    def feed(self, data: bytes | bytearray | memoryview) -> list[ReceivingMessage]:
        """Take received bytes (any amount); return the messages they complete, in order (often none)."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        if type(data) is bytes and not self._hfill and not self._got:
            # a blocking transport that reads exactly what is needed: a whole header, or exactly the body
            try:
                if self._msg is None:
                    size = len(data)
                    if size == _header_size:
                        self._start(data)
                        return [] if self._size else [self._complete(b"")]
                    if size > _header_size:
                        msg = ReceivingMessage(data, prehandshake=self.prehandshake)   # (the header at the front)
                        accepted = self.accepted_msgtypes
                        if size == _header_size + msg.data_size and size < _SETTLE_SIZE and \
                                not msg.annotations_size and not msg.flags & _FLAGS_COMPRESSED and \
                                msg.type in _MSG_TYPES and (accepted is None or msg.type in accepted):
                            # exactly one whole small message without annotations, uncompressed (a usual call or
                            # reply): what _begin and _complete would do
                            msg.data = data[_header_size:]
                            if config.LOGWIRE:
                                log_wiredata(self.logger, "wiredata received", msg)
                            return [msg]
                        self._begin(msg)
                        if size == _header_size + self._size:   # exactly one whole message
                            return [self._complete(data[_header_size:])]
                        return self.feed(memoryview(data)[_header_size:])
                elif len(data) == self._size:
                    return [self._complete(data)]
            except errors.ProtocolError as x:
                self._fail(x)
                raise
        messages: list[ReceivingMessage] = []
        with memoryview(data) as view:
            if view.format != "B" or view.ndim != 1:
                view = view.cast("B")
            try:
                self._feed(data, view, messages)
            except errors.ProtocolError as x:
                self._fail(x)
                if not messages:
                    raise
                x.__traceback__ = None    # (raised by the next call; its frames would pin the caller's buffer)
        return messages

    def recv_buffer(self, limit: int | None = None) -> memoryview:
        """A writable buffer for the next bytes (at most `needed`, and at most `limit`): receive into it
        (socket.recv_into, asyncio's BufferedProtocol.get_buffer), release it, then report the count with
        received(). The body goes into the reader's own buffers (zeroed when allocated), which are joined
        into the payload bytes when the message is complete."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        if self._msg is None:
            end = _header_size if limit is None else min(_header_size, self._hfill + limit)
            if self._head is None:
                self._head = bytearray(_header_size)
            return memoryview(self._head)[self._hfill:end]
        view = self._next_buffer()
        return view if limit is None or limit >= len(view) else view[:limit]

    def received(self, nbytes: int) -> list[ReceivingMessage]:
        """`nbytes` bytes were written into the buffer from recv_buffer(): return the message they complete
        (a list of at most one)."""
        if self._error is not None:
            raise self._error.with_traceback(None)
        if nbytes <= 0:
            return []
        try:
            if self._msg is None:
                before = self._hfill
                if nbytes > _header_size - before:
                    raise ValueError("received(%d): more bytes than the buffer from recv_buffer() holds" % nbytes)
                msg = self._complete(b"") if self._header_arrived(before, nbytes) and not self._size else None
            else:
                chunk = self._chunk
                if chunk is None or nbytes > len(chunk) - self._cfill:
                    raise ValueError("received(%d): more bytes than the buffer from recv_buffer() holds" % nbytes)
                self._cfill += nbytes
                msg = self._advance(nbytes)
        except errors.ProtocolError as x:
            self._fail(x)
            raise
        return [] if msg is None else [msg]

    # ---------------------------------------------------------------------------------------- internals

    def _fail(self, error: errors.ProtocolError) -> None:
        self._error = error
        self._msg = self._ann = self._chunk = self._parts = None

    def _feed(self, data: Any, view: memoryview, messages: list) -> None:
        pos = 0
        end = len(view)
        immutable = type(data) is bytes
        while pos < end:
            if self._msg is None:
                hfill = self._hfill
                if hfill == 0 and end - pos >= _header_size:      # a whole header (the usual case)
                    self._start(view[pos:pos + _header_size])
                    pos += _header_size
                else:
                    count = min(_header_size - hfill, end - pos)
                    head = self._head
                    if head is None:
                        head = self._head = bytearray(_header_size)
                    head[hfill:hfill + count] = view[pos:pos + count]
                    pos += count
                    if not self._header_arrived(hfill, count):
                        continue
            size = self._size
            got = self._got
            if got == 0 and end - pos >= size:    # the whole body is here: take it directly
                body = data if (pos == 0 and size == end and immutable) else view[pos:pos + size]
                messages.append(self._complete(body))
                pos += size
                continue
            if pos == end:
                break
            # a body in pieces: keep them (up to the end of the annotations, or of the body)
            count = min((self._asize if got < self._asize else size) - got, end - pos)
            if immutable and self._chunk is None:
                # (kept by reference; once the region has a buffer of the reader's, the rest goes into it: the
                # tail of a big body that a transport receives as bytes must not make the body a join of pieces)
                msg = self._keep(data if (pos == 0 and count == end) else view[pos:pos + count], count)
            else:
                buf = self._next_buffer()
                count = min(len(buf), count)
                buf[:count] = view[pos:pos + count]
                self._cfill += count
                msg = self._advance(count)
            pos += count
            if msg is not None:
                messages.append(msg)

    def _header_arrived(self, before: int, count: int) -> bool:
        """`count` header bytes arrived in self._head after `before` others: check what can be checked;
        True when the header is complete (the message has begun)."""
        hfill = self._hfill = before + count
        head = self._head
        assert head is not None
        if hfill < _header_size:
            if before < _PREFIX_SIZE:
                _check_start(head[:hfill])
            return False
        self._hfill = 0
        self._start(head)
        return True

    def _start(self, header: Any) -> None:
        """Begin a message from its 40 header bytes; the reader then collects its body."""
        self._begin(ReceivingMessage(header, prehandshake=self.prehandshake))  # checks tag, version, magic, size

    def _begin(self, msg: ReceivingMessage) -> None:
        """Begin the message whose header was decoded into `msg` (its type is checked here)."""
        mtype = msg.type
        accepted = self.accepted_msgtypes
        if (accepted is not None and mtype not in accepted) or mtype not in _MSG_TYPES:
            check_msgtype(msg, accepted)     # (raises the error that says what is wrong)
        self._msg = msg
        self._asize = asize = msg.annotations_size
        self._size = asize + msg.data_size
        self._got = 0
        if not _allocator_settled and self._size >= _SETTLE_SIZE:
            _settle_allocator()       # (before the pieces of a large body are received, whatever their kind)

    def _next_buffer(self) -> memoryview:
        """Writable view of the free part of the current body buffer (a new one when it is full). Buffers never
        cross the boundary between the annotations and the payload (the two regions of a body). A region ends in
        ONE buffer of its size, which becomes the message's data as it is (no join, no copy): it is allocated at
        once for a region up to _AT_ONCE, and for a bigger one as soon as a _EXACT_FACTOR-th of it has arrived
        (what arrived until then is copied in); before that, each new buffer is at most as big as what the
        region received so far, or _FIRST_CHUNK. So a header that claims a huge size costs memory only as its
        bytes arrive: never more than _EXACT_FACTOR times what did (or _AT_ONCE). (The buffers before the last
        one are few and small: a server's peak memory for an upload of 1, 10 and 100 MiB was 1.8, 2.0 and 2.0
        times the message; with a factor of 4 it was 2.4 times, the heap keeping their room.) A reader with
        keep_buffers takes the buffer that recycle_buffer() kept instead, when it is big enough: that costs no
        new memory, so it is taken at once, whatever arrived."""
        chunk = self._chunk
        if chunk is None or self._cfill == len(chunk):
            got = self._got
            if got < self._asize:
                remaining, received = self._asize - got, got
            else:
                remaining, received = self._size - got, got - self._asize
            total = remaining + received
            parts = self._parts
            if parts is None:
                parts = self._parts = []
            # (a server's reader: the buffer of an earlier big message, when one is kept; it holds old bytes, which
            # the rest of this region overwrites before the message is complete)
            chunk = _take_spare(total) if self.keep_buffers and total >= _RECYCLE_MIN and _spare else None
            if chunk is not None or total <= _AT_ONCE or total <= _EXACT_FACTOR * received:
                if chunk is None:
                    chunk = bytearray(total)    # (the whole region: the pieces so far, then room for the rest)
                pos = 0
                # (through a memoryview: a bytearray's own slice assignment first copies a piece that is not a
                # bytearray into a temporary one, 4 MiB of heap for the last early piece of a 100 MiB body)
                with memoryview(chunk) as target:
                    for piece in parts:
                        count = len(piece)
                        target[pos:pos + count] = piece
                        pos += count
                parts[:] = [chunk]
                self._chunk = chunk
                self._cfill = received
            else:
                chunk = self._chunk = _early_piece(min(remaining, max(_FIRST_CHUNK, received)), self.keep_buffers)
                parts.append(chunk)
                self._cfill = 0
        return memoryview(chunk)[self._cfill:]

    def _keep(self, piece: Any, count: int) -> ReceivingMessage | None:
        """Keep a piece of an immutable fed buffer as the next part of the body (no copy)."""
        parts = self._parts
        if parts is None:
            parts = self._parts = []
        chunk = self._chunk
        if chunk is not None:
            if self._cfill < len(chunk):    # (the buffer before it is not full: keep only what it holds)
                parts[-1] = memoryview(chunk)[:self._cfill]
            self._chunk = None
        parts.append(piece)
        return self._advance(count)

    def _advance(self, nbytes: int) -> ReceivingMessage | None:
        """nbytes more of the body are in self._parts: complete the annotations, or the message."""
        got = self._got = self._got + nbytes
        if got == self._asize:        # the annotations are complete: the payload goes into new parts
            parts = self._parts or []
            self._ann = parts[0] if len(parts) == 1 else b"".join(parts)
            self._parts = self._chunk = None
        if got < self._size:
            return None
        parts = self._parts or []
        self._parts = self._chunk = None
        return self._complete(parts)

    def _complete(self, body: Any) -> ReceivingMessage:
        """The body is complete: `body` is all of it as one buffer, or the payload's buffers (a list) when it
        was collected (the annotations are in self._ann then)."""
        msg = self._msg
        assert msg is not None
        self._msg = None
        asize = self._asize
        if not asize and type(body) is bytes and not msg.flags & _FLAGS_COMPRESSED:
            msg.data = body     # (the usual small message: what _complete_body would do, without the calls)
        elif type(body) is list:
            annotations, self._ann = self._ann, None
            _complete_body(msg, annotations, body, self.keep_buffers)
        elif asize:
            view = memoryview(body)
            _complete_body(msg, view[:asize], view[asize:])
        else:
            _complete_body(msg, None, body)
        if config.LOGWIRE:
            log_wiredata(self.logger, "wiredata received", msg)
        return msg


protocol.MessageReader = MessageReader  # type: ignore[misc]  # (the public name; see the end of protocol.py)


def whole_message(data: Any, accepted_msgtypes: Any = None, *, prehandshake: bool = False) -> ReceivingMessage | None:
    """The one message that `data` (bytes) holds exactly, when it is small (below 1 MiB), uncompressed and of a
    known (and accepted) type: what a new MessageReader's feed(data) returns, without the reader; annotations are
    parsed, the payload is data's tail as bytes. None for anything else (a part of a message, more than one,
    compressed, bad bytes, LOGWIRE on): the caller then feeds the bytes to a reader, which does the rest (and
    raises the errors). For a transport's first receive on a new connection, e.g. a name server lookup."""
    size = len(data)
    if type(data) is not bytes or size <= _header_size or size >= _SETTLE_SIZE or config.LOGWIRE:
        return None
    try:
        msg = ReceivingMessage(data, prehandshake=prehandshake)
        asize = msg.annotations_size
        mtype = msg.type
        if size != _header_size + asize + msg.data_size or msg.flags & _FLAGS_COMPRESSED or mtype not in _MSG_TYPES \
                or (accepted_msgtypes is not None and mtype not in accepted_msgtypes):
            return None
        if asize:
            msg.annotations = protocol._parse_annotations(memoryview(data)[_header_size:_header_size + asize])
    except errors.ProtocolError:
        return None
    msg.data = data[_header_size + asize:]
    return msg


_unpack_header = protocol._header.unpack_from
_MAGIC = protocol._magic_number
_VERSION = protocol.PROTOCOL_VERSION
_NO_CORRELATION_ID = protocol._empty_correlation_id
_MSG_RESULT = protocol.MSG_RESULT
_NOT_CORR_ID = ~protocol.FLAGS_CORR_ID


def plain_message(reader: MessageReader, data: Any, msgtype: int, correlation_ok: bool = False) -> tuple | None:
    """A transport's fast path for the usual message: (serializer id, flags, seq, payload) when `data`, what one
    receive gave while `reader` is between messages (after the handshake), is exactly one whole message of type
    `msgtype` (which the reader accepts) with a valid header, no annotations, not compressed, within
    MAX_MESSAGE_SIZE, config.LOGWIRE off, and no correlation id unless `correlation_ok` (the id is in the header:
    the payload is the same with it). Else None, having changed nothing: the caller feeds `data` to the reader,
    which checks it as usual (and raises what is wrong with it). The reader is between messages before and
    after. What else the caller's fast path needs (a request's flags, a reply's seq) is the caller's to check.
    A server takes the usual request with it (MSG_INVOKE), a client the usual reply (whole_reply)."""
    if type(data) is not bytes or len(data) < _header_size or reader._msg is not None or reader._hfill or \
            reader._error is not None or reader.prehandshake or config.LOGWIRE:
        return None
    (tag, version, mtype, serializer_id, flags, seq, size, annotations_size, corr_id, _,
     magic) = _unpack_header(data)
    if mtype != msgtype or len(data) != _header_size + size or annotations_size or flags & _FLAGS_COMPRESSED \
            or tag != b"PYRO" or version != _VERSION or magic != _MAGIC or size > config.MAX_MESSAGE_SIZE \
            or (corr_id != _NO_CORRELATION_ID and not correlation_ok):
        return None
    accepted = reader.accepted_msgtypes
    if accepted is not None and msgtype not in accepted:
        return None
    return serializer_id, flags, seq, data[_header_size:]


def whole_reply(reader: MessageReader, data: bytes, seq: int, serializer_id: int) -> bytes | None:
    """The payload of `data` (what one receive gave) when it is exactly one whole plain reply (plain_message) with
    sequence number `seq`, serializer `serializer_id` and no flags but FLAGS_CORR_ID (the original daemon puts a
    correlation id on every reply). Otherwise None, having changed nothing: the caller feeds `data` to the reader
    (the general path, which checks everything and raises the errors). For a client's usual call: no
    ReceivingMessage, no list, no reader state to update.
    The checks of plain_message(reader, data, MSG_RESULT, True) are written out here: this runs once for every
    reply a client gets, and a Python call less is a measurable part of a small call."""
    if type(data) is not bytes or reader._msg is not None or reader._hfill or reader._error is not None or \
            reader.prehandshake or config.LOGWIRE:
        return None
    length = len(data)
    if length < _header_size:
        return None
    # (the header as ints: the tag as one, the correlation id skipped, so no bytes objects are made)
    tag, version, mtype, reply_serializer, flags, reply_seq, size, annotations_size, _, magic = \
        _unpack_reply_header(data)
    # (flags & _NOT_CORR_ID: also a compressed reply; any correlation id is fine, the payload is the same with it)
    if reply_seq != seq or reply_serializer != serializer_id or flags & _NOT_CORR_ID or mtype != _MSG_RESULT or \
            annotations_size or length != _header_size + size or tag != _TAG_INT or version != _VERSION or \
            magic != _MAGIC or size > config.MAX_MESSAGE_SIZE:
        return None
    accepted = reader.accepted_msgtypes
    if accepted is not None and _MSG_RESULT not in accepted:
        return None
    return data[_header_size:]


def plain_request_message(data: bytes) -> ReceivingMessage:
    """The ReceivingMessage of a request that plain_message() took from `data` (for the rarer paths of a server
    that need the message object; the same as the reader would have made of these bytes)."""
    msg = ReceivingMessage(data)
    msg.data = data[_header_size:]
    return msg


# whole_reply's view of a header: protocol._header's fields with the tag as an int and the correlation id skipped
_unpack_reply_header = struct.Struct(
    protocol._header_format.replace("4s", "I", 1).replace("16s", "16x", 1)).unpack_from
_TAG_INT = int.from_bytes(b"PYRO", "big")
