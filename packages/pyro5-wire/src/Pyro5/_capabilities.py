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
"""
from __future__ import annotations

from typing import Mapping, Optional

__all__ = ["INFLIGHT", "inflight_offer", "inflight_requested", "inflight_answer", "inflight_granted"]

INFLIGHT = "INFL"
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
