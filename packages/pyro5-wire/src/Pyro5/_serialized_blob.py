"""SerializedBlob: call data that stays serialized until it is asked for (one implementation, client and server).

A caller wraps the arguments of a call in ``SerializedBlob(info, data)`` (the only argument of the call); the
proxy sends them with FLAGS_KEEPSERIALIZED and a "BLBI" annotation holding ``marshal.dumps((info, objectid,
method))``. The daemon hands the method ``SerializedBlob(info, <the received message>, is_blob=True)``, whose
``deserialized()`` decodes the arguments on demand, and which a proxy forwards unchanged (the still-serialized
payload goes on as it came). Importable as ``Pyro5.client.SerializedBlob`` (and ``Pyro5.api``); the class
reports that name, as the original's does on both sides.
"""
from __future__ import annotations

from typing import Any

from . import errors, protocol, serializers

__all__ = ["SerializedBlob"]


class SerializedBlob:
    """Used to wrap some data to make Pyro pass this object transparently (it keeps the serialized payload as-is)
    Only when you need to access the actual client data you can deserialize on demand.
    This makes efficient, transparent gateways or dispatchers and such possible:
    they don't have to de/reserialize the message and are independent from the serialized class definitions.
    You have to pass this as the only parameter to a remote method call for Pyro to understand it.
    Init arguments:
    ``info`` = some (small) descriptive data about the blob. Can be a simple id or name or guid. Must be marshallable.
    ``data`` = the actual client data payload that you want to transfer in the blob. Can be anything that you would
    otherwise have used as regular remote call arguments.
    """

    def __init__(self, info: Any, data: Any, is_blob: bool = False) -> None:
        self.info = info
        self._data = data
        self._contains_blob = is_blob
        if is_blob and not (hasattr(data, "serializer_id") and hasattr(data, "data")):
            raise TypeError("SerializedBlob with is_blob=True needs a received Pyro message (with serializer_id and "
                            "data) as data, got %s" % type(data).__name__)

    def deserialized(self) -> Any:
        """Retrieves the client data stored in this blob. Deserializes the data automatically if required."""
        if not self._contains_blob:
            return self._data
        msg = self._data
        serializer = serializers.serializers_by_id.get(msg.serializer_id)
        if serializer is None:
            raise errors.SerializeError("cannot deserialize blob: invalid serializer id %d (not available here)"
                                        % msg.serializer_id)
        _, _, data, _ = serializer.loadsCall(protocol.message_payload(msg))
        return data

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; info=%r>" % (type(self).__module__, type(self).__name__, id(self), self.info)


SerializedBlob.__module__ = "Pyro5.client"
