"""Deals with the context variables of a Pyro call (thread local)."""
from __future__ import annotations

import threading
from typing import Any

from . import errors

__all__ = ["current_context"]

_ATTRIBUTES = ("client", "client_sock_addr", "seq", "msg_flags", "serializer_id",
               "annotations", "response_annotations", "correlation_id")


class _CallContext(threading.local):
    """Information about the current Pyro call, one per thread:

    client (SocketConnection or None), client_sock_addr (tuple or None), seq (int), msg_flags (int),
    serializer_id (int), annotations (dict str->bytes), response_annotations (dict str->bytes),
    correlation_id (uuid.UUID or None).
    """

    def __init__(self) -> None:
        # threading.local runs __init__ again in every thread that touches the object
        self.client: Any = None
        self.client_sock_addr: Any = None
        self.seq = 0
        self.msg_flags = 0
        self.serializer_id = 0
        self.annotations: dict[str, Any] = {}
        self.response_annotations: dict[str, Any] = {}
        self.correlation_id: Any = None

    def to_global(self) -> dict[str, Any]:
        """Returns the context values as a dict, to copy them into another thread with from_global()."""
        return {name: getattr(self, name) for name in _ATTRIBUTES}

    def from_global(self, values: dict[str, Any]) -> None:
        """Sets this thread's context from values obtained with to_global() in another thread."""
        for name in _ATTRIBUTES:
            if name in values:
                setattr(self, name, values[name])

    def track_resource(self, resource: Any) -> None:
        """Let Pyro track the resource on the current client connection."""
        if self.client is None:
            raise errors.PyroError("cannot track resource on a connectionless call: "
                                   "track_resource only works inside a Pyro call on the server")
        self.client.tracked_resources.add(resource)

    def untrack_resource(self, resource: Any) -> None:
        """Untrack a previously tracked resource, useful if you have freed it normally."""
        if self.client is None:
            raise errors.PyroError("cannot untrack resource on a connectionless call: "
                                   "untrack_resource only works inside a Pyro call on the server")
        self.client.tracked_resources.discard(resource)


current_context = _CallContext()
"""the thread-local context object for the current Pyro call"""
