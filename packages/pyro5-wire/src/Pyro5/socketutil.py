"""Low level socket utilities: socket creation, exact-size send/receive, addresses and SSL contexts.

:func:`send_data` and :func:`receive_data` (and :class:`SocketConnection`, which uses them) are wrappers over
Pyro's blocking stream layer (``Pyro5._wire_stream``): one deadline for the whole call, the socket's timeout
(COMMTIMEOUT for a non-blocking socket); they turn the many ways a socket can fail into
:class:`Pyro5.errors.TimeoutError` and :class:`Pyro5.errors.ConnectionClosedError`.
"""
from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import os
import select
import socket
import ssl
import stat
import threading
from typing import Any, Optional, Sequence, Tuple, Union

from . import _wire_stream, errors

__all__ = [
    "SocketConnection", "bind_unused_port", "create_bc_socket", "create_socket", "find_probably_unused_port",
    "get_interface", "get_ip_address", "get_ssl_context", "interrupt_socket", "receive_data", "send_data",
    "set_keepalive", "set_nodelay", "set_noinherit", "set_reuseaddr",
]

log = logging.getLogger("Pyro5.socketutil")

IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
Address = Union[Tuple[Any, ...], str]

# A connected UDP socket sends nothing: connect() only asks the kernel which local address would route to the
# target. We use a documentation-only address (RFC 5737 TEST-NET-3), so no real host is ever named.
_ROUTE_PROBE_V4 = "203.0.113.1"
_LISTEN_BACKLOG = 200


def _config() -> Any:
    from . import config  # the package attribute; read at use time, never cached
    return config


def _commtimeout() -> Optional[float]:
    """config.COMMTIMEOUT as a socket timeout: None (as in the original) and 0 mean no timeout."""
    value = _config().COMMTIMEOUT
    if value is None:
        return None
    return float(value) or None


def _effective_timeout(timeout: Optional[float]) -> Optional[float]:
    """-1 means 'use config.COMMTIMEOUT'; None and 0 mean blocking (no timeout)."""
    if timeout is not None and timeout < 0:
        return _commtimeout()
    return timeout or None


# ------------------------------------------------------------------------------------------ addresses

def get_ip_address(hostname: str, workaround127: bool = False, version: Optional[int] = None) -> IPAddress:
    """Returns the IP address for the given host (the local host name when empty).

    version 4 or 6 asks for that address family, 0 lets the OS choose, None uses config.PREFER_IP_VERSION.
    With workaround127 a loopback result is replaced by this machine's externally routed IPv4 address
    (found without sending anything); when there is none, the loopback address is returned.
    """
    if version is None:
        version = int(_config().PREFER_IP_VERSION)
    if version not in (0, 4, 6):
        raise ValueError(f"invalid IP version {version!r}: use 4, 6, 0 (OS decides) or None (config)")
    if isinstance(hostname, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        hostname = str(hostname)
    family = {0: socket.AF_UNSPEC, 4: socket.AF_INET, 6: socket.AF_INET6}[version]
    host = hostname or socket.gethostname()
    try:
        infos = socket.getaddrinfo(host, 80, family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except socket.gaierror as x:
        if version == 6:
            raise OSError(f"unable to determine IPv6 address of {host!r}: {x}") from x
        if version == 4:
            raise OSError(f"unable to determine IPv4 address of {host!r}: {x}") from x
        raise
    ip = ipaddress.ip_address(str(infos[0][4][0]).split("%", 1)[0])
    if workaround127 and ip.is_loopback and ip.version == 4:
        return _routed_ipv4_address() or ip
    return ip


def _routed_ipv4_address() -> Optional[ipaddress.IPv4Address]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((_ROUTE_PROBE_V4, 53))  # UDP connect: no packet is sent
            addr = ipaddress.ip_address(s.getsockname()[0])
        except OSError:
            return None
    return None if addr.is_unspecified else addr  # type: ignore[return-value]


def get_interface(ip_address: Union[str, IPAddress]) -> Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]:
    """Tries to find the network interface (local address) that connects to the given host's address."""
    if isinstance(ip_address, str):
        try:
            ip = ipaddress.ip_address(ip_address)
        except ValueError:
            ip = get_ip_address(ip_address)
    else:
        ip = ip_address
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect((str(ip), 53))  # UDP connect: only a route lookup, nothing is sent
        local = s.getsockname()[0].split("%", 1)[0]
    return ipaddress.ip_interface(local)


def _family_for(address: Tuple[Any, ...], ipv6: Optional[bool]) -> int:
    """Address family for a (host, port, ...) tuple: forced by ipv6, else follows the host's address."""
    force6 = ipv6 or (ipv6 is None and int(_config().PREFER_IP_VERSION) == 6)
    host = address[0]
    if not host:
        return socket.AF_INET6 if force6 else socket.AF_INET
    if force6:
        return socket.AF_INET6
    numeric = _numeric_family(host)
    if numeric:
        return numeric       # an IP address in the uri: no resolver call
    version = 0 if ipv6 is False else None
    return socket.AF_INET6 if get_ip_address(str(host), False, version).version == 6 else socket.AF_INET


def _numeric_family(host: Any) -> int:
    """AF_INET / AF_INET6 when host is a numeric IPv4 / IPv6 address string, else 0."""
    if type(host) is not str:
        return 0
    try:
        if ":" in host:
            socket.inet_pton(socket.AF_INET6, host.split("%", 1)[0])
            return socket.AF_INET6
        socket.inet_pton(socket.AF_INET, host)
        return socket.AF_INET
    except (OSError, ValueError):
        return 0


def _normalize(address: Tuple[Any, ...], family: int) -> Tuple[Any, ...]:
    host = address[0]
    if isinstance(host, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        host = str(host)
    if family == socket.AF_INET6 and host in ("localhost", "127.0.0.1") and not _has_ipv6_name(host):
        host = "::1"
    return (host,) + tuple(address[1:])


def _has_ipv6_name(host: str) -> bool:
    try:
        return bool(socket.getaddrinfo(host, None, socket.AF_INET6))
    except OSError:
        return False


# ------------------------------------------------------------------------------------------ socket options

def set_reuseaddr(sock: socket.socket) -> None:
    """Sets the SO_REUSEADDR option on the socket, if possible."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    except (OSError, AttributeError):
        pass


def set_nodelay(sock: socket.socket) -> None:
    """Sets the TCP_NODELAY option on the socket (to disable Nagle's algorithm), if possible."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


def set_keepalive(sock: socket.socket) -> None:
    """Sets the SO_KEEPALIVE option on the socket, if possible."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    except (OSError, AttributeError):
        pass


def set_noinherit(sock: socket.socket) -> None:
    """Mark the given socket fd as non-inheritable to child processes."""
    with contextlib.suppress(OSError, AttributeError):
        sock.set_inheritable(False)


# ------------------------------------------------------------------------------------------ socket creation

def create_socket(bind: Optional[Address] = None, connect: Optional[Address] = None, reuseaddr: bool = False,
                  keepalive: bool = True, timeout: Optional[float] = -1, noinherit: bool = False,
                  ipv6: Optional[bool] = False, nodelay: bool = True,
                  sslContext: Optional[ssl.SSLContext] = None) -> socket.socket:
    """Create a socket; bound and listening when `bind` is given, connected when `connect` is given.

    A string address means a Unix domain socket path; otherwise a (host, port, ...) tuple. The family is IPv6
    when ipv6=True, when ipv6=None and config.PREFER_IP_VERSION is 6, or when the host is an IPv6 address.
    timeout=-1 uses config.COMMTIMEOUT, None or 0 means blocking. Default options: keepalive and nodelay.
    """
    if bind is not None and connect is not None:
        raise ValueError("bind and connect cannot both be specified at the same time")
    address = bind if bind is not None else connect
    family: int
    if isinstance(address, str):
        if not hasattr(socket, "AF_UNIX"):
            raise errors.CommunicationError("Unix domain sockets are not available on this platform")
        family = socket.AF_UNIX
    elif address is None:
        force6 = ipv6 or (ipv6 is None and int(_config().PREFER_IP_VERSION) == 6)
        family = socket.AF_INET6 if force6 else socket.AF_INET
    else:
        if not isinstance(address, tuple) or len(address) < 2:
            raise ValueError(f"socket address must be a (host, port) tuple or a unix socket path, not {address!r}")
        family = _family_for(address, ipv6)
        address = _normalize(address, family)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family != socket.AF_UNIX:
            if nodelay:
                set_nodelay(sock)
            if reuseaddr:
                set_reuseaddr(sock)
        if noinherit:
            set_noinherit(sock)
        sock.settimeout(_effective_timeout(timeout))
        if bind is not None:
            if family == socket.AF_UNIX:
                _remove_stale_unix_socket(address)  # type: ignore[arg-type]
            _bind(sock, address)
            sock.listen(_LISTEN_BACKLOG)
            if sslContext is not None:
                # The TLS handshake of an accepted connection happens on its first recv/send, in the
                # connection's own worker and under its timeout: a client that never speaks can't block accept().
                sock = sslContext.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        elif connect is not None:
            if sslContext is not None:
                # a unix socket has no host name: its server certificate is checked against 'localhost'
                hostname = str(address[0]) if isinstance(address, tuple) else "localhost"
                sock = sslContext.wrap_socket(sock, server_side=False, server_hostname=hostname)
            _connect(sock, address)  # type: ignore[arg-type]
        elif sslContext is not None:
            # neither bind nor connect: an SSL-wrapped, unconnected client socket, as the original returns
            # (a context that checks host names refuses this with ValueError, as it does there)
            sock = sslContext.wrap_socket(sock)
        if keepalive:
            set_keepalive(sock)
    except BaseException:
        sock.close()
        raise
    return sock


def _connect(sock: socket.socket, address: Address) -> None:
    try:
        sock.connect(address)
    except (socket.timeout, TimeoutError) as x:
        raise errors.TimeoutError(f"connecting to {address!r}: timeout") from x
    except InterruptedError:
        # the connect continues in the background: wait until it completes
        timeout = sock.gettimeout()
        _, w, _ = select.select([], [sock], [], timeout)
        if not w:
            raise errors.TimeoutError(f"connecting to {address!r}: timeout") from None
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err)) from None


def _remove_stale_unix_socket(path: str) -> None:
    """A socket file left behind by a dead server blocks bind(); remove it when nobody listens on it.

    A Linux abstract-namespace address ("\\0name") has no file: nothing to clean up."""
    if path[:1] in ("\0", b"\0"):
        return
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return
    except (OSError, ValueError):   # ValueError: a NUL byte elsewhere in the path (bind() reports that itself)
        return
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(path)
            return  # somebody is listening: leave it, bind() will report the address in use
        except OSError:
            pass
    with contextlib.suppress(OSError):
        os.remove(path)
        log.debug("removed stale unix socket file %s", path)


def _bind(sock: socket.socket, address: Any, kind: str = "") -> None:
    """sock.bind(); when it fails, the OSError names the address in its ``filename`` ("127.0.0.1:9090"), so
    the command line tools can say which address is taken."""
    try:
        sock.bind(address)
    except OSError as x:
        if x.filename is None:
            if isinstance(address, tuple):
                host = str(address[0]) or "*"
                x.filename = ("[%s]:%s" if ":" in host else "%s:%s") % (host, address[1]) + kind
            else:
                x.filename = str(address) + kind
        raise


def create_bc_socket(bind: Optional[Address] = None, reuseaddr: bool = False, timeout: Optional[float] = -1,
                     ipv6: Optional[bool] = False) -> socket.socket:
    """Create a UDP socket able to send broadcasts (IPv4), bound when `bind` is given.

    Set ipv6=True for an IPv6 socket, ipv6=None to follow config.PREFER_IP_VERSION.
    timeout=-1 uses config.COMMTIMEOUT, None or 0 means blocking.
    """
    if isinstance(bind, str):
        raise ValueError("a broadcast socket cannot be a unix domain socket")
    if bind is not None:
        family = _family_for(bind, ipv6)
        bind = _normalize(bind, family)
    else:
        force6 = ipv6 or (ipv6 is None and int(_config().PREFER_IP_VERSION) == 6)
        family = socket.AF_INET6 if force6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if family == socket.AF_INET:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if reuseaddr:
            set_reuseaddr(sock)
        sock.settimeout(_effective_timeout(timeout))
        if bind is not None:
            host = bind[0] or ("::" if family == socket.AF_INET6 else "")
            _bind(sock, (host,) + tuple(bind[1:]), " (udp)")
    except BaseException:
        sock.close()
        raise
    return sock


# ------------------------------------------------------------------------------------------ data transfer

def _operation_timeout(sock: socket.socket) -> Optional[float]:
    """The deadline of one send_data/receive_data call: the socket's timeout, COMMTIMEOUT for a non-blocking
    socket."""
    timeout = sock.gettimeout()
    return _commtimeout() if timeout == 0.0 else timeout


def send_data(sock: socket.socket, data: Union[bytes, bytearray, memoryview, Sequence[Any]]) -> None:
    """Send all of the data over the socket.

    `data` is a bytes-like object, or a tuple/list of them that is sent as one stream of bytes (with sendmsg()
    where the socket allows it, so a big payload need not be copied behind its header first).
    The socket's timeout (COMMTIMEOUT for a non-blocking socket) is the limit for the whole call (see
    Pyro5._wire_stream: one deadline per operation). Raises Pyro5.errors.TimeoutError on a timeout and
    ConnectionClosedError when the connection is lost.
    """
    _wire_stream.send(sock, data, _operation_timeout(sock))


def receive_data(sock: socket.socket, size: int) -> bytes:
    """Receive exactly `size` bytes from the socket.

    You never get a short result: when the peer closes first, ConnectionClosedError is raised, on a timeout
    Pyro5.errors.TimeoutError; the bytes received so far are in the exception's `partialData` attribute.
    The socket's timeout (COMMTIMEOUT for a non-blocking socket) is the limit for the whole call.
    Interrupted system calls and SSL want-read conditions are retried.
    """
    return _wire_stream.recv_exact(sock, size, _operation_timeout(sock))


# ------------------------------------------------------------------------------------------ connection

class SocketConnection:
    """A wrapper class for plain sockets, containing various methods such as send() and recv().

    Holds the per-connection state the server keeps: `pyroInstances` (session-scoped objects) and
    `tracked_resources` (closed together with the connection).
    """

    def __init__(self, sock: socket.socket, objectId: Optional[str] = None, keep_open: bool = False) -> None:
        self.sock = sock
        self.objectId = objectId
        self.pyroInstances: dict = {}
        self.tracked_resources: set = set()
        self.keep_open = keep_open

    def __del__(self) -> None:
        try:
            if getattr(self, "sock", None) is not None and not getattr(self, "keep_open", True):
                self.close()
        except Exception:
            pass

    def send(self, data: Union[bytes, bytearray, memoryview, Sequence[Any]]) -> None:
        """Send all of the data: a bytes-like object or a tuple/list of them (e.g. SendingMessage.parts)."""
        send_data(self.sock, data)

    def recv(self, size: int) -> bytes:
        return receive_data(self.sock, size)

    def close(self) -> None:
        """Close the socket (unless keep_open), drop the session instances and close the tracked resources."""
        if self.keep_open:
            return
        sock = self.sock
        try:
            closed = sock.fileno() == -1    # (closing again, e.g. from __del__: no failing system calls)
        except (OSError, AttributeError, ValueError):
            closed = False
        if not closed:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except (OSError, AttributeError):
                pass
            try:
                sock.close()
            except (OSError, AttributeError):
                pass
        if self.pyroInstances:
            self.pyroInstances = {}
        if not self.tracked_resources:
            return
        resources, self.tracked_resources = self.tracked_resources, set()
        for rsc in resources:
            try:
                rsc.close()  # a tracked resource is expected to have a close method
            except Exception:
                log.debug("error closing tracked resource %r", rsc, exc_info=True)

    def fileno(self) -> int:
        return self.sock.fileno()

    def family(self) -> str:
        """'IPv4', 'IPv6' or 'Unix' (or the family's name for anything else)."""
        fam = self.sock.family
        if fam == socket.AF_INET:
            return "IPv4"
        if fam == socket.AF_INET6:
            return "IPv6"
        if fam == getattr(socket, "AF_UNIX", None):
            return "Unix"
        return getattr(fam, "name", str(fam))

    def settimeout(self, timeout: Optional[float]) -> None:
        self.sock.settimeout(timeout)

    def gettimeout(self) -> Optional[float]:
        return self.sock.gettimeout()

    setTimeout = settimeout
    getTimeout = gettimeout

    @property
    def timeout(self) -> Optional[float]:
        return self.sock.gettimeout()

    @timeout.setter
    def timeout(self, value: Optional[float]) -> None:
        self.sock.settimeout(value)

    def getpeercert(self) -> Optional[dict]:
        """The peer's certificate (as a dict) on an SSL connection, else None."""
        try:
            return self.sock.getpeercert()  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            return None

    def __enter__(self) -> "SocketConnection":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{self.__class__.__module__}.{self.__class__.__name__} fd={self._fd()} objectId={self.objectId!r}>"

    def _fd(self) -> int:
        try:
            return self.sock.fileno()
        except Exception:
            return -1


# ------------------------------------------------------------------------------------------ misc helpers

def bind_unused_port(sock: socket.socket, host: Union[str, IPAddress] = "localhost") -> int:
    """Bind the socket to a free port and return the port number."""
    host = str(host)
    if sock.family == socket.AF_INET6 and host in ("localhost", "127.0.0.1") and not _has_ipv6_name(host):
        host = "::1"
    if sock.family == socket.AF_INET and host == "::1":
        host = "127.0.0.1"
    if sock.family == socket.AF_INET and sock.type == socket.SOCK_STREAM and hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
    sock.bind((host, 0))
    return int(sock.getsockname()[1])


def find_probably_unused_port(family: int = socket.AF_INET, socktype: int = socket.SOCK_STREAM) -> int:
    """Returns an unused port that should be suitable for binding (likely, but not guaranteed)."""
    with socket.socket(family, socktype) as tmp:
        return bind_unused_port(tmp)


def interrupt_socket(address: Address) -> None:
    """Wake up a server blocked in accept() on `address` (a (host, port) tuple or unix path) by connecting."""
    if isinstance(address, tuple) and address and address[0] in ("", "0.0.0.0", "::"):
        address = ("::1" if address[0] == "::" else "127.0.0.1",) + tuple(address[1:])
    try:
        sock = create_socket(connect=address, keepalive=False, timeout=1.0, nodelay=True)
    except (OSError, errors.PyroError, ValueError):
        return
    try:
        with contextlib.suppress(OSError):
            sock.sendall(b"!" * 16)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    finally:
        sock.close()


# ------------------------------------------------------------------------------------------ SSL

_ssl_cache: dict = {}
_ssl_lock = threading.Lock()


def _check_file(path: str, what: str, item: str) -> None:
    if not os.path.isfile(path):
        raise FileNotFoundError(errno.ENOENT, f"{what} file not found (check config.{item})", path)


def get_ssl_context(servercert: str = "", serverkey: str = "", clientcert: str = "", clientkey: str = "",
                    cacerts: str = "", keypassword: str = "") -> ssl.SSLContext:
    """Creates an SSL context (cached per set of arguments).

    With `servercert` a server context (requiring and verifying client certificates when
    config.SSL_REQUIRECLIENTCERT is set, against `cacerts`); otherwise a client context that verifies the
    server against `cacerts` (or the system's CAs) and presents `clientcert` when given.
    Missing files raise FileNotFoundError, unusable certificates or keys Pyro5.errors.SecurityError.
    """
    require_client = bool(_config().SSL_REQUIRECLIENTCERT) if servercert else False
    key = (servercert, serverkey, clientcert, clientkey, cacerts, keypassword, require_client)
    with _ssl_lock:
        ctx = _ssl_cache.get(key)
        if ctx is None:
            ctx = _make_ssl_context(servercert, serverkey, clientcert, clientkey, cacerts, keypassword,
                                    require_client)
            _ssl_cache[key] = ctx
        return ctx


def _load_verify(ctx: ssl.SSLContext, cacerts: str) -> None:
    try:
        if os.path.isdir(cacerts):
            ctx.load_verify_locations(capath=cacerts)
        else:
            _check_file(cacerts, "SSL CA certificates", "SSL_CACERTS")
            ctx.load_verify_locations(cafile=cacerts)
    except ssl.SSLError as x:
        raise errors.SecurityError(f"cannot load CA certificates from {cacerts!r}: {x}; "
                                   "check config.SSL_CACERTS (PEM file or c_rehash'ed directory)") from x


def _load_chain(ctx: ssl.SSLContext, cert: str, keyfile: str, password: str, side: str) -> None:
    item = "SSL_SERVER" if side == "server" else "SSL_CLIENT"
    _check_file(cert, f"SSL {side} certificate", item + "CERT")
    if keyfile:
        _check_file(keyfile, f"SSL {side} key", item + "KEY")
    try:
        ctx.load_cert_chain(cert, keyfile or None, password=password or None)
    except ssl.SSLError as x:
        raise errors.SecurityError(
            f"cannot load the SSL {side} certificate {cert!r} / key {keyfile!r}: {x}; check config.{item}CERT, "
            f"{item}KEY and {item}KEYPASSWD (wrong password, or key not matching the certificate?)") from x


def _make_ssl_context(servercert: str, serverkey: str, clientcert: str, clientkey: str, cacerts: str,
                      keypassword: str, require_client: bool) -> ssl.SSLContext:
    if servercert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        _load_chain(ctx, servercert, serverkey, keypassword, "server")
        if require_client:
            ctx.verify_mode = ssl.CERT_REQUIRED
            if cacerts:
                _load_verify(ctx, cacerts)
            else:
                ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        else:
            ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the server's certificate and host name
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if cacerts:
        _load_verify(ctx, cacerts)
    else:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    if clientcert:
        _load_chain(ctx, clientcert, clientkey, keypassword, "client")
    return ctx

