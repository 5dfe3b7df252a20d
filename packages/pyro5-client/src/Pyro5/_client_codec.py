"""The client's call codec: the messages a proxy sends, and what the daemon's replies mean. No I/O here.

Every function takes plain values (a serializer, ids, names, a received message) and returns a
``protocol.SendingMessage`` to send, or the interpretation of a ``protocol.ReceivingMessage``; the blocking
proxy (``Pyro5.client.Proxy``, over ``_client_conn``) and any other transport reuse them.

Wire details (as the original Pyro5 5.15 does them, observed as a black box):

- connect: MSG_CONNECT with ``{"handshake": proxy._pyroHandshake, "object": objectid}``; the daemon answers
  MSG_CONNECTOK ``{"handshake": response, "meta": {"methods", "oneway", "attrs"}}`` or MSG_CONNECTFAIL
  with a reason string.
- calls: MSG_INVOKE ``dumpsCall(objectid, method, vargs, kwargs)``; remote attribute access calls
  ``__getattr__(name)`` / ``__setattr__(name, value)`` with kwargs None; a batch is the method ``<batch>`` with
  a list of ``(method, vargs, kwargs)`` and FLAGS_BATCH; a call of a oneway method has FLAGS_ONEWAY.
- a SerializedBlob argument travels with FLAGS_KEEPSERIALIZED and a "BLBI" annotation holding
  ``marshal.dumps((info, objectid, method))``.
- replies: MSG_RESULT with the serialized result; FLAGS_EXCEPTION when it is the exception the call raised (with
  the remote traceback in its ``_pyroTraceback`` attribute); FLAGS_ITEMSTREAMRESULT and a "STRM" annotation
  holding the stream id when the method returned an iterator; a batch result is the list of results with the
  failing call's exception as ``Pyro5.core._ExceptionWrapper`` (the batch stops there).
"""
from __future__ import annotations

import logging
import marshal
from typing import Any, Collection, Generator, Iterable, cast

from . import _client_hooks, config, core, errors, protocol, serializers
from ._serialized_blob import SerializedBlob
from .callcontext import current_context as _current_context

__all__ = ["StreamReply", "connect_request", "connect_result", "call_request", "call_result", "batch_results",
           "metadata", "proxy_state"]

log = logging.getLogger("Pyro5.client")

_MSG_INVOKE = protocol.MSG_INVOKE
_MSG_CONNECT = protocol.MSG_CONNECT
_MSG_CONNECTOK = protocol.MSG_CONNECTOK
_FLAGS_ONEWAY = protocol.FLAGS_ONEWAY
_FLAGS_KEEPSERIALIZED = protocol.FLAGS_KEEPSERIALIZED
_FLAGS_EXCEPTION = protocol.FLAGS_EXCEPTION
_FLAGS_ITEMSTREAMRESULT = protocol.FLAGS_ITEMSTREAMRESULT
_MarshalSerializer = serializers.MarshalSerializer
# serializers whose dumpsCallParts sends big bytes arguments without copying them into the message
_SPLICING = (serializers.MarshalSerializer, serializers.MsgpackSerializer, serializers.SerpentSerializer)
_serializers_by_id = serializers.serializers_by_id


class StreamReply:
    """call_result() of a call whose method returned an iterator: the daemon's stream id for its items."""

    __slots__ = ("stream_id",)

    def __init__(self, stream_id: str) -> None:
        self.stream_id = stream_id

    def __repr__(self) -> str:
        return "<%s %r>" % (type(self).__name__, self.stream_id)


# ---------------------------------------------------------------------------------------------------- connect

def connect_request(serializer: serializers.SerializerBase, seq: int, handshake: Any, object_id: str,
                    annotations: dict[str, bytes]) -> protocol.SendingMessage:
    """The MSG_CONNECT message that opens a connection to the daemon that has `object_id`."""
    key = (serializer, type(handshake), handshake, object_id) if type(handshake) in _SIMPLE else None
    # (the whole message is the same bytes every time for the same key and sequence number while there are no
    # annotations, no correlation id and no LOGWIRE: remembered, and shared, as a message is never changed)
    plain = key is not None and not annotations and _current_context.correlation_id is None and not config.LOGWIRE
    if plain:
        request = _connect_messages.get((key, seq))
        if request is not None:
            return request
    data = _connect_payloads.get(key) if key is not None else None
    if data is None:
        data = serializer.dumps({"handshake": handshake, "object": object_id})
        if key is not None and type(data) is bytes:
            _remember(_connect_payloads, key, data)
    request = protocol.SendingMessage(_MSG_CONNECT, 0, seq, serializer.serializer_id, data, annotations=annotations)
    if plain and type(data) is bytes:
        _remember(_connect_messages, (key, seq), request)
    return request


def connect_result(msg: protocol.ReceivingMessage, location: Any) -> tuple[Any, Any]:
    """(metadata, handshake response) from the daemon's answer to connect_request().
    CommunicationError when the daemon refused the connection (MSG_CONNECTFAIL, logged), ProtocolError or
    SerializeError for an answer that is not a valid one."""
    response: Any = "?"
    if msg.data:
        serializer = _serializers_by_id.get(msg.serializer_id)
        if serializer is None:
            raise errors.SerializeError("invalid serializer id %d in the daemon's handshake response"
                                        % msg.serializer_id)
        key = (serializer, msg.data) if msg.type == _MSG_CONNECTOK and type(msg.data) is bytes else None
        known = _connect_replies.get(key) if key is not None else None
        if known is not None:   # (the same answer as before: fresh sets)
            return {name: set(names) for name, names in known[1]}, known[0]
        response = serializer.loads(msg.data)
        if key is not None and len(msg.data) <= _MAX_CACHED_REPLY:
            _remember_reply(key, response)
    if msg.type == protocol.MSG_CONNECTFAIL:
        error = "connection to %s rejected: %s" % (location, response)
        log.error(error)
        raise errors.CommunicationError(error)
    if not isinstance(response, dict) or "meta" not in response:
        raise errors.ProtocolError("invalid handshake response from the daemon at %s: %r" % (location, response))
    return response["meta"], response.get("handshake")


# The connect handshake's serialization is the same for every connection of a program to an object: the request
# payload per (serializer, handshake, object id) and the parsed CONNECTOK answer per (serializer, bytes) when it is
# the usual {"handshake": str/None, "meta": {"methods"/"oneway"/"attrs": names}} are remembered (bounded).
_SIMPLE = (type(None), str)
_MAX_CACHED = 64
_MAX_CACHED_REPLY = 8192
_connect_payloads: dict[tuple, bytes] = {}
_connect_replies: dict[tuple, tuple] = {}
_connect_messages: dict[tuple, protocol.SendingMessage] = {}     # (the whole request, see connect_request)


def _remember(cache: dict, key: tuple, value: Any) -> None:
    if len(cache) >= _MAX_CACHED:
        cache.clear()
    cache[key] = value


def _remember_reply(key: tuple, response: Any) -> None:
    if type(response) is not dict or len(response) != 2 or type(response.get("handshake")) not in _SIMPLE:
        return
    meta = response.get("meta")
    if type(meta) is not dict or set(meta) != {"methods", "oneway", "attrs"}:
        return
    names = tuple((name, frozenset(values)) for name, values in meta.items()
                  if type(values) in (set, frozenset, list, tuple) and all(type(v) is str for v in values))
    if len(names) == 3:
        _remember(_connect_replies, key, (response["handshake"], names))


def metadata(meta: Any) -> tuple[set[str], set[str], set[str]]:
    """(oneway, methods, attrs) from the metadata the daemon sent (the connect answer, or get_metadata())."""
    if not isinstance(meta, dict):
        raise errors.ProtocolError("invalid metadata received from the daemon: %r" % (meta,))
    oneway = set(meta.get("oneway") or ())
    methods = set(meta.get("methods") or ())
    attrs = set(meta.get("attrs") or ())
    if log.isEnabledFor(logging.DEBUG):
        log.debug("from meta: methods=%s, oneway methods=%s, attributes=%s", sorted(methods), sorted(oneway),
                  sorted(attrs))
    if not methods and not attrs:
        raise errors.PyroError("remote object doesn't expose any methods or attributes. Did you forget setting "
                               "@expose on them?")
    return oneway, methods, attrs


# ---------------------------------------------------------------------------------------------------- calls

def call_request(serializer: serializers.SerializerBase, object_id: str, method: str, vargs: Any, kwargs: Any,
                 flags: int, seq: int, annotations: dict[str, bytes], oneway_methods: Collection[str]
                 ) -> protocol.SendingMessage:
    """The MSG_INVOKE message for calling `method` of `object_id` (FLAGS_ONEWAY added for a method in
    `oneway_methods`). A SerializedBlob as first argument is sent still serialized (FLAGS_KEEPSERIALIZED); with
    marshal and msgpack, big bytes arguments are not copied into the message (SendingMessage.parts references them)."""
    serializer_id = serializer.serializer_id
    if _client_hooks.hooks_used:
        extra = _client_hooks.extra_annotations.get()
        if extra:       # (what the call hooks added, e.g. the trace context)
            annotations = dict(annotations)
            annotations.update(extra)
    if vargs and (type(vargs[0]) is SerializedBlob or _is_blob(vargs[0])):
        data, annotations, serializer_id = _blob_payload(serializer, object_id, method, vargs, kwargs, annotations)
        flags |= _FLAGS_KEEPSERIALIZED
    elif type(serializer) in _SPLICING:
        data = cast(Any, serializer).dumpsCallParts(object_id, method, vargs, kwargs)
    else:
        data = serializer.dumpsCall(object_id, method, vargs, kwargs)
    if method in oneway_methods:
        flags |= _FLAGS_ONEWAY
    return protocol.SendingMessage(_MSG_INVOKE, flags, seq, serializer_id, data, annotations=annotations)


def _is_blob(obj: Any) -> bool:
    # (the last clause goes when pyro5-server hands methods this SerializedBlob instead of its own copy: a blob
    # that a server method received and forwards through a proxy is of that class until then)
    return isinstance(obj, SerializedBlob) or (type(obj).__name__ == "SerializedBlob" and hasattr(obj, "_data"))


def _blob_payload(serializer: serializers.SerializerBase, object_id: str, method: str, vargs: Any, kwargs: Any,
                  annotations: dict[str, bytes]) -> tuple[Any, dict[str, bytes], int]:
    """(payload, annotations, serializer id) of a call with a SerializedBlob: its info goes in a "BLBI"
    annotation; a blob received from elsewhere is forwarded with its serialized payload unchanged."""
    if len(vargs) > 1:
        raise errors.SerializeError("if SerializedBlob is used, it must be the only argument")
    blob = vargs[0]
    annotations = dict(annotations)
    annotations["BLBI"] = marshal.dumps((blob.info, object_id, method))
    if blob._contains_blob:
        msg = blob._data
        return protocol.message_payload(msg), annotations, msg.serializer_id
    return serializer.dumpsCall(object_id, method, blob._data, kwargs), annotations, serializer.serializer_id


def call_result(msg: protocol.ReceivingMessage, serializer: serializers.SerializerBase, serializer_id: int) -> Any:
    """What a call returns, from the daemon's reply `msg` to a request sent with `serializer_id` (`serializer`
    is the proxy's serializer): the result; a StreamReply when the method returned an iterator; raises the
    exception the remote method raised (with its remote traceback in ``_pyroTraceback``)."""
    if msg.serializer_id != serializer_id:
        raise errors.SerializeError("invalid serializer in response: %d (the request used %d)"
                                    % (msg.serializer_id, serializer_id))
    if serializer_id != serializer.serializer_id:
        serializer = _serializers_by_id[serializer_id]
    result = serializer.loads(msg.data)
    flags = msg.flags
    if flags & _FLAGS_ITEMSTREAMRESULT:
        stream_id = msg.annotations.get("STRM", b"").decode()
        if not stream_id:
            raise errors.ProtocolError("result of call is an iterator, but the server is not configured to allow "
                                       "streaming (no stream id received)")
        return StreamReply(stream_id)
    if flags & _FLAGS_EXCEPTION:
        if isinstance(result, BaseException):
            raise result  # if you see this in your traceback, you should probably inspect the remote traceback as well
        raise errors.ProtocolError("the daemon signaled an exception but sent %r" % (result,))
    return result


def batch_results(results: Iterable) -> Generator[Any, None, None]:
    """The results of a batch call one by one; the failed call's exception is raised in its place."""
    wrapper = serializers._get_wrapper_class()     # (Pyro5.core._ExceptionWrapper, as the serializers make it)
    for result in results:
        if isinstance(result, wrapper):
            result.raiseIt()  # re-raise the remote exception locally.
        else:
            yield result


# ---------------------------------------------------------------------------------------------------- proxy state

def proxy_state(state: Any) -> tuple[core.URI, set[str], set[str], set[str], Any, str | None]:
    """(uri, oneway, methods, attrs, handshake, serializer) from a proxy's wire state (Proxy.__getstate__'s
    tuple: uri string, oneway, methods, attrs, handshake, serializer name or None); SerializeError if invalid."""
    if not isinstance(state, (tuple, list)) or len(state) != 6:
        raise errors.SerializeError("invalid serialized Pyro5.client.Proxy: the state must be a sequence of 6 "
                                    "items (uri, oneway, methods, attrs, handshake, serializer), got %r" % (state,))
    uri, oneway, methods, attrs, handshake, serializer = state
    if isinstance(uri, bytes):
        uri = uri.decode("utf-8")
    uri = core.URI(uri)
    try:
        sets = set(oneway or ()), set(methods or ()), set(attrs or ())
    except TypeError:
        raise errors.SerializeError("invalid serialized Pyro5.client.Proxy: oneway, methods and attrs must be "
                                    "collections of names, got %r" % (state,)) from None
    if serializer is not None and not isinstance(serializer, str):
        raise errors.SerializeError("invalid serialized Pyro5.client.Proxy: the serializer must be a name or "
                                    "None, got %r" % (serializer,))
    return uri, sets[0], sets[1], sets[2], handshake, serializer
