"""The thread pool server's accept path (a mixin of svr_threads.SocketServer_Threadpool): a new connection goes
straight to an idle worker, which waits for its connect message; a name server's lookup connection is answered
and closed by the loop thread alone (see _svr_connect.answer_first).

A connection costs the server a few system calls of its own besides the kernel's TCP work. Two of them are not
needed per connection on Linux, where an accepted socket inherits the socket options of the listening socket:
TCP_NODELAY, and the receive timeout (SO_RCVTIMEO) that a lingering worker uses (MuxConnection.begin_linger). Both
are set on the listening socket once; whether the first accepted connection has them is checked, and without
inheritance every connection gets them set as before.
"""
from __future__ import annotations

import selectors
import socket
import struct
from typing import Any, Optional

from ._svr_common import close_socket
from ._svr_conn import _LINGER_OK, MuxConnection
from ._svr_connect import CLOSE, answer_first, answer_lookup, feed_first, receive_first, serves_lookups
from ._svr_limits import ServerLimits
from ._svr_pool import Pool, PoolError
from ._svr_serve import close_client

__all__ = ["DirectAccept"]

_TCP_FAMILIES = (int(socket.AF_INET), int(socket.AF_INET6))
_NODELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY)
_RCVTIMEO = (socket.SOL_SOCKET, getattr(socket, "SO_RCVTIMEO", 0))
_TIMEVAL = struct.Struct("@ll")


class DirectAccept:
    """Mixin of the thread pool server: accepting a connection for an idle worker (see the module documentation)."""

    sock: Optional[socket.socket]
    daemon: Any
    pool: Optional[Pool]
    limits: ServerLimits
    shutting_down: bool
    selector: Optional[selectors.BaseSelector]
    _connections: dict[Any, MuxConnection]
    _busy: set[MuxConnection]

    # the listening socket's family; the options its accepted sockets inherit (None: not known yet, False: no)
    _accept_family: Optional[int] = None
    _inherits_nodelay: Optional[bool] = False
    _inherited_rcvtimeo: Any = None         # (the receive timeout in seconds; None: none)
    _checked_rcvtimeo: Optional[float] = None

    def _prepare_listener(self) -> None:
        """(init, a plain TCP listening socket and lingering workers) the options accepted sockets inherit."""
        sock = self.sock
        if sock is None or not _LINGER_OK or sock.family not in _TCP_FAMILIES:
            return
        linger = self.limits.linger
        try:
            sock.setsockopt(*_NODELAY, 1)
            self._inherits_nodelay = None
            if linger > 0:
                seconds = int(linger)
                sock.setsockopt(*_RCVTIMEO, _TIMEVAL.pack(seconds, int((linger - seconds) * 1e6)))
                self._checked_rcvtimeo = linger
        except OSError:
            pass

    def _check_inherited(self, csock: socket.socket) -> None:
        """(the first accepted connection) does it have the listening socket's options?"""
        try:
            self._inherits_nodelay = bool(csock.getsockopt(*_NODELAY))
            if self._checked_rcvtimeo is not None and any(_TIMEVAL.unpack(csock.getsockopt(*_RCVTIMEO, _TIMEVAL.size))):
                self._inherited_rcvtimeo = self._checked_rcvtimeo
        except OSError:
            self._inherits_nodelay = False

    def _take_accepted(self) -> bool:
        """(loop thread; a plain socket server) Accept a connection and give it straight to an idle worker, which
        waits for its connect message: what SocketServer_Multiplex._accept and _take_new do, in fewer steps (no
        address family conversions, and the socket stays blocking for the worker's linger: see
        MuxConnection.begin_linger). A name server's connection whose connect message is a lookup is answered
        here; one whose connect message has not arrived yet is watched by the selector meanwhile (most are lookups).
        False: there is no idle worker (or lingering is not available here), the general path accepts the
        connection."""
        pool = self.pool
        if not _LINGER_OK or pool is None or pool.num_workers - pool.num_busy <= pool.num_queued:
            return False
        accepted = self._accept_socket(raw=True)    # type: ignore[attr-defined]
        if accepted is None:
            return True
        fd, caddr = accepted
        family = self._accept_family
        if family is None:
            family = self._accept_family = int(self.sock.family)    # type: ignore[union-attr]
        csock = socket.socket(family, socket.SOCK_STREAM, 0, fd)
        if self.shutting_down:
            close_socket(csock)
            return True
        if family in _TCP_FAMILIES:
            if self._inherits_nodelay is None:
                self._check_inherited(csock)
            if not self._inherits_nodelay:
                try:
                    csock.setsockopt(*_NODELAY, 1)
                except OSError:
                    pass
        daemon = self.daemon
        lookups = serves_lookups(daemon)
        first = None
        if lookups:
            # a name server: most new connections are lookups, which this thread answers (see _svr_connect); the
            # usual one, whole in its first receive, without a connection object
            first = receive_first(csock)
            if first is not None and answer_lookup(daemon, csock, first):
                close_socket(csock)
                return True
        conn = MuxConnection(csock, caddr, self.limits)
        if self._inherited_rcvtimeo is not None:
            conn._rcvtimeo = self._inherited_rcvtimeo     # (begin_linger sets it only when it differs)
        if lookups:
            if first is not None:
                feed_first(conn, first)
            if first is None or not (conn.messages or conn.read_error is not None):
                self._watch_new(conn)     # (this thread waits for its connect message, or the rest of it)
                return True
            if answer_first(daemon, conn) == CLOSE:
                close_client(daemon, conn)
                return True
        self._connections[csock] = conn
        self._busy.add(conn)
        try:
            pool.submit(lambda: self._work(conn, True))     # type: ignore[attr-defined]
        except PoolError:
            self._busy.discard(conn)
            del self._connections[csock]
            if self._watch_new(conn) and conn.has_message():
                self._process(conn)     # type: ignore[attr-defined]  # (its first message was read already)
        return True

    def _watch_new(self, conn: MuxConnection) -> bool:
        """(loop thread) The selector watches a new connection (non-blocking) until its next message is there;
        False when that failed (the connection is closed)."""
        sock = conn.sock
        sock.setblocking(False)
        self._connections[sock] = conn
        try:
            self.selector.register(sock, selectors.EVENT_READ, conn)  # type: ignore[union-attr]
        except (ValueError, OSError, KeyError):
            self._connections.pop(sock, None)
            close_socket(sock)
            return False
        return True
