"""Caches of the connect handshake's serialization (Dispatcher.handshake): a new connection costs a few
hundred microseconds, and with serpent (the default) a good part of that is parsing the connect message and
writing the reply with the object's metadata, which are the same for every connection of a client program.

- `connect_request`: the parsed connect message, remembered by its bytes when it is the usual
  ``{"handshake": <str or None>, "object": <str>}`` (a fresh dict is returned every time);
- `connect_payload`: the serialized CONNECTOK payload ``{"handshake": response, "meta": metadata}``, remembered
  per serializer, class (its cached `ClassInfo`: a class whose info is reset gets new entries) and handshake
  response, when that response is None, a str, an int or a bool.

Both are bounded (emptied when full) and only ever map equal input to the result the serializer gave for it.

`connect_lookup` answers the NSLK capability (see Pyro5._capabilities): a name server's lookup on the connect reply.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping, Optional

from . import _capabilities, core
from ._svr_meta import class_info, metadata_of

__all__ = ["connect_request", "connect_payload", "connect_lookup"]

log = logging.getLogger("Pyro5.server")

_MAX_ENTRIES = 256
_MAX_REQUEST = 1024     # (bytes: a bigger connect message is parsed every time)
_requests: dict[tuple, tuple] = {}
_payloads: dict[tuple, bytes] = {}
_CACHED_RESPONSES = (type(None), str, int, bool)


def connect_request(serializer: Any, data: Any) -> Any:
    """serializer.loads(data) of a connect message."""
    if type(data) is not bytes or len(data) > _MAX_REQUEST:
        return serializer.loads(data)
    key = (serializer, data)
    known = _requests.get(key)
    if known is not None:
        return {"handshake": known[0], "object": known[1]}
    result = serializer.loads(data)
    if type(result) is dict and len(result) == 2 and "handshake" in result and type(result.get("object")) is str \
            and type(result["handshake"]) in (type(None), str):
        if len(_requests) >= _MAX_ENTRIES:
            _requests.clear()
        _requests[key] = (result["handshake"], result["object"])
    return result


def connect_payload(serializer: Any, obj: Any, handshake_response: Any) -> Any:
    """serializer.dumps({"handshake": handshake_response, "meta": metadata_of(obj)})."""
    kind = type(handshake_response)
    if kind not in _CACHED_RESPONSES:
        return serializer.dumps({"handshake": handshake_response, "meta": metadata_of(obj)})
    key = (serializer, class_info(obj), kind, handshake_response)
    payload = _payloads.get(key)
    if payload is None:
        payload = serializer.dumps({"handshake": handshake_response, "meta": metadata_of(obj)})
        if type(payload) is bytes:
            if len(_payloads) >= _MAX_ENTRIES:
                _payloads.clear()
            _payloads[key] = payload
    return payload


def connect_lookup(obj: Any, request: Mapping[str, bytes], annotations: Optional[dict]) -> Optional[dict]:
    """The connect reply's annotations plus the NSLK answer, when `obj` is a name server (it has
    ``_pyroConnectLookup``, which returns a URI or a uri string) that knows the name the connect message's
    annotations (`request`) ask for."""
    answer = getattr(obj, "_pyroConnectLookup", None)
    name = _capabilities.lookup_requested(request)
    if answer is None or name is None:
        return annotations
    try:
        uri = answer(name)
    except Exception as x:      # (e.g. an unknown name: the client's lookup call raises the NamingError)
        log.debug("no lookup on connect of %r: %s", name, x)
        return annotations
    if isinstance(uri, core.URI):
        uri = str(uri)
    elif type(uri) is not str:
        return annotations
    annotations = dict(annotations or {})
    annotations.update(_capabilities.lookup_answer(uri))
    return annotations
