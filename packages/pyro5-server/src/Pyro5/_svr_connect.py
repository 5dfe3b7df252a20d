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
`answer_first` lets the thread pool server's loop thread answer a connection that is such a lookup, and close it
(see there).
"""
from __future__ import annotations

import logging
import socket
from typing import Any, Mapping, Optional

from . import _capabilities, core, errors, protocol
from ._svr_meta import class_info, metadata_of
from .callcontext import current_context

__all__ = ["connect_request", "connect_payload", "connect_lookup", "serves_lookups", "read_first_message", "answer_first",
           "LATER", "KEEP", "CLOSE"]

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


# ------------------------------------------------------------------------------------------ on the loop thread
# A client of ours resolving a PYRONAME uri connects to the name server, reads the answer on the connect reply and
# closes the connection; it never uses that connection for anything else (see Pyro5._capabilities). On the thread
# pool server, handing such a connection to a worker thread (woken up, answering, then waiting for the client to
# close) cost the name server's process a thread wakeup, the hand-over of the interpreter lock and a wait for the
# close, per lookup. So the loop thread answers such a connect message itself, when the answer runs no code of the
# program's (a daemon whose validateHandshake and clientDisconnect are the Daemon's own, without call hooks, not
# over TLS, with a small reply), and closes the connection right after an answer with a valid uri. On a name
# server, a connection whose connect message is not there yet as it is accepted is watched by the selector until
# it is (most are lookups). Other connect messages still go to a worker: answering them on the loop thread too,
# before the worker that then waits for the first request, cost more (the worker's wakeup then meets the loop
# thread holding the interpreter lock; perf stat, medians of 4 runs on the loaded machine: 3.2 against 2.2 futex
# calls and 300 against 268 us of server CPU per new connection).

_DONTWAIT = getattr(socket, "MSG_DONTWAIT", 0)
_FIRST_READ = 4096          # bytes: a connect message is about 100, with a lookup about 130
_MAX_REPLY = 4096           # bytes: a reply this small always fits into a new connection's empty send buffer
_MSG_CONNECT = protocol.MSG_CONNECT
_MSG_CONNECTOK = protocol.MSG_CONNECTOK
_LOOKUP = _capabilities.LOOKUP
_INFLIGHT = _capabilities.INFLIGHT
_base_daemon: Any = None

LATER = 0       # answer_first(): not answered, the connect message stays buffered for a worker
KEEP = 1        # answered (accepted): the connection goes on, its next message is a request
CLOSE = 2       # answered (a lookup, or refused): close the connection now


def serves_lookups(daemon: Any) -> bool:
    """Does the daemon hold a name server (an object with _pyroConnectLookup, registered as Pyro.NameServer)?"""
    return hasattr(daemon._registry.objects.get(core.NAMESERVER_NAME), "_pyroConnectLookup")


def _plain_daemon(daemon: Any) -> bool:
    """Are the daemon's validateHandshake and clientDisconnect the Daemon's own (no user code to run)?"""
    global _base_daemon
    if _base_daemon is None:
        from .server import Daemon
        _base_daemon = Daemon
    return getattr(daemon.validateHandshake, "__func__", None) is _base_daemon.validateHandshake \
        and getattr(daemon.clientDisconnect, "__func__", None) is _base_daemon.clientDisconnect


def read_first_message(conn: Any) -> bool:
    """(a connection just accepted, its socket still blocking) Receive what is there without waiting into the
    connection's reader: complete messages go to `conn.messages`, bad input to `conn.read_error`, as
    MuxConnection.read_available does. False when nothing was there (or the peer closed: its worker finds out
    with its first receive)."""
    try:
        data = conn.sock.recv(_FIRST_READ, _DONTWAIT)
    except OSError:      # (nothing yet: BlockingIOError; or a failed connection, which the worker finds out too)
        return False
    if not data:
        return False
    try:
        conn.messages.extend(conn.reader.feed(data))
    except errors.ProtocolError as x:
        conn.read_error = x
    return True


def answer_first(daemon: Any, conn: Any) -> int:
    """(the loop thread) Answer the connection's connect message, when it is the one message buffered, asks a
    name server for a lookup, and the answer runs no code of the program's (see above). Returns LATER (not answered: the message stays buffered for
    the worker that answers it), KEEP (accepted, conn.handshaked) or CLOSE (a name server lookup answered with a
    valid uri, or a refused connection: the caller closes the connection)."""
    messages = conn.messages
    if len(messages) != 1 or conn.read_error is not None or conn.reader.received_bytes or conn.is_tls:
        return LATER
    msg = messages[0]
    annotations = msg.annotations
    if msg.type != _MSG_CONNECT or not annotations or _LOOKUP not in annotations or _INFLIGHT in annotations:
        return LATER
    dispatcher = daemon.dispatcher
    if dispatcher.hooks is not None or not serves_lookups(daemon) or not _plain_daemon(daemon):
        return LATER
    try:
        reply = dispatcher.handshake(conn, msg)
    finally:
        current_context.client = None
    data = reply.data
    if len(data) > _MAX_REPLY:
        return LATER    # (the worker answers it again: no side effects without the program's code)
    messages.clear()
    outcome = CLOSE
    if reply.type == _MSG_CONNECTOK:
        conn.handshaked = True
        conn.reader.prehandshake = False    # (MAX_MESSAGE_SIZE applies from now on)
        outcome = KEEP
        answer = _capabilities.lookup_answered(reply.annotations)
        if answer is not None:
            try:
                core.URI(answer)
                outcome = CLOSE
            except errors.PyroError:
                pass    # (the client calls lookup on this connection to learn what is wrong)
    try:
        sent = conn.sock.send(data, _DONTWAIT)
    except OSError as x:
        sent = 0
        log.debug("cannot send the connect reply to %s: %s", conn.sock_addr, x)
    if sent != len(data):
        log.debug("connect reply to %s not sent completely (%d of %d bytes)", conn.sock_addr, sent, len(data))
        return CLOSE
    return outcome
