"""Python's magic methods of a Proxy: comparison, hashing, dir(), truth, the context manager and the container
protocol (len, iteration, item access), which Python looks up on the class. Pyro5.client.Proxy inherits them;
the remote calls go through its ``_pyroInvoke``."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from . import core

__all__ = ["ProxyMagic", "_RemoteMethod", "_send_with"]


def _send_with(send: Callable[..., Any], name: str, *args: Any, **kwargs: Any) -> Any:
    """A remote method's call through `send` (a proxy's bound _pyroInvoke, or any callable that takes
    (name, args, kwargs))."""
    return send(name, args, kwargs)


class _RemoteMethod(functools.partial):
    """method call abstraction: ``_RemoteMethod(function, *first_args)`` calls ``function(*first_args, *args,
    **kwargs)``; made as _RemoteMethod(_send_with, proxy._pyroInvoke, name), or, for a proxy that uses Proxy's
    own _pyroInvoke, _RemoteMethod(_client_fast.invoke_args, proxy, name).

    A functools.partial, so that making and calling one runs no Python code of its own: a small remote call
    costs a few dozen microseconds, and the two Python frames of an __init__ and a __call__ were a noticeable part
    of them. Like the slotted class it replaces, it takes no attributes of its own."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError("remote method %r has no attribute %r: dotted names (object traversal) are not "
                             "supported; expose a method that does it on the server instead" % (self.args[-1], name))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))

    def __repr__(self) -> str:
        return "<%s.%s %r>" % (type(self).__module__, type(self).__name__, self.args[-1])


_RemoteMethod.__module__ = "Pyro5.client"
_MagicT = TypeVar("_MagicT", bound="ProxyMagic")


class ProxyMagic:
    """The magic methods of Pyro5.client.Proxy (see the module documentation)."""

    _pyroUri: core.URI
    _pyroMethods: set[str]
    _pyroAttrs: set[str]
    _pyroInvoke: Callable[..., Any]
    _pyroGetMetadata: Callable[..., None]
    _pyroRelease: Callable[[], None]

    def __del__(self) -> None:
        # (the connection of a Proxy being collected; a Proxy keeps it as its private __link)
        try:
            link = self.__dict__.get("_Proxy__link")
            if link is not None:
                link.release()
            shared = self.__dict__.get("_Proxy__shared")
            if shared is not None:
                shared.release()
        except Exception:  # never raise from a finalizer (interpreter shutdown etc.)
            pass

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            # the proxy's own attributes (and anything private: private attributes are never remotely accessible)
            object.__setattr__(self, name, value)
            return
        if not self._pyroMethods and not self._pyroAttrs:
            self._pyroGetMetadata()
        if name in self._pyroAttrs:
            self._pyroInvoke("__setattr__", (name, value), None)
            return
        raise AttributeError("remote object '%s' has no exposed attribute '%s'" % (self._pyroUri, name))

    def __enter__(self: _MagicT) -> _MagicT:
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        self._pyroRelease()

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        return isinstance(other, ProxyMagic) and other._pyroUri == self._pyroUri

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._pyroUri)

    def __dir__(self) -> list[str]:
        result = set(dir(type(self))) | set(self.__dict__)
        return sorted(result | self._pyroMethods | self._pyroAttrs)

    def __bool__(self) -> bool:
        return True  # never ask the remote object (no __len__ call)

    # Python looks these up on the class, so they must exist here; they call the remote object.
    def __len__(self) -> int:
        if not self._pyroMethods and not self._pyroAttrs:
            self._pyroGetMetadata()
        if "__len__" not in self._pyroMethods:
            raise TypeError("remote object '%s' has no len(): it doesn't expose __len__" % self._pyroUri)
        return self._pyroInvoke("__len__", (), {})

    def __iter__(self) -> Any:
        return iter(self.__remote_dunder("__iter__")())

    def __getitem__(self, index: Any) -> Any:
        return self.__remote_dunder("__getitem__")(index)

    def __setitem__(self, index: Any, val: Any) -> None:
        self.__remote_dunder("__setitem__")(index, val)

    def __delitem__(self, index: Any) -> None:
        self.__remote_dunder("__delitem__")(index)

    def __remote_dunder(self, name: str) -> _RemoteMethod:
        if not self._pyroMethods and not self._pyroAttrs:
            self._pyroGetMetadata()
        if name in self._pyroMethods:
            return _RemoteMethod(_send_with, self._pyroInvoke, name)
        raise AttributeError("remote object '%s' has no exposed attribute or method '%s'" % (self._pyroUri, name))
