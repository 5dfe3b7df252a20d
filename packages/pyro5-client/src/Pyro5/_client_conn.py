"""The connection side of a Proxy: the socket, the sequence number, the handshake exchange, the stream closes
still to send, the lock around connecting, and the blocking I/O of a call. What the messages mean is the call
codec's job (``_client_codec``); the Proxy facade (``Pyro5.client``) ties the two together.

Received bytes go through a ``protocol.MessageReader`` (one per connection), which checks every frame. Sending and
receiving go through the blocking stream layer (``Pyro5._wire_stream``) with its one deadline model: the timeout
(``proxy._pyroTimeout``, default config.COMMTIMEOUT; 0 or None means none) is the limit for sending a whole request
(all its parts) and, from the moment the request was sent, for receiving the whole reply, however its bytes trickle
in; connecting uses the socket timeout. Any failure of the
connection releases it and raises ConnectionClosedError (TimeoutError for a timeout): the connection is out of
sync then, and the proxy reconnects at its next call.

Kernel timeouts: a socket in Python's timeout mode has a non-blocking descriptor, and every receive is a poll()
then a recv(); each system call releases the GIL, and with many threads calling at once each release costs a
wait to get it back (a futex wait and a context switch). So the usual call (``Pyro5._client_fast``) switches
the socket of a connection the proxy opened itself (`ProxySocketConnection`, plain TCP or unix, Linux) to a
blocking descriptor whose SO_RCVTIMEO holds the timeout: a call is then one send (MSG_DONTWAIT: it never blocks)
and one recv, which the kernel ends with EAGAIN when the timeout passes (`receive_reply`: Pyro's TimeoutError).
Only that first receive of a reply is bounded by the kernel; anything more (a reply bigger than one receive, the
rest of a request the socket did not take at once) goes through ``_wire_stream`` with what is left of the
deadline, as before.
"""
from __future__ import annotations

import logging
import os
import socket
import ssl
import struct
import sys
import threading
import time
from typing import Any, Optional

from . import _wire_reader, _wire_stream, config, errors, protocol, socketutil

__all__ = ["ProxyConnection"]

log = logging.getLogger("Pyro5.client")

_MSG_RESULT = (protocol.MSG_RESULT,)
_CONNECT_RESULT_TYPES = (protocol.MSG_CONNECTOK, protocol.MSG_CONNECTFAIL)
_recv_message = _wire_stream.recv_message
_whole_message = _wire_reader.whole_message
_whole_reply = _wire_reader.whole_reply
_send = _wire_stream.send
_connect = socketutil._connect     # (a timeout becomes Pyro's TimeoutError)
_monotonic = time.monotonic
_FIRST_RECV = 4096      # (as _wire_stream: all of a small reply)
_MIN_REMAINING = 1e-6
_SO_RCVTIMEO = (socket.SOL_SOCKET, getattr(socket, "SO_RCVTIMEO", 0))
# SO_RCVTIMEO takes a struct timeval: two longs on 64-bit Linux (other systems keep Python's timeout mode)
_KERNEL_TIMEOUTS = sys.platform.startswith("linux") and hasattr(socket, "SO_RCVTIMEO") and struct.calcsize("l") == 8
_timeval = struct.Struct("@ll")
_NO_TIMEVAL = _timeval.pack(0, 0)     # (0: no timeout)
_write = os.write
_plain_socket: Any = socket.socket if os.name == "posix" else None    # (Windows sockets are no file descriptors)


class ProxySocketConnection(socketutil.SocketConnection):
    """The SocketConnection of a connection a proxy opened itself, whose socket may use kernel timeouts (module
    documentation). `timeout` (and get/settimeout) still says the proxy's timeout; setting it ends kernel
    timeouts (the next usual call switches again)."""

    kernel_timeout: Optional[float] = None      # the timeout in SO_RCVTIMEO while the descriptor is blocking

    def use_kernel_timeout(self, timeout: float) -> bool:
        """Switch the socket (now in Python's timeout mode with `timeout`) to a blocking descriptor with `timeout`
        in SO_RCVTIMEO; False (and nothing changed) where that is not available."""
        sock = self.sock
        if not _KERNEL_TIMEOUTS or type(sock) is not socket.socket:     # (not on TLS sockets)
            return False
        seconds = int(timeout)
        micros = int((timeout - seconds) * 1e6) or (0 if seconds else 1)    # (all zero would mean no timeout)
        try:
            sock.setsockopt(*_SO_RCVTIMEO, _timeval.pack(seconds, micros))
            sock.settimeout(None)
        except (OSError, OverflowError):
            return False
        self.kernel_timeout = timeout
        return True

    def settimeout(self, timeout: Optional[float]) -> None:
        if self.kernel_timeout is not None:
            self.kernel_timeout = None
            try:
                self.sock.setsockopt(*_SO_RCVTIMEO, _NO_TIMEVAL)
            except OSError:
                pass    # (closed: settimeout tells)
        self.sock.settimeout(timeout)

    def gettimeout(self) -> Optional[float]:
        timeout = self.sock.gettimeout()
        if timeout is None and self.kernel_timeout is not None:
            return self.kernel_timeout
        return timeout

    setTimeout = settimeout
    getTimeout = gettimeout
    timeout = property(gettimeout, settimeout)      # type: ignore[assignment]


def receive_reply(sock: Any, reader: protocol.MessageReader, timeout: float | None, direct: bool,
                  seq: int | None = None, serializer_id: int = 0) -> Any:
    """Receive the daemon's reply to the one request in flight (the messages `reader` completes, a list) within
    `timeout` seconds from now (None: no limit; see Pyro5._wire_stream). `direct`: the socket's own timeout (or its
    kernel timeout) is `timeout`, so one plain recv() comes first: usually all of a reply; anything more goes through
    _wire_stream.recv_message within what is left of the timeout.
    With `seq` (the usual call, Pyro5._client_fast): when that first receive is exactly one whole plain reply with
    this sequence number and `serializer_id` (_wire_reader.whole_reply: no annotations, no flags but a correlation
    id), its payload (bytes) instead of the list; everything else goes through the reader as before."""
    if direct:
        start = None if timeout is None else _monotonic()
        try:
            data = sock.recv(_FIRST_RECV)
        except (TimeoutError, BlockingIOError):     # (BlockingIOError: the kernel's timeout ran out, EAGAIN)
            raise errors.TimeoutError("receiving: timeout") from None
        except (InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            data = None
        except OSError as x:
            raise errors.ConnectionClosedError("receiving: connection lost: %s" % x) from x
        if data is not None:
            if not data:
                raise errors.ConnectionClosedError("receiving: connection closed by the daemon")
            if seq is not None:
                payload = _whole_reply(reader, data, seq, serializer_id)
                if payload is not None:
                    return payload
            messages = reader.feed(data)
            if messages:
                return messages
        if start is not None:
            timeout = max(timeout - (_monotonic() - start), _MIN_REMAINING)  # type: ignore[operator]
    return _recv_message(sock, reader, timeout, peer="daemon")


def _read_message(sock: Any, reader: protocol.MessageReader, timeout: float | None, direct: bool = False
                  ) -> protocol.ReceivingMessage:
    """Blocking read of the next message on `sock` (the reply to the one request in flight), within `timeout`
    seconds from now for the whole message (receive_reply)."""
    messages = receive_reply(sock, reader, timeout, direct) if direct else \
        _recv_message(sock, reader, timeout, peer="daemon")
    if len(messages) > 1:
        raise errors.ProtocolError("the daemon sent more than the reply: the connection is out of sync")
    return messages[0]



def check_reply_seq(msg: Any, seq: int) -> None:
    """ProtocolError unless the reply has the request's sequence number (the connection is out of sync)."""
    if msg.seq != seq:
        raise errors.ProtocolError("invalid response sequence number %d, expected %d: the connection is out "
                                   "of sync" % (msg.seq, seq))

class ProxyConnection:
    """One proxy's connection state and blocking I/O (see the module documentation). ``conn`` is the
    SocketConnection (the proxy's ``_pyroConnection``) or None while not connected."""

    __slots__ = ("conn", "seq", "lock", "pending_closes", "busy", "connected_socket", "_local", "timeout",
                 "reader", "peer")

    def __init__(self, connected_socket: Any = None, timeout: float | None = None) -> None:
        self.conn: socketutil.SocketConnection | None = None
        self.seq = 0                        # the sequence number of the last request
        self.lock = threading.RLock()       # held while connecting
        self.pending_closes: list[str] = []  # stream ids whose close_stream is sent before the next call
        self.busy = False                   # in the middle of a call (between sending and the reply)
        self.connected_socket = connected_socket   # a user-supplied socket (Proxy(uri, connected_socket))
        self._local: Any = None             # the local address of the connection (asked for on first use)
        self.timeout = timeout
        self.reader: protocol.MessageReader | None = None
        self.peer: Any = ""                 # what the connection goes to (for messages: formatted with %s)

    @property
    def local_socket(self) -> Any:
        """The local address of the connection (None while not connected)."""
        local = self._local
        if local is None and self.conn is not None:
            try:
                local = self._local = self.conn.sock.getsockname()
            except (OSError, AttributeError):
                return None
        return local

    def set_timeout(self, timeout: float | None) -> None:
        self.timeout = timeout
        conn = self.conn
        if conn is not None:
            conn.timeout = timeout or None

    def next_seq(self) -> int:
        """The sequence number for the next request."""
        seq = self.seq = (self.seq + 1) & 0xffff
        return seq

    # ------------------------------------------------------------------------------------ connecting

    def adopt_socket(self, object_id: str, peer: str) -> None:
        """Use the user-supplied connected socket: the daemon on the other end treats it as an established
        connection, so there is no connect handshake (as the original Pyro5 does it)."""
        sock = self.connected_socket
        conn = socketutil.SocketConnection(sock, object_id, True)     # (the user's socket keeps its mode)
        if self.timeout:
            conn.timeout = self.timeout
        self.attach(conn, peer)

    def open(self, location: Any, object_id: str, bare: bool = False) -> socketutil.SocketConnection:
        """A new connection to `location` ((host, port) or a unix socket path), not attached yet. bare: see
        open_socket()."""
        sock = open_socket(location, self.timeout, bare)
        conn = ProxySocketConnection(sock, object_id)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("connected to %s - %s - %s", location, conn.family(),
                      "SSL" if isinstance(sock, ssl.SSLSocket) else "unencrypted")
        return conn

    def handshake(self, conn: socketutil.SocketConnection, request: protocol.SendingMessage, location: Any
                  ) -> protocol.ReceivingMessage:
        """Send the connect request over the new connection `conn`; the daemon's answer (CONNECTOK/CONNECTFAIL)."""
        return handshake_socket(conn.sock, request, location, self.timeout)

    def attach(self, conn: socketutil.SocketConnection, peer: Any) -> None:
        """`conn` (connected, handshake done) becomes this proxy's connection; `peer`: what it goes to, for messages
        (a str, or an object such as the URI that is formatted with %s when a message needs it)."""
        self.conn = conn
        self._local = None
        self.reader = protocol.MessageReader(_MSG_RESULT, log)
        self.peer = peer

    def release(self) -> bool:
        """Close the connection (True when there was one). The daemon discards the streams of a closed connection,
        so the pending stream closes are dropped."""
        conn = self.conn
        if conn is None:
            return False
        self.conn = None
        self._local = None
        self.reader = None
        self.pending_closes = []
        self.busy = False
        conn.close()
        return True

    # ------------------------------------------------------------------------------------ calls

    def send(self, request: protocol.SendingMessage, reply: bool) -> None:
        """Send a request (its parts: a big payload goes without being copied behind the header); `reply`: a
        reply will be waited for (receive() comes next)."""
        conn = self.conn
        assert conn is not None
        self.busy = reply
        try:
            _send(conn.sock, request.parts, self.timeout or None)
        except BaseException as x:
            self.lost(x)
            raise

    def receive(self, seq: int) -> protocol.ReceivingMessage:
        """The reply to the request with sequence number `seq`."""
        conn = self.conn
        reader = self.reader
        assert conn is not None and reader is not None
        timeout = self.timeout or None
        sock = conn.sock
        try:
            msg = _read_message(sock, reader, timeout, timeout is not None and sock.gettimeout() is None and
                                getattr(conn, "kernel_timeout", None) == timeout)
            check_reply_seq(msg, seq)
        except BaseException as x:
            self.lost(x)
            raise
        finally:
            self.busy = False
        return msg

    def lost(self, x: BaseException) -> None:
        # the connection is out of sync (an error, or KeyboardInterrupt etc. while waiting): release it; an OSError
        # that is not a Pyro error becomes ConnectionClosedError
        peer = self.peer
        self.release()
        if isinstance(x, OSError) and not isinstance(x, errors.PyroError):
            raise errors.ConnectionClosedError("connection to %s lost: %s" % (peer, x)) from x


# The address family of each numeric host connected to before ((host, port) locations only, no SSL): a new
# connection to it then takes the short way (_open_numeric) instead of socketutil.create_socket, which works
# the family out again each time. Bounded (emptied when full).
_numeric_families: dict[str, int] = {}
_MAX_FAMILIES = 256
_STREAM = socket.SOCK_STREAM
_getdefaulttimeout = socket.getdefaulttimeout
_NODELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
_REUSEADDR = (socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
_KEEPALIVE = (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)


def _remember_family(location: Any, sock: Any) -> None:
    """(after socketutil.create_socket connected to `location`) remember the family of a numeric IPv4/IPv6 host."""
    if type(location) is not tuple or len(location) != 2 or type(location[0]) is not str or config.SSL:
        return
    host = location[0]
    family = sock.family
    if family not in (socket.AF_INET, socket.AF_INET6):
        return
    try:
        socket.inet_pton(family, host)      # (numeric: no resolver involved, the family never changes)
    except (OSError, ValueError):
        return
    if len(_numeric_families) >= _MAX_FAMILIES:
        _numeric_families.clear()
    _numeric_families[host] = int(family)


def open_socket(location: Any, timeout: float | None, bare: bool = False) -> Any:
    """The connected socket of a new connection to `location` ((host, port) or a unix socket path). bare: a
    connection for one exchange that is closed right after it (resolve's connect lookup): a socket opened the
    short way gets none of the TCP options that only matter for a connection that stays (see dress()).
    A module function so that resolve's lookup can do its one exchange on the socket alone (no connection
    objects for a connection that is closed right away)."""
    try:
        family = _numeric_families.get(location[0]) if type(location) is tuple and len(location) == 2 \
            and not config.SSL else None
        if family is not None:
            return _open_numeric(family, location, timeout or None, not bare)
        sock = socketutil.create_socket(connect=location, reuseaddr=bool(config.SOCK_REUSE),
                                        timeout=timeout, nodelay=True, sslContext=client_ssl_context())
        _remember_family(location, sock)
        return sock
    except errors.TimeoutError as x:
        raise errors.TimeoutError("cannot connect to %s: %s" % (location, x)) from x
    except OSError as x:
        raise connect_error(location, x) from x


def handshake_socket(sock: Any, request: protocol.SendingMessage, location: Any, timeout: float | None
                     ) -> protocol.ReceivingMessage:
    """Send the connect request over the new connection's socket; the daemon's answer (CONNECTOK/CONNECTFAIL),
    its header checked by protocol.MessageReader as every message's."""
    timeout = timeout or None
    try:
        parts = request.parts
        if timeout is not None and len(parts) == 1 and type(sock) is _plain_socket:
            # a socket with a timeout polls before every send; its descriptor is non-blocking, and a new
            # connection's empty send buffer takes the small connect message with one write() (anything else,
            # also an error, goes the usual way)
            try:
                sent = _write(sock.fileno(), parts[0])
            except OSError:
                sent = 0
            if sent < len(parts[0]):
                _send(sock, (memoryview(parts[0])[sent:],), timeout)
        else:
            _send(sock, parts, timeout)
        # (a new socket's own timeout is the connection's: one plain receive first, as for a reply to a call)
        msg = _read_message(sock, _ConnectReplyReader(_CONNECT_RESULT_TYPES), timeout, sock.gettimeout() == timeout)
    except ssl.SSLError as x:
        raise errors.CommunicationError("cannot connect to %s: SSL error during the handshake: %s (does the server "
                                        "require a client certificate? check config.SSL_CLIENTCERT)"
                                        % (location, x)) from x
    except errors.ConnectionClosedError as x:
        raise errors.ConnectionClosedError("cannot connect to %s: the daemon closed the connection during the "
                                           "handshake (%s)" % (location, x)) from x
    except OSError as x:
        raise errors.CommunicationError("cannot connect to %s: %s" % (location, x)) from x
    if msg.seq != request.seq:
        raise errors.ProtocolError("invalid handshake response sequence number %d, expected %d"
                                   % (msg.seq, request.seq))
    return msg


class _ConnectReplyReader(protocol.MessageReader):
    """The reader of a new connection's connect reply: a reply that comes whole with the first receive (the usual
    case) is parsed by _wire_reader.whole_message, without the reader's steps; anything else goes the reader's way
    (which also raises the errors)."""

    _first = True

    def feed(self, data: Any) -> list:
        if self._first:
            self._first = False
            msg = _whole_message(data, _CONNECT_RESULT_TYPES)
            if msg is not None:
                return [msg]
        return super().feed(data)


def _open_numeric(family: int, location: tuple, timeout: float | None, options: bool = True) -> socket.socket:
    """What socketutil.create_socket(connect=location, reuseaddr=SOCK_REUSE, timeout, nodelay=True) does for a
    numeric host whose family is known: the same socket options and errors, without working out the family.
    Without `options`, no TCP_NODELAY, SO_REUSEADDR and SO_KEEPALIVE (see ProxyConnection.open: bare)."""
    sock = socket.socket(family, _STREAM)
    try:
        if options:
            sock.setsockopt(*_NODELAY)
            if config.SOCK_REUSE:
                sock.setsockopt(*_REUSEADDR)
        if timeout or _getdefaulttimeout() is not None:
            sock.settimeout(timeout)    # (None: blocking, also when socket.setdefaulttimeout was called)
        _connect(sock, location)
        if options:
            sock.setsockopt(*_KEEPALIVE)
    except BaseException:
        sock.close()
        raise
    return sock


def dress(sock: Any) -> None:
    """A bare connection (see ProxyConnection.open) that becomes a proxy's after all gets the socket options of
    one (setting them again on a socket that has them already changes nothing)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(*_NODELAY)
        if config.SOCK_REUSE:
            sock.setsockopt(*_REUSEADDR)
        sock.setsockopt(*_KEEPALIVE)


def client_ssl_context() -> Optional[ssl.SSLContext]:
    """The SSL context of a client connection from the SSL_* config items; None without config.SSL."""
    if not config.SSL:
        return None
    return socketutil.get_ssl_context(clientcert=config.SSL_CLIENTCERT, clientkey=config.SSL_CLIENTKEY,
                                      cacerts=config.SSL_CACERTS, keypassword=config.SSL_CLIENTKEYPASSWD)


def connect_error(location: Any, x: OSError) -> errors.CommunicationError:
    """The CommunicationError that says why connecting to `location` failed with x (SSL problems explained)."""
    if isinstance(x, ssl.SSLCertVerificationError):
        return errors.CommunicationError(
            "cannot connect to %s: SSL certificate verification of the server failed: %s (check config.SSL_CACERTS"
            " and that the server's certificate is issued for the host name in the uri)"
            % (location, x.verify_message or x))
    if isinstance(x, ssl.SSLError):
        return errors.CommunicationError("cannot connect to %s: SSL error: %s (check the SSL_* config items on both "
                                         "sides)" % (location, x))
    return errors.CommunicationError("cannot connect to %s: %s" % (location, x))
