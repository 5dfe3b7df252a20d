"""One client connection of the asyncio server (``Pyro5.aio._svr_engine``): an ``asyncio.Protocol`` that feeds
the received bytes to its ``protocol.MessageReader`` and answers each whole message through the daemon's
``Dispatcher`` (no message meaning here).

- The connect message is answered first (``Dispatcher.handshake``, in a worker: ``validateHandshake`` is user
  code). Until then nothing else of the connection runs.
- Requests run in the server's bounded worker pool (``Dispatcher.handle`` in a copy of the loop's context, so
  ``current_context`` is per call). An ``async def`` method's coroutine comes back to the loop
  (``Pyro5._svr_coro.Deferred``) and runs there as a task; its reply is made in that task.
- One call at a time per connection, replies in order, unless the client asked for the INFL capability
  (``Pyro5._capabilities``): then up to ``conn.inflight`` calls run at once and each reply goes out when ready.
  A connection to a session-mode class runs one call at a time anyway unless the class sets
  ``_pyroSessionConcurrent = True``.
- Backpressure: a connection with a message waiting (its calls at their limit, or no free worker) is not read
  from until that message started; a peer that does not read its replies is not read from either.

This object is what the dispatcher and the user's code see as the connection (``current_context.client``,
``validateHandshake(conn, ...)``, ``clientDisconnect(conn)``): it has ``sock_addr``, ``pyroInstances``,
``tracked_resources``, ``getpeercert()`` and ``close()``.
"""
from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import inspect
import logging
import socket
import time
from typing import Any, Optional

from Pyro5 import errors, protocol, serializers
from Pyro5._svr_coro import Deferred

__all__ = ["AioConnection"]

log = logging.getLogger("Pyro5.asyncioserver")

_CONNECT = (protocol.MSG_CONNECT,)
_REQUESTS = (protocol.MSG_INVOKE, protocol.MSG_PING)
_ANY = (protocol.MSG_CONNECT, protocol.MSG_INVOKE, protocol.MSG_PING)
_check_msgtype = protocol.MessageReader.check_msgtype
_JOIN_LIMIT = 256 * 1024     # a reply smaller than this is joined into one buffer (a bigger one is not copied)


def _session_serial(target: Any) -> bool:
    """Is the target a session-mode class that does not allow concurrent calls (one instance per connection)?"""
    if not isinstance(target, type):
        return False
    mode = getattr(target, "_pyroInstancing", ("session", None))[0]
    return mode == "session" and not getattr(target, "_pyroSessionConcurrent", False)


_async_classes: dict[type, tuple] = {}


def _async_method_names(target: Any) -> tuple:
    """The names (utf-8) of the target's async def methods and async generator functions."""
    cls = target if isinstance(target, type) else type(target)
    answer = _async_classes.get(cls)
    if answer is None:
        names = []
        for name in dir(cls):
            if not name.startswith("_"):
                member = inspect.getattr_static(cls, name, None)
                if inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member):
                    names.append(name.encode("utf-8"))
        answer = tuple(names)
        if len(_async_classes) < 10000:
            _async_classes[cls] = answer
    return answer


class AioConnection(asyncio.Protocol):
    """A client connection of the asyncio server (the asyncio.Protocol of its transport)."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.dispatcher = server.daemon.dispatcher
        self.reader = protocol.MessageReader(_ANY, log, prehandshake=True)
        self.transport: Any = None
        self.sock_addr: Any = None
        self.objectId: Optional[str] = None
        self.pyroInstances: dict = {}
        self.tracked_resources: set = set()
        self.keep_open = False
        self.handshaked = False
        self.inflight = 0           # granted by the dispatcher's handshake (INFL); 0: one call at a time
        self.closed = False
        self.limit = 1              # calls of this connection that may run at once
        self.running = 0
        self.waiting = 0            # calls waiting for a worker
        self.queue: collections.deque = collections.deque()
        self.created = self.last_use = time.monotonic()
        self.partial_since: Optional[float] = None
        self.write_paused_since: Optional[float] = None
        self.reading_paused = False
        self.async_methods: tuple = ()     # the names of the connection's object's async def methods

    # ------------------------------------------------------------------ what user code sees

    def __repr__(self) -> str:
        return "<%s.%s from %s>" % (type(self).__module__, type(self).__name__, self.sock_addr)

    def getpeercert(self) -> Optional[dict]:
        """The peer's certificate (SSL with client certificates), as ssl.SSLSocket.getpeercert()."""
        return self.transport.get_extra_info("peercert") if self.transport is not None else None

    def family(self) -> str:
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        return socket.AddressFamily(sock.family).name if sock is not None else "?"

    def fileno(self) -> int:
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        return sock.fileno() if sock is not None else -1

    def close(self) -> None:
        """Close the connection (from any code on the loop; from a worker thread it is done on the loop)."""
        transport = self.transport
        if transport is not None and not transport.is_closing():
            self.server.call_in_loop(transport.close)

    # ------------------------------------------------------------------ asyncio.Protocol

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) > 2:
            peer = peer[:2]
        self.sock_addr = peer
        self.server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        now = self.last_use = time.monotonic()
        try:
            messages = self.reader.feed(data)
        except errors.ProtocolError as x:
            self._malformed(x)
            return
        if self.reader.received_bytes:
            if self.partial_since is None:
                self.partial_since = now
        else:
            self.partial_since = None
        if messages:
            self.queue.extend(messages)
            self._pump()
        if self.reader.state == protocol.MessageReader.FAILED:
            try:
                self.reader.feed(b"")
            except errors.ProtocolError as x:
                self._malformed(x)

    def eof_received(self) -> Optional[bool]:
        try:
            self.reader.eof()
        except errors.ConnectionClosedError as x:
            log.debug("client %s: %s", self.sock_addr, x)
        return None

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.closed = True
        self.queue.clear()
        self.server.connections.discard(self)
        self.server.disconnected(self)

    def pause_writing(self) -> None:
        self.write_paused_since = time.monotonic()
        self._flow()

    def resume_writing(self) -> None:
        self.write_paused_since = None
        self._flow()

    # ------------------------------------------------------------------ flow

    def _pump(self) -> None:
        loop = self.server.event_loop
        while self.queue and self.running < self.limit and not self.closed:
            msg = self.queue.popleft()
            self.running += 1
            loop.create_task(self._serve(msg))
        self._flow()

    def _flow(self) -> None:
        # (a connection with one call at a time sends nothing more until it has its reply: only a message that
        # does arrive (the queue) pauses it; one with many calls in flight is paused while a call of it waits)
        want_pause = bool(self.queue) or (self.waiting > 0 and self.limit > 1) or self.write_paused_since is not None
        if want_pause != self.reading_paused and not self.closed:
            self.reading_paused = want_pause
            if want_pause:
                self.transport.pause_reading()
            else:
                self.partial_since = time.monotonic() if self.reader.received_bytes else None
                self.transport.resume_reading()

    def send(self, reply: Optional[protocol.SendingMessage]) -> None:
        if reply is None or self.closed or self.transport.is_closing():
            return
        parts = reply.parts
        if len(parts) == 1:
            self.transport.write(parts[0])
        elif sum(len(part) for part in parts) < _JOIN_LIMIT:
            self.transport.write(b"".join(parts))       # (one send)
        else:
            # (write(), not writelines(): the latter does not pause the protocol in Python 3.12 and 3.13.0, and a
            # peer that does not read would go unnoticed)
            for part in parts:
                self.transport.write(part)

    def _malformed(self, x: errors.ProtocolError) -> None:
        if self.closed:
            return
        if self.handshaked:
            reply = self.dispatcher.protocol_error(self, x)
        else:
            reply = self.dispatcher.connect_failed(self, x)
        self.send(reply)
        self.queue.clear()
        self.transport.close()

    # ------------------------------------------------------------------ serving messages

    async def _serve(self, msg: protocol.ReceivingMessage) -> None:
        try:
            if self.handshaked:
                await self._request(msg)
            else:
                await self._handshake(msg)
        except Exception as x:
            log.warning("error serving %s: %s: %s", self.sock_addr, type(x).__name__, x, exc_info=True)
            if not self.closed:
                self.transport.close()
        finally:
            self.running -= 1
            self._pump()

    async def _in_worker(self, func: Any, *args: Any) -> Any:
        server = self.server
        slots = server.slots
        if slots.locked():
            self.waiting += 1
            self._flow()
            try:
                await slots.acquire()
            finally:
                self.waiting -= 1
                self._flow()
        else:
            await slots.acquire()
        try:
            return await server.event_loop.run_in_executor(server.executor, func, *args)
        finally:
            slots.release()

    async def _handshake(self, msg: protocol.ReceivingMessage) -> None:
        try:
            _check_msgtype(msg, _CONNECT)
        except errors.ProtocolError as x:
            self._malformed(x)
            return
        reply, serial = await self._in_worker(contextvars.copy_context().run, self._answer_connect, msg)
        self.send(reply)
        if reply.type != protocol.MSG_CONNECTOK:
            self.transport.close()
            return
        self.handshaked = True
        self.reader.prehandshake = False    # (MAX_MESSAGE_SIZE applies from now on)
        self.limit = 1 if serial else max(1, self.inflight)

    def _answer_connect(self, msg: protocol.ReceivingMessage) -> tuple:
        """(worker) the handshake's reply, and whether the connection's calls must run one at a time."""
        reply = self.dispatcher.handshake(self, msg)
        if reply.type != protocol.MSG_CONNECTOK:
            return reply, True
        try:
            data = serializers.serializers_by_id[msg.serializer_id].loads(msg.data)
            target = self.server.daemon._registry.lookup_raw(data["object"])
        except Exception:
            return reply, True
        self.async_methods = _async_method_names(target)
        return reply, self.inflight > 1 and _session_serial(target)

    async def _request(self, msg: protocol.ReceivingMessage) -> None:
        try:
            _check_msgtype(msg, _REQUESTS)
        except errors.ProtocolError as x:
            self._malformed(x)
            return
        dispatcher = self.dispatcher
        if msg.type == protocol.MSG_PING:
            self.send(dispatcher.handle(self, msg))    # (no user code: answered on the loop)
            return
        context = contextvars.copy_context()
        try:
            parsed = self._async_target(msg) if self.server.slots.locked() or self._may_be_async(msg) else None
            if parsed is not None:
                # a call of an async def method is started here (no user code runs on the loop but the method's
                # coroutine) rather than in a worker (which may all be busy)
                reply = context.run(dispatcher.handle, self, msg, parsed)
            else:
                reply = await self._in_worker(context.run, dispatcher.handle, self, msg)
        except Deferred as deferred:
            reply = await context.run(self.server.event_loop.create_task, self._complete(msg, deferred))
        self.last_use = time.monotonic()
        self.send(reply)

    def _may_be_async(self, msg: protocol.ReceivingMessage) -> bool:
        """(cheap) Does the request's payload contain the name of one of the object's async methods? Every
        serializer writes the method name as it is, so without one the call is surely not of an async method."""
        names = self.async_methods
        if not names:
            return False
        data = msg.data
        if not isinstance(data, (bytes, bytearray)):
            data = bytes(data)
        return any(name in data for name in names)

    def _async_target(self, msg: protocol.ReceivingMessage) -> Optional[tuple]:
        """The deserialized call when the request is a call of an async def method (or async generator
        function), else None."""
        if msg.flags & (protocol.FLAGS_BATCH | protocol.FLAGS_KEEPSERIALIZED):
            return None
        try:
            parsed = serializers.serializers_by_id[msg.serializer_id].loadsCall(msg.data)
            object_id, name = parsed[0], parsed[1]
            target = self.server.daemon._registry.lookup_raw(object_id)
            if target is None or not isinstance(name, str) or name.startswith("_"):
                return None
            member = inspect.getattr_static(target if isinstance(target, type) else type(target), name, None)
        except Exception:
            return None
        if inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member):
            return tuple(parsed)
        return None

    async def _complete(self, msg: protocol.ReceivingMessage, deferred: Deferred
                        ) -> Optional[protocol.SendingMessage]:
        """(a task in the call's context) awaits an async def method and makes its reply."""
        dispatcher = self.dispatcher
        serializer = serializers.serializers_by_id[msg.serializer_id]
        call = deferred.call
        try:
            data = await deferred.coro
        except Exception as x:
            return dispatcher.failure_message(self, msg, serializer, x, call)
        try:
            return dispatcher.result_message(self, msg, serializer, data, 0, getattr(call[0], "__name__", ""))
        except Exception as x:
            return dispatcher.failure_message(self, msg, serializer, x, [None, (), {}])

    # ------------------------------------------------------------------ deadlines (the server's watcher)

    def check(self, now: float, limits: Any, idle_timeout: Optional[float]) -> Optional[str]:
        """Why this connection must be closed now (None: it may stay)."""
        if not self.handshaked and not self.running and now - self.created > limits.handshake_limit():
            return "no connect message within %.0f s" % limits.handshake_limit()
        if self.partial_since is not None and not self.reading_paused:
            if now > limits.allowed_until(self.partial_since, self.reader.received_bytes):
                return str(limits.partial_timeout_error(self.reader.received_bytes))
        if self.write_paused_since is not None and now - self.write_paused_since > limits.partial_message_timeout:
            return "the peer does not read its results (for more than %.0f s)" % limits.partial_message_timeout
        if idle_timeout and not self.running and not self.queue and now - self.last_use > idle_timeout:
            return "idle for longer than COMMTIMEOUT (%s s)" % idle_timeout
        return None

    def release_resources(self) -> None:
        """Close the resources the calls tracked on this connection (current_context.track_resource)."""
        self.pyroInstances = {}
        resources, self.tracked_resources = self.tracked_resources, set()
        for resource in resources:
            with contextlib.suppress(Exception):
                resource.close()
