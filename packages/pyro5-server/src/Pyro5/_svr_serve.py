"""What every socket server does around dispatch, written once for the thread pool (both modes), multiplex and
existing-connection servers: answer the next message of a connection and, when that fails, log why at the level
that kind of failure deserves (the peer went away: debug; a timeout or bad input: a warning; a bug: the
traceback) and tell the server to close the connection; and close a client connection (its socket, session
instances and tracked resources) with the daemon's `_clientDisconnected` for a connection that passed the
handshake.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, NamedTuple

from . import errors, protocol
from ._svr_dispatch import answer_message
from ._svr_fastcall import answer_call

__all__ = ["FailureLog", "CONNECTION_LOG", "PER_CONNECTION_LOG", "EXISTING_CONNECTION_LOG", "answer_next",
           "close_client", "log_failure"]


class FailureLog(NamedTuple):
    """How a server logs the end of a connection after a failed message. The texts are formatted with the
    peer's address as %(addr)s and the error as %(error)s."""
    closed: str = "disconnected %(addr)s"
    timeout: str = "closing connection from %(addr)s: %(error)s"
    protocol: str = "closing connection from %(addr)s after protocol error: %(error)s"
    oserror: str = "socket error on connection from %(addr)s: %(error)s"
    unexpected: str = "unexpected error handling request from %(addr)s; closing the connection"
    timeout_level: int = logging.WARNING
    oserror_level: int = logging.DEBUG


_ReceivingMessage = protocol.ReceivingMessage
_INVOKE_TYPES = (protocol.MSG_INVOKE, protocol.MSG_PING)

# the selector-served connections (multiplex, thread pool): a timeout there is a peer that stalls or does not read
CONNECTION_LOG = FailureLog()
# the thread pool's per-connection mode: a timeout is mostly an idle client (COMMTIMEOUT)
PER_CONNECTION_LOG = FailureLog(timeout_level=logging.INFO)
EXISTING_CONNECTION_LOG = FailureLog(
    closed="existing connection closed by the peer",
    timeout="closing existing connection: %(error)s",
    protocol="closing existing connection: %(error)s",
    oserror="closing existing connection: %(error)s",
    unexpected="unexpected error handling request on existing connection",
    oserror_level=logging.WARNING)


def answer_next(log: logging.Logger, texts: FailureLog, dispatcher: Any, conn: Any, read: Callable[[], Any]) -> bool:
    """Read the connection's next message (`read()`: a ReceivingMessage, or the ProtocolError of bad input,
    returned or raised) and answer it (``_svr_dispatch.answer_message``). True when the connection stays open;
    False when it must be closed: the reason is logged here, the caller closes it (see `close_client`)."""
    try:
        try:
            msg = read()
        except errors.ProtocolError as x:
            msg = x
        if conn.handshaked and type(msg) is _ReceivingMessage and msg.type in _INVOKE_TYPES:
            answer_call(dispatcher, conn, msg)      # (the usual case, see answer_message)
            return True
        return answer_message(dispatcher, conn, msg)
    except Exception as x:
        log_failure(log, texts, conn, x)
    return False


def log_failure(log: logging.Logger, texts: FailureLog, conn: Any, x: Exception) -> None:
    """Log why answering a message of the connection failed with `x` (called in the except clause that caught it:
    a bug is logged with its traceback); the caller closes the connection."""
    if isinstance(x, errors.ConnectionClosedError):
        log.debug(texts.closed, {"addr": conn.sock_addr})
    elif isinstance(x, errors.TimeoutError):
        log.log(texts.timeout_level, texts.timeout, {"addr": conn.sock_addr, "error": x})
    elif isinstance(x, errors.ProtocolError):
        log.warning(texts.protocol, {"addr": conn.sock_addr, "error": x})
    elif isinstance(x, OSError):
        log.log(texts.oserror_level, texts.oserror, {"addr": conn.sock_addr, "error": x})
    else:
        log.exception(texts.unexpected, {"addr": conn.sock_addr})


def close_client(daemon: Any, conn: Any) -> None:
    """Close a client connection (a connection with keep_open keeps its socket) and, when it passed the
    handshake, tell the daemon (item streams, the user's clientDisconnect)."""
    conn.close()
    if conn.handshaked and daemon is not None:
        daemon._clientDisconnected(conn)
