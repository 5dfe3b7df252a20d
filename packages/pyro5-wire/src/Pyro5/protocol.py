"""The Pyro wire protocol structures (protocol version 502).

Wire messages consist of a fixed size header, an optional set of annotation chunks, and then the payload
data. This module doesn't deal with the payload data: (de)serialization of that is done elsewhere.
Annotation chunks are only parsed.

The header format is::

    0x00   4s  4   'PYRO' (message identifier)
    0x04   H   2   protocol version
    0x06   B   1   message type
    0x07   B   1   serializer id
    0x08   H   2   message flags
    0x0a   H   2   sequence number   (to identify proper request-reply sequencing)
    0x0c   I   4   data length   (max 4 Gb)
    0x10   I   4   annotations length (max 4 Gb, total of all chunks, 0 if no annotation chunks present)
    0x14   16s 16  correlation uuid
    0x24   H   2   (reserved)
    0x26   H   2   magic number 0x4dc5
    total size: 0x28 (40 bytes)

After the header, zero or more annotation chunks may follow, of the format::

    4s  4   annotation id (4 ASCII letters)
    I   4   chunk length  (max 4 Gb)
    B   x   annotation chunk databytes

When compression is used (config.COMPRESSION), only the payload is compressed (zlib), never the annotations,
and the FLAGS_COMPRESSED flag is set; the data length in the header is then the compressed size.
"""
from __future__ import annotations

import logging
import struct
import uuid
import zlib
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from . import config, errors
from .callcontext import current_context
from .socketutil import SocketConnection as _SocketConnection

if TYPE_CHECKING:
    from ._wire_reader import MessageReader

__all__ = ["PROTOCOL_VERSION", "MSG_CONNECT", "MSG_CONNECTOK", "MSG_CONNECTFAIL", "MSG_INVOKE", "MSG_RESULT",
           "MSG_PING", "FLAGS_EXCEPTION", "FLAGS_COMPRESSED", "FLAGS_ONEWAY", "FLAGS_BATCH",
           "FLAGS_ITEMSTREAMRESULT", "FLAGS_KEEPSERIALIZED", "FLAGS_CORR_ID", "SendingMessage",
           "ReceivingMessage", "MessageReader", "log_wiredata", "recv_stub", "message_payload",
           "message_size_limit"]

log = logging.getLogger("Pyro5.protocol")

PROTOCOL_VERSION = 502

MSG_CONNECT = 1
MSG_CONNECTOK = 2
MSG_CONNECTFAIL = 3
MSG_INVOKE = 4
MSG_RESULT = 5
MSG_PING = 6

FLAGS_EXCEPTION = 1 << 0
FLAGS_COMPRESSED = 1 << 1
FLAGS_ONEWAY = 1 << 2
FLAGS_BATCH = 1 << 3
FLAGS_ITEMSTREAMRESULT = 1 << 4
FLAGS_KEEPSERIALIZED = 1 << 5
FLAGS_CORR_ID = 1 << 6

_MSG_TYPES = frozenset((MSG_CONNECT, MSG_CONNECTOK, MSG_CONNECTFAIL, MSG_INVOKE, MSG_RESULT, MSG_PING))
_SERIALIZER_IDS = frozenset((1, 2, 3, 4))   # serpent, marshal, json, msgpack
# the ping message carries no serialized data; the original Pyro5 sends it with this serializer id
_PING_SERIALIZER_ID = 42

_header_format = "!4sHBBHHII16sHH"
_header = struct.Struct(_header_format)
_header_size = _header.size  # 40
_chunk_header = struct.Struct("!4sI")
_magic_number = 0x4dc5
_magic_number_bytes = _magic_number.to_bytes(2, "big")
_protocol_version_bytes = PROTOCOL_VERSION.to_bytes(2, "big")
_prefix = b"PYRO" + _protocol_version_bytes   # the first 6 bytes of every valid message
_empty_correlation_id = b"\0" * 16
# payloads up to this size are never compressed (same threshold and level as the original Pyro5)
_COMPRESSION_THRESHOLD = 100
_COMPRESSION_LEVEL = 4
# payloads above this size are not copied behind the header when the message is built (see SendingMessage.parts)
_JOIN_LIMIT = 64 * 1024


def message_size_limit(prehandshake: bool = False) -> int:
    """The largest message (annotations + data, after decompression too) that may be received: MAX_MESSAGE_SIZE,
    and before the handshake of a connection (a server reading its MSG_CONNECT) the smaller MAX_PREHANDSHAKE_SIZE
    (0: no separate limit)."""
    limit = config.MAX_MESSAGE_SIZE
    if prehandshake:
        early = config.MAX_PREHANDSHAKE_SIZE
        if early and early > 0:
            return min(limit, early)
    return limit


def _limit_name(prehandshake: bool) -> str:
    limit = config.MAX_MESSAGE_SIZE
    if prehandshake and 0 < (config.MAX_PREHANDSHAKE_SIZE or 0) < limit:
        return "MAX_PREHANDSHAKE_SIZE=%d (before the handshake)" % config.MAX_PREHANDSHAKE_SIZE
    return "MAX_MESSAGE_SIZE=%d" % limit


def _nbytes(buffer: Any) -> int:
    return len(buffer) if type(buffer) is bytes else memoryview(buffer).nbytes


def _encode_annotations(annotations: Mapping[str, Any]) -> tuple[tuple, int]:
    """The annotation chunks as a tuple of buffers, and their total size. Small chunks are joined into one bytes
    object; a big bytes value stays a part of its own (sent as it is, not copied behind its chunk header)."""
    parts: list[Any] = []
    total = 0
    for key, value in annotations.items():
        if not isinstance(key, str) or len(key) != 4 or not key.isascii():
            raise errors.ProtocolError("annotation identifier must be a string of exactly 4 ASCII characters, "
                                       "got %r" % (key,))
        if isinstance(value, (bytes, bytearray)):
            size = len(value)
        elif isinstance(value, memoryview):
            size = value.nbytes
            if not value.c_contiguous:
                value = value.tobytes()
            elif value.format != "B" or value.ndim != 1:
                value = value.cast("B")
        else:
            raise errors.ProtocolError("annotation %r value must be bytes, bytearray or memoryview, got %s"
                                       % (key, type(value).__name__))
        parts.append(_chunk_header.pack(key.encode("ascii"), size))
        parts.append(value)
        total += 8 + size
    if total <= _JOIN_LIMIT or not any(type(v) is bytes and len(v) > _JOIN_LIMIT for v in parts[1::2]):
        return (b"".join(parts),), total
    # keep the big immutable values as they are; join each run of the others (mutable values are copied, as the
    # message may be sent later)
    result: list[Any] = []
    run: list[Any] = []
    for part in parts:
        if type(part) is bytes and len(part) > _JOIN_LIMIT:
            if run:
                result.append(b"".join(run))
                run = []
            result.append(part)
        else:
            run.append(part)
    if run:
        result.append(b"".join(run))
    return tuple(result), total


_FROM_CONTEXT: Any = object()    # (SendingMessage: no correlation id given, take the call context's)


def _correlation_uuid(msg: Any) -> uuid.UUID | None:
    """The message's correlation id as a uuid.UUID (None for none), made once per message."""
    corr = msg.corr_id
    if corr == _empty_correlation_id:
        return None
    uid = msg.__dict__.get("_correlation_uuid")
    if uid is None or uid.bytes != corr:
        uid = msg.__dict__["_correlation_uuid"] = uuid.UUID(bytes=corr)
    return uid


class SendingMessage:
    """Wire protocol message that will be sent. ``data`` holds the complete message bytes.

    The payload is a bytes-like object, or a list/tuple of them (the payload in parts, joined on the wire).
    ``parts`` holds the same bytes as a tuple of buffers (header, annotation chunks, payload): pass it to
    SocketConnection.send() to send a big payload without first copying it behind the header. ``data`` is
    joined from the parts when it is first used (at once for small messages).
    The correlation id is ``correlation_id`` when that keyword is given (a uuid.UUID, or None for none),
    else ``current_context.correlation_id``.
    """

    def __init__(self, msgtype: int, flags: int, seq: int, serializer_id: int, payload: bytes | bytearray |
                 memoryview | list | tuple, annotations: Mapping[str, Any] | None = None, *,
                 correlation_id: Any = _FROM_CONTEXT) -> None:
        self.type = msgtype
        self.seq = seq
        self.serializer_id = serializer_id
        # the correlation id: given explicitly (a uuid.UUID or None), else the current call context's
        corr = current_context.correlation_id if correlation_id is _FROM_CONTEXT else correlation_id
        if (corr is None and not annotations and type(payload) is bytes and len(payload) <= _COMPRESSION_THRESHOLD
                and not config.LOGWIRE and len(payload) <= config.MAX_MESSAGE_SIZE):
            # the common small message (a call or a reply of a few values): one header, one bytes object
            self.annotations: Mapping[str, Any] = {}
            self.corr_id = _empty_correlation_id
            self.flags = flags = flags & ~FLAGS_COMPRESSED
            self.annotations_size = 0
            self.data_size = size = len(payload)
            try:
                header = _header.pack(b"PYRO", PROTOCOL_VERSION, msgtype, serializer_id, flags, seq, size, 0,
                                      _empty_correlation_id, 0, _magic_number)
            except struct.error as x:
                raise errors.ProtocolError("invalid message header field (type=%r serializer=%r flags=%r seq=%r): "
                                           "%s" % (msgtype, serializer_id, flags, seq, x)) from None
            self._data: bytes | None = header + payload
            self.parts: tuple = (self._data,)
            return
        self.annotations = annotations or {}
        # FLAGS_COMPRESSED says what this message does, not what the caller wants: it is set below only when the
        # payload really gets compressed (as the original 5.15 does); a caller-supplied bit is cleared.
        flags &= ~FLAGS_COMPRESSED
        header_flags = flags
        if corr is None:
            self.corr_id = _empty_correlation_id
        else:
            if isinstance(corr, uuid.UUID):
                self.corr_id = corr.bytes
            else:
                try:
                    self.corr_id = uuid.UUID(str(corr)).bytes
                except ValueError:
                    raise errors.ProtocolError("current_context.correlation_id must be a uuid.UUID, got %r"
                                               % (corr,)) from None
            header_flags |= FLAGS_CORR_ID
        chunks: tuple = ()
        if isinstance(payload, (list, tuple)):     # the payload in parts (e.g. MarshalSerializer.dumpsCallParts)
            if len(payload) > 1 and not config.COMPRESSION and sum(map(_nbytes, payload)) > _JOIN_LIMIT:
                chunks = tuple(payload)
                payload = b""
            else:
                payload = b"".join(payload)
        if len(payload) > _COMPRESSION_THRESHOLD and config.COMPRESSION:
            payload = zlib.compress(payload, _COMPRESSION_LEVEL)
            flags |= FLAGS_COMPRESSED
            header_flags |= FLAGS_COMPRESSED
        self.flags = flags
        annotation_parts: tuple = ()
        self.annotations_size = 0
        if self.annotations:
            annotation_parts, self.annotations_size = _encode_annotations(self.annotations)
        self.data_size = sum(map(_nbytes, chunks)) if chunks else _nbytes(payload)
        if self.data_size + self.annotations_size > config.MAX_MESSAGE_SIZE:
            raise errors.MessageTooLargeError(
                "message too large to send (%d bytes, MAX_MESSAGE_SIZE=%d): send less data per call, for "
                "instance with a remote iterator, or raise MAX_MESSAGE_SIZE on both sides"
                % (self.data_size + self.annotations_size, config.MAX_MESSAGE_SIZE))
        try:
            header = _header.pack(b"PYRO", PROTOCOL_VERSION, msgtype, serializer_id, header_flags, seq,
                                  self.data_size, self.annotations_size, self.corr_id, 0, _magic_number)
        except struct.error as x:
            raise errors.ProtocolError("invalid message header field (type=%r serializer=%r flags=%r seq=%r): %s"
                                       % (msgtype, serializer_id, flags, seq, x)) from None
        if chunks:
            self.parts = (header,) + annotation_parts + chunks
            self._data = None
        elif (self.data_size > _JOIN_LIMIT and type(payload) is bytes) or len(annotation_parts) > 1:
            # big: sent in parts, not copied behind the header first (bytes are immutable: safe to send later)
            self.parts = (header,) + annotation_parts + (payload,)
            self._data = None
        else:
            if annotation_parts:
                self._data = b"".join((header, annotation_parts[0], payload))
            elif type(payload) is bytes:
                self._data = header + payload
            else:
                self._data = b"".join((header, payload))
            self.parts = (self._data,)
        if config.LOGWIRE:
            log_wiredata(log, "wiredata sending", self)

    @property
    def data(self) -> bytes:
        """The complete message: header, annotation chunks and payload."""
        data = self._data
        if data is None:
            data = self._data = b"".join(self.parts)
            self.parts = (data,)
        return data

    @data.setter
    def data(self, value: bytes) -> None:
        self._data = bytes(value)
        self.parts = (self._data,)

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; type=%d flags=%d seq=%d size=%d>" % (
            self.__module__, self.__class__.__name__, id(self), self.type, self.flags, self.seq,
            _header_size + self.annotations_size + self.data_size)

    @property
    def correlation_id(self) -> uuid.UUID | None:
        return None if self.corr_id == _empty_correlation_id else _correlation_uuid(self)

    @staticmethod
    def ping(pyroConnection: Any) -> None:
        """Convenience method to send a 'ping' message and wait for the 'pong' response."""
        ping = SendingMessage(MSG_PING, 0, 0, _PING_SERIALIZER_ID, b"ping")
        pyroConnection.send(ping.data)
        recv_stub(pyroConnection, [MSG_PING])


class _TooShortError(errors.ProtocolError, ValueError):
    """Too little data to tell whether it is a Pyro message: the original raises ValueError, ours is both."""


def _version_error(version: int) -> errors.ProtocolError:
    return errors.ProtocolError("invalid protocol version: %d received, this Pyro requires protocol version %d "
                                "(both sides must use Pyro5)" % (version, PROTOCOL_VERSION))


def _check_start(data: bytes | bytearray | memoryview) -> None:
    """ProtocolError when the first bytes of a message (any number, up to the whole header) are not what a
    Pyro message of this protocol version starts with."""
    data = bytes(data[:_header_size])
    if data[:4] != b"PYRO"[:len(data)]:
        raise errors.ProtocolError("invalid data: not a Pyro message (it must start with b'PYRO', got %r); "
                                   "is the peer speaking another protocol?" % data[:8])
    if len(data) >= 6:
        version = int.from_bytes(data[4:6], "big")
        if version != PROTOCOL_VERSION:
            raise _version_error(version)
    if len(data) >= _header_size:
        magic = int.from_bytes(data[38:40], "big")
        if magic != _magic_number:
            raise errors.ProtocolError("invalid magic number 0x%04x in message header (expected 0x%04x): "
                                       "corrupt message" % (magic, _magic_number))


class ReceivingMessage:
    """Wire protocol message that was received.

    The sizes in the header are checked against the limit at once (MessageTooLargeError): MAX_MESSAGE_SIZE, or
    with ``prehandshake=True`` (a server reading a connection's first message) MAX_PREHANDSHAKE_SIZE. The same
    limit bounds the payload after decompression."""

    def __init__(self, header: bytes, payload: bytes | bytearray | memoryview | None = None, *,
                 prehandshake: bool = False) -> None:
        if isinstance(header, str):
            raise TypeError("a bytes-like object is required for the message header, not 'str'")
        if len(header) < _header_size:
            raise errors.ProtocolError("message header too short: %d bytes, a Pyro header has %d"
                                       % (len(header), _header_size))
        (tag, version, self.type, self.serializer_id, self.flags, self.seq, self.data_size, self.annotations_size,
         self.corr_id, _, magic) = _header.unpack_from(header)
        if tag != b"PYRO" or version != PROTOCOL_VERSION or magic != _magic_number:
            ReceivingMessage.validate(header)
            raise errors.ProtocolError("invalid message")   # pragma: no cover - validate raises
        total = self.data_size + self.annotations_size
        self._max_size = message_size_limit(True) if prehandshake else config.MAX_MESSAGE_SIZE
        self._prehandshake = prehandshake
        if total > self._max_size:
            raise errors.MessageTooLargeError("message too large (%d bytes): the peer sent more than %s allows"
                                              % (total, _limit_name(prehandshake)))
        self.data: Any = None
        self.annotations: dict[str, bytes] = {}
        if payload is not None:
            self.add_payload(payload)

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; type=%d flags=%d seq=%d size=%d>" % (
            self.__module__, self.__class__.__name__, id(self), self.type, self.flags, self.seq,
            self.data_size + self.annotations_size)

    @property
    def correlation_id(self) -> uuid.UUID | None:
        return None if self.corr_id == _empty_correlation_id else _correlation_uuid(self)

    @staticmethod
    def validate(data: bytes | bytearray | memoryview) -> None:
        """Checks if the message data looks like a valid Pyro message, if not, raise an error.

        At least 4 bytes are needed (else ValueError, as in the original 5.15); ProtocolError when the data is
        not a Pyro message of this protocol version."""
        if isinstance(data, str):
            raise TypeError("a bytes-like object is required, not 'str'")
        data = bytes(data[:_header_size])
        if len(data) < 4:
            raise _TooShortError("data must be at least 4 bytes to be able to identify a Pyro message, got %d"
                                 % len(data))
        _check_start(data)

    def add_payload(self, payload: bytes | bytearray | memoryview) -> None:
        """Parses (annotations processing) and adds payload data to a received message."""
        asize = self.annotations_size
        if len(payload) != asize + self.data_size:
            raise errors.ProtocolError("message payload size mismatch: got %d bytes, header says %d"
                                       % (len(payload), asize + self.data_size))
        if asize:
            view = memoryview(payload)
            _complete_body(self, view[:asize], view[asize:])
        else:
            _complete_body(self, None, payload)

    def add_payload_parts(self, annotations: bytes | bytearray | memoryview, data: bytes | bytearray | memoryview
                          ) -> None:
        """add_payload() for a transport that received the annotation chunks and the data into buffers of their own
        (their sizes are in the header): the data is kept as it is (no copy of a big payload) when it is bytes."""
        if len(annotations) != self.annotations_size or len(data) != self.data_size:
            raise errors.ProtocolError("message payload size mismatch: got %d + %d bytes, header says %d + %d"
                                       % (len(annotations), len(data), self.annotations_size, self.data_size))
        _complete_body(self, annotations if self.annotations_size else None, data)

    def _set_data(self, data: bytes | bytearray | memoryview, keep_bytearray: bool = False) -> None:
        if self.flags & FLAGS_COMPRESSED:
            data = _decompress(data, self._max_size, self._prehandshake)
            self.flags &= ~FLAGS_COMPRESSED
        elif type(data) is not bytes and not (keep_bytearray and type(data) is bytearray):
            data = bytes(data)
        self.data = data


def _complete_body(msg: ReceivingMessage, annotations: Any, data: Any, keep_bytearray: bool = False) -> None:
    """Sets a received message's annotations (parsed from the buffer `annotations`, or None for none) and data.
    `data` is the payload as one buffer, or as a list of buffers in order (MessageReader's chunks); it is
    decompressed (bounded by the message's size limit) when the message says so. The only place that does this.
    keep_bytearray: a payload that is one bytearray (the reader's own buffer) becomes the data as it is."""
    if annotations is not None:
        msg.annotations = _parse_annotations(memoryview(annotations))
    if type(data) is list:
        # (a compressed payload is joined before it is inflated: it is at most the message size, and
        # _decompress allocates a big result once, at its exact size)
        data = data[0] if len(data) == 1 else b"".join(data)
    msg._set_data(data, keep_bytearray)


def message_payload(msg: SendingMessage | ReceivingMessage) -> bytes:
    """The serialized payload of a message, uncompressed: ``msg.data`` of a received message, and for a message
    being sent its complete data without the 40-byte header and the annotation chunks (e.g. for
    ``SerializedBlob(info, <SendingMessage>, is_blob=True).deserialized()``)."""
    if isinstance(msg, SendingMessage):
        view = memoryview(msg.data)[_header_size + msg.annotations_size:]
        if msg.flags & FLAGS_COMPRESSED:
            return _decompress(view, config.MAX_MESSAGE_SIZE, False)
        return view.tobytes()
    data = msg.data
    return data if type(data) is bytes else bytes(data)


def _parse_annotations(view: memoryview) -> dict[str, bytes]:
    annotations: dict[str, bytes] = {}
    i = 0
    end = len(view)
    chunk_size = _chunk_header.size
    while i < end:
        if end - i < chunk_size:
            raise errors.ProtocolError("invalid annotation chunk: %d trailing bytes, a chunk header has %d"
                                       % (end - i, chunk_size))
        key, length = _chunk_header.unpack_from(view, i)
        i += chunk_size
        if length > end - i:
            raise errors.ProtocolError("invalid annotation chunk length %d for %r: only %d bytes left"
                                       % (length, key, end - i))
        try:
            name = key.decode("ascii")
        except UnicodeDecodeError:
            raise errors.ProtocolError("invalid annotation chunk id %r: must be 4 ASCII characters" % key) from None
        annotations[name] = view[i:i + length].tobytes()
        i += length
    return annotations


# decompressed payloads up to this size are joined from their pieces; bigger ones are decompressed twice (the
# first pass only measures) so that the result is allocated once, at its exact size, and written once
_SMALL_DECOMPRESSED = 1024 * 1024
_DECOMPRESS_STEP = 256 * 1024


def _decompress(data: bytes | bytearray | memoryview, max_size: int, prehandshake: bool = False) -> bytes:
    """Inflates a compressed payload, refusing (ProtocolError) more than max_size bytes of output.

    Memory: the output exists once (plus one step of _DECOMPRESS_STEP bytes), never the 2x of joining the
    pieces of a big output, so a message that inflates to the limit costs the limit, not twice that."""
    decompressor = zlib.decompressobj()
    pieces: list[bytes] | None = []
    size = 0
    tail: Any = data
    try:
        while True:
            piece = decompressor.decompress(tail, _DECOMPRESS_STEP)
            size += len(piece)
            if size > max_size:
                raise errors.ProtocolError("decompressed message data too large: more than %s bytes"
                                           % _limit_name(prehandshake))
            if pieces is not None:
                pieces.append(piece)
                if size > _SMALL_DECOMPRESSED:
                    pieces = None    # big: only measure now, and inflate again into one buffer below
            tail = decompressor.unconsumed_tail
            if decompressor.eof or (not tail and not piece):
                break
    except zlib.error as x:
        raise errors.ProtocolError("invalid compressed message data: %s" % x) from None
    if not decompressor.eof:
        raise errors.ProtocolError("invalid compressed message data: the zlib stream is incomplete")
    if pieces is not None:
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)
    compressed_size = len(data) - len(decompressor.unused_data)
    source = data if not decompressor.unused_data else memoryview(data)[:compressed_size]
    try:
        # with the exact size as the buffer size, zlib fills one bytes object and returns it as it is
        return zlib.decompress(source, zlib.MAX_WBITS, size)
    except zlib.error as x:
        raise errors.ProtocolError("invalid compressed message data: %s" % x) from None


def log_wiredata(logger: logging.Logger, text: str, msg: SendingMessage | ReceivingMessage) -> None:
    """logs all the given properties of the wire message in the given logger"""
    num_anns = len(msg.annotations) if msg.annotations else 0
    corr_id = uuid.UUID(bytes=msg.corr_id)
    logger.debug("%s: msgtype=%d flags=0x%x ser=%d seq=%d num_annotations=%s corr_id=%s\ndata=%r",
                 text, msg.type, msg.flags, msg.serializer_id, msg.seq, num_anns, corr_id, msg.data)


def _recv_exactly(connection: Any, size: int) -> bytes:
    data = connection.recv(size)
    if len(data) != size:
        raise errors.ConnectionClosedError("connection closed: received %d of %d bytes of a Pyro message"
                                           % (len(data), size))
    return data


def recv_stub(connection: Any, accepted_msgtypes: Iterable[int] | None = None, *,
              prehandshake: bool = False) -> ReceivingMessage:
    """
    Receives a pyro message from a given connection.
    Accepts the given message types (None=any, or pass a sequence).
    Also reads annotation chunks and the actual payload data.
    Any serializer id is accepted (as in the original 5.15): whoever deserializes the payload checks it
    (see Pyro5.serializers.get_serializer_by_id).
    ``prehandshake=True`` (a server reading a connection's MSG_CONNECT) applies MAX_PREHANDSHAKE_SIZE instead of
    MAX_MESSAGE_SIZE, from the header, before the body is read.
    The header is decoded and checked by the same code as MessageReader's (ReceivingMessage, check_msgtype);
    unlike MessageReader, recv_stub reads the body itself: from a plain socketutil.SocketConnection, each
    annotation value and the data are received as bytes objects of their own (nothing is copied out of a larger buffer); a connection class with its own recv() is asked for the
    header (6 + 34 bytes) and then for the annotations and data together, in one recv().
    """
    prefix = _recv_exactly(connection, 6)
    if prefix != _prefix:
        ReceivingMessage.validate(prefix)   # raises ProtocolError saying what is wrong
    header = prefix + _recv_exactly(connection, _header_size - 6)
    msg = ReceivingMessage(header, prehandshake=prehandshake)
    _wire_reader.check_msgtype(msg, accepted_msgtypes)
    if msg.annotations_size and getattr(type(connection), "recv", None) is _socket_connection_recv:
        # a plain SocketConnection: each annotation value and the data straight into bytes objects of their own
        msg.annotations = _recv_annotations(connection, msg.annotations_size)
        msg._set_data(_recv_exactly(connection, msg.data_size) if msg.data_size else b"")
    else:
        # a connection with a recv() of its own (e.g. a server's buffered connection) gets one recv() for the
        # annotations and data together, as it may expect
        size = msg.annotations_size + msg.data_size
        msg.add_payload(_recv_exactly(connection, size) if size else b"")
    if config.LOGWIRE:
        log_wiredata(log, "wiredata received", msg)
    return msg


_socket_connection_recv = _SocketConnection.recv


def _recv_annotations(connection: Any, size: int) -> dict[str, bytes]:
    """Reads `size` bytes of annotation chunks, each value straight into a bytes object of its own."""
    annotations: dict[str, bytes] = {}
    chunk_size = _chunk_header.size
    while size:
        if size < chunk_size:
            # (read them anyway, so that the error is about the chunk and not about a later read)
            _recv_exactly(connection, size)
            raise errors.ProtocolError("invalid annotation chunk: %d trailing bytes, a chunk header has %d"
                                       % (size, chunk_size))
        key, length = _chunk_header.unpack(_recv_exactly(connection, chunk_size))
        size -= chunk_size
        if length > size:
            raise errors.ProtocolError("invalid annotation chunk length %d for %r: only %d bytes left"
                                       % (length, key, size))
        try:
            name = key.decode("ascii")
        except UnicodeDecodeError:
            raise errors.ProtocolError("invalid annotation chunk id %r: must be 4 ASCII characters" % key) from None
        annotations[name] = _recv_exactly(connection, length) if length else b""
        size -= length
    return annotations


# MessageReader lives in _wire_reader, which builds on the definitions above: importing it here defines it, and
# _wire_reader binds protocol.MessageReader itself at its end (so either module may be imported first)
from . import _wire_reader  # noqa: E402


def plain_message_bytes(msgtype: int, serializer_id: int, seq: int, payload: Any) -> bytes | None:
    """The whole message, as one bytes object, that ``SendingMessage(msgtype, 0, seq, serializer_id, payload,
    correlation_id=None)`` makes of a bytes payload (no flags, annotations or correlation id, not compressed):
    for a server's fast path that sends it right away. None when the message is not that simple (payload not
    bytes, compression or LOGWIRE applies, too large for MAX_MESSAGE_SIZE): the caller builds a SendingMessage."""
    if type(payload) is not bytes or config.LOGWIRE:
        return None
    size = len(payload)
    if size > _COMPRESSION_THRESHOLD and (size > _JOIN_LIMIT or config.COMPRESSION) or size > config.MAX_MESSAGE_SIZE:
        return None
    return _header.pack(b"PYRO", PROTOCOL_VERSION, msgtype, serializer_id, 0, seq, size, 0, _empty_correlation_id,
                        0, _magic_number) + payload
