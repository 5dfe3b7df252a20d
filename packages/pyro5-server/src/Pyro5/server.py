"""Server related classes (Daemon etc): publishing Pyro objects and dispatching remote calls to them.

Part of the pyro5-server distribution. It depends on pyro5-wire only: proxies of registered objects that
travel in results are produced by a stand-in (no pyro5-client needed); `Daemon.proxyFor` and `serve(...,
use_ns=True)` import pyro5-client lazily.
"""
from __future__ import annotations

import importlib
import inspect
import logging
import marshal
import threading
import time
import weakref
from typing import Any, Callable, Dict, Optional, Sequence, TypeVar, Union

from . import _svr_memory, config, core, errors, protocol, serializers, socketutil
from ._svr_meta import class_info, is_private_attribute, metadata_of, reset_class_info
from ._svr_pool import Pool, PoolError
from ._svr_streams import StreamRegistry, is_iterator
from ._svr_wireobjs import AutoProxy, ExceptionWrapper, SerializedBlob
from .callcontext import current_context

__all__ = ["Daemon", "DaemonObject", "expose", "oneway", "behavior", "callback", "serve", "is_private_attribute",
           "get_attribute", "get_exposed_members"]

log = logging.getLogger("Pyro5.server")

_T = TypeVar("_T")
_INSTANCE_MODES = ("single", "session", "percall")
_MARSHAL_ID = 2      # serializer id the original uses for CONNECTFAIL when the request's serializer is unknown
_HOUSEKEEPING_INTERVAL = 1.0
_ONEWAY_JOIN_TIMEOUT = 5.0      # close() waits this long for running/queued oneway calls


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


def behavior(instance_mode: str = "session", instance_creator: Optional[Callable] = None) -> Callable:
    """Decorator to specify the server behavior of your Pyro class.
    instance_mode is one of "single", "session" (default) or "percall"; instance_creator an optional
    callable that gets the class and returns a new instance of it."""
    if not isinstance(instance_mode, str):
        raise SyntaxError("behavior decorator is missing argument(s): use @behavior(instance_mode=...)")
    if instance_mode not in _INSTANCE_MODES:
        raise ValueError("invalid instance mode: %r (use one of %s)" % (instance_mode, ", ".join(_INSTANCE_MODES)))
    if instance_creator is not None and not callable(instance_creator):
        raise TypeError("instance_creator must be a callable (it gets the class and returns an instance)")

    def _behavior(clazz: Any) -> Any:
        if not inspect.isclass(clazz):
            raise TypeError("behavior decorator can only be used on a class")
        clazz._pyroInstancing = (instance_mode, instance_creator)  # type: ignore[attr-defined]
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


def _exception_wrapper_to_dict(wrapper: ExceptionWrapper) -> dict:
    return {"__class__": "Pyro5.core._ExceptionWrapper", "exception": wrapper.exception}


serializers.SerializerBase.register_class_to_dict(ExceptionWrapper, _exception_wrapper_to_dict)

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

class Daemon:
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
        self.objectsById: dict[str, Any] = {}
        self.methodcall_error_handler: Callable = _default_methodcall_error_handler
        self._streams = StreamRegistry()
        self._single_instances: dict[type, Any] = {}
        self._single_lock = threading.Lock()
        self._shutting_down = threading.Event()
        self._loop_stopped = threading.Event()
        self._loop_stopped.set()
        self._loop_thread: Optional[threading.Thread] = None
        self._close_after_loop = False
        self._last_housekeeping = time.monotonic()
        self._housekeeping_lock = threading.Lock()
        self._oneway_pool: Optional[Pool] = None
        self._oneway_lock = threading.Lock()
        servertype = config.SERVERTYPE
        if connected_socket is not None:
            from .svr_existingconn import SocketServer_ExistingConnection
            self.transportServer: Any = SocketServer_ExistingConnection()
            self.transportServer.init(self, connected_socket)
        elif servertype == "thread":
            from .svr_threads import SocketServer_Threadpool
            self.transportServer = SocketServer_Threadpool()
            self.transportServer.init(self, host, port, unixsocket)
        elif servertype == "multiplex":
            from .svr_multiplex import SocketServer_Multiplex
            self.transportServer = SocketServer_Multiplex()
            self.transportServer.init(self, host, port, unixsocket)
        else:
            raise errors.PyroError("invalid server type '%s': config.SERVERTYPE must be 'thread' or 'multiplex'"
                                   % servertype)
        self.locationStr: str = self.transportServer.locationStr
        log.debug("daemon created on %s - %s (pid %d)", self.locationStr, self.transportServer, _getpid())
        self.natLocationStr: Optional[str] = None
        if nathost is not None:
            if not natport:
                natport = self.sock.getsockname()[1]
            if ":" in nathost and not nathost.startswith("["):
                nathost = "[%s]" % nathost
            self.natLocationStr = "%s:%d" % (nathost, natport)
        self._pyroHmacKey = None
        pyro_object = interface(self)
        self.register(pyro_object, core.DAEMON_NAME)

    # ------------------------------------------------------------------ properties

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
        with self._oneway_lock:
            pool, self._oneway_pool = self._oneway_pool, None
        if pool is not None and not pool.close(join_timeout=_ONEWAY_JOIN_TIMEOUT):
            log.warning("daemon closed while oneway calls are still running (%d threads)", pool.num_workers)

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
        if not hasattr(obj_or_class, "__dict__"):
            raise AttributeError("cannot register %r: Pyro must set the attributes _pyroId and _pyroDaemon on it; "
                                 "builtin types and classes with __slots__ can't be used (wrap them in a class of "
                                 "your own)" % (obj_or_class,))
        own = vars(obj_or_class)
        if not force:
            if own.get("_pyroId"):
                # (as the original: also when the daemon that registered it is closed by now)
                raise errors.DaemonError("object or class already has a Pyro id: %r (registered as %r); "
                                         "use force=True to register it again" % (obj_or_class, own["_pyroId"]))
            if objectId in self.objectsById:
                raise errors.DaemonError("an object or class is already registered with that id: %r" % objectId)
        else:
            previous = own.get("_pyroId")
            if previous and previous != objectId and self._lookup_raw(previous) is obj_or_class:
                self.unregister(previous)
            if objectId in self.objectsById:
                self.unregister(objectId)
        try:
            obj_or_class._pyroId = objectId
            obj_or_class._pyroDaemon = self
        except (AttributeError, TypeError):
            raise AttributeError(
                "cannot register %r: Pyro must set the attributes _pyroId and _pyroDaemon on it; builtin types "
                "and classes with __slots__ can't be used (wrap them in a class of your own)" % (obj_or_class,)
            ) from None
        if weak:
            daemon_ref = weakref.ref(self)

            def _gone(_ref: Any, object_id: str = objectId) -> None:
                daemon = daemon_ref()
                if daemon is not None and daemon.objectsById.get(object_id) is _ref:
                    daemon.objectsById.pop(object_id, None)
                    log.debug("weakly registered object %s was garbage collected: unregistered", object_id)
            self.objectsById[objectId] = weakref.ref(obj_or_class, _gone)
        else:
            self.objectsById[objectId] = obj_or_class
        _enable_autoproxy(obj_or_class if inspect.isclass(obj_or_class) else type(obj_or_class))
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
        # As the original: by id, the object keeps its _pyroId/_pyroDaemon attributes; by object, they are
        # removed. An object without _pyroId raises AttributeError, something that can't be registered at all
        # (no __dict__, e.g. a list) DaemonError.
        objectId: Any
        if isinstance(objectOrId, str):
            objectId = objectOrId
            obj = self._lookup_raw(objectId)
            forget_attributes = False
        else:
            obj = objectOrId
            if not hasattr(obj, "__dict__"):
                raise errors.DaemonError("object isn't registered: %r" % (obj,))
            objectId = vars(obj).get("_pyroId")
            if objectId is None:      # never registered: AttributeError, as the original
                raise AttributeError("%r has no attribute '_pyroId': it isn't registered" % (obj,))
            forget_attributes = True
            if self._lookup_raw(objectId) is not obj:
                return
        if objectId == core.DAEMON_NAME:
            return
        if objectId not in self.objectsById:
            return
        del self.objectsById[objectId]
        if obj is not None:
            if forget_attributes:
                for attr in ("_pyroId", "_pyroDaemon"):
                    try:
                        delattr(obj, attr)
                    except (AttributeError, TypeError):
                        pass
            if inspect.isclass(obj):
                with self._single_lock:
                    self._single_instances.pop(obj, None)

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
            obj = self._lookup_raw(objectOrId)
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
        registered = self._lookup_raw(uri.object)
        if registered is None:
            raise errors.DaemonError("object isn't registered in this daemon: %r" % uri.object)
        try:
            client = importlib.import_module("Pyro5.client")
        except ModuleNotFoundError as x:
            if x.name in ("Pyro5.client", "Pyro5"):
                raise ModuleNotFoundError("Daemon.proxyFor needs pyro5-client: pip install pyro5-client",
                                          name="Pyro5.client") from None
            raise
        proxy = client.Proxy(uri)
        meta = metadata_of(registered)
        get_metadata = getattr(proxy, "_pyroGetMetadata", None)
        if get_metadata is not None:
            get_metadata(known_metadata=meta)
        else:  # pragma: no cover - depends on the client implementation
            proxy._pyroMethods, proxy._pyroOneway, proxy._pyroAttrs = meta["methods"], meta["oneway"], meta["attrs"]
        return proxy

    @staticmethod
    def serveSimple(objects: Dict[Any, Optional[str]], host: Any = None, port: int = 0, daemon: Any = None,
                    ns: bool = True, verbose: bool = True) -> None:
        """
        Backwards compatibility method to fire up a daemon and start serving requests.
        New code should just use the global serve function instead.
        """
        serve(objects, host, port, daemon, use_ns=ns, verbose=verbose)

    # ------------------------------------------------------------------ internals: lookups

    def _lookup_raw(self, objectId: Any) -> Any:
        obj = self.objectsById.get(objectId) if isinstance(objectId, str) else None
        if type(obj) is weakref.ref:
            obj = obj()
        return obj

    def _lookup(self, objectId: Any) -> Any:
        obj = self._lookup_raw(objectId)
        if obj is None:
            if not isinstance(objectId, str):
                raise errors.DaemonError("unknown object: object id must be a str, not %s"
                                         % type(objectId).__name__)
            raise errors.DaemonError("unknown object %r: it is not registered in this daemon" % objectId)
        return obj

    def _instance(self, clazz: type, conn: Any) -> Any:
        mode, creator = getattr(clazz, "_pyroInstancing", ("session", None))
        if mode == "session":
            instances = conn.pyroInstances if conn is not None else None
            if instances is not None:
                obj = instances.get(clazz)
                if obj is None:
                    obj = self._create(clazz, creator)
                    instances[clazz] = obj
                return obj
            return self._create(clazz, creator)
        if mode == "single":
            obj = self._single_instances.get(clazz)
            if obj is None:
                with self._single_lock:
                    obj = self._single_instances.get(clazz)
                    if obj is None:
                        obj = self._create(clazz, creator)
                        self._single_instances[clazz] = obj
            return obj
        if mode == "percall":
            return self._create(clazz, creator)
        raise errors.DaemonError("invalid instancemode %r on class %s" % (mode, clazz.__name__))

    @staticmethod
    def _create(clazz: type, creator: Optional[Callable]) -> Any:
        if creator is None:
            return clazz()
        obj = creator(clazz)
        if not isinstance(obj, clazz):
            raise TypeError("instance creator returned object of different type: %r is not a %s"
                            % (obj, clazz.__name__))
        return obj

    # ------------------------------------------------------------------ internals: connection handling

    def _handshake(self, conn: Any, denied_reason: Optional[str] = None) -> bool:
        """Perform the connection handshake on a new connection; True when the connection was accepted."""
        try:
            return self.__handshake(conn, denied_reason)
        finally:
            current_context.client = None

    def __handshake(self, conn: Any, denied_reason: Optional[str]) -> bool:
        serializer_id = _MARSHAL_ID
        seq = 0
        serializer = None
        ctx = current_context
        try:
            msg = protocol.recv_stub(conn, [protocol.MSG_CONNECT])
            seq = msg.seq
            serializer = serializers.serializers_by_id.get(msg.serializer_id)
            if serializer is None:
                raise errors.SerializeError("message used serializer id %d that is not available in this server"
                                            % msg.serializer_id)
            serializer_id = msg.serializer_id
            ctx.client = conn
            ctx.client_sock_addr = getattr(conn, "sock_addr", None)
            ctx.seq = msg.seq
            ctx.msg_flags = msg.flags
            ctx.serializer_id = msg.serializer_id
            ctx.annotations = msg.annotations
            ctx.response_annotations = {}
            ctx.correlation_id = msg.correlation_id
            if denied_reason:
                raise errors.CommunicationError(denied_reason)
            try:
                data = serializer.loads(msg.data)
            except Exception as x:
                raise errors.SerializeError("cannot deserialize the connect message: %s" % x) from None
            if not isinstance(data, dict) or not isinstance(data.get("object"), str):
                raise errors.ProtocolError("invalid connect message: expected a dict with 'handshake' and "
                                           "'object' (str) items")
            try:
                handshake_response = self.validateHandshake(conn, data.get("handshake"))
            except errors.TimeoutError as x:     # (raised by the validator: a rejection, not a lost client)
                raise errors.CommunicationError(str(x) or type(x).__name__) from None
            meta = metadata_of(self._lookup(data["object"]))
            payload = serializer.dumps({"handshake": handshake_response, "meta": meta})
            msgtype = protocol.MSG_CONNECTOK
            annotations = self._response_annotations()
        except (errors.ConnectionClosedError, errors.TimeoutError, OSError) as x:
            log.debug("client %s went away during handshake: %s", getattr(conn, "sock_addr", "?"), x)
            return False
        except Exception as x:
            reason = str(x) or type(x).__name__
            if denied_reason:
                log.info("refused connection from %s: %s", getattr(conn, "sock_addr", "?"), reason)
            else:
                log.warning("connection handshake from %s failed: %s: %s", getattr(conn, "sock_addr", "?"),
                            type(x).__name__, reason)
            msgtype = protocol.MSG_CONNECTFAIL
            annotations = None
            try:
                payload = (serializer or serializers.serializers_by_id[_MARSHAL_ID]).dumps(reason)
            except Exception:
                serializer_id = _MARSHAL_ID
                payload = marshal.dumps(reason)
        try:
            conn.send(protocol.SendingMessage(msgtype, 0, seq, serializer_id, payload, annotations).data)
        except Exception as x:
            log.debug("cannot send handshake response to %s: %s", getattr(conn, "sock_addr", "?"), x)
            return False
        return msgtype == protocol.MSG_CONNECTOK

    def _response_annotations(self) -> Optional[dict]:
        if type(self).annotations is Daemon.annotations:
            return current_context.response_annotations or None
        annotations = self.annotations()
        response = current_context.response_annotations
        if response:
            if annotations:
                annotations = dict(annotations)
                annotations.update(response)
            else:
                annotations = response
        return annotations or None

    def handleRequest(self, conn: Any) -> None:
        """
        Handle incoming Pyro request. Catches any exception that may occur and
        wraps it in a reply to the calling side, as to not make this server side loop
        terminate due to exceptions caused by remote invocations.
        Communication errors (connection closed, timeout, malformed message) are raised: the caller
        then closes the connection.
        """
        try:
            msg = protocol.recv_stub(conn, (protocol.MSG_INVOKE, protocol.MSG_PING))
        except (errors.ConnectionClosedError, errors.TimeoutError):
            raise
        except errors.ProtocolError as x:
            self._send_protocol_error(conn, x)
            raise
        ctx = current_context
        ctx.client = conn
        ctx.client_sock_addr = getattr(conn, "sock_addr", None)
        ctx.seq = msg.seq
        ctx.msg_flags = flags = msg.flags
        ctx.serializer_id = msg.serializer_id
        ctx.annotations = msg.annotations
        ctx.response_annotations = {}
        ctx.correlation_id = msg.correlation_id
        if msg.type == protocol.MSG_PING:
            conn.send(protocol.SendingMessage(protocol.MSG_PING, 0, msg.seq, msg.serializer_id, b"pong").data)
            return
        serializer = serializers.serializers_by_id.get(msg.serializer_id)
        if serializer is None:
            err = errors.SerializeError("message used serializer id %d that is not available in this server"
                                        % msg.serializer_id)
            log.warning("request from %s: %s", ctx.client_sock_addr, err)
            self._send_protocol_error(conn, err, msg.seq)
            return
        oneway = flags & protocol.FLAGS_ONEWAY
        response_flags = 0
        method = None
        vargs: Any = ()
        kwargs: Any = {}
        user_call = False
        try:
            try:
                if flags & protocol.FLAGS_KEEPSERIALIZED:
                    object_id, method_name, vargs, kwargs = self._blob_call(msg)
                else:
                    object_id, method_name, vargs, kwargs = serializer.loadsCall(msg.data)
            except errors.PyroError:
                raise
            except Exception as x:
                raise errors.SerializeError("cannot deserialize the call message: %s: %s"
                                            % (type(x).__name__, x)) from None
            if kwargs is None:
                kwargs = {}
            if not isinstance(method_name, str) or not isinstance(vargs, (list, tuple)) \
                    or not isinstance(kwargs, dict):
                raise errors.ProtocolError("invalid call message: expected (object id, method name, "
                                           "argument list, keyword argument dict)")
            obj = self._lookup(object_id)
            if isinstance(obj, type):
                obj = self._instance(obj, conn)
            if flags & protocol.FLAGS_BATCH and method_name == "<batch>":
                response_flags = protocol.FLAGS_BATCH
                data: Any = self._run_batch(obj, vargs, conn)
            elif method_name == "__getattr__":
                data = self._get_attribute(obj, vargs)
            elif method_name == "__setattr__":
                data = self._set_attribute(obj, vargs)
            else:
                method = self._get_method(obj, method_name)
                if oneway and config.ONEWAY_THREADED:
                    self._start_oneway_thread(method, vargs, kwargs)
                    return
                user_call = True
                data = method(*vargs, **kwargs)   # this is the actual method call to the Pyro object
                user_call = False
            if oneway:
                return
            if is_iterator(data):
                out = self._stream_message(conn, msg, serializer, data, response_flags)
            else:
                try:
                    payload = serializer.dumps(data)
                except Exception as x:
                    raise errors.SerializeError("cannot serialize the result of %r: %s: %s"
                                                % (method_name, type(x).__name__, x)) from None
                out = protocol.SendingMessage(protocol.MSG_RESULT, response_flags, msg.seq, msg.serializer_id,
                                              payload, self._response_annotations())
        except Exception as x:
            if user_call:
                try:
                    self.methodcall_error_handler(self, conn, method, vargs, kwargs, x)
                except Exception:
                    log.warning("methodcall_error_handler raised an exception", exc_info=True)
            else:
                log.warning("bad request from %s: %s: %s", ctx.client_sock_addr, type(x).__name__, x)
            if oneway:
                log.debug("oneway call from %s failed: %s: %s", ctx.client_sock_addr, type(x).__name__, x)
                return
            conn.send(self._exception_message(msg, serializer, x).data)
            if user_call and getattr(method, "_pyroCallback", False):
                # @callback: the error also shows on this side (after the caller got it): in the log, with its
                # traceback (the original logs it as a warning; nothing goes to stderr unless logging does)
                log.warning("error in callback method %s: %s: %s", getattr(method, "__qualname__", method),
                            type(x).__name__, x, exc_info=x)
            return
        conn.send(out.data)

    def _exception_message(self, msg: Any, serializer: Any, x: BaseException) -> protocol.SendingMessage:
        tb = errors.format_traceback(type(x), x, x.__traceback__, detailed=config.DETAILED_TRACEBACK)
        try:
            x._pyroTraceback = tb  # type: ignore[attr-defined]
        except Exception:
            pass
        flags = protocol.FLAGS_EXCEPTION
        if msg.flags & protocol.FLAGS_BATCH:
            flags |= protocol.FLAGS_BATCH
        try:
            payload = serializer.dumps(x)
        except Exception as sx:
            substitute = errors.PyroError("%s: %s (the original exception could not be serialized: %s)"
                                          % (type(x).__name__, x, sx))
            substitute._pyroTraceback = tb  # type: ignore[attr-defined]
            payload = serializer.dumps(substitute)
        try:
            return protocol.SendingMessage(protocol.MSG_RESULT, flags, msg.seq, msg.serializer_id, payload,
                                           self._response_annotations())
        except errors.ProtocolError as px:   # e.g. too large, or invalid user response annotations
            substitute = errors.PyroError("%s: %s (and the error response could not be sent: %s)"
                                          % (type(x).__name__, x, px))
            return protocol.SendingMessage(protocol.MSG_RESULT, flags, msg.seq, msg.serializer_id,
                                           serializer.dumps(substitute))

    def _send_protocol_error(self, conn: Any, x: Exception, seq: int = 0) -> None:
        """Tell the peer about a malformed message before the connection is closed (best effort)."""
        log.warning("malformed message from %s: %s", getattr(conn, "sock_addr", "?"), x)
        try:
            serializer_id = current_context.serializer_id if current_context.client is conn else 0
            serializer = serializers.serializers_by_id.get(serializer_id) \
                or serializers.serializers_by_id[_MARSHAL_ID]
            x._pyroTraceback = None  # type: ignore[attr-defined]
            conn.send(protocol.SendingMessage(protocol.MSG_RESULT, protocol.FLAGS_EXCEPTION, seq,
                                              serializer.serializer_id, serializer.dumps(x)).data)
        except Exception:
            log.debug("cannot report protocol error to the peer", exc_info=True)

    def _blob_call(self, msg: Any) -> tuple:
        info = msg.annotations.get("BLBI")
        if info is None:
            raise errors.ProtocolError("message has FLAGS_KEEPSERIALIZED but no BLBI annotation")
        try:
            blobinfo, object_id, method_name = marshal.loads(info)
        except Exception:
            raise errors.ProtocolError("invalid BLBI annotation in blob call message") from None
        return object_id, method_name, (SerializedBlob(blobinfo, msg, is_blob=True),), {}

    def _get_method(self, obj: Any, name: str) -> Callable:
        info = class_info(obj)
        if name in info.methods:
            return getattr(obj, name)
        if is_private_attribute(name):
            raise AttributeError("attempt to access private attribute '%s'" % name)
        if name in info.attrs:
            raise AttributeError("'%s' is a remote attribute (property), not a method" % name)
        if hasattr(type(obj), name):
            raise AttributeError("attempt to access unexposed attribute '%s'" % name)
        raise AttributeError("remote object '%s' has no exposed method '%s'" % (type(obj).__name__, name))

    @staticmethod
    def _attribute_name(vargs: Any, count: int) -> str:
        if len(vargs) != count or not isinstance(vargs[0], str):
            raise TypeError("remote attribute access needs %s" % ("(name,)" if count == 1 else "(name, value)"))
        return vargs[0]

    def _get_attribute(self, obj: Any, vargs: Any) -> Any:
        name = self._attribute_name(vargs, 1)
        if name in class_info(obj).attrs:
            return getattr(obj, name)
        if is_private_attribute(name):
            raise AttributeError("attempt to access private attribute '%s'" % name)
        raise AttributeError("attempt to access unexposed or unknown remote attribute '%s'" % name)

    def _set_attribute(self, obj: Any, vargs: Any) -> Any:
        name = self._attribute_name(vargs, 2)
        info = class_info(obj)
        if name in info.writable:
            setattr(obj, name, vargs[1])
            return None
        if is_private_attribute(name):
            raise AttributeError("attempt to access private attribute '%s'" % name)
        if name in info.attrs:
            raise AttributeError("remote attribute '%s' is read-only (its property has no setter)" % name)
        raise AttributeError("attempt to access unexposed or unknown remote attribute '%s'" % name)

    def _run_batch(self, obj: Any, calls: Any, conn: Any) -> list:
        results: list = []
        for call in calls:
            try:
                if not isinstance(call, (list, tuple)) or len(call) != 3:
                    raise errors.ProtocolError("invalid batch call item: expected (method, args, kwargs)")
                name, vargs, kwargs = call
                if not isinstance(vargs, (list, tuple)) or not (kwargs is None or isinstance(kwargs, dict)):
                    raise errors.ProtocolError("invalid batch call item: expected (method, args, kwargs)")
                if name == "__getattr__":
                    result = self._get_attribute(obj, vargs)
                elif name == "__setattr__":
                    result = self._set_attribute(obj, vargs)
                else:
                    method = self._get_method(obj, name)
                    try:
                        result = method(*vargs, **(kwargs or {}))
                    except Exception as x:
                        try:
                            self.methodcall_error_handler(self, conn, method, vargs, kwargs or {}, x)
                        except Exception:
                            log.warning("methodcall_error_handler raised an exception", exc_info=True)
                        raise
                if is_iterator(result):
                    result = list(result)   # a batch can't stream: send the items
                results.append(result)
            except Exception as x:
                x._pyroTraceback = errors.format_traceback(type(x), x, x.__traceback__,  # type: ignore[attr-defined]
                                                           detailed=config.DETAILED_TRACEBACK)
                results.append(ExceptionWrapper(x))
                break   # stop processing the rest of the batch
        return results

    def _start_oneway_thread(self, method: Callable, vargs: Any, kwargs: Any) -> None:
        context = current_context.to_global()

        def run() -> None:
            current_context.from_global(context)
            try:
                method(*vargs, **kwargs)
            except Exception as x:
                log.debug("oneway call %s failed: %s: %s", getattr(method, "__qualname__", method),
                          type(x).__name__, x)
                try:
                    self.methodcall_error_handler(self, context.get("client"), method, vargs, kwargs, x)
                except Exception:
                    log.warning("methodcall_error_handler raised an exception", exc_info=True)
            finally:
                current_context.client = None
        pool = self._oneway_pool
        if pool is None:
            with self._oneway_lock:
                if self._oneway_pool is None:
                    # at most THREADPOOL_SIZE threads run oneway calls; more calls wait in the queue (none is lost)
                    self._oneway_pool = Pool(0, max(1, config.THREADPOOL_SIZE), name="Pyro-oneway", max_queued=None)
                pool = self._oneway_pool
        try:
            pool.submit(run)
        except PoolError:       # (the daemon is closing: run the call here rather than lose it)
            run()

    def _stream_message(self, conn: Any, msg: Any, serializer: Any, data: Any,
                        response_flags: int) -> protocol.SendingMessage:
        annotations = self._response_annotations() or {}
        if config.ITER_STREAMING:
            stream_id = self._streams.add(conn, data)
            annotations = dict(annotations)
            annotations["STRM"] = stream_id.encode("ascii")
            error = errors.ProtocolError("result of call is an iterator")
        else:
            error = errors.ProtocolError("result of call is an iterator, but item streaming is disabled in the "
                                         "server (config.ITER_STREAMING): return a list instead")
        error._pyroTraceback = None  # type: ignore[attr-defined]
        flags = response_flags | protocol.FLAGS_ITEMSTREAMRESULT | protocol.FLAGS_EXCEPTION
        return protocol.SendingMessage(protocol.MSG_RESULT, flags, msg.seq, msg.serializer_id,
                                       serializer.dumps(error), annotations or None)

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
        if now - self._last_housekeeping < _HOUSEKEEPING_INTERVAL:
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

    @property
    def streaming_responses(self) -> dict:
        """the ids of the active item streams (read only view, for diagnostics)"""
        return {stream_id: None for stream_id in self._streams.ids()}

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
        _init_unusable(self)


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
    daemon.objectsById = {}
    daemon.locationStr = "<<unusable>>"
    daemon.natLocationStr = None
    daemon._shutting_down = threading.Event()
    daemon._shutting_down.set()
    daemon._streams = StreamRegistry()
    daemon._oneway_pool = None
    daemon._oneway_lock = threading.Lock()


def _unusable_daemon(classname: str, data: dict) -> Daemon:
    daemon = Daemon.__new__(Daemon)
    _init_unusable(daemon)
    return daemon


serializers.SerializerBase.register_dict_to_class("Pyro5.server.Daemon", _unusable_daemon)


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
