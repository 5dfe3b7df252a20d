"""Caches of the connect handshake's serialization (Dispatcher.handshake): a new connection costs a few
hundred microseconds, and with serpent (the default) a good part of that is parsing the connect message and
writing the reply with the object's metadata, which are the same for every connection of a client program.

- `connect_request`: the parsed connect message, remembered by its bytes when it is the usual
  ``{"handshake": <str or None>, "object": <str>}`` (a fresh dict is returned every time);
- `connect_payload`: the serialized CONNECTOK payload ``{"handshake": response, "meta": metadata}``, remembered
  per serializer, class (its cached `ClassInfo`: a class whose info is reset gets new entries) and handshake
  response, when that response is None, a str, an int or a bool.

Both are bounded (emptied when full) and only ever map equal input to the result the serializer gave for it.

`plain_handshake`: the whole CONNECTOK message, remembered, for the usual connect message of a daemon that runs
no code of the program's in its handshake (see there).

`connect_lookup` answers the NSLK capability (see Pyro5._capabilities): a name server's lookup on the connect reply.
`answer_first` lets the thread pool server's loop thread answer a connection that is such a lookup, and close it
(see there).
"""
from __future__ import annotations

import logging
import socket
import weakref
from typing import Any, Mapping, Optional

from . import _capabilities, _wire_reader, config, core, errors, protocol, serializers
from ._svr_meta import class_info, metadata_of
from .callcontext import current_context

__all__ = ["connect_request", "connect_payload", "connect_lookup", "plain_handshake", "serves_lookups",
           "receive_first", "feed_first", "read_first_message", "answer_lookup", "answer_first", "LATER", "KEEP",
           "CLOSE"]

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


# ------------------------------------------------------------------------------------------ the usual handshake
# A handshake cost the server about as much Python as a call: the call context (8 context variables), the connect
# message, validateHandshake, the metadata payload, the reply's header and annotations. For a daemon that runs no
# code of the program's in it (validateHandshake, annotations() and clientDisconnect are the Daemon's own, no call
# hooks, no correlation id, no LOGWIRE) and the usual connect message (one seen before: _requests), the reply is
# the same message every time for the same serializer, sequence number, object class (its ClassInfo: a class
# whose info is reset gets a new entry, as does an object id registered again with another class) and, for a name
# server lookup (NSLK), the name and the uri it answers: that message is remembered and sent again. The call
# context is not set then: no code reads it before the connection's first call sets it.

_replies: dict[tuple, protocol.SendingMessage] = {}
_NO_CORRELATION = bytes(16)
_serializers_by_id = serializers.serializers_by_id


def plain_handshake(dispatcher: Any, conn: Any, msg: protocol.ReceivingMessage) -> Optional[protocol.SendingMessage]:
    """Dispatcher.handshake(conn, msg)'s answer for the usual case (see above), or None: the general path answers
    (which does the same, with the call context, and everything else: errors, hooks, capabilities)."""
    annotations = msg.annotations
    if msg.corr_id != _NO_CORRELATION or dispatcher.hooks is not None or config.LOGWIRE:
        return None
    if annotations and (len(annotations) != 1 or _LOOKUP not in annotations):
        return None     # (other capabilities, e.g. INFL, or the program's annotations)
    serializer = _serializers_by_id.get(msg.serializer_id)
    data = msg.data
    known = _requests.get((serializer, data)) if type(data) is bytes else None
    if known is None:
        return None     # (not seen before: the general path parses it, and remembers it when it is the usual one)
    daemon = dispatcher.daemon
    if type(daemon).annotations is not dispatcher._plain_annotations or not _plain_daemon(daemon):
        return None
    obj = dispatcher.registry.objects.get(known[1])
    if obj is None or type(obj) is weakref.ref:
        return None     # (unknown: the general path refuses it; weakly registered: looked up there)
    response = daemon.validateHandshake(conn, known[0])     # (the Daemon's own: "hello")
    if type(response) is not str:
        return None
    answer: Optional[str] = None     # (the uri a lookup answers)
    if annotations:
        # a name server's lookup: only when its lookup is the name server's own (no code of the program's)
        if not getattr(obj, "_pyroConnectLookupPlain", False):
            return None
        name = _capabilities.lookup_requested(annotations)
        try:
            uri = obj._pyroConnectLookup(name) if name is not None else None
        except Exception:
            return None     # (e.g. an unknown name: the general path answers without the lookup, and logs why)
        if type(uri) is not str:
            uri = str(uri) if isinstance(uri, core.URI) else None
        if uri is None:
            return None
        answer = uri
        key: tuple = (serializer, msg.seq, class_info(obj), response, name, uri)
    else:
        key = (serializer, msg.seq, class_info(obj), response)
    reply = _replies.get(key)
    if reply is None:
        payload = connect_payload(serializer, obj, response)
        reply = protocol.SendingMessage(_MSG_CONNECTOK, 0, msg.seq, msg.serializer_id, payload,
                                        None if answer is None else _capabilities.lookup_answer(answer),
                                        correlation_id=None)
        if len(_replies) >= _MAX_ENTRIES:
            _replies.clear()
        _replies[key] = reply
    return reply


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


def receive_first(sock: Any) -> Optional[bytes]:
    """(a connection just accepted, its socket still blocking) What is there already, without waiting; None when
    nothing was there (or the peer closed or failed: its worker, or the selector, finds out with the next receive)."""
    try:
        data = sock.recv(_FIRST_READ, _DONTWAIT)
    except OSError:      # (nothing yet: BlockingIOError; or a failed connection)
        return None
    return data or None


def feed_first(conn: Any, data: bytes) -> None:
    """The first bytes of a new connection into its reader: complete messages go to `conn.messages`, bad input to
    `conn.read_error`, as MuxConnection.read_available does."""
    try:
        conn.messages.extend(conn.reader.feed(data))
    except errors.ProtocolError as x:
        conn.read_error = x


def read_first_message(conn: Any) -> bool:
    """receive_first and feed_first on a new connection; False when nothing was there."""
    data = receive_first(conn.sock)
    if data is None:
        return False
    feed_first(conn, data)
    return True


def answer_lookup(daemon: Any, sock: Any, data: bytes) -> bool:
    """(the loop thread; a name server's daemon, a plain socket just accepted) Answer the connection when `data`,
    its first bytes, is exactly one connect message asking for a lookup that plain_handshake answers with a valid
    uri: the reply is sent, and True tells the caller to close the socket. That is what answer_first and
    close_client do for such a connection, without its connection object and reader: nothing else happens on it
    (no call, so no item streams to clean up; the Daemon's own clientDisconnect does nothing). False: anything
    else (nothing sent): the caller makes the connection object and feeds it `data`, as before."""
    msg = _wire_reader.whole_message(data, prehandshake=True)
    if msg is None or msg.type != _MSG_CONNECT or not msg.annotations or _LOOKUP not in msg.annotations:
        return False
    reply = plain_handshake(daemon.dispatcher, None, msg)   # (None: the Daemon's own validateHandshake ignores it)
    if reply is None:
        return False
    data = reply.data
    if len(data) > _MAX_REPLY:
        return False
    if getattr(daemon._clientDisconnected, "__func__", None) is not _base_daemon._clientDisconnected:
        return False    # (replaced on the daemon: it is called for this connection, on the general path)
    try:
        core.URI(_capabilities.lookup_answered(reply.annotations) or "")
    except errors.PyroError:
        return False    # (the client calls lookup on this connection to learn what is wrong: the general path)
    try:
        sent = sock.send(data, _DONTWAIT)
    except OSError as x:
        sent = 0
        log.debug("cannot send the connect reply to a name server lookup: %s", x)
    if sent != len(data):
        log.debug("connect reply to a name server lookup not sent completely (%d of %d bytes)", sent, len(data))
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
