"""Capabilities negotiated between our clients and our daemons, on the connect handshake.

An original Pyro5 peer never sees anything it does not understand: a capability is announced by the client as an
annotation on its MSG_CONNECT (an original daemon ignores annotations it does not know), and only used when our
daemon answers with the same annotation on its MSG_CONNECTOK. Without that answer the connection behaves exactly
as the original protocol: one call at a time, replies in order.

Reserved annotation ids (4 characters, as the manual requires):

``INFL`` — many calls in flight on one connection.
    Client → daemon (MSG_CONNECT): ``b"1"``, "I match replies to requests by their seq".
    Daemon → client (MSG_CONNECTOK): the ASCII decimal number of calls the daemon runs at once for this
    connection (>= 1). After that the client may send up to that many requests without waiting for their
    replies; the daemon runs them concurrently and replies as each finishes, in any order, each reply carrying
    its request's seq. A client must keep its seqs of unanswered requests distinct (16-bit, wrapping).

``NSLK`` — a name server lookup answered on the connect handshake (resolving a PYRONAME uri: connect, lookup,
    close, without the lookup call's round trip).
    Client → daemon (MSG_CONNECT to the name server object): the name, UTF-8.
    Daemon → client (MSG_CONNECTOK): the uri string ``lookup(name)`` returns, UTF-8; only when the object is a
    name server (it has ``_pyroConnectLookup``), the name is registered and the daemon has no call hooks or
    observers (a lookup they must see is a normal call). Without the answer the client calls ``lookup`` as usual
    (which also raises the NamingError of an unknown name). A client uses a connection whose lookup was answered
    with a valid uri for nothing else: the daemon may close it right after the reply (ours does on the thread pool
    server, whose loop thread answers such a connection itself).
"""
from __future__ import annotations

from typing import Mapping, Optional

__all__ = ["INFLIGHT", "inflight_offer", "inflight_requested", "inflight_answer", "inflight_granted", "LOOKUP",
           "lookup_offer", "lookup_requested", "lookup_answer", "lookup_answered"]

INFLIGHT = "INFL"
LOOKUP = "NSLK"
_OFFER = b"1"
_MAX_GRANT = 65535 // 2      # never more unanswered requests than half the seq space


def inflight_offer() -> dict[str, bytes]:
    """The annotation a client adds to its connect message to ask for many calls in flight."""
    return {INFLIGHT: _OFFER}


def inflight_requested(annotations: Optional[Mapping[str, bytes]]) -> bool:
    """Whether a received connect message asks for many calls in flight."""
    return bool(annotations) and bytes(annotations.get(INFLIGHT, b"")) == _OFFER   # type: ignore[union-attr]


def inflight_answer(limit: int) -> dict[str, bytes]:
    """The annotation a daemon adds to its connect reply: it runs up to `limit` calls of the connection at once."""
    return {INFLIGHT: str(max(1, min(int(limit), _MAX_GRANT))).encode("ascii")}


def inflight_granted(annotations: Optional[Mapping[str, bytes]]) -> int:
    """How many calls the daemon lets a client have in flight on the connection, from its connect reply's
    annotations: 0 when the daemon did not answer the capability (an original daemon, or ours without it)."""
    if not annotations:
        return 0
    value = annotations.get(INFLIGHT)
    if value is None:
        return 0
    try:
        granted = int(bytes(value).decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return 0
    return max(0, min(granted, _MAX_GRANT))


def lookup_offer(name: str) -> dict[str, bytes]:
    """The annotation a client adds to its connect message to the name server to have `name` looked up."""
    return {LOOKUP: name.encode("utf-8")}


def _text(annotations: Optional[Mapping[str, bytes]]) -> Optional[str]:
    value = annotations.get(LOOKUP) if annotations else None
    if value is None:
        return None
    try:
        return bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        return None


def lookup_requested(annotations: Optional[Mapping[str, bytes]]) -> Optional[str]:
    """The name a received connect message asks to look up (None: it does not ask)."""
    return _text(annotations)


def lookup_answer(uri: str) -> dict[str, bytes]:
    """The annotation a daemon adds to its connect reply: the uri the name server's lookup returned."""
    return {LOOKUP: uri.encode("utf-8")}


def lookup_answered(annotations: Optional[Mapping[str, bytes]]) -> Optional[str]:
    """The uri string in a connect reply's annotations (None: the daemon did not answer the lookup)."""
    return _text(annotations)
