"""Objects the server puts on (or takes off) the wire without needing pyro5-client.

- `AutoProxy`: stand-in for a `Pyro5.client.Proxy` of a registered object (autoproxying of results). It
  serializes exactly like the original's Proxy: ``{"__class__": "Pyro5.client.Proxy", "state": (uri,
  oneway, methods, attrs, handshake, serializer)}``.
- `SerializedBlob`: what a method receives when the caller sent a SerializedBlob (FLAGS_KEEPSERIALIZED):
  ``info`` plus the still-serialized call payload; ``deserialized()`` decodes it on demand. The attribute
  layout (``info``, ``_data`` = the received message, ``_contains_blob`` = True) lets a client forward it
  unchanged to another server (dispatchers).
(An exception inside a batch result list is a `Pyro5.core._ExceptionWrapper`, which pyro5-wire serializes.)
"""
from __future__ import annotations

import logging
from typing import Any

from . import errors, protocol, serializers

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


class SerializedBlob:
    """A serialized call argument that is only deserialized when asked (see the manual's blob-dispatch)."""

    def __init__(self, info: Any, data: Any, is_blob: bool = False) -> None:
        self.info = info
        self._data = data
        self._contains_blob = is_blob

    def deserialized(self) -> Any:
        """Deserializes the blob and returns the original data (the arguments the caller wrapped)."""
        if not self._contains_blob:
            return self._data
        msg = self._data
        serializer = serializers.serializers_by_id.get(msg.serializer_id)
        if serializer is None:
            raise errors.SerializeError("cannot deserialize blob: serializer id %d is not available here"
                                        % msg.serializer_id)
        _, _, vargs, _ = serializer.loadsCall(protocol.message_payload(msg))
        return vargs

    def __repr__(self) -> str:
        return "<%s.%s info=%r>" % (self.__module__, self.__class__.__name__, self.info)
