"""The usual request in one function: a plain method call (MSG_INVOKE, not oneway, batch or blob) on a
connection that passed the handshake, with no hooks installed. `answer_call` does what
``answer_message`` → ``Dispatcher.handle`` → ``_invoke`` → ``_perform`` → ``_run`` → ``result_message`` →
``send_reply`` do for it, with the same checks, errors and results, in one Python frame (the server's CPU per
small call is mostly function calls: this saves about ten of them). Anything less usual (ping, oneway, batch,
blob, attribute access, an unknown or weakly registered object, a session instance not created yet, a
connection with calls in flight, a generator or coroutine result, hooks) takes the general path, entered at
the point where the two part.
"""
from __future__ import annotations

import weakref
from typing import Any

from . import config, errors, protocol, serializers, socketutil
from ._svr_access import ATTRIBUTE_ACCESS as _ATTRIBUTE_ACCESS
from ._svr_access import get_method, load_call
from ._svr_coro import ASYNC_RESULT_TYPES
from ._svr_meta import _cache as _class_infos
from ._svr_streams import is_iterator
from .callcontext import _response_annotations, current_context

__all__ = ["answer_call", "FAST_FLAGS_OFF"]

# requests with one of these flags take the general path
FAST_FLAGS_OFF = protocol.FLAGS_ONEWAY | protocol.FLAGS_BATCH | protocol.FLAGS_KEEPSERIALIZED
_MSG_INVOKE = protocol.MSG_INVOKE
_MSG_RESULT = protocol.MSG_RESULT
_SendingMessage = protocol.SendingMessage
_serializers_by_id = serializers.serializers_by_id
_set_call = current_context._set_call
_SESSION = ("session", None)
_SocketConnection = socketutil.SocketConnection
_weakref = weakref.ref
_get_response_annotations = _response_annotations.get
_pack_header = protocol._header.pack
_VERSION = protocol.PROTOCOL_VERSION
_MAGIC = protocol._magic_number
_NO_ID = protocol._empty_correlation_id
_SMALL = protocol._COMPRESSION_THRESHOLD     # (never compressed)
_JOIN = protocol._JOIN_LIMIT                 # (SendingMessage joins a payload up to this size behind its header)
_config = config
# result types that are sent as they are (not an iterator to stream, not a coroutine to run): type -> True
_plain_results: dict[type, bool] = {}


def answer_call(dispatcher: Any, conn: Any, msg: protocol.ReceivingMessage) -> None:
    """Answer the request `msg` of the handshaked connection `conn` (conn.send); the errors of conn.send are
    raised. The caller checked: type(msg) is ReceivingMessage and msg.type is MSG_INVOKE or MSG_PING."""
    flags = msg.flags
    serializer = _serializers_by_id.get(msg.serializer_id)
    if flags & FAST_FLAGS_OFF or msg.type != _MSG_INVOKE or serializer is None or dispatcher.hooks is not None:
        answer = dispatcher.handle(conn, msg)
    else:
        answer = _invoke(dispatcher, conn, msg, flags, serializer)
        if type(answer) is bytes:       # (the whole reply message)
            conn.send((answer,) if isinstance(conn, _SocketConnection) else answer)
            return
    if answer is not None:
        if isinstance(conn, _SocketConnection):
            conn.send(answer.parts)
        else:
            conn.send(answer.data)


def _invoke(dispatcher: Any, conn: Any, msg: protocol.ReceivingMessage, flags: int, serializer: Any) -> Any:
    """The reply to the request: the message's bytes (the usual small result), or a SendingMessage."""
    correlation_id = None if msg.corr_id == _NO_ID else msg.correlation_id
    seq = msg.seq
    _set_call(conn, getattr(conn, "sock_addr", None), seq, flags, msg.serializer_id, msg.annotations,
              correlation_id)
    call: Any = None        # [method, vargs, kwargs]: what a user method was called with (made when needed)
    method: Any = None      # the user's method while it runs
    try:
        object_id, method_name, vargs, kwargs = load_call(serializer, msg)
        obj = dispatcher.registry.objects.get(object_id) if type(object_id) is str else None
        if isinstance(obj, type):       # (None when not created yet: the general path creates it)
            mode = getattr(obj, "_pyroInstancing", _SESSION)[0]
            if mode == "single":
                obj = dispatcher.registry._single_instances.get(obj)
            elif mode == "session" and not getattr(conn, "inflight", 0):
                obj = conn.pyroInstances.get(obj)
        if obj is None or isinstance(obj, type) or type(obj) is _weakref or method_name in _ATTRIBUTE_ACCESS:
            call = [None, (), {}]
            data = dispatcher._perform(conn, flags, object_id, method_name, vargs, kwargs, call)
        else:
            info = _class_infos.get(type(obj))
            method = getattr(obj, method_name) if info is not None and method_name in info.methods \
                else get_method(obj, method_name)
            # this is the actual method call to the Pyro object
            data = method(*vargs, **kwargs) if kwargs else method(*vargs)
            if type(data) in ASYNC_RESULT_TYPES:     # async def: see Pyro5._svr_coro
                call = [method, vargs, kwargs]
                data = dispatcher.coroutines.run(dispatcher, conn, data, call, False, True)
                call[0] = None
            method = None
        if type(data) not in _plain_results and not _plain_result(data):
            return dispatcher.result_message(conn, msg, serializer, data, 0, method_name)
        try:
            payload = serializer.dumps(data)
        except Exception as x:
            raise errors.SerializeError("cannot serialize the result of %r: %s: %s"
                                        % (method_name, type(x).__name__, x)) from None
        if correlation_id is None and type(payload) is bytes and type(dispatcher.daemon).annotations is \
                dispatcher._plain_annotations and not _get_response_annotations() and \
                (len(payload) <= _SMALL or (len(payload) <= _JOIN and not _config.COMPRESSION)) and \
                not _config.LOGWIRE and len(payload) <= _config.MAX_MESSAGE_SIZE:
            # (what SendingMessage makes of a result without annotations and correlation id: one bytes object)
            return _pack_header(b"PYRO", _VERSION, _MSG_RESULT, msg.serializer_id, 0, seq, len(payload), 0, _NO_ID, 0,
                                _MAGIC) + payload
        return _SendingMessage(_MSG_RESULT, 0, seq, msg.serializer_id, payload,
                               dispatcher.response_annotations(), correlation_id=correlation_id)
    except Exception as x:
        if call is None:
            call = [None, (), {}] if method is None else [method, vargs, kwargs]
        return dispatcher.failure_message(conn, msg, serializer, x, call)


def _plain_result(data: Any) -> bool:
    """Is the result sent as it is (not an item stream)? Remembered per type (at most 1000 types)."""
    if is_iterator(data):
        return False
    if len(_plain_results) < 1000:
        _plain_results[type(data)] = True
    return True
