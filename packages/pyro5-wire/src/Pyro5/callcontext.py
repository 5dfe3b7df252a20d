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
# The first five values are ONE context variable holding a tuple (a server sets them for every request it
# answers: one ContextVar.set of a new tuple costs a fraction of five sets, each a new context-variable mapping
# and a Token). A tuple never changes: assigning one of them sets a new tuple, so what one task or thread
# assigns stays its own, as with a variable per value. The other three are context variables of their own: a
# proxy reads or sets them on every call it makes (see _client_fast), with the context variable's own get/set.
_CALL = _ATTRIBUTES[:5]
_INDEX = {name: i for i, name in enumerate(_CALL)}
_call: contextvars.ContextVar[tuple] = contextvars.ContextVar("Pyro5.current_context.call",
                                                              default=(None, None, 0, 0, 0))
_get_call = _call.get
_set = _call.set
# annotations and response_annotations start as a new dict in every context that uses them
_annotations: contextvars.ContextVar[Any] = contextvars.ContextVar("Pyro5.current_context.annotations")
_response_annotations: contextvars.ContextVar[Any] = contextvars.ContextVar(
    "Pyro5.current_context.response_annotations")
_correlation_id: contextvars.ContextVar[Any] = contextvars.ContextVar("Pyro5.current_context.correlation_id",
                                                                      default=None)
_get_correlation_id = _correlation_id.get
_VARS = {"annotations": _annotations, "response_annotations": _response_annotations,
         "correlation_id": _correlation_id}
_extra: contextvars.ContextVar[dict | None] = contextvars.ContextVar("Pyro5.current_context.extra", default=None)


def _assign(index: int, value: Any) -> None:
    values = list(_get_call())
    values[index] = value
    _set(tuple(values))


def _attribute(name: str) -> property:
    if name in _INDEX:
        index = _INDEX[name]

        def get(self: Any, _get: Any = _get_call) -> Any:
            return _get()[index]
    elif name == "correlation_id":
        def get(self: Any, _get: Any = _correlation_id.get) -> Any:
            return _get()
    else:
        var = _VARS[name]

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
        index = _INDEX.get(name)
        if index is not None:
            _assign(index, value)
        elif name in _VARS:
            _VARS[name].set(value)
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
        if name in _ATTRIBUTES:
            raise AttributeError("cannot delete current_context.%s (assign a value instead)" % name)
        extra = dict(_extra.get() or ())
        if extra.pop(name, _DELETED) is _DELETED:
            raise AttributeError("current_context has no attribute %r" % name)
        _extra.set(extra)

    def _set_call(self, client: Any, client_sock_addr: Any, seq: int, msg_flags: int, serializer_id: int,
                  annotations: dict, correlation_id: Any) -> None:
        """Set the values of a call that starts (response_annotations becomes a new empty dict): what a
        server does for every request, in one go. The correlation id is set only when it changes (a plain request
        has none, nor had the call before it, usually): setting the value a context variable already has changes
        nothing that can be seen, and costs a new mapping and a Token. So three or four context variable sets."""
        _set((client, client_sock_addr, seq, msg_flags, serializer_id))
        _annotations.set(annotations)
        _response_annotations.set({})
        if correlation_id is not _get_correlation_id():
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
