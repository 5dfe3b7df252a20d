"""Pieces shared by the socket servers: client connections, listening sockets, SSL, wakeup pipe."""
from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import ssl
import time
from typing import Any, Optional

from . import config, errors, socketutil

log = logging.getLogger("Pyro5.server")


class ClientConnection(socketutil.SocketConnection):
    """A client connection on the server: remembers the peer address and the time of last activity."""

    __slots__ = ("sock_addr", "last_use", "handshaked", "inflight")

    def __init__(self, sock: socket.socket, sock_addr: Any = None, keep_open: bool = False) -> None:
        super().__init__(sock, keep_open=keep_open)
        self.inflight = 0       # calls the client may have in flight (0: one at a time; Pyro5._capabilities)
        if sock_addr is None:
            try:
                sock_addr = sock.getpeername()
            except (OSError, AttributeError):
                sock_addr = None
        if isinstance(sock_addr, tuple) and len(sock_addr) > 2:
            sock_addr = sock_addr[:2]   # IPv6: (host, port, flowinfo, scope_id) -> (host, port)
        self.sock_addr = sock_addr
        self.last_use = time.monotonic()
        self.handshaked = False


def comm_timeout() -> Optional[float]:
    timeout = config.COMMTIMEOUT
    return timeout if timeout and timeout > 0 else None


def server_ssl_context() -> Optional[ssl.SSLContext]:
    if not config.SSL:
        return None
    if not config.SSL_SERVERCERT:
        raise errors.SecurityError("config.SSL is enabled but config.SSL_SERVERCERT (the server's certificate "
                                   "file) is not set")
    return socketutil.get_ssl_context(servercert=config.SSL_SERVERCERT, serverkey=config.SSL_SERVERKEY,
                                      cacerts=config.SSL_CACERTS, keypassword=config.SSL_SERVERKEYPASSWD)


def wrap_ssl(sock: socket.socket, context: ssl.SSLContext, handshake_timeout: float = 10.0) -> ssl.SSLSocket:
    """TLS server handshake on an accepted socket (raises on failure, e.g. a missing client certificate)."""
    timeout = sock.gettimeout()
    if timeout is None or timeout > handshake_timeout:
        # never let a client that doesn't do the TLS handshake block a worker forever
        sock.settimeout(handshake_timeout)
    ssock = context.wrap_socket(sock, server_side=True)
    ssock.settimeout(timeout)
    return ssock


def create_listening_socket(host: Optional[str], port: int, unixsocket: Optional[str]) -> tuple[socket.socket, str]:
    """Binds the daemon's server socket; returns it and its location string (host:port or ./u:path)."""
    if unixsocket:
        sock = socketutil.create_socket(bind=unixsocket, reuseaddr=config.SOCK_REUSE, timeout=None,
                                        noinherit=True, keepalive=False)
        return sock, "./u:" + unixsocket
    if host is None:
        host = config.HOST
    bind_host = host
    sock = socketutil.create_socket(bind=(bind_host, port or 0), reuseaddr=config.SOCK_REUSE, timeout=None,
                                    noinherit=True, keepalive=False, ipv6=None)
    sockname = sock.getsockname()
    real_port = sockname[1]
    if host in ("", "0.0.0.0", "::"):
        shown = sockname[0] if host else "0.0.0.0"
    else:
        shown = host
    if ":" in shown and not shown.startswith("["):
        shown = "[%s]" % shown
    return sock, "%s:%d" % (shown, real_port)


def remove_unix_socket(sock: Optional[socket.socket]) -> None:
    if sock is None or getattr(socket, "AF_UNIX", None) is None or sock.family != socket.AF_UNIX:
        return
    try:
        path = sock.getsockname()
    except OSError:
        return
    if isinstance(path, str) and path and not path.startswith("\0"):
        with contextlib.suppress(OSError):
            os.remove(path)


class Wakeup:
    """A self-pipe (socketpair) to wake a thread blocked in select()."""

    def __init__(self) -> None:
        self.reader, self.writer = socket.socketpair()
        self.reader.setblocking(False)
        self.writer.setblocking(False)

    def fileno(self) -> int:
        return self.reader.fileno()

    def wake(self) -> None:
        with contextlib.suppress(OSError):
            self.writer.send(b"!")

    def drain(self) -> None:
        with contextlib.suppress(OSError):
            while self.reader.recv(4096):
                pass

    def close(self) -> None:
        for s in (self.reader, self.writer):
            with contextlib.suppress(OSError):
                s.close()


def close_socket(sock: Any) -> None:
    # (try/except, not contextlib.suppress: this is on the path of every name server lookup, see _svr_accept)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError):
        pass
    try:
        sock.close()
    except (OSError, AttributeError):
        pass


class ServerControl:
    """The skeleton every socket server shares (thread pool, multiplex, existing connection): its state, the
    selector with the wakeup pipe that interrupts it, wakeup(), shutdown(), the wakeup socket's events, and the
    release of the selector and the pipe in close()."""

    daemon: Any
    sock: Optional[socket.socket]
    selector: Optional[selectors.BaseSelector]
    locationStr: str
    _wakeup: Optional[Wakeup]
    shutting_down: bool

    def _init_control(self, location: str = "") -> None:
        self.daemon = None
        self.sock = None
        self.selector = None
        self.locationStr = location
        self.shutting_down = False
        self._wakeup = None

    def _open_selector(self, sock: socket.socket, data: Any) -> None:
        """A new selector that watches sock (with data) and the wakeup pipe (data "wakeup")."""
        self._wakeup = Wakeup()
        self.selector = selectors.DefaultSelector()
        self.selector.register(sock, selectors.EVENT_READ, data)
        self.selector.register(self._wakeup.reader, selectors.EVENT_READ, "wakeup")

    def _wakeup_event(self, s: Any) -> bool:
        """(events()) Is s the wakeup pipe? Then it is drained."""
        if self._wakeup is not None and s is self._wakeup.reader:
            self._wakeup.drain()
            return True
        return False

    def _release_selector(self) -> None:
        """(close()) close the selector and the wakeup pipe."""
        if self.selector is not None:
            try:
                self.selector.close()
            except Exception:
                pass
        if self._wakeup is not None:
            self._wakeup.close()
            self._wakeup = None

    def __repr__(self) -> str:
        return "<%s on %s>" % (self.__class__.__name__, self.locationStr)

    def wakeup(self) -> None:
        if self._wakeup is not None:
            self._wakeup.wake()

    def shutdown(self) -> None:
        self.shutting_down = True
        self.wakeup()


class CombinedSockets(ServerControl):
    """Base of the two listening servers (thread pool, multiplex): accepting a connection, and other servers
    (another daemon, the name server's broadcast responder) whose `sockets` are watched by this server's
    selector and whose `events(sockets)` is called for them."""

    _combined: list[Any]

    def _accept_socket(self, raw: bool = False) -> Optional[tuple[Any, Any]]:
        """Accept one pending connection: (socket, address), or None when there was none or accept failed; raw:
        (file descriptor, address), the socket module's own step without its socket object (see svr_threads)."""
        if self.sock is None:
            return None
        try:
            return self.sock._accept() if raw else self.sock.accept()   # type: ignore[attr-defined]
        except (BlockingIOError, InterruptedError):
            return None
        except OSError as x:
            if not self.shutting_down:
                log.warning("accept() failed: %s", x)
            return None

    def combine(self, other: Any) -> None:
        self._combined.append(other)
        self.wakeup()

    def _sync_combined(self) -> None:
        """Make the selector watch exactly the current sockets of the combined servers."""
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
