"""Server related classes (Daemon etc): publishing Pyro objects and dispatching remote calls to them.

Part of the pyro5-server distribution. It depends on pyro5-wire only: proxies of registered objects that
travel in results are produced by a stand-in (no pyro5-client needed); `Daemon.proxyFor` and `serve(...,
use_ns=True)` import pyro5-client lazily.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import threading
import time
from typing import Any, Callable, Dict, Optional, Sequence, TypeVar, Union, cast

from . import _svr_hooks, _svr_memory, config, core, errors, serializers, socketutil
from ._svr_dispatch import Dispatcher, receive_handshake, receive_request
from ._svr_limits import ServerLimits
from ._svr_meta import class_info, is_private_attribute, metadata_of, reset_class_info
from ._svr_oneway import OnewayRunner
from ._svr_registry import ObjectRegistry
from ._svr_streams import StreamRegistry
from ._svr_wireobjs import AutoProxy
from .callcontext import current_context

__all__ = ["Daemon", "DaemonObject", "expose", "oneway", "behavior", "callback", "serve", "is_private_attribute",
           "get_attribute", "get_exposed_members"]

log = logging.getLogger("Pyro5.server")

_T = TypeVar("_T")
_INSTANCE_MODES = ("single", "session", "percall")


# --------------------------------------------------------------------------------------------- decorators

def _mark(member: Any, attribute: str) -> None:
    """Sets a Pyro marker on a function (or the function inside a classmethod/staticmethod/property)."""
    if isinstance(member, (classmethod, staticmethod)):
        member = member.__func__
    if isinstance(member, property):
        for func in (member.fget, member.fset):
            if func is not None:
                _mark(func, attribute)
        return
    try:
        setattr(member, attribute, True)
    except (AttributeError, TypeError):
        # builtin functions etc. can't carry attributes: they stay unexposed
        log.debug("cannot mark %r with %s", member, attribute)


def expose(method_or_class: _T) -> _T:
    """Decorator to mark a method or class to be exposed for remote calls.
    You can apply it to a method or a class as a whole (this exposes every public method and property of the
    class itself; names starting with an underscore are never exposed, except dunder methods such as __len__).
    If you need to change the default instance mode or instance creator, also use a @behavior decorator."""
    if inspect.isdatadescriptor(method_or_class) and not isinstance(method_or_class, property):
        raise AttributeError("using @expose on a data descriptor other than a property is not supported")
    if inspect.isclass(method_or_class):
        clazz = method_or_class
        if clazz.__name__.startswith("_"):
            raise AttributeError("exposing private names (starting with _) is not allowed")
        for member_name, member in list(vars(clazz).items()):
            if is_private_attribute(member_name):
                continue
            if isinstance(member, (classmethod, staticmethod, property)) or inspect.isfunction(member):
                _mark(member, "_pyroExposed")
        clazz._pyroExposed = True  # type: ignore[attr-defined]
        reset_class_info(clazz)
        return method_or_class
    if isinstance(method_or_class, (classmethod, staticmethod)):
        # (the original refuses this order: the decorator must be applied to the function itself)
        raise AttributeError("using @expose on a classmethod/staticmethod must be done after "
                             "@classmethod/@staticmethod. Method: " + method_or_class.__func__.__name__)
    name = getattr(method_or_class, "__name__", None)
    if name is None and isinstance(method_or_class, property) and method_or_class.fget is not None:
        name = method_or_class.fget.__name__
    if name is not None and is_private_attribute(name):
        raise AttributeError("exposing private names (starting with _) is not allowed: %r" % name)
    if not (callable(method_or_class) or isinstance(method_or_class, property)):
        raise TypeError("@expose can only be used on a class, method, classmethod, staticmethod or property, "
                        "not on %r" % (method_or_class,))
    _mark(method_or_class, "_pyroExposed")
    return method_or_class


def oneway(method: Callable) -> Callable:
    """decorator to mark a method to be oneway (client won't wait for a response)"""
    _mark(method, "_pyroOneway")
    return method


def callback(method: Callable) -> Callable:
    """decorator to mark a method to be a 'callback'. This will make Pyro
    raise any errors also on the callback side, and not only on the side
    that does the callback call."""
    _mark(method, "_pyroCallback")
    return method


def behavior(instance_mode: str = "session", instance_creator: Optional[Callable] = None, *,
             concurrent: bool = False) -> Callable:
    """Decorator to specify the server behavior of your Pyro class.
    instance_mode is one of "single", "session" (default) or "percall"; instance_creator an optional
    callable that gets the class and returns a new instance of it.
    concurrent=True (session mode only; not in the original Pyro5): a client connection that has many calls in
    flight (a ``Proxy(uri, shared=True)``) may run several calls of its session instance at once; by default
    they run one at a time per connection, as calls of a proxy that is not shared do."""
    if not isinstance(instance_mode, str):
        raise SyntaxError("behavior decorator is missing argument(s): use @behavior(instance_mode=...)")
    if instance_mode not in _INSTANCE_MODES:
        raise ValueError("invalid instance mode: %r (use one of %s)" % (instance_mode, ", ".join(_INSTANCE_MODES)))
    if instance_creator is not None and not callable(instance_creator):
        raise TypeError("instance_creator must be a callable (it gets the class and returns an instance)")
    if concurrent and instance_mode != "session":
        raise ValueError("concurrent=True is for instance_mode=\"session\" (other modes are never serialized)")

    def _behavior(clazz: Any) -> Any:
        if not inspect.isclass(clazz):
            raise TypeError("behavior decorator can only be used on a class")
        clazz._pyroInstancing = (instance_mode, instance_creator)  # type: ignore[attr-defined]
        if concurrent:
            clazz._pyroSessionConcurrent = True  # type: ignore[attr-defined]
        return clazz
    return _behavior


def get_attribute(obj: Any, attr: str) -> Any:
    """Resolves an attribute name to an exposed member of obj (no dotted names).
    Raises AttributeError for private names (leading underscore, except dunders like __len__) and for
    members that are not exposed with @expose; properties return their value."""
    if is_private_attribute(attr):
        raise AttributeError("attempt to access private attribute '%s'" % attr)
    info = class_info(obj)
    if attr in info.methods or attr in info.attrs:
        return getattr(obj, attr)
    raise AttributeError("attempt to access unexposed or unknown attribute '%s'" % attr)


def get_exposed_members(obj: Any, as_lists: bool = False) -> dict:
    """The exposed members of obj (or of a class): {"methods": ..., "oneway": ..., "attrs": ...} as sets
    (or sorted lists with as_lists=True). This is the metadata a proxy receives."""
    meta = metadata_of(obj)
    if as_lists:
        return {key: sorted(value) for key, value in meta.items()}
    return meta


# --------------------------------------------------------------------------------------------- daemon object

@expose
class DaemonObject:
    """The part of the daemon that is exposed as a Pyro object."""

    def __init__(self, daemon: "Daemon") -> None:
        self.daemon = daemon

    def registered(self) -> list:
        """returns a list of all object names registered in this daemon"""
        return list(self.daemon.objectsById.keys())

    def ping(self) -> None:
        """a simple do-nothing method for testing purposes"""

    def info(self) -> str:
        """return some descriptive information about the daemon"""
        return "%s bound on %s, NAT %s, %d objects registered. Servertype: %s" % (
            core.DAEMON_NAME, self.daemon.locationStr, self.daemon.natLocationStr,
            len(self.daemon.objectsById), self.daemon.transportServer)

    def get_metadata(self, objectId: str) -> dict:
        """Get metadata for the given object (exposed methods, oneways, attributes)."""
        obj = self.daemon._lookup(objectId)
        return metadata_of(obj)

    def get_next_stream_item(self, streamId: str) -> Any:
        """the next item of a remote iterator (item stream)"""
        return self.daemon._streams.next_item(streamId, current_context.client)

    def close_stream(self, streamId: str) -> None:
        """closes (and forgets) the given item stream"""
        self.daemon._streams.close(streamId)

    def calls_in_flight(self) -> list:
        """the calls running now in this daemon (ours, not in Pyro5 5.15; empty unless call tracking is on)"""
        return self.daemon.calls_in_flight()

    def call_stats(self) -> dict:
        """per-method call counts and latency percentiles (ours, not in Pyro5 5.15; see Daemon.call_stats)"""
        return self.daemon.call_stats()


def _default_methodcall_error_handler(daemon: "Daemon", client_sock: Any, method: Callable, vargs: Sequence[Any],
                                      kwargs: Dict[str, Any], exception: Exception) -> None:
    name = getattr(method, "__qualname__", getattr(method, "__name__", repr(method)))
    log.debug("exception during method call %s from %s: %s: %s", name,
              getattr(client_sock, "sock_addr", client_sock), type(exception).__name__, exception)


def _autoproxy(obj: Any) -> Any:
    """Type replacement hook: registered Pyro objects in results become proxies."""
    daemon = getattr(obj, "_pyroDaemon", None)
    object_id = getattr(obj, "_pyroId", None)
    if daemon is None or not object_id or not isinstance(daemon, Daemon):
        return obj
    info = class_info(obj)
    return AutoProxy(str(daemon.uriFor(object_id)), tuple(info.oneway), tuple(info.methods), tuple(info.attrs))


_autoproxy_types: set = set()
_autoproxy_lock = threading.Lock()


def _enable_autoproxy(clazz: type) -> None:
    if clazz in _autoproxy_types:
        return
    with _autoproxy_lock:
        if clazz in _autoproxy_types:
            return
        try:
            serializers.SerializerBase.register_type_replacement(clazz, _autoproxy)
        except Exception:  # pragma: no cover - a wire without replacement support: no autoproxy
            log.warning("cannot enable autoproxy for %r", clazz, exc_info=True)
        _autoproxy_types.add(clazz)


# --------------------------------------------------------------------------------------------- daemon

class _DaemonOnTheWire:
    """How a Daemon shows itself: its repr, and the empty placeholder it travels as on the wire (a mixin of
    Daemon)."""

    _unusable: bool
    transportServer: Any
    locationStr: str
    objectsById: dict

    def __repr__(self) -> str:
        if getattr(self, "_unusable", False):
            return "<%s.%s at 0x%x; unusable>" % (self.__module__, self.__class__.__name__, id(self))
        if self.transportServer is None:
            return "<%s.%s at 0x%x; closed>" % (self.__module__, self.__class__.__name__, id(self))
        return "<%s.%s at 0x%x; %s - %s; %d objects>" % (
            self.__module__, self.__class__.__name__, id(self), self.locationStr,
            type(self.transportServer).__name__, len(self.objectsById))

    # A Daemon that ends up in call arguments or results (e.g. self._pyroDaemon by accident) travels as an
    # empty placeholder, as in the original: the receiver gets an unusable Daemon (not bound, no objects).
    __pyro_class__ = "Pyro5.server.Daemon"

    def __pyro_state__(self) -> tuple:
        return ()

    def __getstate__(self) -> Any:
        return {}

    def __setstate__(self, state: Any) -> None:
        _init_unusable(cast("Daemon", self))


class Daemon(_DaemonOnTheWire, _svr_hooks.DaemonHooks):
    """
    Pyro daemon. Contains server side logic and dispatches incoming remote method calls
    to the appropriate objects.
    """

    def __init__(self, host: Union[str, Any, None] = None, port: int = 0, unixsocket: Optional[str] = None,
                 nathost: Union[str, Any, None] = None, natport: Optional[int] = None,
                 interface: type = DaemonObject, connected_socket: Any = None) -> None:
        if connected_socket is not None:
            nathost = natport = None
        else:
            host = config.HOST if host is None else str(host)
            if nathost is None and natport:
                raise ValueError("natport was given without nathost: provide both "
                                 "(natport 0 means: use the internal port number)")
            if nathost is None:
                nathost = config.NATHOST
            if nathost is not None:
                nathost = str(nathost)
                if natport is None:
                    natport = config.NATPORT or 0
                if unixsocket:
                    raise ValueError("cannot use nathost together with unixsocket")
        self._closed = False
        self.limits = ServerLimits()     # the socket server's timeouts and bounds (see Pyro5._svr_limits)
        _svr_memory.share_one_arena()    # (glibc: before the server's threads exist; see Pyro5._svr_memory)
        self._registry = ObjectRegistry()
        self.methodcall_error_handler: Callable = _default_methodcall_error_handler
        self._streams = StreamRegistry()
        self._oneway = OnewayRunner(config.THREADPOOL_SIZE)
        self._dispatcher = Dispatcher(self, plain_annotations=Daemon.annotations)
        _svr_hooks.install(self)     # interceptors, observers, call tracking (add_interceptor, track_calls, ...)
        self._shutting_down = threading.Event()
        self._loop_stopped = threading.Event()
        self._loop_stopped.set()
        self._loop_thread: Optional[threading.Thread] = None
        self._close_after_loop = False
        self._last_housekeeping = time.monotonic()
        self._housekeeping_lock = threading.Lock()
        self.transportServer: Any = _create_transport(self, host, port, unixsocket, connected_socket)
        self.locationStr: str = self.transportServer.locationStr
        log.debug("daemon created on %s - %s (pid %d)", self.locationStr, self.transportServer, _getpid())
        self.natLocationStr: Optional[str] = None if nathost is None else _nat_location(nathost, natport, self.sock)
        self._pyroHmacKey = None
        pyro_object = interface(self)
        self.register(pyro_object, core.DAEMON_NAME)

    # ------------------------------------------------------------------ properties

    @property
    def objectsById(self) -> dict:
        """the registered objects (and classes) by object id"""
        return self._registry.objects

    @objectsById.setter
    def objectsById(self, objects: dict) -> None:
        self._registry.objects = objects

    @property
    def dispatcher(self) -> Dispatcher:
        """turns a connection's received messages into the responses (see Pyro5._svr_dispatch)"""
        return self._dispatcher

    @property
    def sock(self) -> Any:
        """the server socket used by the daemon"""
        return self.transportServer.sock if self.transportServer else None

    @property
    def sockets(self) -> list:
        """list of all sockets used by the daemon (server socket and all active client sockets)"""
        return self.transportServer.sockets if self.transportServer else []

    @property
    def selector(self) -> Any:
        """the multiplexing selector used, if using the multiplex server type"""
        return getattr(self.transportServer, "selector", None)

    @property
    def streaming_responses(self) -> dict:
        """the ids of the active item streams (read only view, for diagnostics)"""
        return {stream_id: None for stream_id in self._streams.ids()}

    # ------------------------------------------------------------------ loop control

    def requestLoop(self, loopCondition: Callable[[], bool] = lambda: True) -> None:
        """
        Goes in a loop to service incoming requests, until someone breaks this
        or calls shutdown from another thread.
        """
        if self._closed or self.transportServer is None:
            raise errors.DaemonError("the daemon is closed; create a new Daemon to serve requests")
        self._shutting_down.clear()
        self._loop_stopped.clear()
        self._loop_thread = threading.current_thread()
        log.info("daemon %s entering requestloop", self.locationStr)
        try:
            self.transportServer.loop(
                loopCondition=lambda: not self._shutting_down.is_set() and loopCondition())
        except KeyboardInterrupt:
            # Ctrl-C ends the loop normally (as the original): the code after requestLoop()/serve() runs
            log.debug("stopping on break signal")
        finally:
            self._loop_thread = None
            self._loop_stopped.set()
            log.debug("daemon %s exits requestloop", self.locationStr)
            if self._close_after_loop:
                self.close()

    def events(self, eventsockets: Sequence[Any]) -> None:
        """for use in an external event loop: handle any requests that are pending for this daemon"""
        if self.transportServer is not None:
            self.transportServer.events(eventsockets)

    def shutdown(self) -> None:
        """Cleanly terminate a daemon that is running in the requestloop."""
        log.debug("daemon shutting down")
        self._shutting_down.set()
        if self.transportServer is None:
            return
        self.transportServer.shutdown()
        if self._loop_thread is threading.current_thread():
            self._close_after_loop = True       # shutdown from inside the loop (multiplex call): close on exit
            return
        self._loop_stopped.wait(timeout=5)
        self.close()

    def close(self) -> None:
        """Close down the server and release resources"""
        self._shutting_down.set()
        self._closed = True
        self._streams.clear()
        # (the registrations and the objects' _pyroId stay, as in the original)
        server, self.transportServer = self.transportServer, None
        if server is not None:
            log.debug("daemon %s closing", self.locationStr)
            server.close()
        self._oneway.close(join_timeout=self.limits.oneway_join_timeout)
        dispatcher = getattr(self, "_dispatcher", None)     # (None: an unusable daemon from the wire)
        if dispatcher is not None:
            dispatcher.close()
        if getattr(self, "_call_hooks", None) is not None:   # (not there in an unusable deserialized daemon)
            self._call_hooks.close()

    def __enter__(self) -> "Daemon":
        if self._closed:
            raise errors.PyroError("cannot reuse this object: the daemon is closed")
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        self.close()

    def combine(self, daemon: Any) -> None:
        """
        Combines the event loop of the other daemon in the current daemon's loop.
        You can then simply run the current daemon's requestLoop to serve both daemons.
        (Anything with a `sockets` list and an `events(sockets)` method can be combined.)
        """
        if daemon is self:
            raise ValueError("cannot combine a daemon with itself")
        if not hasattr(daemon, "sockets") or not hasattr(daemon, "events"):
            raise TypeError("can only combine with a Daemon or another object that has sockets and events()")
        if isinstance(daemon, Daemon) and isinstance(self.transportServer, _threadpool_server_class()):
            raise TypeError("You can't use the loop combiner on the threadpool server type: combining daemons "
                            "needs config.SERVERTYPE = 'multiplex'")
        log.debug("combining event loop with other daemon")
        self.transportServer.combine(daemon)

    # ------------------------------------------------------------------ overridable hooks

    def validateHandshake(self, conn: socketutil.SocketConnection, data: Any) -> Any:
        """
        Override this to create a connection validator for new client connections.
        It should return a response data object normally if the connection is okay,
        or should raise an exception if the connection should be denied.
        """
        return "hello"

    def clientDisconnect(self, conn: socketutil.SocketConnection) -> None:
        """
        Override this to handle a client disconnect.
        Conn is the SocketConnection object that was disconnected.
        """

    def housekeeping(self) -> None:
        """
        Override this to add custom periodic housekeeping (cleanup) logic.
        This will be called every few seconds by the running daemon's request loop.
        """

    def annotations(self) -> dict:
        """Override to return a dict with custom user annotations to be sent with each response message."""
        return {}

    # ------------------------------------------------------------------ registration

    def register(self, obj_or_class: Any, objectId: Optional[str] = None, force: bool = False,
                 weak: bool = False) -> core.URI:
        """
        Register a Pyro object under the given id. Note that this object is now only
        known inside this daemon, it is not automatically available in a name server.
        This method returns a URI for the registered object.
        Pyro checks if an object is already registered, unless you set force=True.
        You can register a class or an object (instance) directly.
        For a class, Pyro will create instances of it to handle the remote calls according
        to the instance_mode (set via @behavior on the class). The default there is one object
        per session (=proxy connection). If you register an object directly, Pyro will use
        that single object for all remote calls.
        With weak=True, only weak reference to the object will be stored, and the object will
        get unregistered from the daemon automatically when garbage-collected.
        """
        if objectId is not None and not isinstance(objectId, str):
            raise TypeError("objectId must be a string or None, not %r" % (objectId,))
        if not objectId:
            objectId = "obj_" + _uuid_hex()
        if self._closed:
            raise errors.DaemonError("cannot register objects in a closed daemon")
        self._registry.add(self, obj_or_class, objectId, force, weak)
        _enable_autoproxy(_class_of(obj_or_class))
        info = class_info(obj_or_class)
        if not (info.methods or info.attrs):
            log.warning("%s %r (id %s) doesn't expose any methods or attributes. Did you forget setting @expose "
                        "on them?", "class" if inspect.isclass(obj_or_class) else "object of class",
                        _class_of(obj_or_class), objectId)
        return self.uriFor(objectId)

    def unregister(self, objectOrId: Any) -> None:
        """
        Remove a class or object from the known objects inside this daemon.
        You can unregister the class/object directly, or with its id.
        """
        if objectOrId is None:
            raise ValueError("object or objectid argument expected")
        self._registry.remove(objectOrId, protected=core.DAEMON_NAME)

    def uriFor(self, objectOrId: Any, nat: bool = True) -> core.URI:
        """
        Get a URI for the given object (or object id) from this daemon.
        Only a daemon can hand out proper uris because the access location is
        contained in them.
        Note that unregistered objects cannot be given an uri, but unregistered
        object names can (it's just a string we're creating in that case).
        If nat is set to False, the configured NAT address (if any) is ignored and it will
        return an URI for the internal address.
        """
        if not isinstance(objectOrId, str):
            objectOrId = getattr(objectOrId, "_pyroId", None)
            if objectOrId is None:
                raise errors.DaemonError("object isn't registered")
        if nat and self.natLocationStr:
            loc = self.natLocationStr
        else:
            loc = self.locationStr
        return core.URI("PYRO:%s@%s" % (objectOrId, loc))

    def resetMetadataCache(self, objectOrId: Any, nat: bool = True) -> None:
        """Reset cache of metadata when a Daemon has available methods/attributes
        dynamically updated.  Clients will have to get a new proxy to see changes"""
        if isinstance(objectOrId, str):
            obj = self._registry.lookup_raw(objectOrId)
            if obj is None:
                raise errors.DaemonError("unknown object %r: it is not registered in this daemon" % objectOrId)
        else:
            obj = objectOrId
        reset_class_info(obj)

    def proxyFor(self, objectOrId: Any, nat: bool = True) -> Any:
        """
        Get a fully initialized Pyro Proxy for the given object (or object id) for this daemon.
        If nat is False, the configured NAT address (if any) is ignored.
        The object or id must be registered in this daemon, or you'll get an exception.
        (you can't get a proxy for an unknown object)
        """
        uri = self.uriFor(objectOrId, nat)
        registered = self._registry.lookup_raw(uri.object)
        if registered is None:
            raise errors.DaemonError("object isn't registered in this daemon: %r" % uri.object)
        return _proxy_with_metadata(uri, metadata_of(registered))

    @staticmethod
    def serveSimple(objects: Dict[Any, Optional[str]], host: Any = None, port: int = 0, daemon: Any = None,
                    ns: bool = True, verbose: bool = True) -> None:
        """
        Backwards compatibility method to fire up a daemon and start serving requests.
        New code should just use the global serve function instead.
        """
        serve(objects, host, port, daemon, use_ns=ns, verbose=verbose)

    def _lookup(self, objectId: Any) -> Any:
        return self._registry.lookup(objectId)

    # ------------------------------------------------------------------ the transports' side (TransportDaemon)

    def _handshake(self, conn: Any, denied_reason: Optional[str] = None) -> bool:
        """Reads the connect message of a new connection and answers it; True when the connection was accepted."""
        return receive_handshake(self._dispatcher, conn, denied_reason)

    def handleRequest(self, conn: Any) -> None:
        """
        Handle incoming Pyro request. Catches any exception that may occur and
        wraps it in a reply to the calling side, as to not make this server side loop
        terminate due to exceptions caused by remote invocations.
        Communication errors (connection closed, timeout, malformed message) are raised: the caller
        then closes the connection.
        """
        receive_request(self._dispatcher, conn)

    def _clientDisconnected(self, conn: Any) -> None:
        """Called by the socket servers when a connection that passed the handshake is closed."""
        self._streams.client_disconnected(conn)
        try:
            self.clientDisconnect(conn)
        except Exception:
            log.warning("error in clientDisconnect", exc_info=True)

    def _housekeeping(self) -> None:
        """Called periodically by the socket servers' loops."""
        now = time.monotonic()
        if now - self._last_housekeeping < self.limits.housekeeping_interval:
            return
        if not self._housekeeping_lock.acquire(blocking=False):
            return
        try:
            self._last_housekeeping = now
            self._streams.housekeeping()
            _svr_memory.release_after_burst()
            self.housekeeping()
        except Exception:
            log.warning("error during housekeeping", exc_info=True)
        finally:
            self._housekeeping_lock.release()


def _create_transport(daemon: Daemon, host: Any, port: int, unixsocket: Optional[str], connected_socket: Any) -> Any:
    """The socket server of a new daemon: config.SERVERTYPE (a subclass may fix it: `_servertype`), or the
    existing-connection server."""
    servertype = getattr(daemon, "_servertype", None) or config.SERVERTYPE
    if connected_socket is not None:
        from .svr_existingconn import SocketServer_ExistingConnection
        server: Any = SocketServer_ExistingConnection()
        server.init(daemon, connected_socket)
        return server
    if servertype == "thread":
        from .svr_threads import SocketServer_Threadpool
        server = SocketServer_Threadpool()
    elif servertype == "multiplex":
        from .svr_multiplex import SocketServer_Multiplex
        server = SocketServer_Multiplex()
    elif servertype == "asyncio":
        from .aio._svr_engine import AsyncioServer  # (the AsyncDaemon's engine, in a loop of its own)
        server = AsyncioServer()
    else:
        raise errors.PyroError("invalid server type '%s': config.SERVERTYPE must be 'thread', 'multiplex' or "
                               "'asyncio'" % servertype)
    server.init(daemon, host, port, unixsocket)
    return server


def _nat_location(nathost: str, natport: Optional[int], sock: Any) -> str:
    """The daemon's location string for NAT: host:port (natport 0 or None: the port of the server socket)."""
    if not natport:
        natport = sock.getsockname()[1]
    if ":" in nathost and not nathost.startswith("["):
        nathost = "[%s]" % nathost
    return "%s:%d" % (nathost, natport)


def _proxy_with_metadata(uri: core.URI, meta: dict) -> Any:
    """A pyro5-client Proxy for uri that knows the metadata already (Daemon.proxyFor)."""
    try:
        client = importlib.import_module("Pyro5.client")
    except ModuleNotFoundError as x:
        if x.name in ("Pyro5.client", "Pyro5"):
            raise ModuleNotFoundError("Daemon.proxyFor needs pyro5-client: pip install pyro5-client",
                                      name="Pyro5.client") from None
        raise
    proxy = client.Proxy(uri)
    get_metadata = getattr(proxy, "_pyroGetMetadata", None)
    if get_metadata is not None:
        get_metadata(known_metadata=meta)
    else:  # pragma: no cover - depends on the client implementation
        proxy._pyroMethods, proxy._pyroOneway, proxy._pyroAttrs = meta["methods"], meta["oneway"], meta["attrs"]
    return proxy


def _class_of(obj_or_class: Any) -> type:
    return obj_or_class if inspect.isclass(obj_or_class) else type(obj_or_class)


def _threadpool_server_class() -> type:
    from .svr_threads import SocketServer_Threadpool
    return SocketServer_Threadpool


def _init_unusable(daemon: Daemon) -> None:
    """The state of a Daemon that arrived over the wire (a placeholder): closed, nothing registered."""
    daemon._unusable = True  # type: ignore[attr-defined]
    daemon._closed = True
    daemon.transportServer = None
    daemon._registry = ObjectRegistry()
    daemon.locationStr = "<<unusable>>"
    daemon.natLocationStr = None
    daemon._shutting_down = threading.Event()
    daemon._shutting_down.set()
    daemon._streams = StreamRegistry()
    daemon._oneway = OnewayRunner(1)
    daemon.limits = ServerLimits()


def _unusable_daemon(classname: str, data: dict) -> Daemon:
    daemon = Daemon.__new__(Daemon)
    _init_unusable(daemon)
    return daemon



def _getpid() -> int:
    import os
    return os.getpid()


def _uuid_hex() -> str:
    import uuid
    return uuid.uuid4().hex


# --------------------------------------------------------------------------------------------- serve

def serve(objects: Dict[Any, Optional[str]], host: Any = None, port: int = 0, daemon: Optional[Daemon] = None,
          use_ns: bool = True, verbose: bool = True, *, ns: Optional[bool] = None) -> None:
    """
    Basic method to fire up a daemon (or supply one yourself).
    objects is a dict containing objects to register as keys, and
    their names (or None) as values. If ns is true they will be registered
    in the naming server as well, otherwise they just stay local.
    If you need to publish on a unix domain socket, or require finer control of the daemon's
    behavior, you can't use this shortcut method. Create a Daemon yourself and use its
    appropriate methods.
    See the documentation on 'publishing objects' (in chapter: Servers) for more details.
    (``ns`` is accepted as an alias of ``use_ns``.)
    """
    if ns is not None:
        use_ns = ns
    if daemon is None:
        daemon = Daemon(host, port)
    with daemon:
        name_server = None
        if use_ns:
            try:
                name_server = core.locate_ns()
            except ModuleNotFoundError as x:
                raise ModuleNotFoundError("serve(use_ns=True) needs pyro5-client to reach the name server: "
                                          "pip install pyro5-client, or use use_ns=False (%s)" % x,
                                          name=x.name) from None
        for obj, name in objects.items():
            localname = None if name_server else name
            uri = daemon.register(obj, localname)
            if verbose:
                print("Object {0}:\n    uri = {1}".format(repr(obj), uri))
            if name and name_server:
                name_server.register(name, uri)
                if verbose:
                    print("    name = {0}".format(name))
        if verbose:
            print("Pyro daemon running.")
        daemon.requestLoop()
