"""Deals with the context variables of a Pyro call (per thread, and per asyncio task).

``current_context`` keeps its values in ``contextvars``: every thread starts with fresh values (as with the
``threading.local`` it used to be), and concurrent asyncio tasks in one thread each see their own values: a
task starts with the values current when it was created, and what it assigns is private to it (assigning a
new dict to ``annotations`` in one task does not change another task's; changing a dict in place that
several tasks inherited changes it for all of them, as with any object kept in a context variable).
Values that are carried into another thread by a copied context (``asyncio.to_thread``, ``Context.run``)
are not used there: that thread gets fresh values, as before. Use to_global()/from_global() to hand the
values of a call to another thread explicitly.
"""
from __future__ import annotations

import contextvars
from threading import get_ident
from typing import Any, Callable

from . import errors

__all__ = ["current_context"]

_ATTRIBUTES = ("client", "client_sock_addr", "seq", "msg_flags", "serializer_id",
               "annotations", "response_annotations", "correlation_id")


def _none() -> None:
    return None


def _zero() -> int:
    return 0


# the initial value of each attribute in a thread (made anew for every thread: the dicts are not shared)
_DEFAULTS: dict[str, Callable[[], Any]] = {
    "client": _none, "client_sock_addr": _none, "seq": _zero, "msg_flags": _zero, "serializer_id": _zero,
    "annotations": dict, "response_annotations": dict, "correlation_id": _none,
}
_VARS: dict[str, contextvars.ContextVar[Any]] = {
    name: contextvars.ContextVar("Pyro5.current_context." + name) for name in _ATTRIBUTES}
(_client, _client_sock_addr, _seq, _msg_flags, _serializer_id, _annotations, _response_annotations,
 _correlation_id) = (_VARS[name] for name in _ATTRIBUTES)
_owner: contextvars.ContextVar[int | None] = contextvars.ContextVar("Pyro5.current_context.thread", default=None)
_extra: contextvars.ContextVar[dict] = contextvars.ContextVar("Pyro5.current_context.extra")   # other attributes


def _claim() -> None:
    """The current context holds no values of this thread (a new thread, or a context copied from another
    thread): give it fresh initial values."""
    _owner.set(get_ident())
    for name, var in _VARS.items():
        var.set(_DEFAULTS[name]())
    _extra.set({})


def _attribute(name: str) -> property:
    var = _VARS[name]

    def get(self: Any) -> Any:
        if _owner.get() != get_ident():
            _claim()
        return var.get()

    return property(get, doc="the current call's %s (see the module documentation)" % name)


class _CallContext:
    """Information about the current Pyro call, one per thread (and per asyncio task):

    client (SocketConnection or None), client_sock_addr (tuple or None), seq (int), msg_flags (int),
    serializer_id (int), annotations (dict str->bytes), response_annotations (dict str->bytes),
    correlation_id (uuid.UUID or None). Other attributes may be set too; they are kept the same way.
    """

    __slots__ = ()

    client: Any = _attribute("client")
    client_sock_addr: Any = _attribute("client_sock_addr")
    seq: Any = _attribute("seq")
    msg_flags: Any = _attribute("msg_flags")
    serializer_id: Any = _attribute("serializer_id")
    annotations: Any = _attribute("annotations")
    response_annotations: Any = _attribute("response_annotations")
    correlation_id: Any = _attribute("correlation_id")

    def __setattr__(self, name: str, value: Any) -> None:
        if _owner.get() != get_ident():
            _claim()
        var = _VARS.get(name)
        if var is not None:
            var.set(value)
        else:
            extra = dict(_extra.get())     # (copied: a task's own attributes stay its own)
            extra[name] = value
            _extra.set(extra)

    def __getattr__(self, name: str) -> Any:
        # only called for names that are not the attributes above
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        if _owner.get() != get_ident():
            _claim()
        try:
            return _extra.get()[name]
        except KeyError:
            raise AttributeError("current_context has no attribute %r" % name) from None

    def __delattr__(self, name: str) -> None:
        if name in _VARS:
            raise AttributeError("cannot delete current_context.%s (assign a value instead)" % name)
        if _owner.get() != get_ident():
            _claim()
        extra = dict(_extra.get())
        if extra.pop(name, _DELETED) is _DELETED:
            raise AttributeError("current_context has no attribute %r" % name)
        _extra.set(extra)

    def _set_call(self, client: Any, client_sock_addr: Any, seq: int, msg_flags: int, serializer_id: int,
                  annotations: dict, correlation_id: Any) -> None:
        """Set the values of a call that starts (response_annotations becomes a new empty dict): what a
        server does for every request, in one go (a third of the cost of setting the attributes one by one)."""
        if _owner.get() != get_ident():
            _claim()
        _client.set(client)
        _client_sock_addr.set(client_sock_addr)
        _seq.set(seq)
        _msg_flags.set(msg_flags)
        _serializer_id.set(serializer_id)
        _annotations.set(annotations)
        _response_annotations.set({})
        _correlation_id.set(correlation_id)

    def to_global(self) -> dict[str, Any]:
        """Returns the context values as a dict, to copy them into another thread with from_global()."""
        return {name: getattr(self, name) for name in _ATTRIBUTES}

    def from_global(self, values: dict[str, Any]) -> None:
        """Sets this thread's context from values obtained with to_global() in another thread."""
        for name in _ATTRIBUTES:
            if name in values:
                setattr(self, name, values[name])

    def track_resource(self, resource: Any) -> None:
        """Let Pyro track the resource on the current client connection."""
        if self.client is None:
            raise errors.PyroError("cannot track resource on a connectionless call: "
                                   "track_resource only works inside a Pyro call on the server")
        self.client.tracked_resources.add(resource)

    def untrack_resource(self, resource: Any) -> None:
        """Untrack a previously tracked resource, useful if you have freed it normally."""
        if self.client is None:
            raise errors.PyroError("cannot untrack resource on a connectionless call: "
                                   "untrack_resource only works inside a Pyro call on the server")
        self.client.tracked_resources.discard(resource)


_DELETED = object()

current_context = _CallContext()
"""the context object for the current Pyro call (per thread and per asyncio task)"""
