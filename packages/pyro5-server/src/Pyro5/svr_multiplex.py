"""Socket server based on socket multiplexing (selectors). No threads: calls are processed one at a time.

Nothing a single client does can block the loop: a readable connection is read non-blockingly into a
per-connection buffer, and a message is only dispatched to the daemon once it is complete (40-byte header,
annotations and body; MAX_MESSAGE_SIZE is checked from the header). TLS handshakes are done non-blockingly
too, and a result the socket can't take right away is kept in a send buffer that is written when the socket
is writable (meanwhile no new requests of that client are read).
A new connection is registered right away; the Pyro handshake is done when its connect message arrives, so a
client that connects and stays silent does not hold anything up. A client that starts a message (or a TLS
handshake) and stalls, or stops reading its result, is disconnected after limits.partial_message_timeout (see
_svr_limits). With COMMTIMEOUT set, connections idle for longer than that are closed by the housekeeping.
"""
from __future__ import annotations

import logging
import selectors
import socket
import ssl
import time
from typing import Any, Callable, Optional, cast

from . import config, errors
from ._svr_common import (
    CombinedSockets,
    close_socket,
    comm_timeout,
    create_listening_socket,
    remove_unix_socket,
    server_ssl_context,
)
from ._svr_conn import MuxConnection
from ._svr_inflight import InflightCalls
from ._svr_limits import DEFAULT_LIMITS, ServerLimits
from ._svr_plain import PlainRequests
from ._svr_serve import CONNECTION_LOG, answer_next, close_client

__all__ = ["SocketServer_Multiplex"]

log = logging.getLogger("Pyro5.multiplexserver")

_READ = selectors.EVENT_READ
_running_calls = InflightCalls.running     # (a connection with calls in flight on workers is not idle)
_HOUSEKEEPING_STEP = 0.01     # seconds between the deadline/idle checks of a busy loop
_WRITE = selectors.EVENT_WRITE


class SocketServer_Multiplex(CombinedSockets, PlainRequests):
    """Multiplexed transport server for socket connections (uses the best selector of the platform)."""

    _log = log
    _answers_plain = True   # the loop thread answers the usual request itself (see _answer_plain)

    def __init__(self) -> None:
        self._init_control()
        self._ssl_context: Any = None
        self._connections: dict[Any, MuxConnection] = {}
        self._watch: set[MuxConnection] = set()     # connections with a deadline (partial message, TLS, send)
        self._combined: list[Any] = []
        self._in_loop = False
        self._last_idle_scan = 0.0
        self._next_housekeeping = 0.0
        # connections whose message is being processed elsewhere (the thread pool server's workers): not in
        # the selector meanwhile
        self._busy: set[MuxConnection] = set()
        self.limits: ServerLimits = DEFAULT_LIMITS     # (the daemon's, from init on)

    def init(self, daemon: Any, host: Optional[str], port: int, unixsocket: Optional[str] = None) -> None:
        log.info("starting multiplexed socketserver")
        self._listen(daemon, host, port, unixsocket)

    def _listen(self, daemon: Any, host: Optional[str], port: int, unixsocket: Optional[str]) -> None:
        self.daemon = daemon
        self.limits = daemon.limits
        self._ssl_context = server_ssl_context()
        self.sock, self.locationStr = create_listening_socket(host, port, unixsocket)
        self.sock.setblocking(False)
        self._open_selector(self.sock, "accept")

    def __repr__(self) -> str:
        return "<%s on %s; %d connections>" % (self.__class__.__name__, self.locationStr, len(self._connections))

    @property
    def max_inflight(self) -> int:
        """calls a connection may have in flight (granted on the connect handshake when the client asks for it):
        daemon.limits.max_inflight (unless set on the server itself). This server answers them in order, one at
        a time; the thread pool server runs them concurrently (see _svr_inflight)."""
        value = self.__dict__.get("_max_inflight")
        return max(0, int(self.limits.max_inflight if value is None else value))

    @max_inflight.setter
    def max_inflight(self, value: int) -> None:
        self.__dict__["_max_inflight"] = value

    # ------------------------------------------------------------------ loop

    def loop(self, loopCondition: Callable[[], bool] = lambda: True) -> None:
        log.debug("multiplex server requestloop")
        poll = self.limits.poll_interval(capped=bool(config.COMMTIMEOUT or self._combined))
        self._in_loop = True
        try:
            while self.sock is not None and not self.shutting_down and loopCondition():
                try:
                    if self._combined:
                        self._sync_combined()
                    events = self.selector.select(min(poll, self.limits.watch_poll) if self._watch else poll)  # type: ignore
                except (OSError, ValueError, AttributeError):
                    if self.shutting_down or self.sock is None:
                        break
                    raise
                for key, mask in events:
                    data = key.data
                    if isinstance(data, MuxConnection):     # (the usual event: one frame less per call)
                        self._handle_connection(data, mask)
                    else:
                        self._handle_key(key, mask)
                    if self.shutting_down:
                        break
                self._housekeeping()
        finally:
            self._in_loop = False
        log.debug("multiplex server exits requestloop")

    def _handle_key(self, key: selectors.SelectorKey, mask: int) -> None:
        data = key.data
        if isinstance(data, MuxConnection):
            self._handle_connection(data, mask)
        elif data == "accept":
            self._accept()
        elif data == "wakeup":
            self._wakeup.drain()  # type: ignore[union-attr]
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
            elif self._wakeup_event(s):
                pass
            elif s in self._connections:
                conn = self._connections.get(s)     # (a thread pool worker may have closed it meanwhile)
                if conn is not None and conn not in self._busy:
                    self._handle_connection(conn, _READ | _WRITE)
            else:
                for other in self._combined:
                    if s in other.sockets:
                        other.events([s])
                        break
        self._housekeeping()


    def _housekeeping(self) -> None:
        if self.daemon is None:
            return
        now = time.monotonic()
        if now < self._next_housekeeping:
            return      # (called after every selector round: the checks below need not run more often)
        self._next_housekeeping = now + _HOUSEKEEPING_STEP
        if self._watch:
            self._check_deadlines()
        timeout = comm_timeout()
        if timeout and self._connections:
            now = time.monotonic()
            if now - self._last_idle_scan >= self.limits.idle_scan_interval:
                self._last_idle_scan = now
                for conn in list(self._connections.values()):
                    if now - conn.last_use > timeout and conn not in self._busy and not _running_calls(conn):
                        log.info("closing idle connection from %s (COMMTIMEOUT %s expired)", conn.sock_addr, timeout)
                        self._close_connection(conn)
        self.daemon._housekeeping()

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        limit = self.limits.partial_message_timeout
        for conn in list(self._watch):
            if conn.tls_since is not None:
                if now - conn.tls_since > limit:
                    log.warning("closing connection from %s: TLS handshake not completed within %s s",
                                conn.sock_addr, limit)
                    self._close_connection(conn)
            elif conn.outbuf is not None:
                if now - conn.out_since > limit:
                    log.warning("closing connection from %s: it did not read its result for %s s (%d bytes unsent)",
                                conn.sock_addr, limit, conn.unsent)
                    self._close_connection(conn)
            elif conn.msg_start is not None:
                if now > self.limits.allowed_until(conn.msg_start, conn.buffered):
                    log.warning("closing connection from %s: incomplete message (%d bytes) not completed in time",
                                conn.sock_addr, conn.buffered)
                    self._close_connection(conn)
            else:
                self._watch.discard(conn)

    # ------------------------------------------------------------------ connections

    def _accept(self) -> None:
        accepted = self._accept_socket()
        if accepted is None:
            return
        csock, caddr = accepted
        csock.setblocking(False)
        if csock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                csock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        sock: Any = csock
        if self._ssl_context:
            try:
                sock = self._ssl_context.wrap_socket(csock, server_side=True, do_handshake_on_connect=False)
            except Exception as x:
                log.warning("cannot set up TLS for the connection from %s: %s", caddr, x)
                close_socket(csock)
                return
        conn = MuxConnection(sock, caddr, self.limits)
        self._connections[sock] = conn
        if not self._ssl_context and self._take_new(conn):
            return      # (the thread pool server: a worker reads the connect message)
        try:
            self.selector.register(sock, _READ, conn)  # type: ignore[union-attr]
        except (ValueError, OSError, KeyError):
            self._connections.pop(sock, None)
            close_socket(sock)
            return
        if self._ssl_context:
            conn.tls_since = time.monotonic()
            self._watch.add(conn)
            self._tls_handshake(conn)

    def _take_new(self, conn: MuxConnection) -> bool:
        """(the thread pool server hands a new connection to a worker right away) False: the selector watches it."""
        return False

    def _set_events(self, conn: MuxConnection, events: int) -> None:
        try:
            key = self.selector.get_key(conn.sock)  # type: ignore[union-attr]
            if key.events != events:
                self.selector.modify(conn.sock, events, conn)  # type: ignore[union-attr]
        except (KeyError, ValueError, OSError, AttributeError):
            pass

    def _tls_handshake(self, conn: MuxConnection) -> bool:
        """Continue the TLS handshake; True when it is done."""
        try:
            cast(ssl.SSLSocket, conn.sock).do_handshake()
        except ssl.SSLWantReadError:
            self._set_events(conn, _READ)
            return False
        except ssl.SSLWantWriteError:
            self._set_events(conn, _WRITE)
            return False
        except (ssl.SSLError, OSError, ValueError) as x:
            log.warning("SSL handshake with %s failed: %s", conn.sock_addr, x)
            self._close_connection(conn, notify=False)
            return False
        conn.tls_since = None
        self._set_events(conn, _READ)
        return True

    def _handle_connection(self, conn: MuxConnection, mask: int) -> None:
        if conn.tls_since is not None:
            if not self._tls_handshake(conn):
                return
            mask = _READ     # the client may have sent its first message with the handshake
        if conn.outbuf is not None:
            if not mask & _WRITE:
                return
            try:
                done = conn.flush()
                conn.last_use = conn.out_since
            except errors.ConnectionClosedError as x:
                log.debug("connection from %s lost while sending: %s", conn.sock_addr, x)
                self._close_connection(conn)
                return
            if not done:
                return
            self._set_events(conn, _READ)
            mask = _READ     # messages that arrived meanwhile may be buffered already
            self._process(conn)
            if conn.sock not in self._connections or conn.outbuf is not None or conn in self._busy:
                return
        if not mask & _READ:
            return
        conn.last_use = time.monotonic()
        received = None
        if self._answers_plain and conn.handshaked and not (
                conn.messages or conn.read_error is not None or conn.header_first or conn.reader.received_bytes
                or conn.inflight or conn.is_tls or self.shutting_down):
            received = self._answer_plain(conn)
            if received is None:
                return
        while True:
            open_ = conn.read_available(received)
            received = None
            self._process(conn)
            if conn in self._busy:      # (a worker has the connection now; it is looked at again afterwards)
                return
            # (TLS: decrypted bytes already inside the SSL object never make the socket readable again)
            if not (conn.is_tls and open_ and conn.outbuf is None and not self.shutting_down and conn.tls_pending()
                    and conn.sock in self._connections):
                break
        if not open_ and conn.sock in self._connections:
            log.debug("disconnected %s", conn.sock_addr)
            self._close_connection(conn)

    def _process(self, conn: MuxConnection) -> None:
        """Dispatch every complete message in the connection's buffer (stops when a send is pending)."""
        conn.buffer_writes = self._in_loop
        while conn.outbuf is None and not self.shutting_down:
            if not conn.messages and conn.read_error is None:     # (conn.has_message(), inline: once a call)
                if conn.buffered:       # (part of a message arrived: the rest must follow in time)
                    if conn.msg_start is None:
                        conn.msg_start = time.monotonic()
                        self._watch.add(conn)
                else:
                    conn.msg_start = None
                return
            conn.msg_start = None
            if not self._dispatch(conn):
                return
        if conn.outbuf is not None:
            self._watch.add(conn)
            self._set_events(conn, _WRITE)

    def _dispatch(self, conn: MuxConnection) -> bool:
        """Hand one message to the daemon; False when the connection was closed (or is busy elsewhere)."""
        try:
            keep = self._run_message(conn)
        except BaseException:
            # (e.g. SystemExit from validateHandshake: it ends the loop, as in the original; but the client
            # learns it right away, instead of waiting for its timeout)
            self._close_connection(conn)
            raise
        if not keep:
            self._close_connection(conn)
        return keep

    def _run_message(self, conn: MuxConnection) -> bool:
        """Let the daemon handle one complete message (the connect message first); False when the connection
        must be closed."""
        return answer_next(self._log, CONNECTION_LOG, self.daemon.dispatcher, conn, conn.next_message)

    def _close_connection(self, conn: MuxConnection, notify: bool = True) -> None:
        self._watch.discard(conn)
        if self._connections.pop(conn.sock, None) is None:
            return
        if self.selector is not None:
            try:
                self.selector.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
        if conn.outbuf is not None:
            try:
                conn.flush()     # best effort (for instance an error message before closing)
            except errors.CommunicationError:
                pass
        if notify:
            close_client(self.daemon, conn)
        else:
            conn.close()

    # ------------------------------------------------------------------ control

    @property
    def sockets(self) -> list:
        """the server socket, the client connections, and the sockets of the combined daemons/servers"""
        combined = [s for other in self._combined for s in other.sockets]
        connections = [s for s, conn in list(self._connections.items()) if conn not in self._busy]
        return ([self.sock] if self.sock is not None else []) + connections + combined

    def close(self) -> None:
        self.shutting_down = True
        self.wakeup()
        for conn in list(self._connections.values()):
            self._close_connection(conn)
        sock, self.sock = self.sock, None
        self._release_selector()
        if sock is not None:
            remove_unix_socket(sock)
            close_socket(sock)
