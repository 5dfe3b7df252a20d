"""Helpers of the command line tools (pyro5-ns, pyro5-echoserver, pyro5-httpgateway): one line for a failure
to listen on an address, instead of a traceback."""
from __future__ import annotations

import errno

__all__ = ["listen_error"]

_REASONS = {
    errno.EADDRINUSE: "the address is already in use (another program listens there; choose another port)",
    errno.EADDRNOTAVAIL: "the address is not available on this machine",
    errno.EACCES: "permission denied (ports below 1024 need privileges)",
}


def listen_error(tool: str, error: OSError, address: str | None = None) -> str:
    """``pyro5-ns: cannot listen on 127.0.0.1:9090: the address is already in use (...)``.

    The address is `address` or else the one the socket layer put in ``error.filename``."""
    where = address or (str(error.filename) if error.filename is not None else "the requested address")
    reason = _REASONS.get(error.errno or 0) or (error.strerror or str(error))
    return "%s: cannot listen on %s: %s" % (tool, where, reason)
