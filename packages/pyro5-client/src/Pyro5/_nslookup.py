"""Finding the name server and resolving PYRONAME / PYROMETA uris (client side).

``Pyro5.core.locate_ns`` and ``Pyro5.core.resolve`` call these lazily; they are also exported by
``Pyro5.client`` and ``Pyro5.api``.

The lookup order of ``locate_ns()`` without a host (as the original Pyro5 does it):

1. when config.NS_HOST is a loopback name/address: a direct connection to NS_HOST:port (default NS_PORT);
2. a UDP broadcast of ``b"GET_NSURI"`` to every address in config.BROADCAST_ADDRS on port NS_BCPORT (or the
   given port), 3 attempts of 0.7 seconds; the name server's broadcast responder answers with its uri;
3. a direct connection to NS_HOST:NS_PORT.

NamingError when all of these fail. With a host, only a direct connection to host:port (NS_PORT) is made;
the host can also be a unix domain socket location ``./u:/path/to/socket``.

Several name servers (sharing one registry, e.g. on etcd): config.NS_HOST may list several entries separated
by commas, each ``host``, ``host:port``, ``[ipv6]:port`` or ``./u:socket``; an entry without a port uses the
port argument or NS_PORT. ``locate_ns()`` without a host then connects to the entries in order and returns
the first name server that answers, and only then tries a broadcast lookup. A single NS_HOST entry behaves
as described above.

The lookup cache (``config.NS_LOOKUP_CACHE`` seconds, 0 = off, the default): a proxy for a PYRONAME/PYROMETA
uri reuses the answer of an earlier lookup of the same uri for that long instead of asking the name server
again, and ``locate_ns()`` without a host first tries the name server location found by an earlier broadcast.
A proxy that cannot connect (or is refused) with a cached answer forgets it and resolves again, once, right
away; so a name whose object moved is found at its new place. What the cache cannot see: a name that was
removed or re-registered while its old object is still reachable keeps its cached answer until it expires.
That is why it is off by default (the original Pyro5 asks the name server at every connect).
``forget_lookups()`` empties it. ``Pyro5.api.resolve()`` itself never uses it.
"""
from __future__ import annotations

import ipaddress
import logging
import random
import socket
import ssl
import time
from typing import TYPE_CHECKING, Any

from . import _capabilities, _client_hooks, config, core, errors, protocol, serializers, socketutil
from . import _client_codec as _codec
from ._client_conn import ProxySocketConnection, dress, handshake_socket, open_socket
from .callcontext import current_context

if TYPE_CHECKING:  # pragma: no cover
    from .client import Proxy

log = logging.getLogger("Pyro5.core")   # the original logs locate_ns/resolve as Pyro5.core

BROADCAST_MESSAGE = b"GET_NSURI"
_BROADCAST_ATTEMPTS = 3
_BROADCAST_WAIT = 0.7
_RESOLVE_POLL_INTERVAL = 0.15

# the lookup cache: str(magic uri) -> (expiry on the monotonic clock, answer); "" -> the broadcast NS location
_cache: dict[str, tuple[float, Any]] = {}
_CACHE_MAX = 10000          # entries; the cache is emptied when it grows beyond this


_proxy: Any = None


def _proxy_class() -> type:
    global _proxy
    if _proxy is None:
        from .client import Proxy
        _proxy = Proxy
    return _proxy


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _location(host: str, port: int) -> str:
    if core.URI.isUnixsockLocation(host):
        return host
    if ":" in host and not host.startswith("["):
        host = "[%s]" % host
    return "%s:%d" % (host, port)


def ns_host_locations(nshost: str, port: int) -> list[str]:
    """The locations of a comma separated NS_HOST list; entries without a port get `port`."""
    locations = []
    for entry in nshost.split(","):
        entry = entry.strip()
        if not entry:
            continue
        if core.URI.isUnixsockLocation(entry):
            locations.append(entry)
        elif entry.startswith("["):
            address, _bracket, rest = entry[1:].partition("]")
            locations.append(_location(address, int(rest[1:]) if rest.startswith(":") else port))
        elif entry.count(":") == 1:
            address, number = entry.split(":")
            locations.append(_location(address, int(number)))
        else:
            locations.append(_location(entry, port))
    return locations


def _locate_any(nshost: str, port: int | None, broadcast: bool, proxy_class: Any = None) -> Proxy:
    """locate_ns() for a NS_HOST that lists several name servers: each in order, then broadcast."""
    try:
        locations = ns_host_locations(nshost, int(port or config.NS_PORT))
    except ValueError:
        raise errors.NamingError("invalid port in config.NS_HOST %r: use host, host:port or [ipv6]:port" % nshost) \
            from None
    problems = []
    for location in locations:
        try:
            return _bind_ns(location, proxy_class)
        except errors.PyroError as x:
            log.debug("no name server on %s: %s", location, x)
            problems.append("%s: %s" % (location, x))
    if broadcast and int(config.PREFER_IP_VERSION) != 6:
        uristring = broadcast_lookup(int(port or config.NS_BCPORT))
        if uristring:
            try:
                return _bind_ns(core.URI(uristring).location or "", proxy_class)
            except errors.PyroError as x:
                problems.append("%s (broadcast reply): %s" % (uristring, x))
        else:
            problems.append("no broadcast reply")
    raise errors.NamingError("Failed to locate the nameserver (tried %s)" % "; ".join(problems))


def _bind_ns(location: str, proxy_class: Any = None) -> Proxy:
    proxy = (proxy_class or _proxy_class())("PYRO:%s@%s" % (core.NAMESERVER_NAME, location))
    try:
        proxy._pyroBind()
    except BaseException:
        proxy._pyroRelease()
        raise
    return proxy


def _broadcast_addresses() -> list[str]:
    addrs: Any = config.BROADCAST_ADDRS
    if isinstance(addrs, str):
        addrs = addrs.split(",")
    return [a.strip() for a in addrs if a and a.strip()]


def broadcast_lookup(port: int, attempts: int = _BROADCAST_ATTEMPTS, wait: float = _BROADCAST_WAIT) -> str | None:
    """Broadcast b"GET_NSURI" to config.BROADCAST_ADDRS on the given UDP port; returns the first valid uri
    string a name server's broadcast responder answers, or None."""
    addresses = _broadcast_addresses()
    if not addresses:
        return None
    sock = socketutil.create_bc_socket(reuseaddr=bool(config.SOCK_REUSE), timeout=wait)
    try:
        for attempt in range(attempts):
            sent = False
            for address in addresses:
                try:
                    sock.sendto(BROADCAST_MESSAGE, 0, (address, port))
                    sent = True
                except OSError as x:
                    log.debug("name server broadcast to %s:%d failed: %s", address, port, x)
            if not sent:
                return None
            deadline = time.monotonic() + wait
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                sock.settimeout(remaining)
                try:
                    data, sender = sock.recvfrom(1000)
                except (socket.timeout, TimeoutError):
                    break
                except OSError as x:  # e.g. ICMP port unreachable reported on the socket
                    log.debug("name server broadcast lookup: %s", x)
                    continue
                text = broadcast_reply_uri(data, sender, attempt)
                if text:
                    return text
    finally:
        sock.close()
    return None


def broadcast_reply_uri(data: bytes, sender: Any, attempt: int) -> str | None:
    """The name server uri a broadcast reply carries (a PYRO uri string), or None for anything else (logged).
    The one rule for blocking and asyncio lookups alike."""
    text = data.decode("utf-8", "replace")
    try:
        uri = core.URI(text)
    except errors.PyroError:
        log.debug("ignored invalid broadcast reply %r from %s", data[:100], sender)
        return None
    if uri.protocol != "PYRO":
        return None
    log.debug("located name server %s via broadcast (attempt %d)", text, attempt + 1)
    return text


def magic_uri(uri: str | core.URI) -> core.URI:
    """`uri` as a URI (TypeError for other types): the first step of resolve(), blocking or asyncio."""
    if isinstance(uri, str):
        return core.URI(uri)
    if not isinstance(uri, core.URI):
        raise TypeError("can only resolve Pyro URIs (str or Pyro5.core.URI), not %s" % type(uri).__name__)
    return uri


def _cache_get(key: str) -> Any:
    entry = _cache.get(key)
    if entry is None:
        return None
    if entry[0] < time.monotonic():
        _cache.pop(key, None)
        return None
    return entry[1]


def _cache_put(key: str, value: Any) -> None:
    ttl = float(config.NS_LOOKUP_CACHE or 0.0)
    if ttl > 0:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = (time.monotonic() + ttl, value)


def forget_lookups(uri: str | core.URI | None = None) -> None:
    """Drops the cached lookup of this PYRONAME/PYROMETA uri (all cached lookups and the cached name server
    location when uri is None)."""
    if uri is None:
        _cache.clear()
    else:
        _cache.pop(str(uri), None)


def resolve_for_proxy(uri: core.URI, use_cache: bool = True) -> tuple[core.URI, bool]:
    """resolve(uri, config.NS_LOOKUP_DELAY) through the lookup cache (see the module documentation):
    (the PYRO uri, whether it came from the cache). A proxy that cannot connect with a cached answer calls
    forget_lookups(uri) and this again with use_cache False (a fresh lookup, whose answer is cached)."""
    if float(config.NS_LOOKUP_CACHE or 0.0) <= 0 or uri.protocol == "PYRO":
        return resolve(uri, config.NS_LOOKUP_DELAY), False
    key = str(uri)
    cached = _cache_get(key) if use_cache else None
    if cached is not None:
        if uri.protocol == "PYRONAME":
            return cached, True
        return metadata_choice(uri, cached), True
    if uri.protocol == "PYRONAME":
        answer = resolve(uri, config.NS_LOOKUP_DELAY)
        _cache_put(key, answer)
        return answer, False
    candidates = _lookup(uri, config.NS_LOOKUP_DELAY, lambda ns: _candidates(uri, ns))
    _cache_put(key, candidates)
    return metadata_choice(uri, candidates), False


def locate_ns(host: str | ipaddress.IPv4Address | ipaddress.IPv6Address = "", port: int | None = None,
              broadcast: bool = True) -> Proxy:
    """Get a proxy for a name server somewhere in the network.

    Without host: loopback NS_HOST first, then a broadcast lookup (port = the broadcast port, default
    NS_BCPORT), then NS_HOST:NS_PORT directly. With host: only host:port (port default NS_PORT).
    """
    return _locate_ns(host, port, broadcast)


def _locate_ns(host: Any, port: int | None, broadcast: bool, proxy_class: Any = None) -> Proxy:
    """locate_ns(); the name server proxy is a proxy_class (default Pyro5.client.Proxy)."""
    host = str(host) if host else ""
    if not host:
        nshost = str(config.NS_HOST or "")
        if "," in nshost:
            return _locate_any(nshost, port, broadcast, proxy_class)
        nsport = int(config.NS_PORT)
        if nshost and _is_loopback(nshost):
            # like the original: the port argument (else NS_PORT) is tried on the loopback NS_HOST first
            loopback_port = int(port or nsport)
            try:
                return _bind_ns(_location(nshost, loopback_port), proxy_class)
            except errors.PyroError as x:
                log.debug("no name server on %s:%d: %s", nshost, loopback_port, x)
        if int(config.PREFER_IP_VERSION) == 6:
            broadcast = False  # IPv6 has no broadcast
        if broadcast:
            bcport = int(port or config.NS_BCPORT)
            cache_key = "broadcast:%d" % bcport
            cached = _cache_get(cache_key)
            if cached is not None:
                try:
                    return _bind_ns(cached, proxy_class)
                except errors.PyroError as x:
                    log.debug("cached name server location %s is not reachable: %s", cached, x)
                    _cache.pop(cache_key, None)
            uristring = broadcast_lookup(bcport)
            if uristring:
                uri = core.URI(uristring)
                try:
                    proxy = _bind_ns(uri.location or "", proxy_class)
                    _cache_put(cache_key, uri.location or "")
                    return proxy
                except errors.PyroError as x:
                    log.debug("name server from the broadcast reply %s is not reachable: %s", uristring, x)
        if not nshost:
            raise errors.NamingError("Failed to locate the nameserver: no broadcast reply and config.NS_HOST is "
                                     "empty; pass a host to locate_ns() or set NS_HOST")
        host, port = nshost, nsport
    if not port:
        port = int(config.NS_PORT)
    try:
        return _bind_ns(_location(host, int(port)), proxy_class)
    except errors.PyroError as x:
        raise errors.NamingError("Failed to locate the nameserver (tried %s): %s" % (_location(host, int(port)), x)) \
            from x


def resolve(uri: str | core.URI, delay_time: float = 0.0) -> core.URI:
    """Resolve a 'magic' uri (PYRONAME, PYROMETA) into the direct PYRO uri.
    A PYRO uri is returned unmodified. With delay_time > 0 the lookup is retried until the name (or an object
    with the metadata) is registered, for at most delay_time seconds; delay_time 0 uses config.NS_LOOKUP_DELAY."""
    uri = magic_uri(uri)
    if uri.protocol == "PYRO":
        return uri
    log.debug("resolving %s", uri)
    if uri.protocol == "PYRONAME":
        return _as_uri(_lookup(uri, delay_time, lambda ns: ns.lookup(uri.object), uri.object))
    return metadata_choice(uri, _lookup(uri, delay_time, lambda ns: _candidates(uri, ns)))


def _candidates(uri: core.URI, nameserver: Any) -> Any:
    """The yplookup answer for a PYROMETA uri; NamingError when there is none."""
    candidates = nameserver.yplookup(set(uri.metadata), None, False)
    if not candidates:
        metadata_choice(uri, candidates)        # (raises the NamingError)
    return candidates


def _lookup(uri: core.URI, delay_time: float, ask: Any, name: str | None = None) -> Any:
    """ask(name server proxy) on the name server of a magic uri, retried while it raises NamingError for at
    most delay_time seconds (0: config.NS_LOOKUP_DELAY), when the last NamingError is raised.
    name: the name ask() looks up; a name server of ours answers that already on the connect handshake (the
    NSLK capability, see Pyro5._capabilities; not while client call hooks are on: they see a normal call)."""
    # like the original: delay_time 0 means "use config.NS_LOOKUP_DELAY"
    delay = float(delay_time or 0.0) or float(config.NS_LOOKUP_DELAY or 0.0)
    deadline = time.monotonic() + max(0.0, delay)
    on_connect = name is not None and not _client_hooks.GLOBAL.active
    nameserver = None
    if on_connect and (uri.sockname or uri.host) and not config.OPENTELEMETRY and _plain_proxy():
        # (the name server's location is in the uri: the connect lookup without a proxy object first)
        location = "./u:" + uri.sockname if uri.sockname else _location(uri.host or "", int(uri.port or config.NS_PORT))
        try:
            answer, nameserver = _connect_lookup(location, name or "")
        except errors.PyroError as x:
            raise errors.NamingError("Failed to locate the nameserver (tried %s): %s" % (location, x)) from x
        if answer is not None:
            return answer
    if nameserver is None:
        proxy_class = _lookup_proxy_factory(name or "") if on_connect else None
        if uri.sockname:
            nameserver = _locate_ns("./u:" + uri.sockname, None, True, proxy_class)
        else:
            nameserver = _locate_ns(uri.host or "", uri.port, True, proxy_class)
    with nameserver:
        answer = getattr(nameserver, "_pyroLookupAnswer", None)
        if answer is not None and answer[0] == name:
            try:
                return core.URI(answer[1])
            except errors.PyroError as x:     # (not a valid uri: the lookup call tells what is wrong)
                log.debug("invalid lookup answer on the connect reply: %s", x)
        while True:
            try:
                return ask(nameserver)
            except errors.NamingError as x:
                problem = x
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise problem
            time.sleep(min(_RESOLVE_POLL_INTERVAL, remaining))


def _lookup_proxy_factory(name: str) -> Any:
    """locate_ns()'s proxy class for a lookup of `name` on the connect handshake: makes _connect_lookup_class()
    proxies that ask for it."""
    lookup_proxy = _connect_lookup_class()

    def proxy_class(location_uri: str) -> Any:
        proxy = lookup_proxy(location_uri)
        proxy._pyroLookupName = name
        return proxy
    return proxy_class


_connect_lookup_proxy: Any = None


def _connect_lookup_class() -> Any:
    """The name server proxy class of resolve(): a Pyro5.client.Proxy whose connect message asks for the lookup
    of a name (the NSLK capability) and that keeps the answer, if the daemon gives one, as _pyroLookupAnswer."""
    global _connect_lookup_proxy
    if _connect_lookup_proxy is None:
        proxy = _proxy_class()

        class ConnectLookupProxy(proxy):  # type: ignore[valid-type,misc]
            _pyroLookupName: str | None = None
            _pyroLookupAnswer: tuple[str, str] | None = None

            def _pyroAnnotations(self) -> dict[str, bytes]:
                annotations = super()._pyroAnnotations()
                name = self._pyroLookupName
                if name is not None and self._pyroConnection is None:     # (the connect message)
                    annotations = dict(annotations)
                    annotations.update(_capabilities.lookup_offer(name))
                return annotations

            def _pyroResponseAnnotations(self, annotations: dict[str, bytes], msgtype: int) -> None:
                if msgtype == protocol.MSG_CONNECTOK and _capabilities.LOOKUP in annotations:
                    answer = _capabilities.lookup_answered(annotations)
                    if answer is not None and self._pyroLookupName is not None:
                        self._pyroLookupAnswer = (self._pyroLookupName, answer)
                    annotations = {k: v for k, v in annotations.items() if k != _capabilities.LOOKUP}
                super()._pyroResponseAnnotations(annotations, msgtype)

        _connect_lookup_proxy = ConnectLookupProxy
    return _connect_lookup_proxy


def _plain_proxy() -> bool:
    """Are the Proxy methods that _connect_lookup does without (the annotations of the connect message, the
    response annotations, the handshake check) Pyro5.client's own, not replaced by the program?"""
    proxy: Any = _proxy_class()
    for method in (proxy._pyroAnnotations, proxy._pyroResponseAnnotations, proxy._pyroValidateHandshake):
        if getattr(method, "__module__", None) != "Pyro5.client":
            return False
    return True


# The connect message of a connect lookup is the same bytes every time for a serializer and name while the call
# context has no annotations and no correlation id: remembered (bounded; emptied when full).
_lookup_requests: dict[tuple, protocol.SendingMessage] = {}
_MAX_LOOKUP_REQUESTS = 256


def _lookup_request(serializer: Any, name: str) -> protocol.SendingMessage:
    """The connect message (seq 0) to the name server that asks it to look up `name` (the NSLK capability)."""
    annotations = current_context.annotations
    plain = not annotations and current_context.correlation_id is None and not config.LOGWIRE
    key = (serializer, name)
    if plain:
        request = _lookup_requests.get(key)
        if request is not None:
            return request
    offer = dict(annotations)
    offer.update(_capabilities.lookup_offer(name))
    request = _codec.connect_request(serializer, 0, "hello", core.NAMESERVER_NAME, offer)
    if plain:
        if len(_lookup_requests) >= _MAX_LOOKUP_REQUESTS:
            _lookup_requests.clear()
        _lookup_requests[key] = request
    return request


# the address of a name server location (as _connect_lookup connects to it; bounded, emptied when full)
_ns_addresses: dict[str, Any] = {}


def _connect_lookup(location: str, name: str) -> tuple[core.URI | None, Any]:
    """What locate_ns(location) and the connect of a _connect_lookup_class() proxy for `name` do, without the proxy
    object when the name server answers on its connect reply (the usual case with ours): (the uri, None) then, the
    connection closed. Otherwise (an original name server, an unknown name, an answer that is not a uri) the
    connection becomes that proxy's, as if it had connected itself: (None, the proxy). The same messages, response
    annotations, errors and checks as the proxy's connect; the metadata of an answering name server (ours, which
    exposes its methods) is not looked at."""
    address = _ns_addresses.get(location)
    if address is None:
        ns_uri = core.URI("PYRO:%s@%s" % (core.NAMESERVER_NAME, location))
        address = ns_uri.sockname or (ns_uri.host, ns_uri.port)
        if len(_ns_addresses) >= _MAX_LOOKUP_REQUESTS:
            _ns_addresses.clear()
        _ns_addresses[location] = address
    serializer = serializers.get_serializer(config.SERIALIZER)
    timeout = config.COMMTIMEOUT
    # the exchange is done on the socket alone: the connection objects (SocketConnection, ProxyConnection) are
    # made only when the connection becomes the name server proxy's, not for the usual one-exchange lookup
    sock = open_socket(address, timeout, bare=True)
    conn = None     # (the SocketConnection, once the connection becomes the proxy's)
    try:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("connected to %s - %s - %s (name server lookup)", address, sock.family,
                      "SSL" if isinstance(sock, ssl.SSLSocket) else "unencrypted")
        msg = handshake_socket(sock, _lookup_request(serializer, name), address, timeout)
        answer = None
        annotations = msg.annotations
        if annotations:
            if msg.type == protocol.MSG_CONNECTOK and _capabilities.LOOKUP in annotations:
                answer = _capabilities.lookup_answered(annotations)
                annotations = {k: v for k, v in annotations.items() if k != _capabilities.LOOKUP}
            current_context.response_annotations = annotations     # (what Proxy._pyroResponseAnnotations does)
        meta, response = _codec.connect_result(msg, address)
        if answer is not None:
            try:
                uri = core.URI(answer)
            except errors.PyroError as x:     # (not a valid uri: the lookup call tells what is wrong)
                log.debug("invalid lookup answer on the connect reply: %s", x)
            else:
                # (a close without shutdown: nothing else holds this socket, the name server closes its end
                # after the answer; the same FIN, one system call less)
                sock.close()
                return uri, None
        dress(sock)        # (the bare connection is kept: see open_socket)
        ns_uri = core.URI("PYRO:%s@%s" % (core.NAMESERVER_NAME, location))
        proxy = _connect_lookup_class()(ns_uri)
        proxy._pyroLookupName = name
        proxy._pyroGetMetadata(known_metadata=meta)
        conn = ProxySocketConnection(sock, ns_uri.object)
        proxy._Proxy__link.attach(conn, str(ns_uri))
        proxy._pyroValidateHandshake(response)
    except BaseException:
        if conn is not None:
            conn.close()
        else:
            sock.close()
        raise
    return None, proxy


def metadata_choice(uri: core.URI, candidates: Any) -> core.URI:
    """A PYROMETA uri's answer: one of the yplookup candidates at random, or NamingError when there are none
    (the rule for blocking and asyncio resolve alike)."""
    if candidates:
        return _as_uri(random.choice(list(candidates.values())))
    raise errors.NamingError("no registrations available with desired metadata properties %s" % sorted(uri.metadata))


def _as_uri(value: Any) -> core.URI:
    if isinstance(value, core.URI):
        return value
    if isinstance(value, (tuple, list)) and value:  # a (uri, metadata) answer
        value = value[0]
    return core.URI(value)
