"""The connections of a ``Proxy(uri, shared=True)``: a proxy that any number of threads may call at once.

On connecting, the proxy asks the daemon for many calls in flight on one connection (the INFL annotation on its
connect message, see ``Pyro5._capabilities``). When the daemon grants it (our daemons do), every call of every
thread goes over that one connection (``_client_mux.MuxChannel``: one reader thread, replies matched by seq).
When it does not (an original Pyro5 daemon, or ours with ``daemon.limits.max_inflight = 0``), the proxy keeps a
small pool of ordinary connections (at most ``config.SHARED_POOL_SIZE``), each with one call at a time; a call
that finds them all busy waits for one (within the proxy's timeout). Over TLS the proxy does not ask (a TLS
socket must not be read and written by two threads at once): it uses the pool.

Everything else is the normal proxy's: the call codec (``_client_codec``) builds the requests and interprets the
replies, ``_client_conn.ProxyConnection`` opens the connections and does the connect handshake (with the
proxy's ``_pyroHandshake``, ``_pyroAnnotations()``, ``_pyroValidateHandshake``), a PYRONAME uri is resolved for
every new connection, MAX_RETRIES retries a call after ConnectionClosedError/TimeoutError. A remote iterator
belongs to the connection that made it: its items are fetched over that connection, by whichever thread
iterates it.
"""
from __future__ import annotations

import logging
import select
import ssl
import threading
import time
from typing import TYPE_CHECKING, Any, Optional, Union

from . import _capabilities, config, core, errors, protocol, serializers, socketutil
from . import _client_codec as _codec
from ._client_conn import ProxyConnection
from ._client_mux import MuxChannel
from ._nslookup import resolve

if TYPE_CHECKING:  # pragma: no cover
    from .client import Proxy

__all__ = ["SharedLink", "SharedStreamIterator"]

log = logging.getLogger("Pyro5.client")

_FLAGS_ONEWAY = protocol.FLAGS_ONEWAY
_Channel = Union[MuxChannel, ProxyConnection]


class SharedLink:
    """The connection(s) of one shared proxy (see the module documentation)."""

    def __init__(self, connected_socket: Any = None) -> None:
        if connected_socket is not None:
            raise ValueError("a proxy over a user-supplied connected socket can't be shared (shared=True needs "
                             "connections of its own)")
        self._connect_lock = threading.RLock()
        self._mux: Optional[MuxChannel] = None
        self._cond = threading.Condition(threading.Lock())
        self._idle: list[ProxyConnection] = []      # pool mode: connections without a call
        self._open: set[ProxyConnection] = set()    # pool mode: every open connection
        self._opening = 0                           # pool mode: connections being opened
        self.pooled = False                         # the daemon did not grant calls in flight

    def __repr__(self) -> str:
        if self._mux is not None:
            return "<shared link: %r>" % self._mux
        return "<shared link: %d pooled connections, %d idle>" % (len(self._open), len(self._idle))

    @property
    def connection(self) -> Optional[socketutil.SocketConnection]:
        """One of the open connections (None when there is none)."""
        mux = self._mux
        if mux is not None and not mux.closed:
            return mux.conn
        for pc in list(self._open):
            if pc.conn is not None:
                return pc.conn
        return None

    @property
    def local_socket(self) -> Any:
        """The local address of one of the open connections (None when there is none)."""
        conn = self.connection
        try:
            return conn.sock.getsockname() if conn is not None else None
        except OSError:
            return None

    # ------------------------------------------------------------------------------------ connecting

    def connect(self, proxy: Proxy, replace_uri: bool = False) -> bool:
        """Make the first connection (the handshake brings the metadata); False when connected already."""
        with self._connect_lock:
            if self.connection is not None:
                return False
            self._connect(proxy, replace_uri)
            return True

    def _connect(self, proxy: Proxy, replace_uri: bool = False) -> None:
        # (under the connect lock, nothing connected)
        conn, granted, peer = self._open_connection(proxy, not config.SSL, replace_uri)
        if granted:
            self._mux = MuxChannel(conn, granted, peer)
            self.pooled = False
            return
        pc = self._attach(proxy, conn, peer)
        with self._cond:
            self.pooled = True
            self._open.add(pc)
            self._idle.append(pc)
            self._cond.notify()

    @staticmethod
    def _attach(proxy: Proxy, conn: socketutil.SocketConnection, peer: str) -> ProxyConnection:
        pc = ProxyConnection(None, proxy._pyroTimeout)
        pc.attach(conn, peer)
        return pc

    @staticmethod
    def _open_connection(proxy: Proxy, offer: bool, replace_uri: bool = False
                         ) -> tuple[socketutil.SocketConnection, int, str]:
        """A new connection to the proxy's daemon, handshake done: (connection, calls granted in flight, uri)."""
        serializer = serializers.get_serializer(proxy._pyroSerializer or config.SERIALIZER)
        uri = proxy._pyroUri
        if uri.protocol in ("PYRONAME", "PYROMETA"):
            uri = resolve(uri, config.NS_LOOKUP_DELAY)
        location = uri.sockname or (uri.host, uri.port)
        opener = ProxyConnection(None, proxy._pyroTimeout)
        conn = opener.open(location, uri.object)
        try:
            annotations = proxy._pyroAnnotations()
            if offer:
                annotations = dict(annotations or {})
                annotations.update(_capabilities.inflight_offer())
            request = _codec.connect_request(serializer, 0, proxy._pyroHandshake, uri.object, annotations)
            msg = opener.handshake(conn, request, location)
            granted = _capabilities.inflight_granted(msg.annotations) if offer else 0
            if msg.annotations:
                proxy._pyroResponseAnnotations(msg.annotations, msg.type)
            meta, response = _codec.connect_result(msg, location)
            proxy._pyroOneway, proxy._pyroMethods, proxy._pyroAttrs = _codec.metadata(meta)
            if replace_uri:
                proxy._pyroUri = uri
            proxy._pyroValidateHandshake(response)
        except BaseException:
            conn.close()
            raise
        return conn, granted, str(uri)

    def release(self) -> bool:
        """Close every connection (True when there was one); calls in flight get ConnectionClosedError."""
        with self._connect_lock:
            mux, self._mux = self._mux, None
            with self._cond:
                pooled, self._open, self._idle = list(self._open), set(), []
                self._cond.notify_all()
        released = False
        if mux is not None:
            released = not mux.closed
            mux.close()
        for pc in pooled:
            released = pc.release() or released
        if released:
            log.debug("connection released")
        return released

    # ------------------------------------------------------------------------------------ calls

    def invoke(self, proxy: Proxy, method: str, vargs: Any, kwargs: Any, flags: int, object_id: Optional[str]
               ) -> Any:
        """A remote call (any thread), retried up to proxy._pyroMaxRetries times after a connection problem."""
        retries = proxy._pyroMaxRetries
        while True:
            try:
                return self.call(proxy, None, method, vargs, kwargs, flags, object_id)
            except (errors.ConnectionClosedError, errors.TimeoutError):
                if retries <= 0:
                    raise
                retries -= 1
                log.debug("retrying call %s after a connection problem (%d retries left)", method, retries)

    def call(self, proxy: Proxy, channel: Optional[_Channel], method: str, vargs: Any, kwargs: Any, flags: int,
             object_id: Optional[str]) -> Any:
        """One call over `channel` (None: the proxy's connection, or a free pooled one)."""
        serializer = serializers.get_serializer(proxy._pyroSerializer or config.SERIALIZER)
        annotations = proxy._pyroAnnotations()
        oneway_methods = proxy._pyroOneway
        oneway = bool(flags & _FLAGS_ONEWAY) or method in oneway_methods
        timeout = proxy._pyroTimeout
        serializer_id = [serializer.serializer_id]

        def build(seq: int, target: str) -> protocol.SendingMessage:
            request = _codec.call_request(serializer, object_id or target, method, vargs, kwargs, flags, seq,
                                          annotations, oneway_methods)
            serializer_id[0] = request.serializer_id
            return request

        if channel is None:
            channel = self._channel(proxy, timeout)
        if isinstance(channel, MuxChannel):
            if channel.pending_closes:
                self._flush_closes(proxy, channel)
            target = channel.object_id
            msg = channel.call(lambda seq: build(seq, target), oneway, timeout)
        else:
            msg, channel = self._pooled_call(proxy, channel, build, oneway, timeout)
        if msg is None:
            return None
        proxy._pyroResponseAnnotations(msg.annotations, msg.type)
        if proxy._pyroRawWireResponse:
            return msg
        result = _codec.call_result(msg, serializer, serializer_id[0])
        if type(result) is _codec.StreamReply:
            return SharedStreamIterator(result.stream_id, proxy, self, channel)
        return result

    def _channel(self, proxy: Proxy, timeout: Optional[float]) -> _Channel:
        """The multiplexed connection (connected when needed), or the pool (a call leases a connection)."""
        mux = self._mux
        if mux is not None and not mux.closed:
            return mux
        if self.pooled and self._open:
            return _POOL
        with self._connect_lock:
            mux = self._mux
            if mux is not None and not mux.closed:
                return mux
            if self._open:
                return _POOL
            self._mux = None
            self._connect(proxy)
            return self._mux if self._mux is not None else _POOL

    # ------------------------------------------------------------------------------------ the pool

    def _pooled_call(self, proxy: Proxy, channel: ProxyConnection, build: Any, oneway: bool,
                     timeout: Optional[float]) -> tuple[Optional[protocol.ReceivingMessage], ProxyConnection]:
        """(reply, the connection it came over) of one call on a pooled connection: `channel`, or any."""
        pc = self._lease(proxy, None if channel is _POOL else channel, timeout)
        try:
            if pc.pending_closes:
                pending, pc.pending_closes = pc.pending_closes, []
                for stream_id in pending:
                    self._pooled_close(proxy, pc, stream_id)
            if pc.conn is None:
                raise errors.ConnectionClosedError("the connection of this call was closed")
            if pc.timeout != timeout:
                pc.set_timeout(timeout)
            seq = pc.next_seq()
            pc.send(build(seq, pc.conn.objectId or proxy._pyroUri.object), not oneway)
            if oneway:
                return None, pc
            return pc.receive(seq), pc
        finally:
            self._give_back(pc)

    def _lease(self, proxy: Proxy, wanted: Optional[ProxyConnection], timeout: Optional[float]) -> ProxyConnection:
        """A pooled connection for one call: `wanted` (a remote iterator's), or any idle one, or a new one while
        there are fewer than SHARED_POOL_SIZE; else wait for one within `timeout`."""
        deadline = time.monotonic() + timeout if timeout else None
        with self._cond:
            while True:
                if wanted is not None:
                    if wanted not in self._open or wanted.conn is None:
                        raise errors.ConnectionClosedError("the connection of this remote iterator was closed")
                    if wanted in self._idle:
                        self._idle.remove(wanted)
                        return wanted
                elif self._idle:
                    pc = self._idle.pop()
                    if not _stale(pc):
                        return pc
                    self._open.discard(pc)      # (the daemon closed it meanwhile: take another one)
                    pc.release()
                    continue
                elif len(self._open) + self._opening < max(1, int(config.SHARED_POOL_SIZE)):
                    self._opening += 1
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise errors.TimeoutError("receiving: timeout (all %d connections of the shared proxy are busy)"
                                              % len(self._open))
                self._cond.wait(remaining)
        opened: Optional[ProxyConnection] = None
        try:
            conn, _, peer = self._open_connection(proxy, False)
            opened = self._attach(proxy, conn, peer)
            return opened
        finally:
            with self._cond:        # (counted as opening until it is counted as open: never more than the size)
                self._opening -= 1
                if opened is not None:
                    self._open.add(opened)
                self._cond.notify()

    def _give_back(self, pc: ProxyConnection) -> None:
        with self._cond:
            if pc.conn is None:     # (lost: the next call opens another)
                self._open.discard(pc)
            elif pc in self._open:
                self._idle.append(pc)
            else:                   # (released meanwhile)
                pc.release()
            self._cond.notify()

    def _pooled_close(self, proxy: Proxy, pc: ProxyConnection, stream_id: str) -> None:
        try:
            seq = pc.next_seq()
            serializer = serializers.get_serializer(proxy._pyroSerializer or config.SERIALIZER)
            pc.send(_codec.call_request(serializer, core.DAEMON_NAME, "close_stream", [stream_id], {},
                                        _FLAGS_ONEWAY, seq, proxy._pyroAnnotations(), ()), False)
        except errors.PyroError as x:
            log.debug("could not close remote stream %s: %s", stream_id, x)

    # ------------------------------------------------------------------------------------ remote iterators

    def close_stream(self, proxy: Proxy, channel: _Channel, stream_id: str, immediate: bool) -> None:
        """Tell the daemon to discard a remote iterator: now (immediate, on a multiplexed connection), or before
        the next call on its connection (a finalizer must not send: it may run while its thread sends)."""
        if isinstance(channel, MuxChannel):
            if channel.closed:
                return
            if immediate:
                self._send_close(proxy, channel, stream_id)
            else:
                channel.pending_closes.append(stream_id)
        elif channel.conn is not None:
            channel.pending_closes.append(stream_id)

    def _flush_closes(self, proxy: Proxy, channel: MuxChannel) -> None:
        pending, channel.pending_closes = channel.pending_closes, []
        for stream_id in pending:
            self._send_close(proxy, channel, stream_id)

    def _send_close(self, proxy: Proxy, channel: MuxChannel, stream_id: str) -> None:
        try:
            self.call(proxy, channel, "close_stream", [stream_id], {}, _FLAGS_ONEWAY, core.DAEMON_NAME)
        except errors.PyroError as x:
            log.debug("could not close remote stream %s: %s", stream_id, x)


def _stale(pc: ProxyConnection) -> bool:
    """Has the daemon closed this idle pooled connection? (Between calls it never sends anything, so a readable
    socket means its end: EOF, or bytes that make no sense.)"""
    conn = pc.conn
    if conn is None:
        return True
    if isinstance(conn.sock, ssl.SSLSocket):
        return False    # (TLS may have records of its own to read, e.g. session tickets)
    try:
        return _wait_readable(conn.sock, 0.0)
    except (OSError, ValueError):
        return True


def _wait_readable(sock: Any, timeout: float) -> bool:
    if _poll is not None:
        poller = _poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(int(timeout * 1000)))
    return bool(select.select([sock], [], [], timeout)[0])


_poll = getattr(select, "poll", None)
_POOL: Any = ProxyConnection()      # (marker: "any pooled connection")


class SharedStreamIterator:
    """The result of a remote call that returned an iterator, on a shared proxy: the items are fetched over the
    connection that made it, by whichever thread iterates."""

    __slots__ = ("streamId", "proxy", "link", "channel", "__weakref__")

    def __init__(self, streamId: str, proxy: Proxy, link: SharedLink, channel: _Channel) -> None:
        self.streamId = streamId
        self.proxy: Optional[Proxy] = proxy
        self.link = link
        self.channel = channel

    def __iter__(self) -> SharedStreamIterator:
        return self

    def __next__(self) -> Any:
        proxy = self.proxy
        if proxy is None:
            raise StopIteration
        channel = self.channel
        if (channel.closed if isinstance(channel, MuxChannel) else channel.conn is None):
            raise errors.ConnectionClosedError("the connection of this stream result has been closed")
        try:
            return self.link.call(proxy, channel, "get_next_stream_item", [self.streamId], {}, 0, core.DAEMON_NAME)
        except (StopIteration, GeneratorExit):
            self.proxy = None
            raise StopIteration from None

    def close(self) -> None:
        """Stop the remote iteration: the daemon discards the remote iterator (oneway call)."""
        proxy, self.proxy = self.proxy, None
        if proxy is not None:
            self.link.close_stream(proxy, self.channel, self.streamId, True)

    def __del__(self) -> None:
        try:
            proxy, self.proxy = self.proxy, None
            if proxy is not None:
                self.link.close_stream(proxy, self.channel, self.streamId, False)
        except Exception:  # never raise from a finalizer (interpreter shutdown etc.)
            pass

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; stream %s>" % (type(self).__module__, type(self).__name__, id(self), self.streamId)


SharedStreamIterator.__module__ = "Pyro5.client"
