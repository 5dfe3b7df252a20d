"""Deals with the context variables of a Pyro call (per thread, and per asyncio task).

``current_context`` keeps its values in ``contextvars``. A new thread starts with the initial values (as with
the ``threading.local`` it used to be: Python starts every thread with an empty context; only a free-threaded
3.14+ interpreter, whose threads inherit their creator's context, gives a new thread its creator's values),
and concurrent asyncio tasks in one thread each see their own values: a task starts with the values current
when it was created, and what it assigns is private to it. (Assigning a new dict to ``annotations`` in one
task does not change another task's; changing a dict in place that several tasks inherited changes it for all
of them, as with any object kept in a context variable.) Code that runs in a copied context carries its
values along: ``asyncio.to_thread`` and ``contextvars.Context.run`` in a worker thread see the caller's
values. Use to_global()/from_global() to hand the values of a call to another thread explicitly.
"""
from __future__ import annotations

import contextvars
from typing import Any

from . import errors

__all__ = ["current_context"]

_ATTRIBUTES = ("client", "client_sock_addr", "seq", "msg_flags", "serializer_id",
               "annotations", "response_annotations", "correlation_id")
# the initial values; annotations and response_annotations start as a new dict in every context that uses them
_INITIAL = {"client": None, "client_sock_addr": None, "seq": 0, "msg_flags": 0, "serializer_id": 0,
            "correlation_id": None}
_VARS: dict[str, contextvars.ContextVar[Any]] = {
    name: (contextvars.ContextVar("Pyro5.current_context." + name, default=_INITIAL[name]) if name in _INITIAL
           else contextvars.ContextVar("Pyro5.current_context." + name)) for name in _ATTRIBUTES}
(_client, _client_sock_addr, _seq, _msg_flags, _serializer_id, _annotations, _response_annotations,
 _correlation_id) = (_VARS[name] for name in _ATTRIBUTES)
_extra: contextvars.ContextVar[dict | None] = contextvars.ContextVar("Pyro5.current_context.extra", default=None)


def _attribute(name: str) -> property:
    var = _VARS[name]
    if name in _INITIAL:
        def get(self: Any, _get: Any = var.get) -> Any:
            return _get()
    else:
        def get(self: Any, _get: Any = var.get) -> Any:
            try:
                return _get()
            except LookupError:     # the first use in this context: a dict of its own
                value: dict = {}
                var.set(value)
                return value
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
        var = _VARS.get(name)
        if var is not None:
            var.set(value)
        else:
            extra = dict(_extra.get() or ())     # (copied: a task's own attributes stay its own)
            extra[name] = value
            _extra.set(extra)

    def __getattr__(self, name: str) -> Any:
        # only called for names that are not the attributes above
        extra = _extra.get()
        if extra is not None and name in extra:
            return extra[name]
        raise AttributeError("current_context has no attribute %r" % name)

    def __delattr__(self, name: str) -> None:
        if name in _VARS:
            raise AttributeError("cannot delete current_context.%s (assign a value instead)" % name)
        extra = dict(_extra.get() or ())
        if extra.pop(name, _DELETED) is _DELETED:
            raise AttributeError("current_context has no attribute %r" % name)
        _extra.set(extra)

    def _set_call(self, client: Any, client_sock_addr: Any, seq: int, msg_flags: int, serializer_id: int,
                  annotations: dict, correlation_id: Any) -> None:
        """Set the values of a call that starts (response_annotations becomes a new empty dict): what a
        server does for every request, in one go (less than half the cost of setting them one by one)."""
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
