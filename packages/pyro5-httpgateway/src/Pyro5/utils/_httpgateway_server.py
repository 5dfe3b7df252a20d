"""The WSGI servers the ``pyro5-httpgateway`` command can run the gateway app in.

- ``waitress`` (default): a production WSGI server — pure Python, multi-threaded with a bounded pool of worker
  threads, HTTP/1.1 keep-alive, request size limits and channel timeouts, maintained under the Pylons project.
- ``wsgiref``: the standard library's development server (a thread per connection), for debugging.

``pyro_app`` itself is a plain WSGI application and runs in any WSGI server.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

__all__ = ["GatewayServer", "create_server", "SERVERS", "DEFAULT_THREADS"]

SERVERS = ("waitress", "wsgiref")
DEFAULT_THREADS = 20

log = logging.getLogger("Pyro5.httpgateway")


class GatewayServer:
    """A listening WSGI server: ``host``/``port`` (the bound address), ``serve()`` until ``close()``."""

    def __init__(self, kind: str, host: str, port: int, serve: Callable[[], None], close: Callable[[], None]):
        self.kind = kind
        self.host = host
        self.port = port
        self._serve = serve
        self._close = close

    def serve(self) -> None:
        self._serve()

    def close(self) -> None:
        self._close()


def _waitress(app: Callable, host: str, port: int, threads: int) -> GatewayServer:
    try:
        import waitress.server
    except ModuleNotFoundError:
        raise ModuleNotFoundError("pyro5-httpgateway serves through waitress, which is not installed: "
                                  "pip install waitress (or use --server wsgiref)", name="waitress") from None
    # a bare IPv6 address is given to waitress through `listen`, in brackets
    listen = "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)
    srv: Any = waitress.server.create_server(app, listen=listen, threads=threads, ident="pyro5-httpgateway",
                                             channel_timeout=60, expose_tracebacks=False)
    bound_host, bound_port = str(srv.effective_host), int(srv.effective_port)

    def serve() -> None:
        srv.run()

    def close() -> None:
        srv.close()
        srv.task_dispatcher.shutdown()

    return GatewayServer("waitress", bound_host, bound_port, serve, close)


def _wsgiref(app: Callable, host: str, port: int, threads: int) -> GatewayServer:
    from Pyro5.utils import httpgateway
    srv = httpgateway.make_server(host, port, app=app)
    return GatewayServer("wsgiref", str(srv.server_address[0]), int(srv.server_address[1]), srv.serve_forever,
                         srv.server_close)


def create_server(app: Callable, host: str = "localhost", port: int = 8080, kind: str = "waitress",
                  threads: int = DEFAULT_THREADS) -> GatewayServer:
    """Bind a WSGI server of the given kind for app. Raises OSError when the address cannot be used."""
    if kind == "waitress":
        return _waitress(app, host, port, threads)
    if kind == "wsgiref":
        return _wsgiref(app, host, port, threads)
    raise ValueError("unknown WSGI server %r (choose from %s)" % (kind, ", ".join(SERVERS)))
