"""One asyncio connection of an AsyncProxy (the connection, its reader task, the replies awaited by seq) and the
small pool of them that an AsyncProxy keeps. No message meaning here: that is ``Pyro5._client_codec``.

A connection carries as many calls at once as the daemon granted on the connect handshake (the INFL capability,
see ``Pyro5._capabilities``: our daemons that run a connection's calls concurrently); an original Pyro5 daemon
grants nothing and runs one call at a time per connection, answering in order: then a connection carries one
call at a time and the pool opens more connections. A call leases a connection from the pool, sends its request
and awaits the reply with its seq. A task that is cancelled (or times out) after its request went out leaves its
lease to the late reply: the reader task drops that reply (matched by its seq) and only then gives the lease
back, so the connection stays in sync and usable. Oneway calls hold the lease until their request is sent.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import socket
from typing import Any, Awaitable, Callable

from Pyro5 import config, errors, protocol
from Pyro5._client_conn import client_ssl_context, connect_error

__all__ = ["AsyncConnection", "ConnectionPool"]

log = logging.getLogger("Pyro5.client")

_MSG_RESULT = (protocol.MSG_RESULT,)
_CONNECT_RESULT_TYPES = (protocol.MSG_CONNECTOK, protocol.MSG_CONNECTFAIL)
_READ_SIZE = 256 * 1024
_JOIN_LIMIT = 256 * 1024    # a request smaller than this is joined into one buffer (a bigger one is not copied)


def _family() -> int:
    version = int(config.PREFER_IP_VERSION or 0)
    return {4: socket.AF_INET, 6: socket.AF_INET6}.get(version, 0)


async def open_streams(location: Any, timeout: float | None
                       ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open the connection to `location` ((host, port) or a unix socket path), with SSL when config.SSL is set."""
    ssl_context = client_ssl_context()
    try:
        if isinstance(location, str):
            coro: Awaitable = asyncio.open_unix_connection(location, ssl=ssl_context,
                                                           server_hostname="localhost" if ssl_context else None)
        else:
            coro = asyncio.open_connection(location[0], location[1], ssl=ssl_context, family=_family(),
                                           server_hostname=location[0] if ssl_context else None)
        return await asyncio.wait_for(coro, timeout or None)
    except asyncio.TimeoutError:
        raise errors.TimeoutError("cannot connect to %s: timeout" % (location,)) from None
    except OSError as x:
        raise connect_error(location, x) from x


async def read_one(reader: asyncio.StreamReader, msgreader: protocol.MessageReader, timeout: float | None
                   ) -> protocol.ReceivingMessage:
    """The next message (the connect reply: nothing else may follow it yet), within `timeout` seconds."""
    async def read() -> list[protocol.ReceivingMessage]:
        while True:
            data = await reader.read(msgreader.needed)
            if not data:
                msgreader.eof()
                raise errors.ConnectionClosedError("receiving: connection closed by the daemon")
            messages = msgreader.feed(data)
            if messages:
                return messages
    try:
        messages = await asyncio.wait_for(read(), timeout or None)
    except asyncio.TimeoutError:
        raise errors.TimeoutError("receiving: timeout") from None
    except errors.PyroError:
        raise
    except OSError as x:
        raise errors.ConnectionClosedError("receiving: connection lost: %s" % x) from x
    if len(messages) > 1:
        raise errors.ProtocolError("the daemon sent more than the reply: the connection is out of sync")
    return messages[0]


class AsyncConnection:
    """A connection whose handshake is done: sends requests and routes the replies (by seq) to the waiting
    futures; a late reply (its caller was cancelled or timed out) is dropped and frees the connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, object_id: str, peer: str,
                 seq: int, on_free: Callable[[AsyncConnection], None], capacity: int = 1) -> None:
        self.writer = writer
        self.object_id = object_id
        self.peer = peer
        self.seq = seq
        self.alive = True
        self.capacity = max(1, capacity)        # calls that may be in flight at once (the daemon's INFL grant)
        self.active = 0                         # leases held (calls in flight, or waiting for their late reply)
        self.late: set[int] = set()             # the requests whose replies nobody awaits any more
        self.pending_closes: list[str] = []     # stream ids whose close_stream goes out before the next call
        self.waiters: collections.deque[asyncio.Future] = collections.deque()   # tasks waiting for this one
        self._replies: dict[int, asyncio.Future] = {}
        self._on_free = on_free
        self._msgreader = protocol.MessageReader(_MSG_RESULT, log)
        self._task = asyncio.get_running_loop().create_task(self._read(reader))

    @property
    def leased(self) -> bool:
        """Is a call in flight on this connection?"""
        return self.active > 0

    @property
    def late_seq(self) -> int | None:
        """One of the requests whose late reply will be dropped (None: there is none)."""
        return next(iter(self.late), None)

    def next_seq(self) -> int:
        seq = self.seq
        while True:     # (bounded: fewer than capacity <= 32767 seqs are in use)
            seq = (seq + 1) & 0xffff
            if seq not in self._replies and seq not in self.late:
                break
        self.seq = seq
        return seq

    def expect(self, seq: int) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self._replies[seq] = fut
        return fut

    def write(self, request: protocol.SendingMessage) -> None:
        """Queue the request's bytes on the transport (all of them, at once: it is sent even if the task is
        cancelled while draining)."""
        if not self.alive:
            raise errors.ConnectionClosedError("connection to %s lost" % self.peer)
        parts = request.parts
        if len(parts) == 1:
            self.writer.write(parts[0])
        elif sum(len(part) for part in parts) < _JOIN_LIMIT:
            self.writer.write(b"".join(parts))      # (one send)
        else:
            # (write(), not writelines(): the latter does not pause the protocol in Python 3.12 and 3.13.0, so
            # drain() would not wait for a big request to go out)
            for part in parts:
                self.writer.write(part)

    async def drain(self) -> None:
        try:
            await self.writer.drain()
        except OSError as x:
            self.close()
            raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x

    def abandon(self, seq: int) -> None:
        """The caller of request `seq` stopped waiting: its reply will be dropped, then the connection is free."""
        self._replies.pop(seq, None)
        self.late.add(seq)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        problem: BaseException | None = None
        try:
            while True:
                data = await reader.read(_READ_SIZE)
                if not data:
                    self._msgreader.eof()
                    raise errors.ConnectionClosedError("receiving: connection closed by the daemon")
                for msg in self._msgreader.feed(data):
                    self._deliver(msg)
        except asyncio.CancelledError:
            problem = errors.ConnectionClosedError("the proxy's connection was released")
        except errors.PyroError as x:
            problem = x
        except OSError as x:
            problem = errors.ConnectionClosedError("receiving: connection lost: %s" % x)
        finally:
            self._lost(problem or errors.ConnectionClosedError("connection closed"))

    def _deliver(self, msg: protocol.ReceivingMessage) -> None:
        fut = self._replies.pop(msg.seq, None)
        if fut is not None:
            if not fut.done():
                fut.set_result(msg)
        elif msg.seq in self.late:
            log.debug("dropped the late reply %d from %s (its caller stopped waiting)", msg.seq, self.peer)
            self.late.discard(msg.seq)
            self._on_free(self)
        else:
            raise errors.ProtocolError("invalid response sequence number %d from %s: the connection is out of sync"
                                       % (msg.seq, self.peer))

    def _lost(self, problem: BaseException) -> None:
        was_alive, self.alive = self.alive, False
        if was_alive:
            log.debug("connection to %s closed: %s", self.peer, problem)
        replies, self._replies = self._replies, {}
        for fut in replies.values():
            if not fut.done():
                fut.set_exception(problem)
        self.writer.close()
        late = len(self.late)
        self.late.clear()
        for _ in range(late):
            self._on_free(self)

    def close(self) -> None:
        """Close the connection (awaiting callers get ConnectionClosedError)."""
        if self.alive:
            self._task.cancel()
            self._lost(errors.ConnectionClosedError("the proxy's connection was released"))


class ConnectionPool:
    """At most `size` connections (opened on demand by `opener`); lease() gives a free one (or a given one),
    waiting in order when all are busy; free() gives it back."""

    def __init__(self, opener: Callable[[], Awaitable[AsyncConnection]]) -> None:
        self.connections: list[AsyncConnection] = []
        self._opener = opener
        self._opening = 0
        self._waiters: collections.deque[asyncio.Future] = collections.deque()

    def size(self) -> int:
        return max(1, int(config.ASYNC_POOL_SIZE))

    async def lease(self, wanted: AsyncConnection | None = None) -> AsyncConnection:
        while True:
            if wanted is not None:
                if not wanted.alive:
                    raise errors.ConnectionClosedError("the connection of this stream result is closed")
                if wanted.active < wanted.capacity:
                    wanted.active += 1
                    return wanted
                queue = wanted.waiters
            else:
                if not all(conn.alive for conn in self.connections):
                    # (idle connections the daemon closed: a leased one goes when it is freed)
                    self.connections = [conn for conn in self.connections if conn.alive or conn.active]
                best = None
                for conn in self.connections:
                    if conn.alive and conn.active < conn.capacity and (best is None or conn.active < best.active):
                        best = conn
                if best is not None:
                    best.active += 1
                    return best
                # (while the first connection opens, the others wait: it may carry many calls at once)
                if len(self.connections) + self._opening < self.size() and (self.connections or not self._opening):
                    return await self._open()
                queue = self._waiters
            fut = asyncio.get_running_loop().create_future()
            queue.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._wake(wanted)      # the wake-up this task got goes to the next one
                raise
            finally:
                if fut in queue:
                    queue.remove(fut)

    async def _open(self) -> AsyncConnection:
        self._opening += 1
        try:
            conn = await self._opener()
        except BaseException:
            self._wake(None)
            raise
        finally:
            self._opening -= 1
        conn.active = 1
        self.connections.append(conn)
        waiters = list(self._waiters)       # (they may use it, or open the next connection)
        self._waiters.clear()
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)
        return conn

    def free(self, conn: AsyncConnection) -> None:
        """The connection's call is over (or its late reply arrived, or it was lost)."""
        conn.active = max(0, conn.active - 1)
        if not conn.alive:
            if conn in self.connections and not conn.active:
                self.connections.remove(conn)
            while conn.waiters:     # (they find it closed)
                fut = conn.waiters.popleft()
                if not fut.done():
                    fut.set_result(None)
        self._wake(conn)

    def _wake(self, conn: AsyncConnection | None) -> None:
        for queue in ((conn.waiters, self._waiters) if conn is not None else (self._waiters,)):
            while queue:
                fut = queue.popleft()
                if not fut.done():
                    fut.set_result(None)
                    return

    def close(self) -> None:
        connections, self.connections = self.connections, []
        for conn in connections:
            conn.close()
