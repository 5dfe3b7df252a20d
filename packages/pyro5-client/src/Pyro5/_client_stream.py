"""Client side of remote iterators/generators: the items are fetched one by one from the daemon.

When a remote call returns an iterator, the daemon answers with FLAGS_ITEMSTREAMRESULT and a "STRM" annotation
holding a stream id. The proxy then calls ``get_next_stream_item(streamId)`` on the daemon object
(``Pyro.Daemon``) for every item, until that raises StopIteration, and sends a oneway ``close_stream(streamId)``
when the iterator is discarded before it was exhausted (observed from the original Pyro5 5.15).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import core, errors

if TYPE_CHECKING:  # pragma: no cover
    from .client import Proxy


class _StreamResultIterator:
    """Pyro returns this as a result of a remote call which returns an iterator or generator.
    It is a normal iterable and produces elements on demand from the remote iterator.
    You can simply use it in for loops, list comprehensions etc."""

    __slots__ = ("streamId", "proxy", "__weakref__")

    def __init__(self, streamId: str, proxy: Proxy) -> None:
        self.streamId = streamId
        self.proxy: Proxy | None = proxy

    def __iter__(self) -> _StreamResultIterator:
        return self

    def __next__(self) -> Any:
        proxy = self.proxy
        if proxy is None:
            raise StopIteration
        if proxy._pyroConnection is None:
            # released (or the connection was lost): no silent reconnect, as in the original; the stream can go
            # on after the program reconnects the proxy itself (_pyroReconnect/_pyroBind or another call)
            raise errors.ConnectionClosedError("the proxy for this stream result has been closed")
        try:
            return proxy._pyroInvoke("get_next_stream_item", [self.streamId], {}, objectId=core.DAEMON_NAME)
        except (StopIteration, GeneratorExit):
            self.proxy = None
            raise StopIteration from None

    def close(self) -> None:
        """Stop the remote iteration: the daemon discards the remote iterator (oneway call)."""
        proxy, self.proxy = self.proxy, None
        if proxy is not None:
            proxy._pyroCloseStream(self.streamId, immediate=True)

    def __del__(self) -> None:
        try:
            proxy, self.proxy = self.proxy, None
            if proxy is not None:
                # sent at once when that is safe (the proxy's own thread, not in the middle of a call),
                # otherwise just before the proxy's next call
                proxy._pyroCloseStream(self.streamId, immediate=True)
        except Exception:  # never raise from a finalizer (interpreter shutdown etc.)
            pass

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; stream %s>" % (type(self).__module__, type(self).__name__, id(self), self.streamId)


_StreamResultIterator.__module__ = "Pyro5.client"
