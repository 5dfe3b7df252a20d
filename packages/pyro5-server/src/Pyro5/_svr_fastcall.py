"""The usual request in one function: a plain method call (MSG_INVOKE, not oneway, batch or blob) on a
connection that passed the handshake, with no hooks installed. `answer_call` does what
``answer_message`` → ``Dispatcher.handle`` → ``_invoke`` → ``_perform`` → ``_run`` → ``result_message`` →
``send_reply`` do for it, with the same checks, errors and results, in one Python frame (the server's CPU per
small call is mostly function calls: this saves about ten of them). Anything less usual (ping, oneway, batch,
blob, attribute access, an unknown or weakly registered object, a session instance not created yet, a
connection with calls in flight, a generator or coroutine result, hooks) takes the general path, entered at
the point where the two part.

`answer_plain` is the same for a request that a transport took from one receive's bytes with
``_wire_reader.plain_message`` (no annotations, no correlation id): no ReceivingMessage is made for it unless
a general path needs one (``_wire_reader.plain_request_message`` makes it from the same bytes then).
"""
from __future__ import annotations

import weakref
from typing import Any

from . import _wire_reader, errors, protocol, serializers, socketutil
from ._svr_access import ATTRIBUTE_ACCESS as _ATTRIBUTE_ACCESS
from ._svr_access import checked_call, get_method, load_call, load_error
from ._svr_coro import ASYNC_RESULT_TYPES
from ._svr_meta import _cache as _class_infos
from ._svr_streams import is_iterator
from .callcontext import _response_annotations, current_context

__all__ = ["answer_call", "answer_plain", "FAST_FLAGS_OFF"]

# requests with one of these flags take the general path
FAST_FLAGS_OFF = protocol.FLAGS_ONEWAY | protocol.FLAGS_BATCH | protocol.FLAGS_KEEPSERIALIZED
_MSG_INVOKE = protocol.MSG_INVOKE
_MSG_RESULT = protocol.MSG_RESULT
_SendingMessage = protocol.SendingMessage
_plain_message_bytes = protocol.plain_message_bytes
_request_message = _wire_reader.plain_request_message
_serializers_by_id = serializers.serializers_by_id
_set_call = current_context._set_call
_SESSION = ("session", None)
_SocketConnection = socketutil.SocketConnection
_weakref = weakref.ref
_NO_ID = protocol._empty_correlation_id
_ARGUMENTS = (tuple, list)
_get_response_annotations = _response_annotations.get
# result types that are sent as they are (not an iterator to stream, not a coroutine to run): type -> True
_plain_results: dict[type, bool] = {}


def answer_call(dispatcher: Any, conn: Any, msg: protocol.ReceivingMessage) -> None:
    """Answer the request `msg` of the handshaked connection `conn` (conn.send); the errors of conn.send are
    raised. The caller checked: type(msg) is ReceivingMessage and msg.type is MSG_INVOKE or MSG_PING."""
    if msg.type != _MSG_INVOKE:
        answer = dispatcher.handle(conn, msg)
    else:
        answer = answer_plain(dispatcher, conn, None, (msg.serializer_id, msg.flags, msg.seq, None), msg)
        if type(answer) is bytes:       # (the whole reply message)
            conn.send((answer,) if isinstance(conn, _SocketConnection) else answer)
            return
    if answer is not None:
        if isinstance(conn, _SocketConnection):
            conn.send(answer.parts)
        else:
            conn.send(answer.data)


def answer_plain(dispatcher: Any, conn: Any, data: Any, request: tuple, msg: Any = None) -> Any:
    """The reply to the request of the handshaked connection `conn` that ``_wire_reader.plain_message`` took
    from `data` (`request`: serializer id, flags, seq, payload), or (answer_call) to the MSG_INVOKE message
    `msg`: the whole reply message as bytes (the usual small result), a SendingMessage, or None (a oneway
    call). Raises what answer_call raises, except the errors of sending (the caller sends)."""
    serializer_id, flags, seq, payload = request
    serializer = _serializers_by_id.get(serializer_id)
    if flags & FAST_FLAGS_OFF or serializer is None or dispatcher.hooks is not None:
        return dispatcher.handle(conn, msg if msg is not None else _request_message(data))
    if msg is None:
        correlation_id = None
        annotations: dict = {}
    else:
        correlation_id = None if msg.corr_id == _NO_ID else msg.correlation_id
        annotations = msg.annotations
    _set_call(conn, getattr(conn, "sock_addr", None), seq, flags, serializer_id, annotations, correlation_id)
    call: Any = None        # [method, vargs, kwargs]: what a user method was called with (made when needed)
    method: Any = None      # the user's method while it runs
    try:
        if msg is not None:
            object_id, method_name, vargs, kwargs = load_call(serializer, msg)
        else:
            try:     # (_svr_access.load_payload, inline)
                object_id, method_name, vargs, kwargs = serializer.loadsCall(payload)
            except errors.PyroError:
                raise
            except Exception as x:
                raise load_error(x) from None
            if type(method_name) is not str or type(vargs) not in _ARGUMENTS or type(kwargs) is not dict:
                object_id, method_name, vargs, kwargs = checked_call(object_id, method_name, vargs, kwargs)
        obj = dispatcher.registry.objects.get(object_id) if type(object_id) is str else None
        if isinstance(obj, type):       # (None when not created yet: the general path creates it)
            mode = getattr(obj, "_pyroInstancing", _SESSION)[0]
            if mode == "single":
                obj = dispatcher.registry._single_instances.get(obj)
            elif mode == "session" and not getattr(conn, "inflight", 0):
                obj = conn.pyroInstances.get(obj)
        if obj is None or isinstance(obj, type) or type(obj) is _weakref or method_name in _ATTRIBUTE_ACCESS:
            call = [None, (), {}]
            result = dispatcher._perform(conn, flags, object_id, method_name, vargs, kwargs, call)
        else:
            info = _class_infos.get(type(obj))
            method = getattr(obj, method_name) if info is not None and method_name in info.methods \
                else get_method(obj, method_name)
            # this is the actual method call to the Pyro object
            result = method(*vargs, **kwargs) if kwargs else method(*vargs)
            if type(result) in ASYNC_RESULT_TYPES:     # async def: see Pyro5._svr_coro
                call = [method, vargs, kwargs]
                result = dispatcher.coroutines.run(dispatcher, conn, result, call, False, True)
                call[0] = None
            method = None
        if type(result) not in _plain_results and not _plain_result(result):
            return dispatcher.result_message(conn, msg if msg is not None else _request_message(data), serializer, result, 0,
                                             method_name)
        try:
            reply = serializer.dumps(result)
        except Exception as x:
            raise errors.SerializeError("cannot serialize the result of %r: %s: %s"
                                        % (method_name, type(x).__name__, x)) from None
        if correlation_id is None and not _get_response_annotations() and \
                type(dispatcher.daemon).annotations is dispatcher._plain_annotations:
            # (no annotations to send: the whole reply message in one bytes object, when it is that simple)
            message = _plain_message_bytes(_MSG_RESULT, serializer_id, seq, reply)
            if message is not None:
                return message
        return _SendingMessage(_MSG_RESULT, 0, seq, serializer_id, reply, dispatcher.response_annotations(),
                               correlation_id=correlation_id)
    except Exception as x:
        if call is None:
            call = [None, (), {}] if method is None else [method, vargs, kwargs]
        return dispatcher.failure_message(conn, msg if msg is not None else _request_message(data), serializer, x, call)


def _plain_result(data: Any) -> bool:
    """Is the result sent as it is (not an item stream)? Remembered per type (at most 1000 types)."""
    if is_iterator(data):
        return False
    if len(_plain_results) < 1000:
        _plain_results[type(data)] = True
    return True
