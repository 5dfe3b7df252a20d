"""Socket server for a single, already connected socket (for instance one end of a socket.socketpair()).

The loop serves that one connection until it is closed by the peer (or the daemon shuts down).
The socket belongs to the caller: closing the daemon does not close it.
"""
from __future__ import annotations

import logging
import socket
from typing import Any, Callable, Optional

from . import errors, protocol
from ._svr_common import ServerControl, comm_timeout
from ._svr_conn import ThreadConnection
from ._svr_serve import EXISTING_CONNECTION_LOG, answer_next, close_client

__all__ = ["SocketServer_ExistingConnection"]

log = logging.getLogger("Pyro5.existingconnectionserver")


class SocketServer_ExistingConnection(ServerControl):
    """transport server that serves one existing connected socket"""

    def __init__(self) -> None:
        self._init_control("./u:<<not-bound>>")
        self.conn: Optional[ThreadConnection] = None

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
        self._open_selector(connected_socket, "conn")

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
            else:
                self._wakeup_event(s)

    def combine(self, other: Any) -> None:
        raise errors.PyroError("cannot combine daemons when serving an existing connection (connected_socket)")

    def _handle(self) -> bool:
        """Handle the next message (and the ones that arrived with it); returns False when the connection is
        finished."""
        conn = self.conn
        if conn is None:
            return False
        while True:
            keep = answer_next(log, EXISTING_CONNECTION_LOG, self.daemon.dispatcher, conn, self._read)
            conn.handshaked = True
            if not keep:
                self._finished()
                return False
            if not conn.messages:
                return True

    def _read(self) -> protocol.ReceivingMessage:
        # The connection counts as established: proxies on a connected socket (the original's too) send their
        # calls right away; a proxy that does send a connect message gets the normal handshake.
        conn = self.conn
        assert conn is not None
        msg = conn.read_message()
        conn.handshaked = msg.type != protocol.MSG_CONNECT
        return msg

    def _finished(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None and self.selector is not None:
            try:
                self.selector.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        if conn is not None:
            close_client(self.daemon, conn)     # (keep_open: the socket stays open)

    @property
    def sockets(self) -> list:
        return [self.sock] if self.sock is not None else []

    def close(self) -> None:
        # the connected socket belongs to the caller: it is not closed here
        self.shutting_down = True
        self.wakeup()
        self._finished()
        self.sock = None
        self._release_selector()
