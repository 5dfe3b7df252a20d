"""The usual remote call of a Proxy in one flat function: what ``_client_codec`` and ``_client_conn`` do for a call,
without their general cases and layers (a small call costs a few dozen microseconds of CPU, so every function
call and attribute lookup on the way counts).

`call` is what a Proxy tries first for a call without flags or an explicit object id, after the checks every call
gets (call hooks run around it, a shared proxy's calls go elsewhere, the owner thread, stream closes to send). It
returns `FULL` (and has done nothing: no serialization, no sequence number, no I/O) whenever the call needs
anything else, and the proxy then takes the full path (``Proxy.__invoke``): not connected yet, in the middle of
another call, an unknown serializer, a oneway method, raw wire responses, request annotations
(``current_context.annotations``, what call hooks added) or a correlation id, a SerializedBlob argument, a proxy
class (or a proxy) that overrides ``_pyroAnnotations`` or ``_pyroResponseAnnotations``. Everything it does is what the full
path does for such a call: the same bytes on the wire (``protocol.SendingMessage``s), the same deadline model and
errors (``_wire_stream``), every received byte checked by the connection's ``protocol.MessageReader``, the reply
interpreted by the codec's rules, the response annotations in ``current_context.response_annotations``, a lost
connection released. Retrying after a lost connection or a timeout stays with the proxy.
"""
from __future__ import annotations

import os
import socket
import ssl
import time
from typing import Any

from . import _client_codec, _client_hooks, _wire_stream, config, errors, protocol, serializers
from ._client_conn import check_reply_seq as _check_reply_seq
from ._client_stream import _StreamResultIterator
from ._serialized_blob import SerializedBlob
from .callcontext import _annotations, _correlation_id, _response_annotations

__all__ = ["FULL", "call", "use_defaults"]

FULL: Any = object()        # call(): this call needs the full path

_MSG_INVOKE = protocol.MSG_INVOKE
_SendingMessage = protocol.SendingMessage
_pack_header = protocol._header.pack
_VERSION = protocol.PROTOCOL_VERSION
_MAGIC = protocol._magic_number
_NO_ID = protocol._empty_correlation_id
_SMALL = protocol._COMPRESSION_THRESHOLD     # (never compressed)
_config = config
_serializers = serializers.serializers
_SPLICING = _client_codec._SPLICING
_call_result = _client_codec.call_result
_StreamReply = _client_codec.StreamReply
_recv_message = _wire_stream.recv_message
_send = _wire_stream.send
_monotonic = time.monotonic
# (a plain socket's descriptor takes os.write(); not on Windows, whose sockets are no file descriptors)
_plain_socket: Any = socket.socket if os.name == "posix" else None
_write = os.write
_FIRST_RECV = 4096    # (as _wire_stream: all of a small reply)
_MIN_REMAINING = 1e-6
_get_annotations = _annotations.get
_get_correlation_id = _correlation_id.get
_set_response_annotations = _response_annotations.set
_extra_annotations = _client_hooks.extra_annotations
# argument types that are never a SerializedBlob (others are checked as the codec does)
_PLAIN = frozenset((str, int, float, bool, type(None), bytes, list, tuple, dict))
_annotations_method: Any = None     # Proxy._pyroAnnotations and _pyroResponseAnnotations (see use_defaults)
_response_annotations_method: Any = None


def use_defaults(proxy_class: type) -> None:
    """The Proxy class whose request and response annotation methods `call` stands in for (Pyro5.client.Proxy)."""
    global _annotations_method, _response_annotations_method
    _annotations_method = proxy_class._pyroAnnotations              # type: ignore[attr-defined]
    _response_annotations_method = proxy_class._pyroResponseAnnotations    # type: ignore[attr-defined]


def call(proxy: Any, link: Any, method: str, vargs: Any, kwargs: Any) -> Any:
    """Call `method` with (vargs, kwargs) over the proxy's connection `link` (a _client_conn.ProxyConnection) and
    return its result; FULL (having done nothing) when the call needs the full path (module documentation)."""
    conn = link.conn
    if conn is None or link.busy or link.pending_closes or proxy._pyroRawWireResponse or method in proxy._pyroOneway:
        return FULL
    serializer = _serializers.get(proxy._pyroSerializer or _config.SERIALIZER)
    if serializer is None or _get_annotations(None) or _get_correlation_id() is not None:
        return FULL
    if vargs and type(vargs[0]) not in _PLAIN and (isinstance(vargs[0], SerializedBlob) or
                                                   _client_codec._is_blob(vargs[0])):
        return FULL
    if _client_hooks.hooks_used and _extra_annotations.get():
        return FULL
    cls = type(proxy)      # (_pyroAnnotations/_pyroResponseAnnotations overridden in a subclass or on the proxy: full)
    if cls._pyroAnnotations is not _annotations_method or \
            cls._pyroResponseAnnotations is not _response_annotations_method:
        return FULL
    state = proxy.__dict__
    if "_pyroAnnotations" in state or "_pyroResponseAnnotations" in state:
        return FULL
    object_id = conn.objectId or proxy._pyroUri.object
    if type(serializer) in _SPLICING and bytes in map(type, vargs):     # (big bytes arguments are not copied)
        data = serializer.dumpsCallParts(object_id, method, vargs, kwargs)  # type: ignore[attr-defined]
    else:
        data = serializer.dumpsCall(object_id, method, vargs, kwargs)
    serializer_id = serializer.serializer_id
    seq = link.seq = (link.seq + 1) & 0xffff
    if type(data) is bytes and len(data) <= _SMALL and not _config.LOGWIRE and len(data) <= _config.MAX_MESSAGE_SIZE:
        # (what SendingMessage makes of a small payload without annotations and correlation id: one bytes object)
        parts: Any = (_pack_header(b"PYRO", _VERSION, _MSG_INVOKE, serializer_id, 0, seq, len(data), 0, _NO_ID, 0,
                                   _MAGIC) + data,)
    else:
        parts = _SendingMessage(_MSG_INVOKE, 0, seq, serializer_id, data, correlation_id=None).parts
    del data
    timeout = link.timeout or None
    sock = conn.sock
    link.busy = True
    try:
        if len(parts) == 1 and sock.gettimeout() == timeout:
            frame = parts[0]
            try:    # (the socket's own timeout is the deadline for all of it, as in _wire_stream.send)
                if timeout is not None and type(sock) is _plain_socket:
                    # a socket with a timeout polls before every send; its descriptor is non-blocking, so one
                    # write() usually takes all of a small request at once without that poll
                    try:
                        sent = _write(sock.fileno(), frame)
                    except BlockingIOError:
                        sent = 0
                    if sent < len(frame):
                        sock.sendall(memoryview(frame)[sent:])
                else:
                    sock.sendall(frame)
            except TimeoutError:
                raise errors.TimeoutError("sending: timeout") from None
            except OSError as x:
                raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x
        else:
            _send(sock, parts, timeout)
        del parts
        # the reply: one receive is usually all of it (the socket's own timeout is the deadline then); the rest of
        # a bigger or slower one, and anything unusual, goes through _wire_stream.recv_message
        reader = link.reader
        messages = None
        if sock.gettimeout() == timeout:
            start = None if timeout is None else _monotonic()
            try:
                data = sock.recv(_FIRST_RECV)
            except TimeoutError:
                raise errors.TimeoutError("receiving: timeout") from None
            except (InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                data = None
            except OSError as x:
                raise errors.ConnectionClosedError("receiving: connection lost: %s" % x) from x
            if data is not None:
                if not data:
                    raise errors.ConnectionClosedError("receiving: connection closed by the daemon")
                messages = reader.feed(data)
                if not messages and start is not None:
                    timeout = max(timeout - (_monotonic() - start), _MIN_REMAINING)  # type: ignore[operator]
        if not messages:
            messages = _recv_message(sock, reader, timeout, peer="daemon")
        if len(messages) > 1:
            raise errors.ProtocolError("the daemon sent more than the reply: the connection is out of sync")
        msg = messages[0]
        _check_reply_seq(msg, seq)
    except BaseException as x:
        link.lost(x)
        raise
    finally:
        link.busy = False
    _set_response_annotations(msg.annotations)
    if msg.serializer_id == serializer_id and not msg.flags:
        return serializer.loads(msg.data)
    result = _call_result(msg, serializer, serializer_id)
    if type(result) is _StreamReply:
        return _StreamResultIterator(result.stream_id, proxy)
    return result

