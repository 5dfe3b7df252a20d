"""Socket server based on socket multiplexing (selectors). No threads: calls are processed one at a time.

A new connection is registered right away; its handshake is done when its first message arrives, so a
client that connects and stays silent does not block the others. Reading a message that has started uses
COMMTIMEOUT (or 10 seconds when that is 0) so that a truncated message can't stall the server forever.
With COMMTIMEOUT set, connections idle for longer than that are closed by the housekeeping.
"""
from __future__ import annotations

import logging
import selectors
import socket
import time
from typing import Any, Callable, Optional

from . import config, errors
from ._svr_common import (
    ClientConnection,
    Wakeup,
    close_socket,
    comm_timeout,
    create_listening_socket,
    remove_unix_socket,
    server_ssl_context,
    wrap_ssl,
)

__all__ = ["SocketServer_Multiplex"]

log = logging.getLogger("Pyro5.svr_multiplex")

_READ_TIMEOUT_WITHOUT_COMMTIMEOUT = 10.0


class SocketServer_Multiplex:
    """Multiplexed transport server for socket connections (uses the best selector of the platform)."""

    def __init__(self) -> None:
        self.daemon: Any = None
        self.sock: Optional[socket.socket] = None
        self.selector: Optional[selectors.BaseSelector] = None
        self.locationStr = ""
        self.shutting_down = False
        self._wakeup: Optional[Wakeup] = None
        self._ssl_context: Any = None
        self._connections: dict[socket.socket, ClientConnection] = {}
        self._combined: list[Any] = []

    def init(self, daemon: Any, host: Optional[str], port: int, unixsocket: Optional[str] = None) -> None:
        log.info("starting multiplexed socketserver")
        self.daemon = daemon
        self._ssl_context = server_ssl_context()
        self.sock, self.locationStr = create_listening_socket(host, port, unixsocket)
        self.sock.setblocking(False)
        self._wakeup = Wakeup()
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.sock, selectors.EVENT_READ, "accept")
        self.selector.register(self._wakeup.reader, selectors.EVENT_READ, "wakeup")

    def __repr__(self) -> str:
        return "<%s on %s; %d connections>" % (self.__class__.__name__, self.locationStr, len(self._connections))

    # ------------------------------------------------------------------ loop

    def loop(self, loopCondition: Callable[[], bool] = lambda: True) -> None:
        log.debug("multiplex server requestloop")
        poll = max(float(config.POLLTIMEOUT or 1.0), 0.05)
        poll = min(poll, 1.0) if config.COMMTIMEOUT or self._combined else poll
        while self.sock is not None and not self.shutting_down and loopCondition():
            try:
                self._sync_combined()
                events = self.selector.select(poll)  # type: ignore[union-attr]
            except (OSError, ValueError, AttributeError):
                if self.shutting_down or self.sock is None:
                    break
                raise
            for key, _ in events:
                self._handle_key(key)
                if self.shutting_down:
                    break
            self._housekeeping()
        log.debug("multiplex server exits requestloop")

    def _handle_key(self, key: selectors.SelectorKey) -> None:
        data = key.data
        if data == "accept":
            self._accept()
        elif data == "wakeup":
            self._wakeup.drain()  # type: ignore[union-attr]
        elif isinstance(data, ClientConnection):
            self._handle_connection(data)
        elif isinstance(data, tuple) and data[0] == "combined":
            try:
                data[1].events([key.fileobj])
            except Exception:
                log.exception("error handling events of combined server")

    def events(self, eventsockets: Any) -> None:
        """used for external event loops: handle events that occur on one of the sockets of this server"""
        for s in eventsockets:
            if s is self.sock:
                self._accept()
            elif self._wakeup is not None and s is self._wakeup.reader:
                self._wakeup.drain()
            elif s in self._connections:
                self._handle_connection(self._connections[s])
            else:
                for other in self._combined:
                    if s in other.sockets:
                        other.events([s])
                        break
        self._housekeeping()

    def combine(self, other: Any) -> None:
        self._combined.append(other)
        self.wakeup()

    def _sync_combined(self) -> None:
        if not self._combined or self.selector is None:
            return
        wanted = {}
        for other in self._combined:
            for s in other.sockets:
                wanted[s] = other
        registered = {key.fileobj: key for key in self.selector.get_map().values()
                      if isinstance(key.data, tuple)}
        for s in list(registered):
            if s not in wanted or registered[s].data[1] is not wanted[s]:
                try:
                    self.selector.unregister(s)
                except (KeyError, ValueError, OSError):
                    pass
        for s, other in wanted.items():
            if s not in registered:
                try:
                    self.selector.register(s, selectors.EVENT_READ, ("combined", other))
                except (KeyError, ValueError, OSError):
                    pass

    def _housekeeping(self) -> None:
        if self.daemon is None:
            return
        timeout = comm_timeout()
        if timeout and self._connections:
            now = time.monotonic()
            for conn in list(self._connections.values()):
                if now - conn.last_use > timeout:
                    log.info("closing idle connection from %s (COMMTIMEOUT %s expired)", conn.sock_addr, timeout)
                    self._close_connection(conn)
        self.daemon._housekeeping()

    # ------------------------------------------------------------------ connections

    def _accept(self) -> None:
        if self.sock is None:
            return
        try:
            csock, caddr = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as x:
            if not self.shutting_down:
                log.warning("accept() failed: %s", x)
            return
        csock.setblocking(True)
        csock.settimeout(comm_timeout() or _READ_TIMEOUT_WITHOUT_COMMTIMEOUT)
        if csock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                csock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        sock: Any = csock
        if self._ssl_context:
            try:
                sock = wrap_ssl(csock, self._ssl_context)
            except Exception as x:
                log.warning("SSL handshake with %s failed: %s", caddr, x)
                close_socket(csock)
                return
        conn = ClientConnection(sock, caddr)
        self._connections[sock] = conn
        try:
            self.selector.register(sock, selectors.EVENT_READ, conn)  # type: ignore[union-attr]
        except (ValueError, OSError, KeyError):
            self._connections.pop(sock, None)
            close_socket(sock)

    def _handle_connection(self, conn: ClientConnection) -> None:
        conn.last_use = time.monotonic()
        if not conn.handshaked:
            if self.daemon._handshake(conn):
                conn.handshaked = True
            else:
                self._close_connection(conn, notify=False)
            return
        try:
            self.daemon.handleRequest(conn)
        except errors.ConnectionClosedError:
            log.debug("disconnected %s", conn.sock_addr)
            self._close_connection(conn)
        except errors.TimeoutError:
            log.warning("closing connection from %s: timeout while reading a message", conn.sock_addr)
            self._close_connection(conn)
        except errors.ProtocolError as x:
            log.warning("closing connection from %s after protocol error: %s", conn.sock_addr, x)
            self._close_connection(conn)
        except OSError as x:
            log.debug("socket error on connection from %s: %s", conn.sock_addr, x)
            self._close_connection(conn)
        except Exception:
            log.exception("unexpected error handling request from %s; closing the connection", conn.sock_addr)
            self._close_connection(conn)

    def _close_connection(self, conn: ClientConnection, notify: bool = True) -> None:
        if self._connections.pop(conn.sock, None) is None:
            return
        if self.selector is not None:
            try:
                self.selector.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        conn.close()
        if notify and conn.handshaked and self.daemon is not None:
            self.daemon._clientDisconnected(conn)

    # ------------------------------------------------------------------ control

    @property
    def sockets(self) -> list:
        return ([self.sock] if self.sock is not None else []) + list(self._connections)

    def wakeup(self) -> None:
        if self._wakeup is not None:
            self._wakeup.wake()

    def shutdown(self) -> None:
        self.shutting_down = True
        self.wakeup()

    def close(self) -> None:
        self.shutting_down = True
        self.wakeup()
        for conn in list(self._connections.values()):
            self._close_connection(conn)
        sock, self.sock = self.sock, None
        if self.selector is not None:
            try:
                self.selector.close()
            except Exception:
                pass
        if sock is not None:
            remove_unix_socket(sock)
            close_socket(sock)
        if self._wakeup is not None:
            self._wakeup.close()
            self._wakeup = None
