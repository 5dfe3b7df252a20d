"""etcd's JSON gateway (the ``/v3/...`` HTTP API) at several endpoints with failover, through etcd3gw.

etcd3gw gives the HTTP session, the API version discovery (``/v3/`` on etcd 3.4+) and its error classes;
the requests themselves are built here so that keys are raw UTF-8 bytes (etcd3gw's helpers encode str keys
as latin-1) and so that one request can fail over to the next endpoint within one time budget.
"""
from __future__ import annotations

import base64
import logging
import threading
import time
from typing import Any

from Pyro5 import errors

__all__ = ["Gateway", "b64", "unb64", "prefix_end", "parse_endpoints"]

log = logging.getLogger("Pyro5.nameserver")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def prefix_end(prefix: bytes) -> bytes:
    """The range end that selects every key starting with prefix."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return b"\x00"
    return stripped[:-1] + bytes([stripped[-1] + 1])


def parse_endpoints(text: str) -> list[tuple[str, int]]:
    """"host:port,host:port" (IPv6 hosts in brackets; port default 2379) -> [(host, port)]."""
    endpoints = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        host, port = item, "2379"
        if item.startswith("["):
            host, _bracket, rest = item[1:].partition("]")
            if rest.startswith(":"):
                port = rest[1:]
        elif item.count(":") == 1:
            host, port = item.split(":")
        try:
            number = int(port)
        except ValueError:
            number = -1
        if not host or not 0 < number < 65536:
            raise errors.NamingError("invalid etcd endpoint %r: use host:port" % item)
        endpoints.append((host, number))
    if not endpoints:
        raise errors.NamingError("no etcd endpoint given: use etcd://host:port[,host:port...]/prefix")
    return endpoints


def _import_etcd3gw() -> Any:
    try:
        import etcd3gw
        import etcd3gw.exceptions
    except ImportError:
        raise errors.NamingError("the etcd storage needs the etcd3gw library: pip install \"pyro5-naming[etcd]\"") \
            from None
    return etcd3gw


class Gateway:
    """POST requests to the first etcd endpoint that answers. A request gets `timeout` seconds in total
    across the endpoints; a refused or timed-out endpoint is skipped and the one that answered is tried
    first next time. Concurrent requests use separate HTTP sessions from a pool (as many as were ever
    needed at once), each with a keep-alive connection per endpoint."""

    def __init__(self, endpoints: list[tuple[str, int]], timeout: float = 5.0) -> None:
        self.etcd3gw = _import_etcd3gw()
        self.endpoints = list(endpoints)
        self.timeout = float(timeout)
        self._current = 0
        self._idle: list[dict[int, Any]] = []     # pooled {endpoint index: Etcd3Client}
        self._all: list[dict[int, Any]] = []
        self._pool_lock = threading.Lock()

    def _acquire(self) -> dict[int, Any]:
        with self._pool_lock:
            if self._idle:
                return self._idle.pop()
            clients: dict[int, Any] = {}
            self._all.append(clients)
            return clients

    def _release(self, clients: dict[int, Any]) -> None:
        with self._pool_lock:
            self._idle.append(clients)

    def _client(self, clients: dict[int, Any], index: int) -> Any:
        client = clients.get(index)
        if client is None:
            host, port = self.endpoints[index]
            client = clients[index] = self.etcd3gw.Etcd3Client(host=host, port=port, timeout=self.timeout)
        return client

    def describe(self) -> str:
        return ",".join("%s:%d" % endpoint for endpoint in self.endpoints)

    def call(self, path: str, payload: dict) -> dict:
        clients = self._acquire()
        try:
            return self._call(clients, path, payload)
        finally:
            self._release(clients)

    def _call(self, clients: dict[int, Any], path: str, payload: dict) -> dict:
        exc = self.etcd3gw.exceptions
        deadline = time.monotonic() + self.timeout
        count = len(self.endpoints)
        start = self._current
        problems = []
        for attempt in range(count):
            index = (start + attempt) % count
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            client = self._client(clients, index)
            client.timeout = max(0.5, remaining / (count - attempt))
            try:
                result = client.post(client.get_url(path), json=payload)
                self._current = index
                return result
            except (exc.ConnectionFailedError, exc.ConnectionTimeoutError) as x:
                problems.append("%s:%d: %s" % (self.endpoints[index] + (_reason(x),)))
                log.debug("etcd endpoint %s:%d failed: %s", *self.endpoints[index], _reason(x))
            except exc.Etcd3Exception as x:
                raise errors.NamingError("etcd storage: %s request failed: %s" % (path, _reason(x))) from None
        unknown = any("Timeout" in problem for problem in problems)
        raise errors.NamingError("etcd storage not available (%s): %s%s" % (
            self.describe(), "; ".join(problems) or "no time left",
            " (a change that timed out may still take effect once etcd has a majority again)" if unknown else ""))

    def close(self) -> None:
        with self._pool_lock:
            pooled, self._all, self._idle = self._all, [], []
        for clients in pooled:
            for client in clients.values():
                client.session.close()


def _reason(x: BaseException) -> str:
    """The text of an etcd3gw error: its detail (often etcd's JSON error) or its args."""
    detail = getattr(x, "detail_text", None)
    text = str(detail) if detail else " ".join(str(arg) for arg in x.args if arg)
    if text.startswith("{"):
        try:
            import json
            text = str(json.loads(text).get("error") or text)
        except ValueError:
            pass
    return "%s: %s" % (type(x).__name__, text[:300]) if text else type(x).__name__
