"""
HTTP gateway: connects the web browser's world of javascript+http and Pyro.
Creates a stateless HTTP server that essentially is a proxy for the Pyro objects behind it.
It exposes the Pyro objects through a HTTP interface and uses the JSON serializer,
so that you can immediately process the response data in the browser.

You can start this module as a script from the command line, to easily get a
http gateway server running:

  :command:`python -m Pyro5.utils.httpgateway`
  or simply: :command:`pyro5-httpgateway`

The command serves through waitress, a production WSGI server (``--server wsgiref`` uses the standard
library's development server instead; ``make_server()`` makes one of those).

It is also possible to import the 'pyro_app' function and stick that into a WSGI
server of your choice, to have more control. Its settings are attributes of the function:
``pyro_app.ns_regex`` (exposed names), ``pyro_app.gateway_key``, ``pyro_app.comm_timeout``,
``pyro_app.cors`` (Access-Control-Allow-Origin value), ``pyro_app.ns_host`` / ``pyro_app.ns_port``
(where the name server is; None = use the NS_HOST / NS_PORT config items).

The javascript code in the web page of the gateway server works with the same-origin
browser policy because it is served by the gateway itself. If you want to access it
from scripts in different sites, you have to work around this or embed the gateway app
in your site. Non-browser clients that access the http api have no problems.
"""
from __future__ import annotations

import argparse
import hmac
import html
import json
import logging
import re
import socket
import socketserver
import sys
import threading
import uuid
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, Sequence, cast
from urllib.parse import parse_qs, quote
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import Pyro5
from Pyro5 import client, config, core, errors, protocol, serializers
from Pyro5._cli import listen_error
from Pyro5.utils import _httpgateway_server as _gwserver
from Pyro5.utils._httpgateway_proxies import ProxyCache

__all__ = ["pyro_app", "main", "make_server", "DEFAULT_EXPOSE"]

log = logging.getLogger("Pyro5.utils.httpgateway")

DEFAULT_EXPOSE = r"http\."
MAX_BODY_SIZE = 4 * 1024 * 1024          # bytes of POST form data accepted
MAX_STREAM_ITEMS = 100000                # items collected from a remote iterator/generator result
PAGE_OBJECT_LIMIT = 50                   # objects listed on the web page
_HEADER_CORRELATION = "X-Pyro-Correlation-Id"
_PAGE_TEMPLATE = Path(__file__).with_name("_httpgateway_page.html")


class _HttpError(Exception):
    """Ends a request with the given http status (body: text, or a JSON encoded exception)."""

    def __init__(self, status: str, text: str = "", exception: BaseException | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.text = text
        self.exception = exception


# ------------------------------------------------------------------------------------------------------------
# name server access

class _NameServerAccess:
    """Finds the name server once (and again when it can't be reached); every call uses a fresh proxy."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uri: core.URI | None = None
        self._located_with: tuple | None = None

    def reset(self) -> None:
        with self._lock:
            self._uri = None

    def uri(self, host: str | None, port: int | None) -> core.URI:
        with self._lock:
            if self._uri is None or self._located_with != (host, port):
                try:
                    ns = core.locate_ns(host or "", port)
                except errors.PyroError as x:
                    raise errors.CommunicationError("the http gateway cannot find the name server (host=%s, "
                                                    "port=%s): %s" % (host or config.NS_HOST, port or config.NS_PORT,
                                                                      x)) from None
                try:
                    self._uri = core.URI(str(ns._pyroUri))
                finally:
                    ns._pyroRelease()
                self._located_with = (host, port)
            return self._uri

    def _call_once(self, func: Callable[[client.Proxy], Any]) -> Any:
        with client.Proxy(self.uri(_app.ns_host, _app.ns_port)) as ns:
            ns._pyroTimeout = _app.comm_timeout or None
            return func(ns)

    def call(self, func: Callable[[client.Proxy], Any]) -> Any:
        """Runs func(ns_proxy); on a communication failure relocates the name server and tries once more."""
        try:
            return self._call_once(func)
        except errors.NamingError:
            raise
        except errors.CommunicationError:
            self.reset()
            return self._call_once(func)


_nameserver = _NameServerAccess()


def get_nameserver_uri() -> core.URI:
    """URI of the name server the gateway uses (locates it when not known yet)."""
    return _nameserver.uri(_app.ns_host, _app.ns_port)


# ------------------------------------------------------------------------------------------------------------
# helpers

def _json_serializer():
    return serializers.serializers["json"]


def _to_json(obj: Any) -> bytes:
    data = _json_serializer().dumps(obj)
    return data if isinstance(data, bytes) else bytes(data)


def _exception_json(exc: BaseException) -> bytes:
    try:
        return _to_json(exc)
    except Exception:      # an exception that the json serializer cannot handle: describe it plainly
        return json.dumps({"__class__": "%s.%s" % (type(exc).__module__, type(exc).__qualname__),
                           "__exception__": True, "args": [str(exc)], "attributes": {}}).encode()


def _cors_headers() -> list[tuple[str, str]]:
    return [("Access-Control-Allow-Origin", _app.cors or "*"),
            ("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
            ("Access-Control-Allow-Headers",
             "Content-Type, X-Pyro-Options, X-Pyro-Gateway-Key, X-Pyro-Correlation-Id"),
            ("Access-Control-Expose-Headers", _HEADER_CORRELATION)]


def _singlyfy(params: dict[str, list[str]]) -> dict[str, Any]:
    """Parameters that occur once become a plain value; repeated ones stay a list."""
    return {k: (v[0] if len(v) == 1 else v) for k, v in params.items()}


def _parse_query(qs: str) -> dict[str, list[str]]:
    try:
        return parse_qs(qs, keep_blank_values=True, strict_parsing=False, errors="strict")
    except (UnicodeDecodeError, ValueError) as x:
        raise _HttpError("400 Bad Request", "400 Bad Request - malformed query string: %s" % x) from None


def _read_body(environ: dict) -> bytes:
    raw_length = environ.get("CONTENT_LENGTH") or "0"
    try:
        length = int(raw_length)
    except ValueError:
        raise _HttpError("400 Bad Request", "400 Bad Request - invalid Content-Length") from None
    if length < 0:
        raise _HttpError("400 Bad Request", "400 Bad Request - invalid Content-Length")
    if length > MAX_BODY_SIZE:
        raise _HttpError("413 Payload Too Large",
                         "413 Payload Too Large - request body exceeds %d bytes" % MAX_BODY_SIZE)
    if length == 0:
        return b""
    return environ["wsgi.input"].read(length)


def _request_params(environ: dict, method: str) -> dict[str, Any]:
    params = _parse_query(environ.get("QUERY_STRING", ""))
    if method == "POST":
        body = _read_body(environ)
        ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if body and ctype == "application/json":
            try:
                data = json.loads(body)
            except (UnicodeDecodeError, ValueError) as x:
                raise _HttpError("400 Bad Request", "400 Bad Request - invalid JSON body: %s" % x) from None
            if not isinstance(data, dict):
                raise _HttpError("400 Bad Request",
                                 "400 Bad Request - a JSON body must be an object of parameter name -> value")
            result = _singlyfy(params)
            result.update(data)
            result.pop("$key", None)
            return result
        if body and ctype in ("", "application/x-www-form-urlencoded", "text/plain"):
            try:
                form = body.decode("utf-8")
            except UnicodeDecodeError:
                raise _HttpError("400 Bad Request", "400 Bad Request - form data is not utf-8") from None
            for k, v in _parse_query(form).items():
                params.setdefault(k, []).extend(v)
        elif body:
            raise _HttpError("415 Unsupported Media Type",
                             "415 Unsupported Media Type - post form data (application/x-www-form-urlencoded) "
                             "or a JSON object (application/json)")
    params.pop("$key", None)
    return _singlyfy(params)


def _check_gateway_key(environ: dict) -> None:
    if not _app.gateway_key:
        return
    supplied: bytes | None = None
    header = environ.get("HTTP_X_PYRO_GATEWAY_KEY")
    if header is not None:
        supplied = header.encode("latin-1", "replace")   # WSGI gives header bytes as latin-1 text
    else:
        keys = _parse_query(environ.get("QUERY_STRING", "")).get("$key")
        if not keys and environ.get("REQUEST_METHOD") == "POST":
            ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
            if ctype in ("", "application/x-www-form-urlencoded"):
                body = _read_body(environ)
                environ["wsgi.input"] = _ReplayInput(body)
                environ["CONTENT_LENGTH"] = str(len(body))
                try:
                    keys = _parse_query(body.decode("utf-8")).get("$key")
                except UnicodeDecodeError:
                    keys = None
        if keys:
            supplied = keys[0].encode("utf-8")
    expected = _app.gateway_key
    expected_b = expected.encode("utf-8") if isinstance(expected, str) else bytes(expected)
    if supplied is None or not hmac.compare_digest(supplied, expected_b):
        raise _HttpError("403 Forbidden", "403 Forbidden - incorrect gateway api key")


class _ReplayInput:
    """A wsgi.input replacement holding a body that was already read."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._data) - self._pos
        chunk = self._data[self._pos:self._pos + size]
        self._pos += len(chunk)
        return chunk


def _correlation_id(environ: dict) -> uuid.UUID:
    value = environ.get("HTTP_X_PYRO_CORRELATION_ID")
    if not value:
        return uuid.uuid4()
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise _HttpError("400 Bad Request", "400 Bad Request - X-Pyro-Correlation-Id must be a uuid, like "
                                            "11112222-1111-2222-3333-222244449999") from None


def _is_exposed(name: str) -> bool:
    try:
        return re.match(_app.ns_regex, name) is not None
    except re.error as x:
        log.error("invalid exposed-names regex %r: %s", _app.ns_regex, x)
        return False


def _collect(result: Any) -> Any:
    """Remote iterators/generators are collected into a list (JSON has no streams)."""
    if isinstance(result, Iterator) and not isinstance(result, (str, bytes, dict, list, tuple)):
        items = list(islice(result, MAX_STREAM_ITEMS + 1))
        if len(items) > MAX_STREAM_ITEMS:
            close = getattr(result, "close", None)
            if close:
                close()
            raise errors.PyroError("the remote iterator produced more than %d items; the http gateway cannot "
                                   "return it as one JSON list (use a Pyro proxy for item streaming)"
                                   % MAX_STREAM_ITEMS)
        return items
    return result


# ------------------------------------------------------------------------------------------------------------
# request processing

def _lookup(name: str) -> core.URI:
    try:
        return _nameserver.call(lambda ns: ns.lookup(name))
    except errors.NamingError as x:
        raise _HttpError("404 Not Found", exception=x) from None


_proxies = ProxyCache(_lookup)      # one shared proxy per exposed name (see _httpgateway_proxies)


def _invoke(proxy: client.Proxy, method: str, vargs: tuple, kwargs: dict, oneway: bool = False) -> Any:
    """Remote call of exactly the given name (never a local attribute of the proxy object)."""
    invoke = getattr(proxy, "_pyroInvoke", None)
    if invoke is not None:
        return invoke(method, vargs, kwargs, flags=protocol.FLAGS_ONEWAY if oneway else 0)
    if method == "__getattr__":
        return getattr(proxy, vargs[0])
    return getattr(proxy, method)(*vargs, **kwargs)


def process_pyro_request(environ: dict, path: str, params: dict[str, Any], options: set[str]) -> bytes:
    """Perform the Pyro call for /pyro/<object name>/<method>; returns the JSON response body."""
    if "/" not in path:
        raise _HttpError("404 Not Found", "404 Not Found - use /pyro/<object name>/<method or attribute>")
    object_name, method = path.rsplit("/", 1)
    if not object_name or not method:
        raise _HttpError("404 Not Found", "404 Not Found - use /pyro/<object name>/<method or attribute>")
    if not _is_exposed(object_name):
        raise _HttpError("403 Forbidden", "403 Forbidden - access to the requested object has been denied")
    scope = (_app.ns_host, _app.ns_port)
    proxy = _proxies.get(object_name, _app.comm_timeout or None, scope)
    try:
        if method == "$meta":
            return _to_json({"methods": sorted(proxy._pyroMethods), "oneway": sorted(proxy._pyroOneway),
                             "attributes": sorted(proxy._pyroAttrs)})
        if method in proxy._pyroAttrs and not params:
            return _to_json(_invoke(proxy, "__getattr__", (method,), {}))
        if method not in proxy._pyroMethods:
            raise AttributeError("remote object '%s' has no exposed attribute or method '%s'"
                                 % (proxy._pyroUri, method))
        if "oneway" in options or method in proxy._pyroOneway:
            _invoke(proxy, method, (), params, oneway=True)     # (the flag; the shared proxy's set stays)
            return b""
        return _to_json(_collect(_invoke(proxy, method, (), params)))
    except errors.CommunicationError:
        _proxies.drop((scope, object_name), proxy)   # (its connection broke: the next request looks the name up again)
        raise


def _serve_page(environ: dict, start_response: Callable) -> list[bytes]:
    body = _render_page(environ).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))] + _cors_headers())
    return [body]


def pyro_app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """
    The WSGI app function that is used to process the requests.
    You can stick this into a wsgi server of your choice, or use the main() method
    to use the default wsgiref server.
    """
    try:
        return _handle(environ, start_response)
    except Exception as x:   # the last line of defence: never let a request take the gateway down
        log.exception("internal error in http gateway request processing")
        body = _exception_json(x)
        try:
            start_response("500 Internal Server Error",
                           [("Content-Type", "application/json; charset=utf-8"),
                            ("Content-Length", str(len(body)))] + _cors_headers(), sys.exc_info())
        except Exception:   # pragma: no cover - headers were already sent; nothing more we can do
            return []
        return [body]


class _PyroApp(Protocol):
    """The type of pyro_app: the WSGI function plus its settings, which are attributes of the function."""

    ns_regex: str
    cors: str
    gateway_key: str | bytes | None
    comm_timeout: float
    ns_host: str | None
    ns_port: int | None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]: ...


_app = cast(_PyroApp, pyro_app)   # the same function object, typed with its settings
_app.ns_regex = DEFAULT_EXPOSE
_app.cors = "*"
_app.gateway_key = None
_app.comm_timeout = config.COMMTIMEOUT
_app.ns_host = None
_app.ns_port = None


def _text_response(start_response: Callable, status: str, text: str,
                   extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))] + (extra or []) + _cors_headers())
    return [body]


def _handle(environ: dict, start_response: Callable) -> list[bytes]:
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "") or "/"
    try:
        # wsgiref gives PATH_INFO as latin-1 decoded bytes; re-decode as utf-8 for object names
        path = path.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return _text_response(start_response, "400 Bad Request", "400 Bad Request - path is not valid utf-8")
    if method == "OPTIONS":    # CORS preflight
        return _text_response(start_response, "200 OK", "", [("Access-Control-Max-Age", "600")])
    if method not in ("GET", "POST"):
        return _text_response(start_response, "405 Method Not Allowed", "405 Method Not Allowed - use GET or POST",
                              [("Allow", "GET, POST, OPTIONS")])
    try:
        _check_gateway_key(environ)
    except _HttpError as x:
        log.warning("request with incorrect gateway key from %s", environ.get("REMOTE_ADDR"))
        return _text_response(start_response, x.status, x.text)
    if path in ("/", "/pyro", "/pyro/"):
        return _serve_page(environ, start_response)
    if not path.startswith("/pyro/"):
        return _text_response(start_response, "404 Not Found", "404 Not Found - the Pyro api is at /pyro/")
    headers: list[tuple[str, str]] = []
    try:
        corr_id = _correlation_id(environ)
        headers.append((_HEADER_CORRELATION, str(corr_id)))
        Pyro5.current_context.correlation_id = corr_id
        options = {o.strip().lower() for o in environ.get("HTTP_X_PYRO_OPTIONS", "").split(",") if o.strip()}
        params = _request_params(environ, method)
        body = process_pyro_request(environ, path[len("/pyro/"):], params, options)
        status = "200 OK"
    except _HttpError as x:
        if x.exception is None:
            return _text_response(start_response, x.status, x.text, headers)
        status, body = x.status, _exception_json(x.exception)
    except Exception as x:
        # errors of the remote call (or of connecting to it) are returned as a JSON encoded exception
        if not isinstance(x, (errors.PyroError, TypeError, AttributeError, ValueError)) or \
                isinstance(x, (errors.CommunicationError, errors.SerializeError)):
            log.warning("pyro request %s failed: %s: %s", path, type(x).__name__, x)
        status, body = "500 Internal Server Error", _exception_json(x)
    finally:
        Pyro5.current_context.correlation_id = None
    headers = [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))] + headers
    start_response(status, headers + _cors_headers())
    return [body]


# ------------------------------------------------------------------------------------------------------------
# the web page

def _example(name: str, method: str, params: dict | None, description: str, index: int, autorun: bool = True) -> str:
    shown = name + "/" + method
    if params:
        shown += "?" + "&".join("%s=%s" % (k, v) for k, v in params.items())
    attrs = 'href="#" class="pyro-call" data-name="%s" data-method="%s" data-result="example-%d" data-autorun="%s"' % (
        html.escape(name, True), html.escape(method, True), index, "1" if autorun else "0")
    if params:
        attrs += ' data-params="%s"' % html.escape(json.dumps(params), True)
    return ('<li><a %s>%s</a> &mdash; %s\n<pre class="example-result" id="example-%d">&nbsp;</pre></li>'
            % (attrs, html.escape(shown), html.escape(description), index))


def _render_page(environ: dict) -> str:
    api_base = (environ.get("SCRIPT_NAME") or "").rstrip("/") + "/pyro/"
    rows: list[str] = []
    examples: list[str] = []
    ns_location = ""
    limit_note = ""
    names: dict[str, str] = {}
    try:
        ns_uri = get_nameserver_uri()
        ns_location = "on %s" % html.escape(ns_uri.location or str(ns_uri))
        listed = _nameserver.call(lambda ns: ns.list(regex=_app.ns_regex))
        names = dict(sorted(listed.items()))
    except Exception as x:
        log.warning("web page: cannot list the name server: %s", x)
        rows.append('<tr><td colspan="3" class="status-error">cannot list the name server: %s</td></tr>'
                    % html.escape("%s: %s" % (type(x).__name__, x)))
    if len(names) > PAGE_OBJECT_LIMIT:
        limit_note = ", limited to %d entries" % PAGE_OBJECT_LIMIT
        names = dict(islice(names.items(), PAGE_OBJECT_LIMIT))
    index = 0
    for name, uri in names.items():
        methods, attributes = "", ""
        try:
            with client.Proxy(uri) as p:
                p._pyroTimeout = _app.comm_timeout or 5.0
                p._pyroBind()
                methods = ", ".join(sorted(p._pyroMethods))
                attributes = ", ".join(sorted(p._pyroAttrs))
        except Exception as x:
            methods = "(cannot get metadata: %s)" % x
        rows.append("<tr><td>%s</td><td>%s</td><td>%s</td></tr>" % (
            _example_link(name, "$meta", html.escape(name)), html.escape(methods), html.escape(attributes)))
    header = "<tr><th>Name (click: $meta)</th><th>methods</th><th>attributes</th></tr>"
    table = ('<table id="objects">%s\n%s\n</table>' % (header, "\n".join(rows))) if rows \
        else "<p>(no exposed objects found)</p>"
    for name in names:
        examples.append(_example(name, "$meta", None, "metadata of %s (its methods and attributes)" % name, index))
        index += 1
    if core.NAMESERVER_NAME in names:
        ns = core.NAMESERVER_NAME
        examples.append(_example(ns, "list", None, "lists the contents of the name server", index))
        examples.append(_example(ns, "list", {"prefix": "test."}, "lists the names starting with 'test.'", index + 1))
        examples.append(_example(ns, "lookup", {"name": ns}, "lookup of the name server itself", index + 2))
        examples.append(_example(ns, "count", None, "number of registrations", index + 3))
        index += 4
    if "test.echoserver" in names:
        e = "test.echoserver"
        examples.append(_example(e, "echo", {"message": "Hi there, browser script!"}, "echo call on the echo server",
                                 index))
        examples.append(_example(e, "verbose", None, "reads the 'verbose' attribute of the echo server", index + 1))
        examples.append(_example(e, "generator", None, "a remote generator, collected into a list", index + 2))
        examples.append(_example(e, "error", None, "a call that raises an exception (status 500)", index + 3))
        index += 4
    if not examples:
        examples.append("<li>(no examples: expose Pyro.NameServer and test.echoserver with the -e option, "
                        "for instance -e 'Pyro\\.|test\\.')</li>")
    page = _PAGE_TEMPLATE.read_text("utf-8")
    replacements = {
        "{{api_base}}": html.escape(quote(api_base), True),
        "{{ns_location}}": ns_location,
        "{{ns_regex}}": html.escape(str(_app.ns_regex)),
        "{{limit_note}}": limit_note,
        "{{object_table}}": table,
        "{{examples}}": "\n".join(examples),
        "{{version}}": html.escape(str(getattr(Pyro5, "__version__", "?"))),
    }
    for k, v in replacements.items():
        page = page.replace(k, v)
    return page


def _example_link(name: str, method: str, text: str) -> str:
    return ('<a href="#" class="pyro-call" data-name="%s" data-method="%s" data-result="pyro_response" '
            'data-autorun="0">%s</a>' % (html.escape(name, True), html.escape(method, True), text))


# ------------------------------------------------------------------------------------------------------------
# the stand-alone server

class _Handler(WSGIRequestHandler):
    timeout = 60     # seconds a client may take to send its request (a stalled client can't hold a thread forever)


class _QuietHandler(_Handler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _ThreadingWSGIServer6(_ThreadingWSGIServer):
    address_family = socket.AF_INET6


def make_server(host: str = "localhost", port: int = 8080, app: Callable = pyro_app,
                quiet: bool = False) -> WSGIServer:
    """A threaded wsgiref server running the gateway app (call serve_forever() on it, shutdown() to stop)."""
    server_class = _ThreadingWSGIServer6 if ":" in host else _ThreadingWSGIServer
    handler = _QuietHandler if quiet else _Handler
    srv = server_class((host, port), handler)
    srv.set_app(app)
    return srv


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyro5-httpgateway", description="Pyro http gateway command line launcher.")
    parser.add_argument("-H", "--host", default="localhost", help="hostname to bind server on (default=%(default)s)")
    parser.add_argument("-p", "--port", type=int, default=8080, help="port to bind server on (default=%(default)d)")
    parser.add_argument("-c", "--cors", default="*", help="Allow cross origin domain/url (default=%(default)s)")
    parser.add_argument("-e", "--expose", default=DEFAULT_EXPOSE,
                        help="a regex of object names to expose (default=%(default)s)")
    parser.add_argument("-g", "--gatewaykey", help="the api key to use to connect to the gateway itself")
    parser.add_argument("-t", "--timeout", type=float, default=config.COMMTIMEOUT,
                        help="Pyro timeout value to use (COMMTIMEOUT setting, default=%(default)f)")
    parser.add_argument("-n", "--nshost", help="hostname of the name server (default: the NS_HOST config item)")
    parser.add_argument("--nsport", type=int, help="port of the name server (default: the NS_PORT config item)")
    parser.add_argument("--server", choices=_gwserver.SERVERS, default="waitress",
                        help="the WSGI server: waitress (production, default) or wsgiref (the standard library's "
                             "development server)")
    parser.add_argument("--threads", type=int, default=_gwserver.DEFAULT_THREADS,
                        help="worker threads of the waitress server: requests handled at once (default=%(default)d)")
    return parser


def main(args: Sequence[str] | None = None) -> int:
    """Command line entry point (``pyro5-httpgateway`` / ``python -m Pyro5.utils.httpgateway``)."""
    parser = _parser()
    options = parser.parse_args(args)
    try:
        re.compile(options.expose)
    except re.error as x:
        parser.error("invalid --expose regex %r: %s" % (options.expose, x))
    _app.ns_regex = options.expose
    _app.cors = options.cors
    _app.gateway_key = options.gatewaykey or None
    _app.comm_timeout = options.timeout
    _app.ns_host = options.nshost
    _app.ns_port = options.nsport
    config.COMMTIMEOUT = options.timeout
    if options.gatewaykey:
        print("Gateway key set to:", options.gatewaykey)
    print("Exposing objects with names matching: ", options.expose)
    try:
        print("Connected to name server at: ", get_nameserver_uri())
    except errors.PyroError as x:
        print("Warning: cannot find the name server now (%s); will retry on every request" % x)
    if options.threads < 1:
        parser.error("--threads must be at least 1")
    try:
        server = _gwserver.create_server(pyro_app, options.host, options.port, options.server, options.threads)
    except OSError as x:
        shown = "[%s]:%d" % (options.host, options.port) if ":" in options.host else "%s:%d" % (options.host,
                                                                                                options.port)
        print(listen_error("pyro5-httpgateway", x, shown), file=sys.stderr)
        return 1
    except ModuleNotFoundError as x:
        print("pyro5-httpgateway: %s" % x, file=sys.stderr)
        return 1
    shown_host = "[%s]" % server.host if ":" in server.host else server.host
    print("Pyro HTTP gateway running on http://%s:%d/pyro/ (%s)" % (shown_host, server.port, server.kind), flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        print("Stopping the gateway.")
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
