"""The client's call hooks: interceptors and observers around the calls of proxies.

Interceptors (see `Pyro5._hooks`) are registered globally for every proxy of the process
(`add_interceptor`, `add_observer`, exported by `Pyro5.client`) or on one proxy (``proxy._pyroInterceptors``, a
list; a copy of the proxy gets the same list). `Proxy._pyroInvoke` and `AsyncProxy._pyroInvoke` check
``proxy._pyroInterceptors or GLOBAL.active`` once per call and, when set, run the call through `invoke` /
`ainvoke`: one `CallInfo` per call (retries included), the hooks before it and after it. Request annotations a
hook adds to ``call.annotations`` go out with the request: `Pyro5._client_codec.call_request` adds them from
the context variable `extra_annotations` (it looks only once `hooks_used` is true).
"""
from __future__ import annotations

import contextvars
import logging
from typing import Any, Awaitable, Callable, Optional

from . import protocol
from ._hooks import CallInfo, HookChain, check_hook, check_observer
from .callcontext import current_context

__all__ = ["GLOBAL", "add_interceptor", "remove_interceptor", "add_observer", "remove_observer", "invoke",
           "ainvoke", "extra_annotations"]

log = logging.getLogger("Pyro5.client")

#: the request annotations the hooks of the call being sent added (read by _client_codec.call_request)
extra_annotations: contextvars.ContextVar[Optional[dict]] = contextvars.ContextVar("pyro_hook_annotations",
                                                                                  default=None)


class _GlobalHooks(HookChain):
    __slots__ = ("active",)

    def __init__(self) -> None:
        super().__init__(log)
        self.active = False      # (a plain attribute: the proxies check it on every call)

    def changed(self) -> None:
        self.active = bool(self.interceptors or self.observers)


GLOBAL = _GlobalHooks()
hooks_used = False       # set once any client call ran with hooks (then call_request looks at extra_annotations)


def add_interceptor(hook: Any) -> None:
    """Adds an interceptor that runs around the calls of every proxy in this process."""
    check_hook(hook)
    GLOBAL.interceptors = GLOBAL.interceptors + [hook]     # (a new list: calls running now keep theirs)
    GLOBAL.changed()


def remove_interceptor(hook: Any) -> None:
    """Removes a global interceptor (ValueError if it is not there)."""
    if hook not in GLOBAL.interceptors:
        raise ValueError("%r is not a global client interceptor" % (hook,))
    GLOBAL.interceptors = [h for h in GLOBAL.interceptors if h is not hook]
    GLOBAL.changed()


def add_observer(observer: Callable[[str, CallInfo], Any]) -> None:
    """Adds an observer(event, call) ("started" / "finished") of the calls of every proxy in this process."""
    check_observer(observer)
    GLOBAL.observers = GLOBAL.observers + [observer]
    GLOBAL.changed()


def remove_observer(observer: Callable[[str, CallInfo], Any]) -> None:
    """Removes a global observer (ValueError if it is not there)."""
    if observer not in GLOBAL.observers:
        raise ValueError("%r is not a global client observer" % (observer,))
    GLOBAL.observers = [o for o in GLOBAL.observers if o is not observer]
    GLOBAL.changed()


_tracing: Any = None     # the global Pyro5.otel.ClientTracing of config OPENTELEMETRY / otel.instrument()


def trace_calls(enabled: bool) -> None:
    """Adds (once) or removes the global OpenTelemetry interceptor (Pyro5.otel.ClientTracing)."""
    global _tracing
    if enabled and _tracing is None:
        from . import otel
        _tracing = otel.client_tracing()
        if _tracing is not None:
            add_interceptor(_tracing)
    elif not enabled and _tracing is not None:
        remove_interceptor(_tracing)
        _tracing = None


def check_config() -> None:
    """config.OPENTELEMETRY: trace the calls of every proxy (called when a proxy is created)."""
    if _tracing is None:
        trace_calls(True)


_KINDS = {"<batch>": "batch", "__getattr__": "getattr", "__setattr__": "setattr"}


def _call_info(proxy: Any, methodname: str, vargs: Any, kwargs: Any, flags: int, object_id: Optional[str]
               ) -> CallInfo:
    global hooks_used
    hooks_used = True
    kind = _KINDS.get(methodname)
    if kind is None:
        kind = "oneway" if flags & protocol.FLAGS_ONEWAY or methodname in proxy._pyroOneway else "call"
    uri = proxy._pyroUri
    return CallInfo("client", kind, object_id or uri.object, methodname, vargs, kwargs, {},
                    current_context.correlation_id, uri.location, flags)


def invoke(proxy: Any, perform: Callable[..., Any], methodname: str, vargs: Any, kwargs: Any, flags: int,
           object_id: Optional[str]) -> Any:
    """perform(methodname, vargs, kwargs, flags, object_id) with the proxy's and the global hooks around it."""
    own = proxy._pyroInterceptors or ()
    info = _call_info(proxy, methodname, vargs, kwargs, flags, object_id)
    GLOBAL.before(info, own)
    token = extra_annotations.set(info.annotations) if info.annotations else None
    try:
        result = perform(methodname, vargs, kwargs, flags, object_id)
    except BaseException as x:
        info.finish(None, x)
        GLOBAL.after(info, own)
        raise
    finally:
        if token is not None:
            extra_annotations.reset(token)
    _finished(info, result, "_StreamResultIterator")
    GLOBAL.after(info, own)
    return result


async def ainvoke(proxy: Any, perform: Callable[..., Awaitable[Any]], methodname: str, vargs: Any, kwargs: Any,
                  flags: int, object_id: Optional[str]) -> Any:
    """invoke() for an AsyncProxy: coroutine hooks are awaited."""
    own = proxy._pyroInterceptors or ()
    info = _call_info(proxy, methodname, vargs, kwargs, flags, object_id)
    await GLOBAL.abefore(info, own)
    token = extra_annotations.set(info.annotations) if info.annotations else None
    try:
        result = await perform(methodname, vargs, kwargs, flags, object_id)
    except BaseException as x:
        info.finish(None, x)
        await GLOBAL.aafter(info, own)
        raise
    finally:
        if token is not None:
            extra_annotations.reset(token)
    _finished(info, result, "AsyncStream")
    await GLOBAL.aafter(info, own)
    return result


def _finished(info: CallInfo, result: Any, stream_class: str) -> None:
    """The call returned result (a remote iterator when its class is named stream_class)."""
    info.response_annotations = current_context.response_annotations
    info.finish(result)
    if info.kind == "call" and type(result).__name__ == stream_class:
        info.kind = "stream"
