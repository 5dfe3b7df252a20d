"""Pyro4.naming: locateNS, resolve, startNS/startNSloop and the name server classes (Pyro5.nameserver)."""
from __future__ import annotations

import importlib
from typing import Any

from Pyro5 import core

from ._pyro4_config import Pyro4CompatibilityError
from ._pyro4_proxy import NameServerProxy, _hmac_error, as_compat_proxy

# the name server classes come from Pyro5.nameserver (pyro5-naming), imported when first used (see __getattr__)
_LAZY_EXPORTS = ("NameServer", "NameServerDaemon", "BroadcastServer", "main")
_LAZY_NAMES = _LAZY_EXPORTS + ("MemoryStorage", "SqlStorage")

__all__ = ["locateNS", "resolve", "startNS", "startNSloop", "type_meta", *_LAZY_EXPORTS]

type_meta = core.type_meta


def _nameserver() -> Any:
    return importlib.import_module("Pyro5.nameserver")


def __getattr__(name: str) -> Any:
    if name in _LAZY_NAMES:
        return getattr(_nameserver(), name)
    raise AttributeError("module 'Pyro4.naming' has no attribute %r" % name)


def locateNS(host: Any = None, port: int | None = None, broadcast: bool = True,
             hmac_key: Any = None) -> NameServerProxy:
    """Get a proxy for the name server (Pyro4 signature). The proxy also accepts Pyro4's ``list(metadata_...)``."""
    if hmac_key:
        raise _hmac_error()
    ns = core.locate_ns(host or "", port, broadcast)
    return as_compat_proxy(ns, NameServerProxy)  # type: ignore[return-value]


def resolve(uri: Any, hmac_key: Any = None) -> core.URI:
    """Resolve a 'magic' uri (PYRONAME, PYROMETA) into the direct PYRO uri of the object."""
    if hmac_key:
        raise _hmac_error()
    return core.resolve(uri)


def startNS(host: Any = None, port: int | None = None, enableBroadcast: bool = True, bchost: Any = None,
            bcport: int | None = None, unixsocket: str | None = None, nathost: Any = None, natport: int | None = None,
            storage: Any = None, hmac: Any = None) -> tuple:
    """Create a name server daemon; returns (nameserverUri, nameserverDaemon, broadcastServer)."""
    if hmac:
        raise _hmac_error()
    _check_storage(storage)
    return _nameserver().start_ns(host, port, enableBroadcast, bchost, bcport, unixsocket, nathost, natport, storage)


def startNSloop(host: Any = None, port: int | None = None, enableBroadcast: bool = True, bchost: Any = None,
                bcport: int | None = None, unixsocket: str | None = None, nathost: Any = None,
                natport: int | None = None, storage: Any = None, hmac: Any = None) -> None:
    """Start a name server and run its request loop (does not return until it is shut down)."""
    if hmac:
        raise _hmac_error()
    _check_storage(storage)
    _nameserver().start_ns_loop(host, port, enableBroadcast, bchost, bcport, unixsocket, nathost, natport, storage)


def _check_storage(storage: Any) -> None:
    if isinstance(storage, str) and storage.startswith("dbm"):
        raise Pyro4CompatibilityError("the 'dbm' name server storage was removed in Pyro5: use 'memory' or "
                                      "'sql:<file>'")
