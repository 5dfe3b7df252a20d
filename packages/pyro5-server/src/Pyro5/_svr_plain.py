"""The multiplex server's loop thread answers the usual request of a connection itself, in one frame: one receive,
and when that is the whole request of a plain call (_wire_reader.plain_message), _svr_fastcall.answer_plain and
the send. Anything else goes the general way (MuxConnection.read_available takes the bytes received, then the
server's _process and _dispatch). The thread pool server's loop thread does not (_answers_plain False): its
workers answer (see _svr_linger._serve_plain)."""
from __future__ import annotations

import logging
import selectors
from typing import Any, Optional

from ._svr_conn import READ_SIZE, WOULD_BLOCK, MuxConnection
from ._svr_fastcall import answer_plain
from ._svr_serve import CONNECTION_LOG, log_failure
from ._wire_reader import plain_message
from .protocol import MSG_INVOKE as _MSG_INVOKE

__all__ = ["PlainRequests"]

_WRITE = selectors.EVENT_WRITE


class PlainRequests:
    """Mixin of the multiplex server (see the module documentation)."""

    _log: logging.Logger
    _in_loop: bool
    _watch: set[MuxConnection]
    daemon: Any
    _close_connection: Any
    _set_events: Any

    def _answer_plain(self, conn: MuxConnection) -> Optional[bytes]:
        """(a readable connection, nothing buffered) Receive; when that is the usual request whole (see
        _wire_reader.plain_message), answer it right here: the receive, the answer and the send in this one
        frame (_process and _dispatch do the same for any message, in more). None: answered (or nothing to
        read, or the connection failed and is closed); else the bytes received (b"": the peer closed), which the
        general path takes (MuxConnection.read_available)."""
        try:
            data = conn.sock.recv(READ_SIZE)
        except WOULD_BLOCK:
            return None
        except OSError:
            return b""      # (as a closed connection: read_available says so)
        request = plain_message(conn.reader, data, _MSG_INVOKE) if data else None
        if request is None:
            return data
        conn.buffer_writes = self._in_loop
        try:
            reply = answer_plain(self.daemon.dispatcher, conn, data, request)
            if reply is not None:
                conn.send((reply,) if type(reply) is bytes else reply.parts)
        except Exception as x:
            log_failure(self._log, CONNECTION_LOG, conn, x)
            self._close_connection(conn)
            return None
        except BaseException:
            self._close_connection(conn)    # (as _dispatch)
            raise
        if conn.outbuf is not None:     # (the rest of the reply is sent when the socket is writable)
            self._watch.add(conn)
            self._set_events(conn, _WRITE)
        return None

