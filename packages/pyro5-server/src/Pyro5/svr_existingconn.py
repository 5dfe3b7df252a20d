"""Socket server for a single, already connected socket (for instance one end of a socket.socketpair()).

The loop serves that one connection until it is closed by the peer (or the daemon shuts down).
The socket belongs to the caller: closing the daemon does not close it.
"""
from __future__ import annotations

import logging
import selectors
import socket
from typing import Any, Callable, Optional

from . import errors, protocol
from ._svr_common import ServerControl, Wakeup, comm_timeout
from ._svr_conn import ThreadConnection
from ._svr_dispatch import answer_message

__all__ = ["SocketServer_ExistingConnection"]

log = logging.getLogger("Pyro5.existingconnectionserver")


class SocketServer_ExistingConnection(ServerControl):
    """transport server that serves one existing connected socket"""

    def __init__(self) -> None:
        self.daemon: Any = None
        self.sock: Optional[socket.socket] = None
        self.conn: Optional[ThreadConnection] = None
        self.locationStr = "./u:<<not-bound>>"
        self.selector: Optional[selectors.BaseSelector] = None
        self.shutting_down = False
        self._wakeup: Optional[Wakeup] = None

    def init(self, daemon: Any, connected_socket: socket.socket) -> None:
        if not isinstance(connected_socket, socket.socket):
            raise TypeError("connected_socket must be a connected socket.socket, not %r" % (connected_socket,))
        log.info("starting existing connection socketserver")
        self.daemon = daemon
        self.sock = connected_socket
        connected_socket.settimeout(comm_timeout())
        self.conn = ThreadConnection(connected_socket, idle_timeout=comm_timeout(), keep_open=True,
                                     limits=daemon.limits)
        self.conn.reader.prehandshake = False   # (the connection counts as established)
        self.conn.handshaked = True
        if self.conn.sock_addr in ("", None):
            self.conn.sock_addr = "<<not-bound>>"
        self._wakeup = Wakeup()
        self.selector = selectors.DefaultSelector()
        self.selector.register(connected_socket, selectors.EVENT_READ, "conn")
        self.selector.register(self._wakeup.reader, selectors.EVENT_READ, "wakeup")

    def __repr__(self) -> str:
        return "<%s on %s>" % (self.__class__.__name__, self.locationStr)

    def loop(self, loopCondition: Callable[[], bool] = lambda: True) -> None:
        log.debug("existing connection server requestloop")
        poll = self.daemon.limits.poll_interval()
        while self.conn is not None and not self.shutting_down and loopCondition():
            try:
                events = self.selector.select(poll)  # type: ignore[union-attr]
            except (OSError, ValueError, AttributeError):
                break
            for key, _ in events:
                if key.data == "wakeup":
                    self._wakeup.drain()  # type: ignore[union-attr]
                elif not self._handle():
                    return
            self.daemon._housekeeping()

    def events(self, eventsockets: Any) -> None:
        for s in eventsockets:
            if s is self.sock:
                self._handle()
            elif self._wakeup is not None and s is self._wakeup.reader:
                self._wakeup.drain()

    def combine(self, other: Any) -> None:
        raise errors.PyroError("cannot combine daemons when serving an existing connection (connected_socket)")

    def _handle(self) -> bool:
        """Handle the next message (and the ones that arrived with it); returns False when the connection is
        finished."""
        conn = self.conn
        if conn is None:
            return False
        try:
            while True:
                try:
                    msg: Any = conn.read_message()
                except errors.ProtocolError as x:
                    msg = x
                # The connection counts as established: proxies on a connected socket (the original's too) send
                # their calls right away; a proxy that does send a connect message gets the normal handshake.
                connect = not isinstance(msg, Exception) and msg.type == protocol.MSG_CONNECT
                conn.handshaked = not connect
                keep = answer_message(self.daemon.dispatcher, conn, msg)
                conn.handshaked = True
                if not keep:
                    self._finished()
                    return False
                if not conn.messages:
                    return True
        except errors.ConnectionClosedError:
            log.debug("existing connection closed by the peer")
        except (errors.TimeoutError, errors.ProtocolError, OSError) as x:
            log.warning("closing existing connection: %s", x)
        except Exception:
            log.exception("unexpected error handling request on existing connection")
        self._finished()
        return False

    def _finished(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None and self.selector is not None:
            try:
                self.selector.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        if conn is not None and conn.handshaked and self.daemon is not None:
            self.daemon._clientDisconnected(conn)

    @property
    def sockets(self) -> list:
        return [self.sock] if self.sock is not None else []

    def close(self) -> None:
        # the connected socket belongs to the caller: it is not closed here
        self.shutting_down = True
        self.wakeup()
        self._finished()
        self.sock = None
        if self.selector is not None:
            try:
                self.selector.close()
            except Exception:
                pass
        if self._wakeup is not None:
            self._wakeup.close()
            self._wakeup = None
