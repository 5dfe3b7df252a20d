"""The connection side of a Proxy: the socket, the sequence number, the handshake exchange, the stream closes
still to send, the lock around connecting, and the blocking I/O of a call. What the messages mean is the call
codec's job (``_client_codec``); the Proxy facade (``Pyro5.client``) ties the two together.

Received bytes go through a ``protocol.MessageReader`` (one per connection), which checks every frame. Timeouts
(``proxy._pyroTimeout``, default config.COMMTIMEOUT; 0 or None means none) follow one deadline model: connecting
and sending use the socket timeout (``sendall`` counts it for the whole message), and waiting for a reply may take
at most that long from the moment the request was sent, however the reply's bytes trickle in. Any failure of the
connection releases it and raises ConnectionClosedError (TimeoutError for a timeout): the connection is out of
sync then, and the proxy reconnects at its next call.
"""
from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from typing import Any

from . import config, errors, protocol, socketutil

__all__ = ["ProxyConnection"]

log = logging.getLogger("Pyro5.client")

_MSG_RESULT = (protocol.MSG_RESULT,)
_CONNECT_RESULT_TYPES = (protocol.MSG_CONNECTOK, protocol.MSG_CONNECTFAIL)
_HEADER_SIZE = 40
_FIRST_RECV = 4096
_receive_data = socketutil.receive_data
_SocketConnection = socketutil.SocketConnection
_monotonic = time.monotonic


def _read_message(sock: Any, reader: protocol.MessageReader, timeout: float | None) -> protocol.ReceivingMessage:
    """Blocking read of the next message on `sock` (the reply to the one request in flight), within `timeout`
    seconds (None: no limit). The first receive asks for up to _FIRST_RECV bytes, which is usually the whole
    reply in one system call; the rest of a bigger one is received exactly as the reader needs it."""
    if timeout:
        deadline = _monotonic() + timeout
        try:
            messages = _feed_first(reader, _recv(sock, _FIRST_RECV, deadline, reader))
            while not messages:
                messages = reader.feed(_recv(sock, reader.needed, deadline, reader))
        finally:
            sock.settimeout(timeout)
    else:
        try:
            data = sock.recv(_FIRST_RECV)
        except OSError:
            data = _recv(sock, _FIRST_RECV, None, reader)     # (says what went wrong, or retries)
        if not data:
            data = _recv(sock, _FIRST_RECV, None, reader)
        messages = _feed_first(reader, data)
        while not messages:
            messages = reader.feed(_receive_data(sock, reader.needed))
    if len(messages) > 1:
        raise errors.ProtocolError("the daemon sent more than the reply: the connection is out of sync")
    return messages[0]


def _feed_first(reader: protocol.MessageReader, data: bytes) -> list[protocol.ReceivingMessage]:
    # the header and the rest fed apart: the reader's fast path for both when `data` is the whole reply
    if len(data) > _HEADER_SIZE:
        return reader.feed(data[:_HEADER_SIZE]) or reader.feed(data[_HEADER_SIZE:])
    return reader.feed(data)


def _recv(sock: Any, size: int, deadline: float | None, reader: protocol.MessageReader) -> bytes:
    """One receive of at most `size` bytes (some bytes, never none), before the deadline (None: none)."""
    while True:
        if deadline is not None:
            remaining = deadline - _monotonic()
            if remaining <= 0:
                raise errors.TimeoutError("receiving: timeout")
            sock.settimeout(remaining)
        try:
            data = sock.recv(size)
        except (socket.timeout, TimeoutError):
            raise errors.TimeoutError("receiving: timeout") from None
        except (InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            continue
        except OSError as x:
            raise errors.ConnectionClosedError("receiving: connection lost: %s" % x) from x
        if not data:
            reader.eof()    # (says how much of a message was cut off)
            raise errors.ConnectionClosedError("receiving: connection closed by the daemon")
        return data


class ProxyConnection:
    """One proxy's connection state and blocking I/O (see the module documentation). ``conn`` is the
    SocketConnection (the proxy's ``_pyroConnection``) or None while not connected."""

    __slots__ = ("conn", "seq", "lock", "pending_closes", "busy", "connected_socket", "local_socket", "timeout",
                 "reader", "peer", "blocking")

    def __init__(self, connected_socket: Any = None, timeout: float | None = None) -> None:
        self.conn: socketutil.SocketConnection | None = None
        self.seq = 0                        # the sequence number of the last request
        self.lock = threading.RLock()       # held while connecting
        self.pending_closes: list[str] = []  # stream ids whose close_stream is sent before the next call
        self.busy = False                   # in the middle of a call (between sending and the reply)
        self.connected_socket = connected_socket   # a user-supplied socket (Proxy(uri, connected_socket))
        self.local_socket: Any = None       # the local address of the connection
        self.timeout = timeout
        self.reader: protocol.MessageReader | None = None
        self.peer = ""                      # what the connection goes to (for messages)
        self.blocking = True                # the socket is not in non-blocking mode (sendall() works)

    def set_timeout(self, timeout: float | None) -> None:
        self.timeout = timeout
        conn = self.conn
        if conn is not None:
            conn.timeout = timeout or None
            self.blocking = conn.sock.gettimeout() != 0.0

    def next_seq(self) -> int:
        """The sequence number for the next request."""
        seq = self.seq = (self.seq + 1) & 0xffff
        return seq

    # ------------------------------------------------------------------------------------ connecting

    def adopt_socket(self, object_id: str, peer: str) -> None:
        """Use the user-supplied connected socket: the daemon on the other end treats it as an established
        connection, so there is no connect handshake (as the original Pyro5 does it)."""
        sock = self.connected_socket
        conn = _SocketConnection(sock, object_id, True)
        if self.timeout:
            conn.timeout = self.timeout
        self.attach(conn, peer)

    def open(self, location: Any, object_id: str) -> socketutil.SocketConnection:
        """A new connection to `location` ((host, port) or a unix socket path), not attached yet."""
        ssl_context = None
        if config.SSL:
            ssl_context = socketutil.get_ssl_context(clientcert=config.SSL_CLIENTCERT, clientkey=config.SSL_CLIENTKEY,
                                                     cacerts=config.SSL_CACERTS, keypassword=config.SSL_CLIENTKEYPASSWD)
        try:
            sock = socketutil.create_socket(connect=location, reuseaddr=bool(config.SOCK_REUSE), timeout=self.timeout,
                                            nodelay=True, sslContext=ssl_context)
        except ssl.SSLCertVerificationError as x:
            raise errors.CommunicationError(
                "cannot connect to %s: SSL certificate verification of the server failed: %s (check config.SSL_CACERTS"
                " and that the server's certificate is issued for the host name in the uri)"
                % (location, x.verify_message or x)) from x
        except ssl.SSLError as x:
            raise errors.CommunicationError("cannot connect to %s: SSL error: %s (check the SSL_* config items on both "
                                            "sides)" % (location, x)) from x
        except errors.TimeoutError as x:
            raise errors.TimeoutError("cannot connect to %s: %s" % (location, x)) from x
        except OSError as x:
            raise errors.CommunicationError("cannot connect to %s: %s" % (location, x)) from x
        conn = _SocketConnection(sock, object_id)
        log.debug("connected to %s - %s - %s", location, conn.family(),
                  "SSL" if isinstance(sock, ssl.SSLSocket) else "unencrypted")
        return conn

    def handshake(self, conn: socketutil.SocketConnection, request: protocol.SendingMessage, location: Any
                  ) -> protocol.ReceivingMessage:
        """Send the connect request over the new connection `conn`; the daemon's answer (CONNECTOK/CONNECTFAIL)."""
        try:
            socketutil.send_data(conn.sock, request.parts)
            msg = _read_message(conn.sock, protocol.MessageReader(_CONNECT_RESULT_TYPES), self.timeout)
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

    def attach(self, conn: socketutil.SocketConnection, peer: str) -> None:
        """`conn` (connected, handshake done) becomes this proxy's connection."""
        self.conn = conn
        self.local_socket = conn.sock.getsockname()
        self.reader = protocol.MessageReader(_MSG_RESULT, log)
        self.peer = peer
        self.blocking = conn.sock.gettimeout() != 0.0

    def release(self) -> bool:
        """Close the connection (True when there was one). The daemon discards the streams of a closed connection,
        so the pending stream closes are dropped."""
        conn = self.conn
        if conn is None:
            return False
        self.conn = None
        self.local_socket = None
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
            parts = request.parts
            if len(parts) == 1 and self.blocking:
                try:
                    conn.sock.sendall(parts[0])
                except (socket.timeout, TimeoutError) as x:
                    raise errors.TimeoutError("sending: timeout") from x
                except OSError as x:
                    raise errors.ConnectionClosedError("sending: connection lost: %s" % x) from x
            else:
                socketutil.send_data(conn.sock, parts)
        except BaseException as x:
            self.__lost(x)
            raise

    def receive(self, seq: int) -> protocol.ReceivingMessage:
        """The reply to the request with sequence number `seq`."""
        conn = self.conn
        reader = self.reader
        assert conn is not None and reader is not None
        try:
            msg = _read_message(conn.sock, reader, self.timeout)
            if msg.seq != seq:
                raise errors.ProtocolError("invalid response sequence number %d, expected %d: the connection is out "
                                           "of sync" % (msg.seq, seq))
        except BaseException as x:
            self.__lost(x)
            raise
        finally:
            self.busy = False
        return msg

    def __lost(self, x: BaseException) -> None:
        # the connection is out of sync (an error, or KeyboardInterrupt etc. while waiting): release it; an OSError
        # that is not a Pyro error becomes ConnectionClosedError
        peer = self.peer
        self.release()
        if isinstance(x, OSError) and not isinstance(x, errors.PyroError):
            raise errors.ConnectionClosedError("connection to %s lost: %s" % (peer, x)) from x
