"""Name Server and helper functions.

Run it with ``python -m Pyro5.nameserver`` or ``pyro5-ns``; embed it with :func:`start_ns` or
:func:`start_ns_loop`.
"""
from __future__ import annotations

import argparse
import contextlib
import ipaddress
import itertools
import logging
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterable
from typing import Any, Optional, Sequence, Union

from Pyro5 import config, core
from Pyro5._ns_autoclean import AutoCleaner, check_autoclean_config
from Pyro5._ns_broadcast import BroadcastServer
from Pyro5._ns_leases import TTLRegistration
from Pyro5._ns_regex import compile_pattern, match_names
from Pyro5._ns_storage import MappingAdapter, MemoryStorage, StorageBase, check_ttl, create_storage
from Pyro5._ns_store_sql import SqlStorage
from Pyro5.errors import NamingError, PyroError
from Pyro5.server import Daemon, expose

__all__ = ["NameServer", "NameServerDaemon", "BroadcastServer", "AutoCleaner", "MemoryStorage", "SqlStorage",
           "StorageBase", "TTLRegistration", "start_ns", "start_ns_loop", "lookup", "yplookup", "main"]

log = logging.getLogger("Pyro5.naming")   # the original's logger name

NAMESERVER_METADATA = "class:Pyro5.nameserver.NameServer"
MAX_NAME_LENGTH = 1024
MAX_URI_LENGTH = 4096
MAX_TAG_LENGTH = 1024
MAX_TAGS = 1000
MAX_REGEX_LENGTH = 1024
#: seconds the regex matching of one list(regex=)/remove(regex=) request may take in total (client patterns
#: can backtrack catastrophically; see Pyro5._ns_regex)
REGEX_TIMEOUT = 1.0
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_LOOKUP_POLL_INTERVAL = 0.1
_CAS_ATTEMPTS = 50
#: seconds the own entry of a name server on a shared storage (etcd) outlives the name server
SHARED_SELF_TTL = 10.0


# ------------------------------------------------------------------------------------------------ validation
#
# Arguments of the wrong TYPE raise TypeError, as the original Pyro5 5.15 does (a remote caller receives
# builtins.TypeError); wrong VALUES (too long, control characters, empty, invalid uri or regex) raise
# NamingError. Both are logged here, since the caller only sees the exception.

def _rejected(message: str) -> NamingError:
    """The error for a bad value from a caller."""
    log.warning("name server rejected a request: %s", message)
    return NamingError(message)


def _wrong_type(message: str) -> TypeError:
    """The error for an argument of the wrong type from a caller."""
    log.warning("name server rejected a request: %s", message)
    return TypeError(message)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "...(%d characters)" % len(text)


def _check_name(name: Any, what: str = "name") -> str:
    if not isinstance(name, str):
        raise _wrong_type("%s must be a str, not %s" % (what, type(name).__name__))
    if not name:
        raise _rejected("%s must not be empty" % what)
    if len(name) > MAX_NAME_LENGTH:
        raise _rejected("%s is too long (%d characters, the maximum is %d)" % (what, len(name), MAX_NAME_LENGTH))
    if _CONTROL_CHARS.search(name):
        raise _rejected("%s %s contains control characters, which are not allowed" % (what, _short(name)))
    return name


def _check_text(value: Any, what: str, maxlength: int) -> str:
    if not isinstance(value, str):
        raise _wrong_type("%s must be a str, not %s" % (what, type(value).__name__))
    if len(value) > maxlength:
        raise _rejected("%s is too long (%d characters, the maximum is %d)" % (what, len(value), maxlength))
    return value


def _check_metadata(metadata: Any, what: str = "metadata") -> frozenset:
    """None or a collection of str (set, frozenset, list, tuple, or another non-str iterable) -> frozenset."""
    if metadata is None:
        return frozenset()
    if isinstance(metadata, (str, bytes, bytearray)):
        raise _wrong_type("%s should not be a %s, but another iterable of str (set, list, etc): got %s"
                          % (what, type(metadata).__name__, _short(metadata)))
    try:
        tags = list(itertools.islice(iter(metadata), MAX_TAGS + 1))
    except TypeError:
        raise _wrong_type("%s must be a set, list or tuple of str, not %s"
                          % (what, type(metadata).__name__)) from None
    if len(tags) > MAX_TAGS:
        raise _rejected("%s has too many tags (more than %d)" % (what, MAX_TAGS))
    for tag in tags:
        if not isinstance(tag, str):
            raise _wrong_type("%s tags must be str, not %s (%s)" % (what, type(tag).__name__, _short(tag)))
        if len(tag) > MAX_TAG_LENGTH:
            raise _rejected("%s tag is too long (%d characters, the maximum is %d)"
                            % (what, len(tag), MAX_TAG_LENGTH))
    return frozenset(tags)


def _check_lease(lease: Any) -> int:
    if isinstance(lease, bool) or not isinstance(lease, int):
        raise _rejected("lease must be an int, not %s" % type(lease).__name__)
    if not 0 <= lease < 2 ** 63:
        raise _rejected("lease %d is out of range" % lease)
    return lease


def _check_uri(name: str, uri: Any) -> str:
    if isinstance(uri, core.URI):
        return str(uri)
    if not isinstance(uri, str):
        raise _wrong_type("only URIs or strings can be registered, not %s (registering %r)"
                          % (type(uri).__name__, name))
    if len(uri) > MAX_URI_LENGTH:
        raise _rejected("uri for %r is too long (%d characters, the maximum is %d)" % (name, len(uri), MAX_URI_LENGTH))
    try:
        return str(core.URI(uri))
    except PyroError as x:
        raise _rejected("cannot register %r: %s" % (name, x)) from None


def _check_regex(regex: Any) -> Any:
    """Validate and compile a client's pattern (with the `regex` library, see Pyro5._ns_regex)."""
    _check_text(regex, "regex", MAX_REGEX_LENGTH)
    try:
        return compile_pattern(regex)
    except NamingError as x:
        raise _rejected(str(x)) from None


# ------------------------------------------------------------------------------------------------ name server

class NameServer:
    """
    Pyro name server. Provides a simple flat name space to map logical object names to Pyro URIs.
    Default storage is done in an in-memory dictionary. You can provide custom storage types.
    """

    def __init__(self, storageProvider: Any = None) -> None:
        self.storage = MemoryStorage() if storageProvider is None else storageProvider
        # a shared storage (etcd) is atomic on its own and shared with other processes anyway: a process lock
        # would only make every client of this name server wait for each other's etcd round trips
        self.lock: Any = contextlib.nullcontext() if getattr(self.storage, "shared", False) else threading.RLock()
        self.node_id = uuid.uuid4().hex   # this name server, in leader elections on a shared storage

    def _lead(self, role: str, ttl: float) -> bool:
        """Campaign for / renew the leadership of a role (e.g. "autoclean") among the name servers of a
        shared storage; True when this name server leads."""
        with self.lock:
            return bool(self._store("elect", role, self.node_id, ttl))

    # storage access with a fallback for storages that implement only the mapping protocol
    def _search(self, method: str, *args: Any) -> Any:
        implementation = getattr(self.storage, method, None)
        if implementation is None:
            implementation = getattr(MappingAdapter(self.storage), method)
        return implementation(*args)

    _store = _search

    @expose
    def count(self) -> int:
        """Returns the number of name registrations."""
        with self.lock:
            return len(self.storage)

    @expose
    def lookup(self, name: str, return_metadata: bool = False) -> Any:
        """Lookup the given name, returns an URI if found.
        Returns tuple (uri, metadata) if return_metadata is True."""
        _check_name(name)
        with self.lock:
            try:
                uri, metadata = self.storage[name]
            except KeyError:
                raise NamingError("unknown name: " + name) from None
        if return_metadata:
            return core.URI(uri), set(metadata)
        return core.URI(uri)

    @property
    def _pyroConnectLookupPlain(self) -> bool:
        """(not remote) Does _pyroConnectLookup run the name server's own code alone (lookup() is NameServer's)? The
        daemon then answers a lookup on connect without setting up a call context (see Pyro5._svr_connect)."""
        return type(self).lookup is NameServer.lookup

    def _pyroConnectLookup(self, name: str) -> Any:
        """(not remote) lookup(name) for the daemon's NSLK capability: the answer on a client's connect reply. The
        registered uri string itself (it was stored as str(URI)) when lookup() is NameServer's own; a subclass's
        lookup() is asked."""
        if type(self).lookup is not NameServer.lookup:
            return self.lookup(name)
        _check_name(name)
        with self.lock:
            try:
                return self.storage[name][0]
            except KeyError:
                raise NamingError("unknown name: " + name) from None

    @expose
    def register(self, name: str, uri: Union[str, core.URI], safe: bool = False,
                 metadata: Optional[Iterable[str]] = None) -> None:
        """Register a name with an URI. If safe is true, name cannot be registered twice.
        The uri can be a string or an URI object. Metadata must be None, or a collection of strings."""
        _check_name(name)
        uristring = _check_uri(name, uri)
        tags = _check_metadata(metadata)
        with self.lock:
            if safe:
                if not self._store("put_if_absent", name, uristring, tags, None):
                    raise NamingError("name already registered: " + name)
            else:
                self._store("put", name, uristring, tags, None)
        log.debug("registered %r -> %s", name, uristring)

    @expose
    def register_with_ttl(self, name: str, uri: Union[str, core.URI], ttl: float, safe: bool = False,
                          metadata: Optional[Iterable[str]] = None) -> int:
        """Register a name that lives only as long as its lease: the name disappears ttl seconds after the
        last keep_alive(lease). Returns the lease id (it lives in the storage, not in this name server, so
        any name server on the same storage can keep it alive). See TTLRegistration for the helper."""
        _check_name(name)
        uristring = _check_uri(name, uri)
        tags = _check_metadata(metadata)
        try:
            seconds = check_ttl(ttl)
        except NamingError as x:
            raise _rejected(str(x)) from None
        with self.lock:
            lease = self._store("grant_lease", seconds)
            if safe:
                if not self._store("put_if_absent", name, uristring, tags, lease):
                    self._store("revoke_lease", lease)
                    raise NamingError("name already registered: " + name)
            else:
                self._store("put", name, uristring, tags, lease)
        log.debug("registered %r -> %s with a ttl of %s seconds (lease %s)", name, uristring, seconds, lease)
        return lease

    @expose
    def keep_alive(self, lease: int) -> bool:
        """Renew a lease of register_with_ttl() for its TTL; False when it has already expired (its names are
        gone: register again)."""
        _check_lease(lease)
        with self.lock:
            return self._store("keep_alive", lease) > 0

    @expose
    def revoke_lease(self, lease: int) -> None:
        """End a lease of register_with_ttl() now: its names are removed."""
        _check_lease(lease)
        with self.lock:
            self._store("revoke_lease", lease)

    @expose
    def set_metadata(self, name: str, metadata: Optional[Iterable[str]]) -> None:
        """update the metadata for an existing registration"""
        _check_name(name)
        tags = _check_metadata(metadata)
        with self.lock:
            for _attempt in range(_CAS_ATTEMPTS):   # another name server may change the entry in between
                try:
                    old = self.storage[name]
                except KeyError:
                    raise NamingError("unknown name: " + name) from None
                if self._store("compare_and_set", name, old, (old[0], tags)):
                    return
        raise NamingError("metadata of %s not set: the registration kept changing" % name)

    @expose
    def remove(self, name: Optional[str] = None, prefix: Optional[str] = None, regex: Optional[str] = None) -> int:
        """Remove a registration. returns the number of items removed.
        The name server's own registration is never removed."""
        if name is not None:
            if not isinstance(name, str):
                return 0    # (never registered; the original answers 0 as well)
            _check_name(name)
            if name == core.NAMESERVER_NAME:
                return 0
            with self.lock:
                if self._store("delete_names", [name]):
                    log.debug("removed %r", name)
                    return 1
            return 0
        if prefix is not None:
            _check_text(prefix, "prefix", MAX_NAME_LENGTH)
            with self.lock:
                found = self._search("optimized_prefix_list", prefix)
                return self._remove_found(found)
        if regex is not None:
            found = self._regex_search(_check_regex(regex), False)
            with self.lock:
                return self._remove_found(found)
        return 0

    def _regex_search(self, pattern: Any, return_metadata: bool) -> dict:
        """The registrations whose name matches a client's (compiled) pattern. The names are copied under
        the lock and matched outside it, with a time limit (REGEX_TIMEOUT), so a pathological pattern can
        neither block other clients nor hang the server."""
        with self.lock:
            items = list(self.storage.items())
        found = dict(match_names(pattern, items, REGEX_TIMEOUT))
        if return_metadata:
            return {name: (uri, set(meta)) for name, (uri, meta) in found.items()}
        return {name: uri for name, (uri, _meta) in found.items()}

    # the brief's name for remove(); kept exposed as an alias
    @expose
    def unregister(self, name: Optional[str] = None, prefix: Optional[str] = None,
                   regex: Optional[str] = None) -> int:
        """Alias of remove()."""
        return self.remove(name, prefix, regex)

    def _remove_found(self, found: dict) -> int:
        found.pop(core.NAMESERVER_NAME, None)
        if not found:
            return 0
        removed = self._store("delete_names", list(found))
        log.debug("removed %d registrations", removed)
        return removed

    def _remove_if_unchanged(self, candidates: Iterable[tuple[str, str]]) -> list[str]:
        """Remove the names that are still registered with the given uri (used by the autocleaner)."""
        removed: list[str] = []
        with self.lock:
            for name, uri in candidates:
                if name == core.NAMESERVER_NAME:
                    continue
                if self._store("compare_and_delete", name, uri):
                    removed.append(name)
        return removed

    @expose
    def list(self, prefix: Optional[str] = None, regex: Optional[str] = None,
             return_metadata: bool = False) -> dict:
        """Retrieve the registered items as a dictionary name-to-URI. The URIs in the resulting dict
        are strings, not URI objects. You can filter by prefix or by regex."""
        if prefix is not None and regex is not None:
            raise ValueError("you can only filter on one thing at a time")
        if regex is not None:
            return self._regex_search(_check_regex(regex), bool(return_metadata))
        with self.lock:
            if prefix is not None:
                _check_text(prefix, "prefix", MAX_NAME_LENGTH)
                return self._search("optimized_prefix_list", prefix, bool(return_metadata))
            return self._search("everything", bool(return_metadata))

    @expose
    def yplookup(self, meta_all: Optional[Iterable[str]] = None, meta_any: Optional[Iterable[str]] = None,
                 return_metadata: bool = True) -> dict:
        """Do a yellow-pages lookup for registrations that have all or any of the given metadata tags.
        By default returns the actual metadata in the result as well."""
        if meta_all is not None and meta_any is not None:
            raise ValueError("you can't use meta_all or meta_any at the same time")
        all_tags = None if meta_all is None else _check_metadata(meta_all, "meta_all")
        any_tags = None if meta_any is None else _check_metadata(meta_any, "meta_any")
        if all_tags is None and any_tags is None:
            return {}
        with self.lock:
            return self._search("optimized_metadata_search", all_tags, any_tags, bool(return_metadata))

    @expose
    def ping(self) -> None:
        """A simple test method to check if the name server is running correctly."""


# ------------------------------------------------------------------------------------------------ daemon

class NameServerDaemon(Daemon):
    """Daemon that contains the Name Server (registered as "Pyro.NameServer").

    `storage` is None or "memory" (in-memory), "sql:<file>" (sqlite), "etcd://host:port[,host:port...]/prefix"
    (etcd: a registry shared with every name server on the same endpoints and prefix), or a storage object.
    `autoclean` overrides config.NS_AUTOCLEAN (the period of the registration cleaner; 0 = off); unlike the
    config item it may be shorter than 3 seconds (meant for tests).
    """

    def __init__(self, host: Optional[str] = None, port: Optional[int] = None, unixsocket: Optional[str] = None,
                 nathost: Optional[str] = None, natport: Optional[int] = None, storage: Any = None,
                 *, autoclean: Optional[float] = None) -> None:
        if host is None:
            host = config.HOST
        elif not isinstance(host, str):
            host = str(host)  # e.g. an ipaddress object
        if port is None:
            port = config.NS_PORT
        if nathost is not None and not isinstance(nathost, str):
            nathost = str(nathost)
        self.nameserver: Optional[NameServer] = None
        self.autocleaner: Optional[AutoCleaner] = None
        self.self_registration: Optional[TTLRegistration] = None
        period = check_autoclean_config() if autoclean is None else float(autoclean)
        store = create_storage(storage)
        try:
            self.existing_registrations = len(store)
            super().__init__(host, int(port), unixsocket, nathost=nathost, natport=natport)
        except BaseException:
            if store is not storage:
                store.close()
            raise
        self._storage_open = True
        self.nameserver = NameServer(store)
        try:
            self.register(self.nameserver, core.NAMESERVER_NAME)
            if getattr(store, "shared", False):
                # several name servers share the registry: the entry of the one that registered last, on a
                # lease this one keeps alive; when it dies another name server claims the name
                nameserver = self.nameserver
                self.self_registration = TTLRegistration(
                    core.NAMESERVER_NAME, self.uriFor(nameserver), SHARED_SELF_TTL, {NAMESERVER_METADATA},
                    locate=lambda: nameserver, claim_missing=True).start()
            else:
                self.nameserver.register(core.NAMESERVER_NAME, self.uriFor(self.nameserver),
                                         metadata={NAMESERVER_METADATA})
            if period > 0:
                self.autocleaner = AutoCleaner(self.nameserver, period)
                self.autocleaner.start()
        except BaseException:
            self.close()
            raise
        log.info("name server running on %s", self.locationStr)

    @property
    def storage(self) -> Any:
        return self.nameserver.storage if self.nameserver else None

    def close(self) -> None:
        """Close the daemon, stop the autoclean thread and close the storage."""
        if self.autocleaner is not None:
            self.autocleaner.stop()
            self.autocleaner = None
        super().close()
        nameserver = self.nameserver
        if nameserver is not None and getattr(self, "_storage_open", False):
            self._storage_open = False
            self._leave_shared_storage(nameserver)
            with nameserver.lock:
                closer = getattr(nameserver.storage, "close", None)
                if closer is not None:
                    closer()
        self.nameserver = None   # (like the original; programs test it to see if the name server was closed)

    def _leave_shared_storage(self, nameserver: NameServer) -> None:
        """Give up this name server's own entry and leaderships (another name server takes over)."""
        registration, self.self_registration = self.self_registration, None
        if registration is None:
            return
        try:
            registration.stop(revoke=True)
            nameserver._store("resign", "autoclean", nameserver.node_id)
        except PyroError as x:
            log.warning("could not leave the shared storage cleanly: %s", x)

    def __enter__(self) -> "NameServerDaemon":
        super().__enter__()
        return self


# ------------------------------------------------------------------------------------------------ helpers

def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        pass
    try:
        return all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback
                   for info in socket.getaddrinfo(host, None))
    except (OSError, ValueError):
        return False


def start_ns(host: Optional[str] = None, port: Optional[int] = None, enableBroadcast: bool = True,
             bchost: Optional[str] = None, bcport: Optional[int] = None, unixsocket: Optional[str] = None,
             nathost: Optional[str] = None, natport: Optional[int] = None,
             storage: Any = None) -> tuple[core.URI, NameServerDaemon, Optional[BroadcastServer]]:
    """utility fuction to quickly get a Name server daemon to be used in your own event loops.
    Returns (nameserverUri, nameserverDaemon, broadcastServer); with NAT the uri is the external one.

    No broadcast responder is made for a unix socket name server or one that binds on a loopback address."""
    daemon = NameServerDaemon(host, port, unixsocket, nathost=nathost, natport=natport, storage=storage)
    assert daemon.nameserver is not None
    nsUri = daemon.uriFor(daemon.nameserver)   # the external uri when NAT is used, like the original
    bcserver = None
    if unixsocket:
        log.debug("no broadcast responder for a unix socket name server")
    elif enableBroadcast:
        bound_host = daemon.sock.getsockname()[0]
        if _is_loopback(str(bound_host)):
            log.info("not starting broadcast server for localhost")
        else:
            try:
                # the responder answers with the internal address: a broadcast comes from the local network,
                # behind the NAT (manual, "Pyro behind a NAT"; the original does the same)
                internal_uri = daemon.uriFor(daemon.nameserver, nat=False)
                bcserver = BroadcastServer(internal_uri, bchost, bcport,
                                           ipv6=daemon.sock.family == socket.AF_INET6)
            except BaseException:
                daemon.close()
                raise
    return nsUri, daemon, bcserver


def start_ns_loop(host: Optional[str] = None, port: Optional[int] = None, enableBroadcast: bool = True,
                  bchost: Optional[str] = None, bcport: Optional[int] = None, unixsocket: Optional[str] = None,
                  nathost: Optional[str] = None, natport: Optional[int] = None, storage: Any = None) -> None:
    """utility function that starts a new Name server and enters its requestloop."""
    nsUri, daemon, bcserver = start_ns(host, port, enableBroadcast, bchost, bcport, unixsocket, nathost, natport,
                                       storage)
    try:
        if bcserver is not None:
            print("Broadcast server running on %s" % bcserver.locationStr)
            daemon.combine(bcserver)
        elif not unixsocket and _is_loopback(str(daemon.sock.getsockname()[0])):
            print("Not starting broadcast server for localhost.")    # (also with -x, like the original)
        # like the original: counted after the name server registered itself, so only more than 1 is news
        assert daemon.nameserver is not None
        existing = daemon.nameserver.count()
        if existing > 1:
            print("Persistent store contains %d existing registrations." % existing)
        if unixsocket:
            print("NS running on %s (Unix domain socket)" % daemon.locationStr)
        else:
            print("NS running on %s (%s)" % (daemon.locationStr, daemon.sock.getsockname()[0]))
        if daemon.natLocationStr:
            print("internal URI = %s" % daemon.uriFor(daemon.nameserver, nat=False))
            print("external URI = %s" % nsUri)
        else:
            print("URI = %s" % nsUri)
        sys.stdout.flush()
        daemon.requestLoop()
    except KeyboardInterrupt:
        log.debug("name server interrupted")
    finally:
        daemon.close()
        if bcserver is not None:
            bcserver.close()
    print("NS shut down.")
    sys.stdout.flush()


def lookup(nameserver: Any, name: str, return_metadata: bool = False, delay_time: float = 0) -> Any:
    """
    Utility function to call nameserver.lookup,
    with the possibility of a retry loop until the asked name becomes available.
    You have to set the delay_time (or the corresponding config item NS_LOOKUP_DELAY)
    to the maximum number of seconds you are willing to wait.
    """
    deadline = time.monotonic() + float(delay_time or config.NS_LOOKUP_DELAY or 0)
    while True:
        try:
            return nameserver.lookup(name, return_metadata)
        except NamingError:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise
            time.sleep(min(_LOOKUP_POLL_INTERVAL, remaining))


def yplookup(nameserver: Any, meta_all: Optional[Iterable[str]] = None, meta_any: Optional[Iterable[str]] = None,
             return_metadata: bool = True, delay_time: float = 0) -> dict:
    """
    Utility function to call nameserver.yplookup,
    with the possibility of a retry loop until the asked name becomes available.
    You have to set the delay_time (or the corresponding config item NS_LOOKUP_DELAY)
    to the maximum number of seconds you are willing to wait.
    """
    deadline = time.monotonic() + float(delay_time or config.NS_LOOKUP_DELAY or 0)
    while True:
        found = nameserver.yplookup(meta_all, meta_any, return_metadata)
        remaining = deadline - time.monotonic()
        if found or remaining <= 0:
            return found
        time.sleep(min(_LOOKUP_POLL_INTERVAL, remaining))


# ------------------------------------------------------------------------------------------------ command line

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyro5-ns", description="Pyro name server command line launcher.")
    parser.add_argument("-n", "--host", dest="host", help="hostname to bind server on")
    parser.add_argument("-p", "--port", dest="port", type=int, help="port to bind server on (0=random)")
    parser.add_argument("-u", "--unixsocket", help="Unix domain socket name to bind server on")
    parser.add_argument("-s", "--storage", default=None,
                        help="Storage system to use (memory, sql:file, etcd://host:port[,host:port...]/prefix; "
                             "name servers on the same etcd endpoints and prefix serve one registry)")
    parser.add_argument("--bchost", dest="bchost", help='hostname to bind broadcast server on (default is "")')
    parser.add_argument("--bcport", dest="bcport", type=int, help="port to bind broadcast server on (0=random)")
    parser.add_argument("--nathost", dest="nathost", help="external hostname in case of NAT")
    parser.add_argument("--natport", dest="natport", type=int, help="external port in case of NAT")
    parser.add_argument("-x", "--nobc", dest="enablebc", action="store_false", default=True,
                        help="don't start a broadcast server")
    return parser


def main(args: Optional[Sequence[str]] = None) -> int:
    """The pyro5-ns command: start a name server and serve until interrupted (Ctrl-C). Returns the exit code."""
    options = _parser().parse_args(args)
    if options.nathost is None and options.natport:
        print("Error: --natport needs --nathost as well", file=sys.stderr)
        return 1
    previous_sigterm = _sigterm_as_interrupt()
    try:
        create_storage_check(options.storage)
        start_ns_loop(options.host, options.port, enableBroadcast=options.enablebc, bchost=options.bchost,
                      bcport=options.bcport, unixsocket=options.unixsocket, nathost=options.nathost,
                      natport=options.natport, storage=options.storage)
    except KeyboardInterrupt:
        print("NS shut down.")
        return 0
    except OSError as x:
        from ._cli import listen_error
        print(listen_error("pyro5-ns", x) if x.filename else "Error: cannot start the name server: %s" % x,
              file=sys.stderr)
        return 1
    except (PyroError, ValueError) as x:
        print("Error: cannot start the name server: %s" % x, file=sys.stderr)
        return 1
    finally:
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)
    return 0


def _sigterm_as_interrupt() -> Any:
    """Make SIGTERM stop the name server as cleanly as Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        return None

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def create_storage_check(spec: Optional[str]) -> None:
    """Validate a storage spec from the command line before anything is started (raises NamingError)."""
    if spec is None or spec == "memory":
        return
    kind, _colon, location = spec.partition(":")
    if kind == "sql" and location:
        return
    create_storage(spec).close()  # raises the appropriate NamingError (an etcd spec is parsed, not contacted)


if __name__ == "__main__":
    sys.exit(main())
