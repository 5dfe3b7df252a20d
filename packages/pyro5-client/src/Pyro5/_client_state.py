"""How a Proxy travels and copies: its wire/pickle state (the original's layout, class "Pyro5.client.Proxy"),
recreating it from that state, and copy/deepcopy (a mixin of Pyro5.client.Proxy). The attributes named in
LOCAL_ATTRS live on the proxy itself; every other attribute name is looked up on the remote object."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from . import _client_codec as _codec
from ._client_shared import SharedLink

__all__ = ["LOCAL_ATTRS", "ProxyState"]

# attributes that live on the proxy itself (everything else is looked up on the remote object)
LOCAL_ATTRS = frozenset((
    "_pyroUri", "_pyroConnection", "_pyroSerializer", "_pyroMethods", "_pyroAttrs", "_pyroOneway", "_pyroSeq",
    "_pyroRawWireResponse", "_pyroHandshake", "_pyroMaxRetries", "_pyroLocalSocket", "_pyroTimeout",
    "_Proxy__link", "_Proxy__pyroOwnerThread", "_Proxy__shared",
    # (names of proxy attributes before the connection part moved to _client_conn: still never remote)
    "_Proxy__pyroTimeout", "_Proxy__pyroConnLock", "_Proxy__connectedSocket", "_Proxy__pendingStreamCloses",
    "_Proxy__busy", "_pyroInterceptors",
))

_StateT = TypeVar("_StateT", bound="ProxyState")


class ProxyState:
    """Pickling, the wire form and copies of a Proxy (its private parts are reached by their mangled names)."""

    _pyroUri: Any
    _pyroOneway: set
    _pyroMethods: set
    _pyroAttrs: set
    _pyroHandshake: Any
    _pyroSerializer: Any
    _pyroTimeout: Any
    _pyroMaxRetries: int
    _pyroRawWireResponse: bool
    _pyroInterceptors: Any
    _Proxy__setup: Callable[..., None]
    _Proxy__link: Any
    _Proxy__shared: Any

    def __getstate__(self) -> tuple:
        # the state that travels on the wire as well (class "Pyro5.client.Proxy"); same layout as the original
        return (str(self._pyroUri), tuple(self._pyroOneway), tuple(self._pyroMethods), tuple(self._pyroAttrs),
                self._pyroHandshake, self._pyroSerializer)

    def __setstate__(self, state: Any) -> None:
        self._Proxy__setup(*_codec.proxy_state(state))

    def __pyro_state__(self) -> tuple:
        return self.__getstate__()

    @classmethod
    def _pyro_from_state(cls: type[_StateT], state: Any) -> _StateT:
        """Recreate a proxy from its wire state (used by the serializers)."""
        proxy = cls.__new__(cls)
        proxy.__setstate__(state)
        return proxy

    def __copy__(self: _StateT) -> _StateT:
        p = type(self).__new__(type(self))
        p.__setstate__(self.__getstate__())
        for name, value in self.__dict__.items():  # extra attributes of subclasses
            if name not in LOCAL_ATTRS and name not in p.__dict__:
                p.__dict__[name] = value
        p._pyroTimeout = self._pyroTimeout
        p._pyroMaxRetries = self._pyroMaxRetries
        p._pyroRawWireResponse = self._pyroRawWireResponse
        if self._pyroInterceptors:
            p._pyroInterceptors = self._pyroInterceptors
        p._Proxy__link.connected_socket = self._Proxy__link.connected_socket
        p._Proxy__shared = SharedLink() if self._Proxy__shared is not None else None
        return p

    def __deepcopy__(self: _StateT, memo: Any) -> _StateT:
        return self.__copy__()
