"""Multi purpose stuff used by both clients and servers (URI etc)."""
from __future__ import annotations

import inspect
import ipaddress
import logging
import re
from typing import TYPE_CHECKING, Any

from . import _wire_hooks, config, errors
from .callcontext import current_context

if TYPE_CHECKING:  # pragma: no cover
    from Pyro5.client import Proxy

__all__ = ["URI", "_ExceptionWrapper", "DAEMON_NAME", "NAMESERVER_NAME", "type_meta", "locate_ns", "resolve", "current_context"]

log = logging.getLogger("Pyro5.core")

DAEMON_NAME = "Pyro.Daemon"
NAMESERVER_NAME = "Pyro.NameServer"

_PROTOCOLS = ("PYRO", "PYRONAME", "PYROMETA")
_UNIX_PREFIX = "./u:"
_IPV6_LOCATION = re.compile(r"^\[([^\[\]]+)\](?::(.*))?$")


class _URITypeError(errors.PyroError, TypeError):
    """URI() of something that is not a str or URI: TypeError as in the original 5.15, and a PyroError as code
    written for a stricter parser expects. Sent to a peer, it is the original's ``builtins.TypeError``."""


_URITypeError.__module__ = "builtins"
_URITypeError.__name__ = _URITypeError.__qualname__ = "TypeError"


# uri text -> (protocol, object, sockname, host, port, the NS_PORT a PYRONAME's default port came from or None):
# a uri string seen before is not parsed again (proxies and the name server make URIs of the same strings often)
_parsed_uris: dict[str, tuple] = {}
_PARSED_URIS_MAX = 4096


class URI:
    """Pyro object URI (universal resource identifier).
    The uri format is like this: ``PYRO:objectid@location`` where location is one of:

    - ``hostname:port`` (tcp/ip socket on given port; an IPv6 address goes between brackets: ``[::1]:5555``)
    - ``./u:sockname`` (Unix domain socket on localhost)

    There is also a 'Magic format' for simple name resolution using Name server:
    ``PYRONAME:objectname[@location]``  (optional name server location, can also omit location port)
    And one that looks up things in the name server by metadata:
    ``PYROMETA:meta1,meta2,...[@location]``  (optional name server location, can also omit location port)

    You can write the protocol in lowercase if you like (pyro:...) but it will
    automatically be converted to uppercase internally.

    For PYROMETA uris the metadata tags are available as the set ``metadata``; like the original Pyro5,
    the ``object`` attribute (and the state tuple) hold that same set.
    """

    protocol: str
    object: Any
    sockname: str | None
    host: str | None
    port: int | None
    metadata: set[str]

    def __init__(self, uri: str | URI) -> None:
        if isinstance(uri, URI):
            self.__setstate__(uri.__getstate__())
            return
        if not isinstance(uri, str):
            raise _URITypeError("uri parameter object is of wrong type: expected a str or URI, got %s (%r)"
                            % (type(uri).__name__, uri))
        parsed = _parsed_uris.get(uri)
        if parsed is not None and (parsed[5] is None or parsed[5] == config.NS_PORT):
            self.protocol, self.object, self.sockname, self.host, self.port = parsed[:5]
            self.metadata = set()
            return
        self._parse(uri)
        if self.protocol != "PYROMETA":     # (PYROMETA's object is a mutable set: parsed every time)
            if len(_parsed_uris) >= _PARSED_URIS_MAX:
                _parsed_uris.clear()
            _parsed_uris[uri] = (self.protocol, self.object, self.sockname, self.host, self.port,
                                 None if self.protocol == "PYRO" else config.NS_PORT)

    def _parse(self, uri: str) -> None:
        self.protocol = ""
        self.object = None
        self.sockname = None
        self.host = None
        self.port = None
        self.metadata = set()
        text = uri.strip()
        if "@" + _UNIX_PREFIX in text:
            # a unix socket path keeps its trailing white space (the original's changelog for 5.6): only a single
            # final newline is dropped, as the original's parser does
            text = uri.lstrip()
            if text.endswith("\n"):
                text = text[:-1]
        if not text:
            raise errors.PyroError("invalid uri: empty string; expected PYRO:objectid@host:port, "
                                   "PYRONAME:name[@host[:port]] or PYROMETA:tag1,tag2[@host[:port]]")
        protocol, colon, rest = text.partition(":")
        if not colon or not protocol or "@" in protocol:
            raise errors.PyroError("invalid uri %r: no protocol; expected PYRO:objectid@host:port, "
                                   "PYRONAME:name or PYROMETA:tags" % uri)
        protocol = protocol.upper()
        if protocol not in _PROTOCOLS:
            raise errors.PyroError("invalid uri %r: unknown protocol %r, must be one of PYRO, PYRONAME, PYROMETA"
                                   % (uri, protocol))
        self.protocol = protocol
        objectid, at, location = rest.partition("@")
        if any(c.isspace() for c in objectid):
            raise errors.PyroError("invalid uri %r: whitespace is not allowed in the object id" % uri)
        if not objectid:
            raise errors.PyroError("invalid uri %r: empty object id (name) before the location" % uri)
        if at and not location:
            raise errors.PyroError("invalid uri %r: empty location after '@'" % uri)
        if protocol == "PYRO":
            if not at:
                raise errors.PyroError("invalid uri %r: a PYRO uri needs a location: PYRO:objectid@host:port or "
                                       "PYRO:objectid@./u:socketpath" % uri)
            self.object = objectid
            self._parse_location(uri, location, None)
        else:
            if protocol == "PYRONAME":
                self.object = objectid
            else:
                tags = [tag for tag in objectid.split(",")]
                if any(not tag for tag in tags):
                    raise errors.PyroError("invalid uri %r: empty metadata tag in PYROMETA uri" % uri)
                self.metadata = set(tags)
                self.object = self.metadata
            if at:
                self._parse_location(uri, location, config.NS_PORT)

    def _parse_location(self, uri: str, location: str, default_port: int | None) -> None:
        if location.startswith(_UNIX_PREFIX):
            sockname = location[len(_UNIX_PREFIX):]
            if not sockname:
                raise errors.PyroError("invalid uri %r: empty unix socket name after './u:'" % uri)
            if ":" in sockname:
                raise errors.PyroError("invalid uri %r: a unix socket location ./u:path cannot have a port "
                                       "(no ':' allowed in the socket path)" % uri)
            if "\n" in sockname:
                raise errors.PyroError("invalid uri %r: a newline is not allowed in a unix socket path" % uri)
            self.sockname = sockname
            return
        if location.startswith("["):
            if location.startswith("[["):
                raise errors.PyroError("invalid uri %r: ipv6 address enclosed in too many brackets" % uri)
            match = _IPV6_LOCATION.match(location)
            if not match:
                raise errors.PyroError("invalid uri %r: bad ipv6 location %r, expected [ipv6address]:port"
                                       % (uri, location))
            host, port = match.group(1), match.group(2)
            try:
                ipaddress.IPv6Address(host.split("%", 1)[0])
            except ValueError:
                raise errors.PyroError("invalid uri %r: %r between the brackets is not an ipv6 address"
                                       % (uri, host)) from None
            if port == "":
                raise errors.PyroError("invalid uri %r: empty port after ':'" % uri)
        else:
            if "]" in location:
                raise errors.PyroError("invalid uri %r: unbalanced ']' in location %r" % (uri, location))
            if location.count(":") > 1:
                raise errors.PyroError("invalid uri %r: an ipv6 address must be written between brackets: "
                                       "[address]:port" % uri)
            host, colon, port = location.partition(":")
            if not host:
                raise errors.PyroError("invalid uri %r: empty host name in location %r" % (uri, location))
            if "@" in host:
                raise errors.PyroError("invalid uri %r: more than one '@' in the uri" % uri)
            if any(c.isspace() for c in host):
                raise errors.PyroError("invalid uri %r: whitespace is not allowed in the location" % uri)
            if colon and not port:
                raise errors.PyroError("invalid uri %r: empty port after ':'" % uri)
            if not colon:
                port = None
        self.host = host
        if port is None:
            if default_port is None:
                raise errors.PyroError("invalid uri %r: location %r has no port; a PYRO uri needs host:port"
                                       % (uri, location))
            self.port = default_port
            return
        # The port is parsed like the original 5.15 does (int(): no upper bound, so PYRO:x@host:99999 is a valid
        # uri, also "+5" or " 5"); a socket refuses an impossible port only when it is used.
        if location.startswith("["):
            valid = port.isdigit()
        else:
            valid = not port[-1:].isspace()
        try:
            portnumber = int(port) if valid else None
        except ValueError:
            portnumber = None
        if portnumber is None:
            raise errors.PyroError("invalid uri %r: invalid port %r, must be a number" % (uri, port))
        self.port = portnumber

    @staticmethod
    def isUnixsockLocation(location: str) -> bool:
        """determine if a location string is for a Unix domain socket"""
        return isinstance(location, str) and location.startswith(_UNIX_PREFIX)

    @property
    def location(self) -> str | None:
        """property containing the location string, for instance "servername.you.com:5555" """
        if self.host:
            host = "[%s]" % self.host if ":" in self.host else self.host
            if self.port is None:
                return host
            return "%s:%d" % (host, self.port)
        if self.sockname:
            return _UNIX_PREFIX + self.sockname
        return None

    def _object_text(self) -> str:
        if self.protocol == "PYROMETA":
            return ",".join(sorted(self.metadata))
        return str(self.object)

    def __str__(self) -> str:
        result = "%s:%s" % (self.protocol, self._object_text())
        location = self.location
        if location:
            result += "@" + location
        return result

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; %s>" % (type(self).__module__, type(self).__qualname__, id(self), self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, URI):
            return NotImplemented
        return str(self) == str(other)

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(str(self))

    def __getstate__(self) -> tuple:
        return self.protocol, self.object, self.sockname, self.host, self.port

    def __setstate__(self, state: tuple) -> None:
        # the state may come from the wire: check it so that a bad peer cannot plant a broken URI
        try:
            protocol, obj, sockname, host, port = state
        except (TypeError, ValueError):
            raise errors.SerializeError("invalid URI state %r: expected (protocol, object, sockname, host, port)"
                                        % (state,)) from None
        if protocol not in _PROTOCOLS:
            raise errors.SerializeError("invalid URI state: unknown protocol %r" % (protocol,))
        if sockname is not None and not isinstance(sockname, str):
            raise errors.SerializeError("invalid URI state: sockname must be a str or None, got %r" % (sockname,))
        if host is not None and not isinstance(host, str):
            raise errors.SerializeError("invalid URI state: host must be a str or None, got %r" % (host,))
        if port is not None and type(port) is not int:
            raise errors.SerializeError("invalid URI state: port must be an int or None, got %r" % (port,))
        if protocol == "PYROMETA":
            if isinstance(obj, str):
                obj = obj.split(",")
            if not isinstance(obj, (set, frozenset, list, tuple)) or not all(isinstance(t, str) for t in obj):
                raise errors.SerializeError("invalid URI state: PYROMETA metadata must be a collection of str, "
                                            "got %r" % (obj,))
        elif not isinstance(obj, str) or not obj:
            raise errors.SerializeError("invalid URI state: object id must be a non-empty str, got %r" % (obj,))
        self.protocol = protocol
        self.sockname = sockname
        self.host = host
        self.port = port
        if protocol == "PYROMETA":
            self.metadata = set(obj)
            self.object = self.metadata
        else:
            self.object = obj
            self.metadata = set()


URI.__module__ = "Pyro5.core"
URI.__qualname__ = "URI"


class _ExceptionWrapper:
    """Carries an exception as a value, e.g. the failed call in a batch result (semi-internal, as in the original).

    It travels as ``{"__class__": "Pyro5.core._ExceptionWrapper", "exception": <the exception>}`` in every
    serializer and is recreated as this class on the receiving side."""

    def __init__(self, exception: BaseException) -> None:
        self.exception = exception

    def raiseIt(self) -> None:
        """Raises the wrapped exception."""
        raise self.exception

    def __serialized_dict__(self) -> dict:
        """The serialized form (the original has this method too)."""
        return {"__class__": "Pyro5.core._ExceptionWrapper", "exception": self.exception}

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; %r>" % (type(self).__module__, type(self).__qualname__, id(self), self.exception)


def type_meta(class_or_object: Any, prefix: str = "class:") -> set[str]:
    """extracts type metadata from the given class or object, can be used as Name server metadata.

    Returns a set of ``prefix + module.classname`` for the class and its base classes; builtin classes
    (object, dict, Exception, ...) are left out, as the original Pyro5 does."""
    clazz = class_or_object if inspect.isclass(class_or_object) else type(class_or_object)
    return {prefix + c.__module__ + "." + c.__name__ for c in inspect.getmro(clazz) if c.__module__ != "builtins"}


def locate_ns(host: Any = "", port: int | None = None, broadcast: bool = True) -> Proxy:
    """Get a proxy for a name server somewhere in the network."""
    return _wire_hooks.get("locate_ns", "Pyro5.core.locate_ns")(host, port, broadcast)


def resolve(uri: str | URI, delay_time: float = 0.0) -> URI:
    """Resolve a 'magic' uri (PYRONAME, PYROMETA) into the direct PYRO uri.
    It finds a name server, and use that to resolve a PYRONAME uri into the direct PYRO uri pointing to the
    named object. If uri is already a PYRO uri, it is returned unmodified.
    You can set delay_time to the maximum number of seconds you are prepared to wait until a name registration
    becomes available in the nameserver."""
    return _wire_hooks.get("resolve", "Pyro5.core.resolve")(uri, delay_time)
