"""The http gateway's proxies: one shared proxy (``Proxy(uri, shared=True)``) per exposed object name, used by
every request thread at once, instead of a name server lookup and a new connection per request.

A name is looked up in the name server the first time it is requested, and again when its proxy's connection
broke: a request whose proxy cannot connect (the object's daemon moved or is gone) drops the proxy and tries
once more with a fresh lookup (nothing was sent yet, so that is safe); a call whose connection fails while it
runs drops the proxy too (the next request looks the name up again) and reports the error. A name that is
unregistered from the name server while its daemon keeps running stays reachable through its proxy until the
connection breaks or `drop` / `clear` is called.
"""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from Pyro5 import client, core, errors

__all__ = ["ProxyCache"]

log = logging.getLogger("Pyro5.httpgateway")


class ProxyCache:
    """Shared proxies by object name; `lookup(name)` finds a name's uri (the name server)."""

    def __init__(self, lookup: Callable[[str], core.URI]) -> None:
        self._lookup = lookup
        self._lock = threading.Lock()
        self._proxies: dict[Any, client.Proxy] = {}

    def get(self, name: str, timeout: float | None, scope: Any = None) -> client.Proxy:
        """The connected shared proxy for `name` (looked up and connected when needed); `scope`: the name
        server's location (the names of another name server have proxies of their own)."""
        key = (scope, name)
        proxy = self._proxy(key, timeout)
        try:
            proxy._pyroBind()
        except errors.CommunicationError as x:
            log.debug("proxy for %s cannot connect (%s): looking it up again", name, x)
            self.drop(key, proxy)
            proxy = self._proxy(key, timeout)
            proxy._pyroBind()
        return proxy

    def _proxy(self, key: Any, timeout: float | None) -> client.Proxy:
        with self._lock:
            proxy = self._proxies.get(key)
        if proxy is None:
            uri = self._lookup(key[1])      # (outside the lock: other names are served meanwhile)
            proxy = client.Proxy(uri, shared=True)
            proxy._pyroSerializer = "json"
            proxy._pyroTimeout = timeout
            with self._lock:
                proxy = self._proxies.setdefault(key, proxy)
        if proxy._pyroTimeout != timeout:
            proxy._pyroTimeout = timeout
        return proxy

    def drop(self, key: Any, proxy: client.Proxy | None = None) -> None:
        """Forget the proxy of `key` (scope, name) (only if it is still `proxy`, when given) and close its
        connection."""
        with self._lock:
            current = self._proxies.get(key)
            if current is None or (proxy is not None and current is not proxy):
                return
            del self._proxies[key]
        current._pyroRelease()

    def clear(self) -> None:
        """Forget every proxy (closing their connections)."""
        with self._lock:
            proxies, self._proxies = list(self._proxies.values()), {}
        for proxy in proxies:
            proxy._pyroRelease()
