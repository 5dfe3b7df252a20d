"""Pyro4-style Proxy, batch and asynchronous proxies on top of Pyro5.client.

Differences with a plain Pyro5 proxy, to make Pyro4 code run unchanged:
- the proxy may be shared by several threads, like in Pyro4: it is a shared proxy (``Pyro5.client.Proxy(uri,
  shared=True)``), so the calls of several threads go over one connection at once (many calls in flight with our
  daemons, a small pool of connections with an original one). Over a user-supplied connected socket, calls are
  serialized with a lock and the calling thread takes over the ownership of the connection instead;
- ``_pyroAsync()`` / ``asyncproxy()`` make calls return a :class:`FutureResult` right away; the calls run
  concurrently over the shared proxy's connection (a Pyro4 proxy ran them one at a time);
- ``_pyroBatch()`` / ``batch()`` return a batch proxy whose call accepts ``asynchronous=True``;
- the removed features (``_pyroHmacKey``, the pickle/dill/cloudpickle serializers) raise an error that
  says what to use instead.
"""
from __future__ import annotations

import threading
from typing import Any

from Pyro5 import client, core, protocol
from Pyro5._client_shared import SharedLink

from ._pyro4_config import Pyro4CompatibilityError, check_serializer
from ._pyro4_futures import Future, FutureResult, _ExceptionWrapper

__all__ = ["Proxy", "BatchProxy", "batch", "asyncproxy", "NameServerProxy"]

_SYNC_ONLY = frozenset({"__getattr__", "__setattr__"})


def _hmac_error() -> Pyro4CompatibilityError:
    return Pyro4CompatibilityError(
        "HMAC keys (_pyroHmacKey / hmac_key) are not supported: Pyro5 has no HMAC message signing. Use SSL "
        "(config.SSL and the SSL_* items, 2-way certificates for client authentication) or a connection "
        "handshake (proxy._pyroHandshake + Daemon.validateHandshake) instead.")


class Proxy(client.Proxy):
    """Pyro4-compatible proxy (see the module docstring for what it adds to Pyro5.client.Proxy)."""

    def __init__(self, uri: Any, connected_socket: Any = None) -> None:
        object.__setattr__(self, "_pyroCompatLock", threading.RLock())
        object.__setattr__(self, "_pyroCompatAsync", False)
        super().__init__(uri, connected_socket, shared=connected_socket is None)

    # --- Pyro4 attributes that Pyro5 removed
    @property
    def _pyroHmacKey(self) -> None:
        return None

    @_pyroHmacKey.setter
    def _pyroHmacKey(self, value: Any) -> None:
        if value:
            raise _hmac_error()

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "_pyroHmacKey":
            if value:
                raise _hmac_error()
            return
        if name == "_pyroSerializer":
            check_serializer(value)
        super().__setattr__(name, value)

    # --- thread sharing like Pyro4: one call at a time, by whichever thread makes it
    def _pyroCompatClaim(self) -> None:
        claim = getattr(super(), "_pyroClaimOwnership", None)
        if claim is not None:
            claim()

    def _pyroInvoke(self, methodname: str, vargs: Any, kwargs: Any, flags: int = 0, objectId: Any = None) -> Any:
        if self._pyroCompatAsync and methodname not in _SYNC_ONLY and not flags & protocol.FLAGS_BATCH:
            return Future(self._pyroCompatInvoke)(methodname, vargs, kwargs, flags, objectId)
        return self._pyroCompatInvoke(methodname, vargs, kwargs, flags, objectId)

    def _pyroCompatInvoke(self, methodname: str, vargs: Any, kwargs: Any, flags: int = 0, objectId: Any = None) -> Any:
        if self.__dict__.get("_Proxy__shared") is not None:    # (any thread may call a shared proxy)
            return super()._pyroInvoke(methodname, vargs, kwargs, flags=flags, objectId=objectId)
        with self._pyroCompatLock:
            self._pyroCompatClaim()
            return super()._pyroInvoke(methodname, vargs, kwargs, flags=flags, objectId=objectId)

    def _pyroBind(self) -> bool:
        with self._pyroCompatLock:
            self._pyroCompatClaim()
            return super()._pyroBind()

    def _pyroGetMetadata(self, objectId: Any = None, known_metadata: Any = None) -> None:
        with self._pyroCompatLock:
            self._pyroCompatClaim()
            super()._pyroGetMetadata(objectId, known_metadata)

    def _pyroRelease(self) -> None:
        with self._pyroCompatLock:
            self._pyroCompatClaim()
            super()._pyroRelease()

    def _pyroReconnect(self, tries: int = 100000000) -> None:
        with self._pyroCompatLock:
            self._pyroCompatClaim()
            super()._pyroReconnect(tries)

    # --- Pyro4 convenience methods
    def _pyroBatch(self) -> "BatchProxy":
        """returns a helper class that lets you create batched method calls on the proxy"""
        return BatchProxy(self)

    def _pyroAsync(self, asynchronous: bool = True) -> None:
        """turns the proxy into asynchronous mode: remote calls return a FutureResult (or back, with False)"""
        object.__setattr__(self, "_pyroCompatAsync", bool(asynchronous))

    def __setstate__(self, state: Any) -> None:
        super().__setstate__(state)
        object.__setattr__(self, "_pyroCompatLock", threading.RLock())
        object.__setattr__(self, "_pyroCompatAsync", False)
        object.__setattr__(self, "_Proxy__shared", SharedLink())     # (shared by threads, like a Pyro4 proxy)

    def __copy__(self) -> "Proxy":
        p = super().__copy__()
        object.__setattr__(p, "_pyroCompatLock", threading.RLock())
        object.__setattr__(p, "_pyroCompatAsync", self._pyroCompatAsync)
        return p


class BatchProxy(client.BatchProxy):
    """Pyro4 batch proxy: ``batch(oneway=False, asynchronous=False)`` runs the recorded calls."""

    def __call__(self, oneway: bool = False, asynchronous: bool = False, **kwargs: Any) -> Any:
        if "sync" in kwargs:   # very old Pyro4 spelling
            asynchronous = not kwargs.pop("sync")
        if "async" in kwargs:
            asynchronous = kwargs.pop("async")
        if kwargs:
            raise TypeError("unexpected arguments for a batch call: %s" % ", ".join(kwargs))
        if asynchronous:
            # the Pyro5 batch proxy runs it in a thread over its own connection; adapt its future to Pyro4's
            future = client.BatchProxy.__call__(self, oneway=oneway, asynchronous=True)
            result = FutureResult()

            def done(f: Any) -> None:
                exc = f.exception()
                result.value = _ExceptionWrapper(exc) if exc is not None else f.result()

            future.add_done_callback(done)
            return result
        return client.BatchProxy.__call__(self, oneway=oneway)


def batch(proxy: client.Proxy) -> BatchProxy:
    """convenience method to get a batch proxy adapter"""
    return BatchProxy(proxy)


def asyncproxy(proxy: client.Proxy, asynchronous: bool = True) -> client.Proxy:
    """convenience method to set the proxy to asynchronous (or back to synchronous) mode; returns the proxy"""
    if not isinstance(proxy, Proxy):
        raise Pyro4CompatibilityError(
            "only proxies of the Pyro4 compatibility layer (Pyro4.Proxy) can be made asynchronous; Pyro5 has no "
            "async proxies: use concurrent.futures or Pyro4.Future around calls of a Pyro5 proxy instead")
    proxy._pyroAsync(asynchronous)
    return proxy


class NameServerProxy(Proxy):
    """Proxy for the name server that also understands Pyro4's ``list(metadata_all=..., metadata_any=...)``."""

    def list(self, prefix: str | None = None, regex: str | None = None, metadata_all: Any = None,
             metadata_any: Any = None, return_metadata: bool = False) -> Any:
        if metadata_all or metadata_any:
            if prefix or regex:
                raise ValueError("you can't use prefix or regex together with metadata_all or metadata_any")
            return self._pyroInvoke("yplookup", (metadata_all, metadata_any, return_metadata), {})
        return self._pyroInvoke("list", (prefix, regex, return_metadata), {})


def as_compat_proxy(proxy: client.Proxy, cls: type = Proxy) -> Proxy:
    """A compat proxy for the same uri (the given proxy is released)."""
    uri = core.URI(str(proxy._pyroUri))
    try:
        proxy._pyroRelease()
    except Exception:
        pass
    return cls(uri)


__all__ += ["FutureResult"]
