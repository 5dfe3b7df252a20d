"""Objects the server puts on (or takes off) the wire without needing pyro5-client.

- `AutoProxy`: stand-in for a `Pyro5.client.Proxy` of a registered object (autoproxying of results). It
  serializes exactly like the original's Proxy: ``{"__class__": "Pyro5.client.Proxy", "state": (uri,
  oneway, methods, attrs, handshake, serializer)}``.
(A method that the caller sent a SerializedBlob gets pyro5-wire's `Pyro5._serialized_blob.SerializedBlob`; an
exception inside a batch result list is a `Pyro5.core._ExceptionWrapper`, which pyro5-wire serializes.)
"""
from __future__ import annotations

import logging

log = logging.getLogger("Pyro5.server")


class AutoProxy:
    """Serializes as the original Pyro5.client.Proxy with the given state tuple."""

    __slots__ = ("_state",)
    __pyro_class__ = "Pyro5.client.Proxy"

    def __init__(self, uri: str, oneway: tuple, methods: tuple, attrs: tuple) -> None:
        self._state = (uri, oneway, methods, attrs, "hello", None)

    def __pyro_state__(self) -> tuple:
        return self._state

    def __repr__(self) -> str:
        return "<autoproxy for %s>" % self._state[0]
