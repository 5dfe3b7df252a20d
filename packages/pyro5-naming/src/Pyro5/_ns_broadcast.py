"""The name server's broadcast responder: answers UDP b"GET_NSURI" requests with the name server's uri."""
from __future__ import annotations

import ipaddress
import logging
import select
import socket
import threading
from typing import Any, Optional, Union

from Pyro5 import config, core, socketutil

__all__ = ["BroadcastServer", "REQUEST_NSURI"]

log = logging.getLogger("Pyro5.naming")   # the original's logger name for the name server parts

REQUEST_NSURI = b"GET_NSURI"
_MAX_REQUEST = 1024


def _unspecified(host: Optional[str]) -> bool:
    if host is None:
        return False
    if host in ("", "0.0.0.0", "::"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


class BroadcastServer:
    """UDP responder on bchost:bcport that tells clients where the name server is.

    Every datagram that is exactly ``b"GET_NSURI"`` gets the name server's uri as reply (utf-8 text);
    anything else is ignored. When the name server listens on all interfaces (0.0.0.0 or ::) the reply
    carries the address of the interface that faces the asking client instead of the unspecified address.
    Serve it with :meth:`runInThread` (which starts its own thread), or combine it into a daemon's request loop
    (``daemon.combine(bcserver)``) since it has ``sockets`` and ``events()``.
    """

    def __init__(self, nsUri: Union[str, core.URI], bchost: Optional[str] = None, bcport: Optional[int] = None,
                 ipv6: bool = False) -> None:
        self.nsUri = core.URI(nsUri) if isinstance(nsUri, str) else nsUri
        if bcport is None:
            bcport = config.NS_BCPORT
        if bchost is None:
            bchost = config.NS_BCHOST
        if not bchost:
            bchost = "::" if ipv6 else ""
        bchost = str(bchost)
        if ":" in bchost:
            ipv6 = True
        self.sock = socketutil.create_bc_socket((bchost, int(bcport)), reuseaddr=bool(config.SOCK_REUSE),
                                                timeout=None, ipv6=ipv6)
        self._sockaddr = self.sock.getsockname()
        host, port = self._sockaddr[0], self._sockaddr[1]
        if self.sock.family == socket.AF_INET6:
            self.locationStr = "[%s]:%d" % (host, port)
        else:
            self.locationStr = "%s:%d" % (host or "0.0.0.0", port)
        self.running = True
        self._closed = threading.Event()
        log.info("broadcast responder for %s listening on %s", self.nsUri, self.locationStr)

    # -- the parts that Daemon.combine() uses
    @property
    def sockets(self) -> list:
        return [self.sock] if self.running else []

    def events(self, eventsockets: Any) -> None:
        for s in eventsockets:
            if s is self.sock:
                self.processRequest()

    def fileno(self) -> int:
        return self.sock.fileno()

    def getPort(self) -> int:
        return self._sockaddr[1]

    def reply_for(self, sender: Any) -> bytes:
        """The uri text to send to the given sender address."""
        uri = self.nsUri
        if uri.host is not None and _unspecified(uri.host):
            try:
                with socket.socket(self.sock.family, socket.SOCK_DGRAM) as probe:
                    probe.connect(sender[:2])
                    local = probe.getsockname()[0]
                host = "[%s]" % local if ":" in local else local
                return ("PYRO:%s@%s:%s" % (uri.object, host, uri.port)).encode("utf-8")
            except OSError as x:
                log.debug("cannot determine the interface address facing %s: %s", sender, x)
        return str(uri).encode("utf-8")

    def processRequest(self) -> None:
        """Read one datagram and answer it when it asks for the name server's uri."""
        try:
            data, sender = self.sock.recvfrom(_MAX_REQUEST)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as x:
            if self.running:
                log.debug("broadcast responder receive error: %s", x)
            return
        if data != REQUEST_NSURI:
            log.debug("broadcast responder ignored %d bytes from %s", len(data), sender)
            return
        try:
            self.sock.sendto(self.reply_for(sender), 0, sender)
            log.debug("responded to broadcast request from %s", sender)
        except OSError as x:
            log.warning("broadcast responder could not reply to %s: %s", sender, x)

    def runInThread(self) -> threading.Thread:
        """Start serving requests in a daemon thread of its own, until close() is called, and return at once
        (as the original 5.15 does); the thread is returned."""
        thread = threading.Thread(target=self._serve, name="Pyro5-broadcast-responder", daemon=True)
        thread.start()
        return thread

    def _serve(self) -> None:
        log.debug("broadcast responder loop starts")
        while self.running:
            try:
                readable, _, _ = select.select([self.sock], [], [], 0.5)
            except (OSError, ValueError):
                break
            if readable and self.running:
                self.processRequest()
        self._closed.set()
        log.debug("broadcast responder loop ends")

    def close(self) -> None:
        """Stop serving and close the socket."""
        if not self.running and self.sock.fileno() < 0:
            return
        self.running = False
        log.debug("broadcast responder on %s closing", self.locationStr)
        self.sock.close()

    def __enter__(self) -> "BroadcastServer":
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<%s for %s on %s>" % (type(self).__name__, self.nsUri, self.locationStr)
