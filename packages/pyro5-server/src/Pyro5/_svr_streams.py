"""Item streams: iterators/generators returned from remote calls, consumed item by item by the proxy.

A stream is owned by the client connection that created it. When that connection closes, the stream lingers
ITER_STREAM_LINGER seconds (a reconnecting proxy may resume it from another connection), or is closed right
away when the linger time is 0. ITER_STREAM_LIFETIME (>0) limits the total lifetime of a stream.
"""
from __future__ import annotations

import inspect
import logging
import threading
import time
import uuid
from typing import Any

from . import config, errors

log = logging.getLogger("Pyro5.server")

TERMINATED_MESSAGE = "item stream terminated"


_iterator_types: dict[type, bool] = {}


def is_iterator(value: Any) -> bool:
    """Is this call result something to stream item by item (a generator or other iterator)?"""
    cls = type(value)
    answer = _iterator_types.get(cls)
    if answer is None:
        answer = (inspect.isgenerator(value) or (hasattr(cls, "__next__") and hasattr(cls, "__iter__"))) \
            and not hasattr(cls, "__pyro_class__")
        if len(_iterator_types) < 10000:
            _iterator_types[cls] = answer
    return answer


class _Stream:
    __slots__ = ("client", "iterator", "created", "disconnected", "lock")

    def __init__(self, client: Any, iterator: Any) -> None:
        self.client = client
        self.iterator = iterator
        self.created = time.monotonic()
        self.disconnected: float | None = None
        self.lock = threading.Lock()


def _close_iterator(iterator: Any) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            log.debug("error closing item stream iterator", exc_info=True)


class StreamRegistry:
    def __init__(self) -> None:
        self._streams: dict[str, _Stream] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._streams)

    def __contains__(self, stream_id: object) -> bool:
        return stream_id in self._streams

    def ids(self) -> list[str]:
        return list(self._streams)

    def add(self, client: Any, iterator: Any) -> str:
        stream_id = str(uuid.uuid4())
        with self._lock:
            self._streams[stream_id] = _Stream(client, iterator)
        return stream_id

    def _remove(self, stream_id: str) -> None:
        with self._lock:
            stream = self._streams.pop(stream_id, None)
        if stream is not None:
            _close_iterator(stream.iterator)

    def next_item(self, stream_id: str, client: Any) -> Any:
        stream = self._streams.get(stream_id) if isinstance(stream_id, str) else None
        if stream is None:
            raise errors.PyroError(TERMINATED_MESSAGE)
        lifetime = config.ITER_STREAM_LIFETIME
        if lifetime and time.monotonic() - stream.created > lifetime:
            self._remove(stream_id)
            raise errors.PyroError(TERMINATED_MESSAGE + " (ITER_STREAM_LIFETIME exceeded)")
        if client is not None and stream.client is not client:
            stream.client = client      # a reconnected proxy resumes the stream on its new connection
        stream.disconnected = None
        with stream.lock:
            try:
                return next(stream.iterator)
            except BaseException:
                # exhausted (StopIteration goes back to the caller) or failed: the stream is finished
                self._remove(stream_id)
                raise

    def close(self, stream_id: str) -> None:
        if isinstance(stream_id, str):
            self._remove(stream_id)

    def client_disconnected(self, client: Any) -> None:
        if not self._streams:
            return      # (the usual case: a connection ends without open item streams)
        linger = config.ITER_STREAM_LINGER
        now = time.monotonic()
        for stream_id, stream in list(self._streams.items()):
            if stream.client is client:
                if linger and linger > 0:
                    stream.disconnected = now
                else:
                    self._remove(stream_id)

    def housekeeping(self) -> None:
        if not self._streams:
            return
        now = time.monotonic()
        lifetime = config.ITER_STREAM_LIFETIME
        linger = config.ITER_STREAM_LINGER
        for stream_id, stream in list(self._streams.items()):
            if lifetime and now - stream.created > lifetime:
                log.debug("closing item stream %s: lifetime exceeded", stream_id)
                self._remove(stream_id)
            elif stream.disconnected is not None and now - stream.disconnected > (linger or 0):
                log.debug("closing item stream %s: linger time after disconnect exceeded", stream_id)
                self._remove(stream_id)

    def clear(self) -> None:
        with self._lock:
            streams, self._streams = self._streams, {}
        for stream in streams.values():
            _close_iterator(stream.iterator)
