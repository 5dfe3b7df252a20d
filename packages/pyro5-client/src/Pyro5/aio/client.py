"""The asyncio client: ``AsyncProxy`` (``await proxy.method(...)``), ``AsyncBatchProxy``, and the async name
server helpers ``locate_ns`` and ``resolve``. Same wire as ``Pyro5.client.Proxy`` (protocol 502): the messages
are built and the replies interpreted by the call codec ``Pyro5._client_codec``, the replies are read with
``protocol.MessageReader``; only the I/O is asyncio's (``Pyro5.aio._conn``).

How it reads::

    async with AsyncProxy("PYRONAME:example.calc") as p:
        r = await p.add(1, 2)                       # a remote method call
        rs = await asyncio.gather(*(p.add(i, i) for i in range(1000)))
        async for item in p.numbers(10): ...        # a remote generator, item by item
        await p.log("x")                            # @oneway: returns once sent
        x = await p.value                           # a remote attribute (property)
        await p._pyroSetAttr("value", 42)           # setting one (`p.value = 42` cannot be awaited)

An AsyncProxy is used by one event loop at a time (its connections close when that loop ends). Concurrent calls
from many tasks: the proxy asks the daemon on connect for many calls in flight on one connection (the INFL
capability, see ``Pyro5._capabilities``); a daemon of ours that grants N gets up to N calls at once on that
connection, matched to their replies by seq. An original Pyro5 daemon runs one call at a time per connection:
then the proxy opens up to config.ASYNC_POOL_SIZE connections on demand and each call leases one (the others
wait their turn, in order). A cancelled or timed out call leaves its place to the late reply, which is dropped
by its seq; the connection stays in sync and usable.
"""
from __future__ import annotations

import asyncio
import collections.abc
import functools
import logging
import time
from typing import Any, AsyncIterator

from Pyro5 import _capabilities, _client_hooks, config, core, errors, protocol, serializers, socketutil
from Pyro5 import _client_codec as _codec
from Pyro5._nslookup import (
    BROADCAST_MESSAGE,
    _as_uri,
    _broadcast_addresses,
    _is_loopback,
    _location,
    broadcast_reply_uri,
    magic_uri,
    metadata_choice,
    ns_host_locations,
)
from Pyro5.aio._conn import AsyncConnection, ConnectionPool, open_streams, read_one
from Pyro5.callcontext import current_context
from Pyro5.client import Proxy, _BatchedRemoteMethod

__all__ = ["AsyncProxy", "AsyncBatchProxy", "AsyncStream", "locate_ns", "resolve", "broadcast_lookup"]

log = logging.getLogger("Pyro5.client")
nslog = logging.getLogger("Pyro5.core")   # (locate_ns/resolve log there, like the blocking ones)

_FLAGS_ONEWAY = protocol.FLAGS_ONEWAY
_CONNECT_RESULT_TYPES = (protocol.MSG_CONNECTOK, protocol.MSG_CONNECTFAIL)
_RESOLVE_POLL_INTERVAL = 0.15


class AsyncProxy:
    """A proxy for a remote object, used with ``await`` (see the module documentation).

    Attributes as on ``Proxy``: ``_pyroTimeout`` (seconds for connecting and for each reply; None/0: none),
    ``_pyroMaxRetries`` (calls retried after a lost connection), ``_pyroSerializer``, ``_pyroHandshake``;
    override ``_pyroValidateHandshake``, ``_pyroAnnotations`` and ``_pyroResponseAnnotations`` in a subclass
    as with ``Proxy`` (the annotations come from ``current_context``, which is per task).
    """

    def __init__(self, uri: str | core.URI) -> None:
        if isinstance(uri, str):
            uri = core.URI(uri)
        elif not isinstance(uri, core.URI):
            raise TypeError("expected Pyro URI (a str or Pyro5.core.URI), got %s" % type(uri).__name__)
        serializers.get_serializer(config.SERIALIZER)   # a wrong config item fails here, like Proxy
        if config.OPENTELEMETRY:
            _client_hooks.check_config()
        self._pyroUri = uri
        self._pyroSerializer: str | None = None
        self._pyroHandshake: Any = "hello"
        self._pyroMaxRetries = int(config.MAX_RETRIES)
        self._pyroTimeout: float | None = float(config.COMMTIMEOUT) or None
        self._pyroMethods: set[str] = set()
        self._pyroAttrs: set[str] = set()
        self._pyroOneway: set[str] = set()
        self._resolved: core.URI | None = None
        self._pool = ConnectionPool(self._connect)
        self._pyroInterceptors: Any = []     # interceptors of this proxy's calls (see Pyro5._client_hooks)

    @classmethod
    def _pyro_from_state(cls, state: Any) -> AsyncProxy:
        """An AsyncProxy from a proxy's wire state (what ``Proxy.__getstate__`` gives)."""
        uri, oneway, methods, attrs, handshake, serializer = _codec.proxy_state(state)
        proxy = cls(uri)
        proxy._pyroOneway, proxy._pyroMethods, proxy._pyroAttrs = oneway, methods, attrs
        proxy._pyroHandshake, proxy._pyroSerializer = handshake, serializer
        return proxy

    # passed as an argument (or returned), an AsyncProxy travels as a proxy ("Pyro5.client.Proxy", the same
    # state): the receiving side gets a Proxy for the same object
    __pyro_class__ = "Pyro5.client.Proxy"

    def __getstate__(self) -> tuple:
        return (str(self._pyroUri), tuple(self._pyroOneway), tuple(self._pyroMethods), tuple(self._pyroAttrs),
                self._pyroHandshake, self._pyroSerializer)

    def __pyro_state__(self) -> tuple:
        return self.__getstate__()

    # ------------------------------------------------------------------------------------ python protocol

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: a remote method or attribute (checked when awaited)
        if name.startswith("_"):
            raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))
        return _RemoteName(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
            return
        raise AttributeError("setting a remote attribute is a call: use await proxy._pyroSetAttr(%r, value)" % name)

    async def __aenter__(self) -> AsyncProxy:
        return self

    async def __aexit__(self, *args: Any) -> None:
        await self._pyroRelease()

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; %d connections; for %s>" % (type(self).__module__, type(self).__name__, id(self),
                                                            len(self._pool.connections), self._pyroUri)

    def __del__(self) -> None:
        try:
            self._pool.close()
        except Exception:  # never raise from a finalizer (the loop may be closed already)
            pass

    # ------------------------------------------------------------------------------------ public proxy API

    async def _pyroRelease(self) -> None:
        """Close the proxy's connections (calls still waiting get ConnectionClosedError); the next call
        connects again (resolving a PYRONAME/PYROMETA uri again)."""
        self._pool.close()
        self._resolved = None

    async def _pyroBind(self) -> bool:
        """Connect now; the proxy's uri becomes the direct PYRO uri of the object (a PYRONAME is resolved)."""
        conn = await self._pool.lease()
        self._pool.free(conn)
        if self._resolved is not None:
            self._pyroUri = self._resolved
        return True

    def _pyroValidateHandshake(self, response: Any) -> None:
        """Check the daemon's handshake response (override; raise to refuse the connection)."""
        return

    def _pyroAnnotations(self) -> dict[str, bytes]:
        """The annotations sent with each message (default: current_context.annotations of the calling task)."""
        return current_context.annotations

    def _pyroResponseAnnotations(self, annotations: dict[str, bytes], msgtype: int) -> None:
        """The reply's annotations: by default they go in current_context.response_annotations (of the task)."""
        current_context.response_annotations = annotations

    async def _pyroGetMetadata(self, objectId: str | None = None, known_metadata: dict | None = None) -> None:
        """Get (or set) the remote object's methods, oneway methods and attributes."""
        if known_metadata is None:
            if objectId is None and not self._pool.connections:
                await self._connect_only()     # (the connect handshake brings the metadata along)
                return
            known_metadata = await self._pyroInvoke("get_metadata", [objectId or self._pyroUri.object], {},
                                                    objectId=core.DAEMON_NAME)
        self._pyroOneway, self._pyroMethods, self._pyroAttrs = _codec.metadata(known_metadata)

    async def _pyroGetAttr(self, name: str) -> Any:
        """The value of the remote object's exposed attribute (property) `name` (also: ``await proxy.name``)."""
        await self._ensure_metadata()
        if name in self._pyroAttrs:
            return await self._pyroInvoke("__getattr__", (name,), None)
        if name in self._pyroMethods:
            raise TypeError("'%s' of remote object '%s' is a method: call it (await proxy.%s(...))"
                            % (name, self._pyroUri, name))
        raise AttributeError("remote object '%s' has no exposed attribute '%s'" % (self._pyroUri, name))

    async def _pyroSetAttr(self, name: str, value: Any) -> None:
        """Set the remote object's exposed attribute (property) `name`."""
        await self._ensure_metadata()
        if name not in self._pyroAttrs:
            raise AttributeError("remote object '%s' has no exposed attribute '%s'" % (self._pyroUri, name))
        await self._pyroInvoke("__setattr__", (name, value), None)

    async def _pyroCall(self, name: str, args: Any, kwargs: Any) -> Any:
        """Call the remote method `name` (what ``await proxy.name(*args, **kwargs)`` does)."""
        await self._ensure_metadata()
        if name not in self._pyroMethods:
            raise AttributeError("remote object '%s' has no exposed attribute or method '%s'" % (self._pyroUri, name))
        return await self._pyroInvoke(name, args, kwargs)

    async def _pyroInvokeBatch(self, calls: list, oneway: bool = False) -> Any:
        flags = protocol.FLAGS_BATCH | (_FLAGS_ONEWAY if oneway else 0)
        return await self._pyroInvoke("<batch>", calls, None, flags)

    # ------------------------------------------------------------------------------------ invocation

    async def _connect_only(self) -> None:
        conn = await self._pool.lease()
        self._pool.free(conn)

    async def _ensure_metadata(self) -> None:
        if not self._pyroMethods and not self._pyroAttrs:
            await self._connect_only()

    async def _pyroInvoke(self, methodname: str, vargs: Any, kwargs: Any, flags: int = 0,
                          objectId: str | None = None, conn: AsyncConnection | None = None) -> Any:
        """Perform the remote call (over `conn` when given: a stream's items come from its connection)."""
        if self._pyroInterceptors or _client_hooks.GLOBAL.active:     # call hooks (Pyro5._client_hooks)
            return await _client_hooks.ainvoke(self, functools.partial(self._invokeRetrying, conn=conn),
                                               methodname, vargs, kwargs, flags, objectId)
        return await self._invokeRetrying(methodname, vargs, kwargs, flags, objectId, conn)

    async def _invokeRetrying(self, methodname: str, vargs: Any, kwargs: Any, flags: int, objectId: str | None,
                              conn: AsyncConnection | None) -> Any:
        retries = self._pyroMaxRetries
        while True:
            try:
                return await self._invoke(methodname, vargs, kwargs, flags, objectId, conn)
            except errors.ConnectionClosedError:
                if retries <= 0 or conn is not None:
                    raise
                retries -= 1
                log.debug("retrying call %s after a lost connection (%d retries left)", methodname, retries)

    async def _invoke(self, methodname: str, vargs: Any, kwargs: Any, flags: int, objectId: str | None,
                      wanted: AsyncConnection | None) -> Any:
        pool = self._pool
        conn = await pool.lease(wanted)
        free = True
        try:
            serializer = serializers.get_serializer(self._pyroSerializer or config.SERIALIZER)
            if conn.pending_closes:
                self._send_stream_closes(conn, serializer)
            seq = conn.next_seq()
            request = _codec.call_request(serializer, objectId or conn.object_id, methodname, vargs, kwargs, flags,
                                          seq, self._pyroAnnotations(), self._pyroOneway)
            if request.flags & _FLAGS_ONEWAY:
                conn.write(request)
                await conn.drain()
                return None
            reply = conn.expect(seq)
            conn.write(request)     # (from here on the request is sent, even if this task is cancelled)
            serializer_id = request.serializer_id
            del request
            try:
                await conn.drain()
                msg = await asyncio.wait_for(reply, self._pyroTimeout) if self._pyroTimeout else await reply
            except asyncio.TimeoutError:
                if conn.alive:
                    conn.abandon(seq)
                    free = False
                raise errors.TimeoutError("receiving: timeout") from None
            except asyncio.CancelledError:
                if conn.alive:
                    conn.abandon(seq)       # the reply is dropped when it comes, then the connection is free
                    free = False
                raise
        finally:
            if free:
                pool.free(conn)
        self._pyroResponseAnnotations(msg.annotations, msg.type)
        try:
            result = _codec.call_result(msg, serializer, serializer_id)
        except StopIteration:
            if wanted is None:
                raise errors.PyroError("remote method %s raised StopIteration" % methodname) from None
            raise StopAsyncIteration from None
        if type(result) is _codec.StreamReply:
            return AsyncStream(result.stream_id, self, conn)
        if isinstance(result, Proxy):
            return type(self)._pyro_from_state(result.__getstate__())
        return result

    def _send_stream_closes(self, conn: AsyncConnection, serializer: serializers.SerializerBase) -> None:
        pending, conn.pending_closes = conn.pending_closes, []
        for stream_id in pending:
            conn.write(_codec.call_request(serializer, core.DAEMON_NAME, "close_stream", [stream_id], {},
                                           _FLAGS_ONEWAY, conn.next_seq(), {}, ()))

    async def _connect(self) -> AsyncConnection:
        """A new connection with the handshake done (the pool's opener); brings the metadata along."""
        uri = self._resolved
        if uri is None or not self._pool.connections:
            uri = self._pyroUri
            if uri.protocol in ("PYRONAME", "PYROMETA"):
                uri = await resolve(uri, config.NS_LOOKUP_DELAY)
            self._resolved = uri
        location = uri.sockname or (uri.host, uri.port)
        reader, writer = await open_streams(location, self._pyroTimeout)
        try:
            serializer = serializers.get_serializer(self._pyroSerializer or config.SERIALIZER)
            annotations = dict(self._pyroAnnotations() or {})
            annotations.update(_capabilities.inflight_offer())     # (an original daemon ignores it)
            request = _codec.connect_request(serializer, 0, self._pyroHandshake, uri.object, annotations)
            writer.writelines(request.parts)
            await writer.drain()
            msg = await read_one(reader, protocol.MessageReader(_CONNECT_RESULT_TYPES), self._pyroTimeout)
            if msg.seq != request.seq:
                raise errors.ProtocolError("invalid handshake response sequence number %d, expected %d"
                                           % (msg.seq, request.seq))
            if msg.annotations:
                annotations = {k: v for k, v in msg.annotations.items() if k != _capabilities.INFLIGHT}
                if annotations:
                    self._pyroResponseAnnotations(annotations, msg.type)
            meta, response = _codec.connect_result(msg, location)
            granted = _capabilities.inflight_granted(msg.annotations) if msg.type == protocol.MSG_CONNECTOK else 0
            self._pyroOneway, self._pyroMethods, self._pyroAttrs = _codec.metadata(meta)
            self._pyroValidateHandshake(response)
        except BaseException as x:
            writer.close()
            if isinstance(x, OSError) and not isinstance(x, errors.PyroError):
                raise errors.CommunicationError("cannot connect to %s: %s" % (location, x)) from x
            raise
        log.debug("connected to %s", uri)
        return AsyncConnection(reader, writer, uri.object, str(uri), 0, self._pool.free, granted)


class _RemoteName:
    """``proxy.name``: call it for a remote method call, await it for a remote attribute's value."""

    __slots__ = ("_proxy", "_name")

    def __init__(self, proxy: AsyncProxy, name: str) -> None:
        self._proxy = proxy
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> _AsyncCall:
        return _AsyncCall(self._proxy, self._name, args, kwargs)

    def __await__(self) -> Any:
        return self._proxy._pyroGetAttr(self._name).__await__()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError("remote method %r has no attribute %r: dotted names are not supported"
                             % (self._name, name))


class _AsyncCall(collections.abc.Coroutine):
    """``proxy.name(...)``: a coroutine (await it, gather it, make a task of it) giving the result; ``async for``
    over it iterates what the call returns (a remote generator's items as they are fetched)."""

    __slots__ = ("_proxy", "_name", "_args", "_kwargs", "_coro")

    def __init__(self, proxy: AsyncProxy, name: str, args: tuple, kwargs: dict) -> None:
        self._proxy, self._name, self._args, self._kwargs = proxy, name, args, kwargs
        self._coro: Any = None      # the call's coroutine, made when first awaited (not for `async for`)

    def _call(self) -> Any:
        if self._coro is None:
            self._coro = self._proxy._pyroCall(self._name, self._args, self._kwargs)
        return self._coro

    def send(self, value: Any) -> Any:
        return self._call().send(value)

    def throw(self, *args: Any) -> Any:
        return self._call().throw(*args)

    def close(self) -> None:
        if self._coro is not None:
            self._coro.close()

    def __await__(self) -> Any:
        return self._call().__await__()

    def __aiter__(self) -> AsyncIterator:
        return self._items()

    async def _items(self) -> AsyncIterator:
        result = await self._proxy._pyroCall(self._name, self._args, self._kwargs)
        if isinstance(result, AsyncStream):
            try:
                async for item in result:
                    yield item
            finally:
                await result.aclose()
        else:
            for item in result:
                yield item


class AsyncStream:
    """What a call returns when the remote method returned an iterator or generator: an async iterator that
    fetches the items one by one (over the connection the call went over). ``aclose()`` discards the remote
    iterator early; an AsyncStream dropped unfinished has it discarded before that connection's next call."""

    def __init__(self, stream_id: str, proxy: AsyncProxy, conn: AsyncConnection) -> None:
        self.streamId = stream_id
        self._proxy: AsyncProxy | None = proxy
        self._conn = conn

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> Any:
        proxy = self._proxy
        if proxy is None:
            raise StopAsyncIteration
        try:
            return await proxy._pyroInvoke("get_next_stream_item", [self.streamId], {}, objectId=core.DAEMON_NAME,
                                           conn=self._conn)
        except StopAsyncIteration:
            self._proxy = None
            raise

    async def aclose(self) -> None:
        proxy, self._proxy = self._proxy, None
        if proxy is not None and self._conn.alive:
            await proxy._pyroInvoke("close_stream", [self.streamId], {}, _FLAGS_ONEWAY, core.DAEMON_NAME, self._conn)

    def __del__(self) -> None:
        if self._proxy is not None and self._conn.alive:
            self._conn.pending_closes.append(self.streamId)

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; stream %s>" % (type(self).__module__, type(self).__name__, id(self), self.streamId)


class AsyncBatchProxy:
    """Batch several calls into one message: call methods on it, then ``await batch()`` gives a generator of
    the results in order (the failed call's exception raised in its place); ``await batch(oneway=True)``
    sends the batch as a oneway call and returns None."""

    def __init__(self, proxy: AsyncProxy) -> None:
        if not isinstance(proxy, AsyncProxy):
            raise TypeError("AsyncBatchProxy needs a Pyro5.aio.client.AsyncProxy, got %s" % type(proxy).__name__)
        self.__proxy = proxy
        self.__calls: list = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError("%r object has no attribute %r (private names can't be called remotely)"
                                 % (type(self).__name__, name))
        return _BatchedRemoteMethod(self.__calls, name)

    async def __call__(self, oneway: bool = False) -> Any:
        calls, self.__calls = self.__calls, []
        results = await self.__proxy._pyroInvokeBatch(calls, oneway)
        return None if oneway else _codec.batch_results(results)


# ---------------------------------------------------------------------------------------------------- name server

async def _bind_ns(location: str) -> AsyncProxy:
    proxy = AsyncProxy("PYRO:%s@%s" % (core.NAMESERVER_NAME, location))
    try:
        await proxy._pyroBind()
    except BaseException:
        await proxy._pyroRelease()
        raise
    return proxy


class _Replies(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait((data, addr))

    def error_received(self, exc: Exception) -> None:
        nslog.debug("name server broadcast lookup: %s", exc)


async def broadcast_lookup(port: int, attempts: int = 3, wait: float = 0.7) -> str | None:
    """Broadcast b"GET_NSURI" to config.BROADCAST_ADDRS on UDP `port`: the first valid uri string a name
    server's broadcast responder answers, or None (like ``Pyro5._nslookup.broadcast_lookup``, without blocking)."""
    addresses = _broadcast_addresses()
    if not addresses:
        return None
    sock = socketutil.create_bc_socket(reuseaddr=bool(config.SOCK_REUSE), timeout=None)
    sock.setblocking(False)
    transport, replies = await asyncio.get_running_loop().create_datagram_endpoint(_Replies, sock=sock)
    try:
        for attempt in range(attempts):
            for address in addresses:
                transport.sendto(BROADCAST_MESSAGE, (address, port))
            deadline = time.monotonic() + wait
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    data, sender = await asyncio.wait_for(replies.queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
                text = broadcast_reply_uri(data, sender, attempt)
                if text:
                    return text
    finally:
        transport.close()
    return None


async def locate_ns(host: str = "", port: int | None = None, broadcast: bool = True) -> AsyncProxy:
    """An AsyncProxy (connected) for a name server; the same lookup order as ``Pyro5.api.locate_ns``."""
    host = str(host) if host else ""
    problems: list[str] = []
    if not host:
        nshost = str(config.NS_HOST or "")
        several = "," in nshost
        try:
            locations = ns_host_locations(nshost, int(port or config.NS_PORT)) if several else []
        except ValueError:
            raise errors.NamingError("invalid port in config.NS_HOST %r: use host, host:port or [ipv6]:port"
                                     % nshost) from None
        if nshost and not several and _is_loopback(nshost):
            locations = [_location(nshost, int(port or config.NS_PORT))]
        for location in locations:
            try:
                return await _bind_ns(location)
            except errors.PyroError as x:
                nslog.debug("no name server on %s: %s", location, x)
                problems.append("%s: %s" % (location, x))
        if broadcast and int(config.PREFER_IP_VERSION) != 6:
            uristring = await broadcast_lookup(int(port or config.NS_BCPORT))
            if uristring:
                try:
                    return await _bind_ns(core.URI(uristring).location or "")
                except errors.PyroError as x:
                    problems.append("%s (broadcast reply): %s" % (uristring, x))
            else:
                problems.append("no broadcast reply")
        if several or not nshost:
            raise errors.NamingError("Failed to locate the nameserver (tried %s)" % "; ".join(problems or
                                     ["no broadcast, config.NS_HOST is empty"]))
        host, port = nshost, int(config.NS_PORT)
    location = _location(host, int(port or config.NS_PORT))
    try:
        return await _bind_ns(location)
    except errors.PyroError as x:
        raise errors.NamingError("Failed to locate the nameserver (tried %s): %s" % (location, x)) from x


async def resolve(uri: str | core.URI, delay_time: float = 0.0) -> core.URI:
    """Resolve a PYRONAME or PYROMETA uri into the direct PYRO uri through the name server (a PYRO uri is
    returned as it is); with a delay (or config.NS_LOOKUP_DELAY) it waits that long for the name to appear."""
    uri = magic_uri(uri)
    if uri.protocol == "PYRO":
        return uri
    nslog.debug("resolving %s", uri)
    delay = float(delay_time or 0.0) or float(config.NS_LOOKUP_DELAY or 0.0)
    deadline = time.monotonic() + max(0.0, delay)
    nameserver = await (locate_ns("./u:" + uri.sockname) if uri.sockname else locate_ns(uri.host or "", uri.port))
    async with nameserver:
        while True:
            try:
                if uri.protocol == "PYRONAME":
                    return _as_uri(await nameserver.lookup(uri.object))
                return metadata_choice(uri, await nameserver.yplookup(set(uri.metadata), None, False))
            except errors.NamingError as x:
                problem = x
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise problem
            await asyncio.sleep(min(_RESOLVE_POLL_INTERVAL, remaining))
