"""Pyro4.message: the message type and flag constants (the wire format is Pyro5's protocol 502 now)."""
from __future__ import annotations

from typing import Any

from Pyro5 import protocol

from ._pyro4_config import Pyro4CompatibilityError

MSG_CONNECT = protocol.MSG_CONNECT
MSG_CONNECTOK = protocol.MSG_CONNECTOK
MSG_CONNECTFAIL = protocol.MSG_CONNECTFAIL
MSG_INVOKE = protocol.MSG_INVOKE
MSG_RESULT = protocol.MSG_RESULT
MSG_PING = protocol.MSG_PING
FLAGS_EXCEPTION = protocol.FLAGS_EXCEPTION
FLAGS_COMPRESSED = protocol.FLAGS_COMPRESSED
FLAGS_ONEWAY = protocol.FLAGS_ONEWAY
FLAGS_BATCH = protocol.FLAGS_BATCH
FLAGS_ITEMSTREAMRESULT = protocol.FLAGS_ITEMSTREAMRESULT
FLAGS_KEEPSERIALIZED = protocol.FLAGS_KEEPSERIALIZED
PROTOCOL_VERSION = protocol.PROTOCOL_VERSION


def __getattr__(name: str) -> Any:
    if name == "Message":
        raise Pyro4CompatibilityError(
            "Pyro4.message.Message does not exist in Pyro5: the wire protocol changed (version 502). Use "
            "Pyro5.protocol.SendingMessage to build a message and Pyro5.protocol.recv_stub to receive one.")
    if name.startswith("FLAGS_HMAC") or name == "FLAGS_META_ON_CONNECT":
        raise Pyro4CompatibilityError("Pyro4.message.%s does not exist in Pyro5 (no HMAC signing; metadata is "
                                      "always sent on connect)" % name)
    raise AttributeError("module 'Pyro4.message' has no attribute %r" % name)
