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

A remote method object (``proxy.method(...)``, a functools.partial) calls `invoke_args`, which makes the checks of
``Proxy._pyroInvoke`` and ``Proxy.__invokeRetrying`` itself and then `call` (two Python calls where there were five); the usual reply is
taken whole from the first receive (``_wire_reader.whole_reply``, in ``_client_conn.receive_reply``).

With a timeout, a connection the proxy opened itself uses kernel timeouts (``_client_conn``: its descriptor
blocking, the timeout in SO_RCVTIMEO), so that a usual call is two system calls, a send and a recv: each one
releases the GIL, which costs a wait to get it back when other threads are running.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from . import _client_codec, _client_conn, _client_hooks, _wire_stream, config, errors, protocol, serializers
from ._client_conn import check_reply_seq as _check_reply_seq
from ._client_stream import _StreamResultIterator
from ._serialized_blob import SerializedBlob
from .callcontext import _annotations, _correlation_id, _response_annotations

__all__ = ["FULL", "call", "invoke_args", "use_defaults"]

log = logging.getLogger("Pyro5.client")

FULL: Any = object()        # call(): this call needs the full path

_MSG_INVOKE = protocol.MSG_INVOKE
_SendingMessage = protocol.SendingMessage
_pack_header = protocol._header.pack
_VERSION = protocol.PROTOCOL_VERSION
_MAGIC = protocol._magic_number
_NO_ID = protocol._empty_correlation_id
_SMALL = protocol._COMPRESSION_THRESHOLD     # (never compressed)
_HEADER_SIZE = protocol._header_size
_config = config
_serializers = serializers.serializers
_SPLICING = _client_codec._SPLICING
_call_result = _client_codec.call_result
_StreamReply = _client_codec.StreamReply
_send = _wire_stream.send
_receive_reply = _client_conn.receive_reply
_ProxySocketConnection = _client_conn.ProxySocketConnection
_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
# (a plain socket's descriptor takes os.write(); not on Windows, whose sockets are no file descriptors)
_plain_socket: Any = socket.socket if os.name == "posix" else None
_write = os.write
_get_annotations = _annotations.get
_get_correlation_id = _correlation_id.get
_set_response_annotations = _response_annotations.set
_extra_annotations = _client_hooks.extra_annotations
_GLOBAL_HOOKS = _client_hooks.GLOBAL
_get_ident = threading.get_ident
_RETRYABLE = (errors.ConnectionClosedError, errors.TimeoutError)
# argument types that are never a SerializedBlob (others are checked as the codec does)
_PLAIN = frozenset((str, int, float, bool, type(None), bytes, list, tuple, dict))
_annotations_method: Any = None     # Proxy._pyroAnnotations and _pyroResponseAnnotations (see use_defaults)
_response_annotations_method: Any = None


def use_defaults(proxy_class: type) -> None:
    """The Proxy class whose request and response annotation methods `call` stands in for (Pyro5.client.Proxy)."""
    global _annotations_method, _response_annotations_method
    _annotations_method = proxy_class._pyroAnnotations              # type: ignore[attr-defined]
    _response_annotations_method = proxy_class._pyroResponseAnnotations    # type: ignore[attr-defined]


def invoke_args(proxy: Any, method: str, *vargs: Any, **kwargs: Any) -> Any:
    """``proxy._pyroInvoke(method, vargs, kwargs)`` for a remote method object's call (``proxy.method(...)``):
    Proxy.__getattr__ makes the method object (a functools.partial, no Python code of its own) call this function
    with the proxy and the method name first instead of the proxy's _pyroInvoke when that is Proxy's own. It makes the checks that _pyroInvoke and Proxy.__invokeRetrying make
    before a usual call (call hooks, a shared proxy, the owner thread, stream closes to send) and runs `call`:
    one Python function call where there were three. Anything unusual goes to _pyroInvoke itself, a call that
    needs the full path and the retries after a lost connection or a timeout to Proxy.__invokeRetrying, so
    every result, error, log line and retry is the one that _pyroInvoke gives."""
    state = proxy.__dict__
    try:
        link = state["_Proxy__link"]
        unusual = proxy._pyroInterceptors or _GLOBAL_HOOKS.active or state["_Proxy__shared"] is not None or \
            state["_Proxy__pyroOwnerThread"] != _get_ident() or link.pending_closes
    except KeyError:
        unusual = True      # (a proxy whose state was never set up: _pyroInvoke says what is wrong)
    if unusual:
        return proxy._pyroInvoke(method, vargs, kwargs)
    try:
        result = call(proxy, link, method, vargs, kwargs)
    except _RETRYABLE:
        retries = proxy._pyroMaxRetries
        if retries <= 0:
            raise
        log.debug("retrying call %s after a connection problem (%d retries left)", method, retries - 1)
        return proxy._Proxy__invokeRetrying(method, vargs, kwargs, 0, None, retries - 1)
    if result is FULL:
        return proxy._Proxy__invokeRetrying(method, vargs, kwargs, 0, None, None, False)
    return result


def call(proxy: Any, link: Any, method: str, vargs: Any, kwargs: Any) -> Any:
    """Call `method` with (vargs, kwargs) over the proxy's connection `link` (a _client_conn.ProxyConnection) and
    return its result; FULL (having done nothing) when the call needs the full path (module documentation)."""
    conn = link.conn
    if conn is None or link.busy or link.pending_closes or proxy._pyroRawWireResponse or method in proxy._pyroOneway:
        return FULL
    try:
        serializer = _serializers[proxy._pyroSerializer or _config.SERIALIZER]
    except KeyError:        # (an unknown serializer: the full path says what is wrong)
        return FULL
    if _get_annotations(None) or _get_correlation_id() is not None:
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
    parts_call = False      # (big bytes arguments are not copied: dumpsCallParts; a loop, as a call has few arguments)
    if type(serializer) in _SPLICING:
        for value in vargs:
            if type(value) is bytes:
                parts_call = True
                break
        value = None    # (no extra reference to an argument: marshal's bytes depend on reference counts)
    if parts_call:
        data = serializer.dumpsCallParts(object_id, method, vargs, kwargs)  # type: ignore[attr-defined]
    else:
        data = serializer.dumpsCall(object_id, method, vargs, kwargs)
    serializer_id = serializer.serializer_id
    seq = link.seq = (link.seq + 1) & 0xffff
    frame = None
    if type(data) is bytes:
        size = len(data)
        if size <= _SMALL and not _config.LOGWIRE and size <= _config.MAX_MESSAGE_SIZE:
            # (what SendingMessage makes of a small payload without annotations and correlation id: one bytes object)
            frame = _pack_header(b"PYRO", _VERSION, _MSG_INVOKE, serializer_id, 0, seq, size, 0, _NO_ID, 0,
                                 _MAGIC) + data
    parts = None if frame is not None else _SendingMessage(_MSG_INVOKE, 0, seq, serializer_id, data,
                                                           correlation_id=None).parts
    del data
    timeout = link.timeout or None
    sock = conn.sock
    sock_timeout = sock.gettimeout()
    kernel = False      # (the socket's descriptor blocking, `timeout` in its SO_RCVTIMEO: see _client_conn)
    if timeout is not None and type(conn) is _ProxySocketConnection:
        if sock_timeout is None:
            kernel = conn.kernel_timeout == timeout
        elif sock_timeout == timeout and type(sock) is _plain_socket:
            kernel = conn.use_kernel_timeout(timeout)      # (once a connection, and after a change of the timeout)
    direct = kernel or sock_timeout == timeout      # (one send and one receive, bounded by the socket's own timeout)
    link.busy = True
    try:
        if frame is not None and direct:
            try:
                if kernel or timeout is not None and type(sock) is _plain_socket:
                    # one send of what the socket takes at once (usually all of a small request): send(MSG_DONTWAIT)
                    # on the blocking descriptor, or write() on a socket in Python's timeout mode (its descriptor
                    # is non-blocking: no poll before it); the rest, if any, within the timeout
                    try:
                        sent = sock.send(frame, _DONTWAIT) if kernel else _write(sock.fileno(), frame)
                    except BlockingIOError:
                        sent = 0
                    if sent < _HEADER_SIZE + size:     # (len(frame))
                        _send(sock, (memoryview(frame)[sent:],), timeout)
                else:
                    sock.sendall(frame)     # (the socket's own timeout, if any, is the deadline for all of it)
            except TimeoutError:
                raise errors.TimeoutError("sending: timeout") from None
            except OSError as x:
                raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x
        else:
            _send(sock, parts or (frame,), timeout)
        del parts, frame
        reply = _receive_reply(sock, link.reader, timeout, direct, seq, serializer_id)
        if type(reply) is not bytes:
            if len(reply) > 1:
                raise errors.ProtocolError("the daemon sent more than the reply: the connection is out of sync")
            msg = reply[0]
            _check_reply_seq(msg, seq)
    except BaseException as x:
        link.lost(x)
        raise
    finally:
        link.busy = False
    if type(reply) is bytes:
        # the payload of a whole plain reply (no flags but a correlation id, no annotations, our serializer): what
        # the message's interpretation below comes to for it (the response annotations of a reply without any: a
        # new empty dict)
        _set_response_annotations({})
        return serializer.loads(reply)
    _set_response_annotations(msg.annotations)
    if msg.serializer_id == serializer_id and not msg.flags:
        return serializer.loads(msg.data)
    result = _call_result(msg, serializer, serializer_id)
    if type(result) is _StreamReply:
        return _StreamResultIterator(result.stream_id, proxy)
    return result

