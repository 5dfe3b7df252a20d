"""Client related classes (Proxy, mostly): Proxy, BatchProxy, SerializedBlob and the name server helpers.

``Proxy`` is a facade: the uri, the metadata, the options, Python's magic methods and the ``_pyro*`` API live
here; the connection (socket, sequence number, handshake, blocking I/O) is a ``_client_conn.ProxyConnection``,
and what goes on the wire and what the replies mean is the call codec ``_client_codec`` (no I/O), which
documents the wire details.
"""
from __future__ import annotations

import concurrent.futures
import logging
import threading
from typing import Any, TypeVar

from . import _client_codec as _codec
from . import _client_fast as _fast
from . import _client_hooks, _nslookup, _wire_hooks, config, core, errors, protocol, serializers, socketutil
from ._client_conn import ProxyConnection
from ._client_magic import ProxyMagic, _RemoteMethod, _send_with
from ._client_shared import SharedLink
from ._client_state import LOCAL_ATTRS, ProxyState
from ._client_stream import _StreamResultIterator
from ._nslookup import locate_ns, resolve
from ._serialized_blob import SerializedBlob
from .callcontext import current_context

__all__ = ["Proxy", "BatchProxy", "SerializedBlob", "locate_ns", "resolve", "add_interceptor", "remove_interceptor",
           "add_observer", "remove_observer"]

log = logging.getLogger("Pyro5.client")

_get_ident = threading.get_ident
_FLAGS_ONEWAY = protocol.FLAGS_ONEWAY
_CONNECTED_SOCKET_HOST = "<<connected-socket>>"
_StreamReply = _codec.StreamReply
_call_request = _codec.call_request
_call_result = _codec.call_result
_FULL = _fast.FULL
_fast_call = _fast.call
_fast_invoke_args = _fast.invoke_args
_OBJECT_GETATTRIBUTE = object.__getattribute__

_LOCAL_ATTRS = LOCAL_ATTRS

_UnknownSerializerError = serializers.UnknownSerializerError   # (one class, in pyro5-wire)
_serializer_by_name = serializers.get_serializer
_GLOBAL_HOOKS = _client_hooks.GLOBAL
add_interceptor = _client_hooks.add_interceptor
remove_interceptor = _client_hooks.remove_interceptor
add_observer = _client_hooks.add_observer
remove_observer = _client_hooks.remove_observer


_ProxyT = TypeVar("_ProxyT", bound="Proxy")


def _proxy_uri(uri: str | core.URI, connected_socket: Any) -> core.URI:
    """The uri of a new proxy; over a user-supplied connected socket only the object id of it counts."""
    if connected_socket is not None:
        if isinstance(uri, core.URI):
            name = uri.object
        else:
            name = str(uri)
            if name.upper().startswith("PYRO:") and "@" in name:
                name = core.URI(name).object
        return core.URI("PYRO:%s@%s:0" % (name, _CONNECTED_SOCKET_HOST))
    if isinstance(uri, str):
        return core.URI(uri)
    if not isinstance(uri, core.URI):
        raise TypeError("expected Pyro URI (a str or Pyro5.core.URI), got %s" % type(uri).__name__)
    return uri


class Proxy(ProxyState, ProxyMagic):
    """Pyro proxy for a remote object. Intercepts method calls and dispatches them to the remote object.

    .. automethod:: _pyroBind
    .. automethod:: _pyroRelease
    .. automethod:: _pyroReconnect
    .. automethod:: _pyroValidateHandshake
    .. autoattribute:: _pyroTimeout
    .. autoattribute:: _pyroMaxRetries
    .. autoattribute:: _pyroSerializer
    .. autoattribute:: _pyroHandshake
    .. autoattribute:: _pyroLocalSocket
    """

    __pyro_class__ = "Pyro5.client.Proxy"

    #: how many times a call is retried after a timeout or a lost connection (from config.MAX_RETRIES)
    _pyroMaxRetries: int
    #: the name of a serializer for this proxy's calls, overriding config.SERIALIZER (None: use that)
    _pyroSerializer: str | None
    #: the data object sent to the daemon in the connect handshake (see Daemon.validateHandshake)
    _pyroHandshake: Any
    #: interceptors of this proxy's calls (a list; besides the global ones of Pyro5.client.add_interceptor)
    _pyroInterceptors: Any = ()

    def __init__(self, uri: str | core.URI, connected_socket: Any = None, *, shared: bool = False) -> None:
        uri = _proxy_uri(uri, connected_socket)
        _serializer_by_name(config.SERIALIZER)   # a wrong config item fails here, like the original (ValueError)
        if config.OPENTELEMETRY:
            _client_hooks.check_config()
        self.__setup(uri, set(), set(), set(), "hello", None, connected_socket, shared)  # shared: _client_shared

    def __setup(self, uri: core.URI, oneway: set, methods: set, attrs: set, handshake: Any, serializer: str | None,
                connected_socket: Any = None, shared: bool = False) -> None:
        _store_state(self, {
            "_pyroUri": uri,
            "_pyroSerializer": serializer,  # can be set to the name of a serializer to override the global one
            "_pyroMethods": methods,        # all methods of the remote object, gotten from meta-data
            "_pyroAttrs": attrs,            # attributes of the remote object, gotten from meta-data
            "_pyroOneway": oneway,          # oneway-methods of the remote object, gotten from meta-data
            "_pyroRawWireResponse": False,  # internal switch to enable wire level responses
            "_pyroHandshake": handshake,    # the data object that should be sent in the initial connection handshake
            "_pyroMaxRetries": int(config.MAX_RETRIES),
            "_Proxy__pyroOwnerThread": _get_ident(),
            "_Proxy__link": ProxyConnection(connected_socket, config.COMMTIMEOUT),
            "_Proxy__shared": SharedLink(connected_socket) if shared else None,     # (a shared proxy's connections)
        })

    # ------------------------------------------------------------------------------------ object protocol

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: a remote method or attribute, or unknown ("_" <= name < "`": starts
        # with "_", as every local name does: no method call for a usual name)
        if "_" <= name < "`" and (name in _LOCAL_ATTRS or name.startswith("_pyro")):
            raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))
        methods = self._pyroMethods
        if not methods and not self._pyroAttrs:
            if name.startswith("__") and name.endswith("__"):
                # python's own probes (__deepcopy__, __length_hint__, ...) must not connect to the server
                raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))
            self._pyroGetMetadata()
            methods = self._pyroMethods
        if name in methods:
            cls = type(self)    # (Proxy's own _pyroInvoke, looked up the usual way: _client_fast.invoke_args does it)
            if cls._pyroInvoke is _PROXY_INVOKE and cls.__getattribute__ is _OBJECT_GETATTRIBUTE and \
                    "_pyroInvoke" not in self.__dict__:
                return _RemoteMethod(_fast_invoke_args, self, name)
            return _RemoteMethod(_send_with, self._pyroInvoke, name)
        if name in self._pyroAttrs:
            return self._pyroInvoke("__getattr__", (name,), None)
        raise AttributeError("remote object '%s' has no exposed attribute or method '%s'" % (self._pyroUri, name))

    def __repr__(self) -> str:
        conn = self._pyroConnection
        connected = "connected " + conn.family() if conn is not None else "not connected"
        return "<%s.%s at 0x%x; %s; for %s; owner %s>" % (type(self).__module__, type(self).__name__, id(self),
                                                          connected, self._pyroUri,
                                                          "shared" if self.__shared else self.__pyroOwnerThread)

    __str__ = __repr__

    # ------------------------------------------------------------------------------------ public proxy API

    @property
    def _pyroTimeout(self) -> float | None:
        """The timeout in seconds for calls on this proxy. Defaults to None.
        If the timeout expires before the remote method call returns,
        Pyro will raise a :exc:`Pyro5.errors.TimeoutError`"""
        return self.__link.timeout

    @_pyroTimeout.setter
    def _pyroTimeout(self, timeout: float | None) -> None:
        self.__link.set_timeout(timeout)

    @property
    def _pyroConnection(self) -> socketutil.SocketConnection | None:
        """The connection to the daemon (a Pyro5.socketutil.SocketConnection), None while not connected."""
        return self.__link.conn if self.__shared is None else self.__shared.connection

    @property
    def _pyroSeq(self) -> int:
        """The sequence number of the last message sent."""
        return self.__link.seq

    @_pyroSeq.setter
    def _pyroSeq(self, seq: int) -> None:
        self.__link.seq = seq

    @property
    def _pyroLocalSocket(self) -> Any:
        """The local address of the connection (None while not connected)."""
        return self.__link.local_socket if self.__shared is None else self.__shared.local_socket

    def _pyroRelease(self) -> None:
        """release the connection to the pyro daemon"""
        if self.__shared is not None:
            self.__shared.release()
            return
        link = self.__link
        with link.lock:
            if link.release():
                log.debug("connection released")

    def _pyroBind(self) -> bool:
        """
        Bind this proxy to the exact object from the uri. That means that the proxy's uri
        will be updated with a direct PYRO uri, if it isn't one yet.
        If the proxy is already bound, it will not bind again.
        """
        return self.__pyroCreateConnection(True)

    def _pyroReconnect(self, tries: int = 100000000) -> None:
        """
        (Re)connect the proxy to the daemon containing the pyro object which the proxy is for.
        In contrast to the _pyroBind method, this one first releases the connection (if the proxy is still
        connected) and retries making a new connection until it succeeds or the given amount of tries ran out.
        """
        self.__check_owner()
        self._pyroRelease()
        while tries:
            try:
                self.__pyroCreateConnection()
                return
            except _UnknownSerializerError:
                raise       # a configuration error: trying again cannot help
            except (errors.CommunicationError, errors.NamingError) as x:  # (a PYRONAME uri is resolved again)
                tries -= 1
                log.debug("reconnect to %s failed (%s), %d tries left", self._pyroUri, x, tries)
                if tries:
                    _wait(2)
        raise errors.ConnectionClosedError("failed to reconnect to %s" % self._pyroUri)

    def _pyroClaimOwnership(self) -> None:
        """
        The current thread claims the ownership of this proxy from another thread.
        Any existing connection will remain active!
        """
        self.__pyroOwnerThread = _get_ident()

    def _pyroValidateHandshake(self, response: Any) -> None:
        """
        Process and validate the initial connection handshake response data received from the daemon.
        Simply return without error if everything is ok.
        Raise an exception if something is wrong and the connection should not be made.
        """
        return

    def _pyroAnnotations(self) -> dict[str, bytes]:
        """
        Returns a dict with annotations to be sent with each message (default: current_context.annotations).
        Override this in a subclass to add your own annotations.
        """
        return current_context.annotations

    def _pyroResponseAnnotations(self, annotations: dict[str, bytes], msgtype: int) -> None:
        """
        Process any response annotations (dictionary set by the daemon).
        The default puts them in current_context.response_annotations; override it to do more.
        """
        current_context.response_annotations = annotations

    def _pyroGetMetadata(self, objectId: str | None = None, known_metadata: dict | None = None) -> None:
        """
        Get metadata from server (methods, attrs, oneway, ...) and remember them in some attributes of the proxy.
        Usually this will already be known due to the default behavior of the connect handshake, where
        the connect response also includes the metadata.
        """
        if known_metadata is None:
            if objectId is None and self._pyroConnection is None:
                self.__pyroCreateConnection()  # the connect handshake brings the metadata along
                return
            objectId = objectId or self._pyroUri.object
            log.debug("getting metadata for object %s", objectId)
            known_metadata = self._pyroInvoke("get_metadata", [objectId], {}, objectId=core.DAEMON_NAME)
        self.__setMetadata(known_metadata)

    def __setMetadata(self, metadata: Any) -> None:
        oneway, methods, attrs = _codec.metadata(metadata)
        # (every connect: one dict update where the assignments would do just that, see _store_state)
        _store_state(self, {"_pyroOneway": oneway, "_pyroMethods": methods, "_pyroAttrs": attrs})

    def _pyroInvokeBatch(self, calls: list, oneway: bool = False) -> Any:
        flags = protocol.FLAGS_BATCH
        if oneway:
            flags |= _FLAGS_ONEWAY
        return self._pyroInvoke("<batch>", calls, None, flags)

    # ------------------------------------------------------------------------------------ invocation

    def _pyroInvoke(self, methodname: str, vargs: Any, kwargs: Any, flags: int = 0, objectId: str | None = None
                    ) -> Any:
        """perform the remote method call communication"""
        if self._pyroInterceptors or _GLOBAL_HOOKS.active:     # call hooks (Pyro5._client_hooks)
            return _client_hooks.invoke(self, self.__invokeRetrying, methodname, vargs, kwargs, flags, objectId)
        return self.__invokeRetrying(methodname, vargs, kwargs, flags, objectId)

    def __invokeRetrying(self, methodname: str, vargs: Any, kwargs: Any, flags: int, objectId: str | None,
                         retries: int | None = None, usual: bool = True) -> Any:   # (_client_fast.invoke_args: both)
        shared = self.__shared
        if shared is not None:
            return shared.invoke(self, methodname, vargs, kwargs, flags, objectId)
        if self.__pyroOwnerThread != _get_ident():
            self.__check_owner()
        link = self.__link
        if link.pending_closes and not link.busy:
            self.__flushStreamCloses()
        if retries is None:
            retries = self._pyroMaxRetries
        usual = usual and not flags and objectId is None    # (first try the usual call's flat path: _client_fast)
        while True:
            try:
                if usual:
                    result = _fast_call(self, link, methodname, vargs, kwargs)
                    if result is not _FULL:
                        return result
                    usual = False
                return self.__invoke(methodname, vargs, kwargs, flags, objectId)
            except (errors.ConnectionClosedError, errors.TimeoutError):
                if retries <= 0:
                    raise
                retries -= 1
                log.debug("retrying call %s after a connection problem (%d retries left)", methodname, retries)

    def __invoke(self, methodname: str, vargs: Any, kwargs: Any, flags: int, objectId: str | None) -> Any:
        link = self.__link
        if link.conn is None:
            self.__pyroCreateConnection()
        serializer = _serializer_by_name(self._pyroSerializer or config.SERIALIZER)
        seq = link.seq = (link.seq + 1) & 0xffff
        request = _call_request(serializer, objectId or link.conn.objectId or self._pyroUri.object,  # type: ignore
                                methodname, vargs, kwargs, flags, seq, self._pyroAnnotations(), self._pyroOneway)
        oneway = request.flags & _FLAGS_ONEWAY
        link.send(request, not oneway)
        if oneway:
            return None
        serializer_id = request.serializer_id
        del request     # (a big request need not stay in memory while waiting for the reply)
        msg = link.receive(seq)
        self._pyroResponseAnnotations(msg.annotations, msg.type)
        if self._pyroRawWireResponse:
            return msg
        result = _call_result(msg, serializer, serializer_id)
        if type(result) is _StreamReply:
            return _StreamResultIterator(result.stream_id, self)
        return result

    def _pyroCloseStream(self, streamId: str, immediate: bool = True) -> None:
        """Tell the daemon to discard a remote iterator (oneway). Used by the stream result iterator."""
        link = self.__link
        if link.conn is None:
            return  # the daemon discards the streams of a closed connection itself
        if immediate and not link.busy and self.__pyroOwnerThread == _get_ident():
            self.__sendStreamClose(streamId)
        else:
            # from a finalizer, another thread, or in the middle of a call: send it before the next call
            link.pending_closes.append(streamId)

    def __flushStreamCloses(self) -> None:
        link = self.__link
        pending, link.pending_closes = link.pending_closes, []
        for streamId in pending:
            self.__sendStreamClose(streamId)

    def __sendStreamClose(self, streamId: str) -> None:
        try:
            self.__invoke("close_stream", [streamId], {}, _FLAGS_ONEWAY, core.DAEMON_NAME)
        except errors.PyroError as x:
            log.debug("could not close remote stream %s: %s", streamId, x)

    # ------------------------------------------------------------------------------------ connection

    def __check_owner(self) -> None:
        if _get_ident() != self.__pyroOwnerThread and self.__shared is None:
            raise errors.PyroError("the calling thread is not the owner of this proxy, create a new proxy in this "
                                   "thread or transfer ownership with proxy._pyroClaimOwnership().")

    def __pyroCreateConnection(self, replaceUri: bool = False, fresh_lookup: bool = False) -> bool:
        """
        Connects this proxy to the remote Pyro daemon. Does connection handshake.
        Returns true if a new connection was made, false if an existing one was already present.
        """
        if self.__shared is not None:
            return self.__shared.connect(self, replaceUri)
        self.__check_owner()
        link = self.__link
        with link.lock:
            if link.conn is not None:
                return False
            serializer = _serializer_by_name(self._pyroSerializer or config.SERIALIZER)
            uri = self._pyroUri
            if link.connected_socket is not None:
                # (no handshake: the metadata comes from the daemon object, as the original Pyro5 does it)
                link.adopt_socket(uri.object, str(uri))
                try:
                    self._pyroGetMetadata(uri.object)
                except BaseException:
                    link.release()
                    raise
                return True
            magic = uri if uri.protocol in ("PYRONAME", "PYROMETA") else None
            cached = False
            if magic is not None:
                uri, cached = _nslookup.resolve_for_proxy(magic, use_cache=not fresh_lookup)
            location = uri.sockname or (uri.host, uri.port)
            try:
                conn = link.open(location, uri.object)
                try:
                    request = _codec.connect_request(serializer, link.seq, self._pyroHandshake, uri.object,
                                                     self._pyroAnnotations())
                    msg = link.handshake(conn, request, location)
                    if msg.annotations:
                        self._pyroResponseAnnotations(msg.annotations, msg.type)
                    meta, response = _codec.connect_result(msg, location)
                    self.__setMetadata(meta)
                    link.attach(conn, uri)     # (the uri itself: formatted only should a message need it)
                    if replaceUri:
                        self._pyroUri = uri
                    self._pyroValidateHandshake(response)
                except BaseException:
                    link.release()
                    conn.close()
                    raise
            except errors.CommunicationError:
                if not cached:
                    raise
                _nslookup.forget_lookups(magic)     # (a cached lookup that no longer works: ask again)
                return self.__pyroCreateConnection(replaceUri, True)
            return True


Proxy.__module__ = "Pyro5.client"
_PROXY_INVOKE = Proxy._pyroInvoke
_SETUP_NAMES = ("_pyroUri", "_pyroSerializer", "_pyroMethods", "_pyroAttrs", "_pyroOneway", "_pyroRawWireResponse",
                "_pyroHandshake", "_pyroMaxRetries", "_Proxy__pyroOwnerThread", "_Proxy__link", "_Proxy__shared")
_plain_classes: dict[type, bool] = {}


def _plain_setattr(cls: type) -> bool:
    """Does assigning the proxy's own attributes in `cls` just store them in the instance dict (the __setattr__ of
    Proxy, no descriptor for those names)? A subclass that overrides __setattr__ or defines one of them as a
    property gets the assignments."""
    plain = _plain_classes.get(cls)
    if plain is None:
        plain = cls.__setattr__ is ProxyMagic.__setattr__ and not any(
            hasattr(vars(klass).get(name), "__set__") for klass in cls.__mro__ for name in _SETUP_NAMES)
        if len(_plain_classes) < 256:
            _plain_classes[cls] = plain
    return plain


def _store_state(proxy: Proxy, state: dict) -> None:
    """Proxy.__setup's attribute assignments: into the instance dict at once where that is all they would do."""
    if _plain_setattr(type(proxy)):
        proxy.__dict__.update(state)     # (what the assignments would do, without a __setattr__ call each)
    else:
        for name, value in state.items():
            setattr(proxy, name, value)


_fast.use_defaults(Proxy)


def _wait(seconds: float) -> None:
    # pause between reconnect attempts (a patchable seam for tests)
    threading.Event().wait(seconds)


class _BatchedRemoteMethod:
    """method call abstraction that is used with batched calls"""

    __slots__ = ("__calls", "__name")  # mangled by Python like the attribute names

    def __init__(self, calls: list, name: str) -> None:
        self.__calls = calls
        self.__name = name

    def __getattr__(self, name: str) -> Any:
        raise AttributeError("batched remote method %r has no attribute %r: dotted names are not supported"
                             % (self.__name, name))

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.__calls.append((self.__name, args, kwargs))


class BatchProxy:
    """Proxy that lets you batch multiple method calls into one.
    It is constructed with a reference to the normal proxy that will
    carry out the batched calls. Call methods on this object that you want to batch,
    and finally call the batch proxy itself. That call will return a generator
    for the results of every method call in the batch (in sequence)."""

    def __init__(self, proxy: Proxy) -> None:
        if not isinstance(proxy, Proxy):
            raise TypeError("BatchProxy needs a Pyro5.client.Proxy, got %s" % type(proxy).__name__)
        self.__proxy = proxy
        self.__calls: list = []

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            # private names (and python's own probes like __deepcopy__) are not remote calls
            raise AttributeError("%r object has no attribute %r (private names can't be called remotely)"
                                 % (type(self).__name__, name))
        method = _BatchedRemoteMethod(self.__calls, name)
        # kept on the instance: the next batch.name is found at once (the list of calls stays the same object)
        self.__dict__[name] = method
        return method

    def __enter__(self) -> BatchProxy:
        return self

    def __exit__(self, *args: Any) -> None:
        pass

    def __copy__(self) -> BatchProxy:
        copy = type(self)(self.__proxy)
        copy.__calls = list(self.__calls)
        return copy

    def __call__(self, oneway: bool = False, asynchronous: bool = False) -> Any:
        """Invoke the batch: returns a generator of the results of every call in order.
        oneway=True performs the whole batch as one-way calls and returns None immediately.
        asynchronous=True performs the batch in a background thread (over its own connection) and immediately
        returns a concurrent.futures.Future whose result() is that generator."""
        calls = self.__calls[:]
        self.__calls.clear()
        if asynchronous:
            return self.__call_async(calls, oneway)
        results = self.__proxy._pyroInvokeBatch(calls, oneway)
        if oneway:
            return None
        return _codec.batch_results(results)

    def __call_async(self, calls: list, oneway: bool) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        proxy = self.__proxy.__copy__()  # the original proxy belongs to this thread; use a connection of its own

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            proxy._pyroClaimOwnership()
            try:
                with proxy:
                    results = proxy._pyroInvokeBatch(calls, oneway)
            except BaseException as x:
                future.set_exception(x)
            else:
                future.set_result(None if oneway else _codec.batch_results(list(results)))

        threading.Thread(target=run, name="Pyro5-async-batch", daemon=True).start()
        return future

    def _pyroInvoke(self, name: str, args: Any, kwargs: Any) -> Any:
        # ignore all parameters, we just need to execute the batch
        calls = self.__calls[:]
        self.__calls.clear()
        results = self.__proxy._pyroInvokeBatch(calls)
        return _codec.batch_results(results)


BatchProxy.__module__ = "Pyro5.client"


# what pyro5-wire needs from the client (core.locate_ns, core.resolve, proxies in received data)
_wire_hooks.register(locate_ns=locate_ns, resolve=resolve, proxy_from_state=Proxy._pyro_from_state)
