"""Pyro4.errors: the same exception classes as Pyro5.errors (so ``except Pyro4.errors.X`` catches Pyro5's)."""
from __future__ import annotations

from Pyro5.errors import (
    CommunicationError,
    ConnectionClosedError,
    DaemonError,
    MessageTooLargeError,
    NamingError,
    ProtocolError,
    PyroError,
    SecurityError,
    SerializeError,
    TimeoutError,
)

from ._pyro4_config import Pyro4CompatibilityError

__all__ = ["PyroError", "CommunicationError", "ConnectionClosedError", "TimeoutError", "ProtocolError",
           "MessageTooLargeError", "NamingError", "DaemonError", "SecurityError", "SerializeError",
           "Pyro4CompatibilityError"]
