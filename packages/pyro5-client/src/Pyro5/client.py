"""Client related classes (Proxy, mostly): Proxy, BatchProxy, SerializedBlob and the name server helpers.

Wire details (as the original Pyro5 5.15 does them, observed as a black box):

- connect: MSG_CONNECT with ``{"handshake": proxy._pyroHandshake, "object": objectid}``; the daemon answers
  MSG_CONNECTOK ``{"handshake": response, "meta": {"methods", "oneway", "attrs"}}`` or MSG_CONNECTFAIL
  with a reason string.
- calls: MSG_INVOKE ``dumpsCall(objectid, method, vargs, kwargs)``; remote attribute access calls
  ``__getattr__(name)`` / ``__setattr__(name, value)`` with kwargs None; a batch is the method ``<batch>`` with
  a list of ``(method, vargs, kwargs)`` and FLAGS_BATCH.
- a SerializedBlob argument travels with FLAGS_KEEPSERIALIZED and a "BLBI" annotation holding
  ``marshal.dumps((info, objectid, method))``.
"""
from __future__ import annotations

import concurrent.futures
import logging
import marshal
import ssl
import threading
from typing import Any, Callable, Generator, Iterable, TypeVar

from . import config, core, errors, protocol, serializers, socketutil
from ._client_stream import _StreamResultIterator
from ._nslookup import locate_ns, resolve
from .callcontext import current_context

__all__ = ["Proxy", "BatchProxy", "SerializedBlob", "locate_ns", "resolve"]

log = logging.getLogger("Pyro5.client")

_get_ident = threading.get_ident
_FLAGS_ONEWAY = protocol.FLAGS_ONEWAY
_MSG_INVOKE = protocol.MSG_INVOKE
_HEADER_SIZE = 40
_CONNECT_RESULT_TYPES = (protocol.MSG_CONNECTOK, protocol.MSG_CONNECTFAIL)
_CONNECTED_SOCKET_HOST = "<<connected-socket>>"
_EXCEPTION_WRAPPER = "Pyro5.core._ExceptionWrapper"

# attributes that live on the proxy itself (everything else is looked up on the remote object)
_LOCAL_ATTRS = frozenset((
    "_pyroUri", "_pyroConnection", "_pyroSerializer", "_pyroMethods", "_pyroAttrs", "_pyroOneway", "_pyroSeq",
    "_pyroRawWireResponse", "_pyroHandshake", "_pyroMaxRetries", "_pyroLocalSocket", "_pyroTimeout",
    "_Proxy__pyroTimeout", "_Proxy__pyroOwnerThread", "_Proxy__pyroConnLock", "_Proxy__connectedSocket",
    "_Proxy__pendingStreamCloses", "_Proxy__busy",
))


class _ExceptionWrapper:
    """An exception in a batch result: the daemon sends it as class ``Pyro5.core._ExceptionWrapper``."""

    __slots__ = ("exception",)

    def __init__(self, exception: BaseException) -> None:
        self.exception = exception

    def raiseIt(self) -> None:
        raise self.exception


def _exception_wrapper_from_dict(classname: str, data: dict) -> Any:
    exc = data.get("exception")
    if not isinstance(exc, BaseException):
        raise errors.SerializeError("invalid serialized %s: 'exception' is not an exception: %r" % (classname, exc))
    return _ExceptionWrapper(exc)


# batch results carry the exception of a failed call as class "Pyro5.core._ExceptionWrapper" (keep a converter
# that the user registered for it)
if _EXCEPTION_WRAPPER not in getattr(serializers.SerializerBase, "_custom_dict_to_class_registry", {}):
    serializers.SerializerBase.register_dict_to_class(_EXCEPTION_WRAPPER, _exception_wrapper_from_dict)


_UnknownSerializerError = serializers.UnknownSerializerError   # (one class, in pyro5-wire)
_serializer_by_name = serializers.get_serializer


def _is_blob(obj: Any) -> bool:
    # SerializedBlob itself, or the daemon's equivalent (pyro5-server can't import this module): duck typing
    return isinstance(obj, SerializedBlob) or (type(obj).__name__ == "SerializedBlob" and hasattr(obj, "info")
                                               and hasattr(obj, "deserialized"))


class _RemoteMethod:
    """method call abstraction"""

    __slots__ = ("__send", "__name")  # mangled by Python like the attribute names

    def __init__(self, send: Callable[..., Any], name: str) -> None:
        self.__send = send
        self.__name = name

    def __getattr__(self, name: str) -> Any:
        raise AttributeError("remote method %r has no attribute %r: dotted names (object traversal) are not "
                             "supported; expose a method that does it on the server instead" % (self.__name, name))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__send(self.__name, args, kwargs)

    def __repr__(self) -> str:
        return "<%s.%s %r>" % (type(self).__module__, type(self).__name__, self.__name)


_ProxyT = TypeVar("_ProxyT", bound="Proxy")


class Proxy:
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

    def __init__(self, uri: str | core.URI, connected_socket: Any = None) -> None:
        if connected_socket is not None:
            if isinstance(uri, core.URI):
                name = uri.object
            else:
                name = str(uri)
                if name.upper().startswith("PYRO:") and "@" in name:
                    name = core.URI(name).object
            uri = core.URI("PYRO:%s@%s:0" % (name, _CONNECTED_SOCKET_HOST))
        elif isinstance(uri, str):
            uri = core.URI(uri)
        elif not isinstance(uri, core.URI):
            raise TypeError("expected Pyro URI (a str or Pyro5.core.URI), got %s" % type(uri).__name__)
        _serializer_by_name(config.SERIALIZER)   # a wrong config item fails here, like the original (ValueError)
        self._pyroUri = uri
        self.__connectedSocket = connected_socket
        self._pyroConnection: socketutil.SocketConnection | None = None
        self._pyroSerializer: str | None = None  # can be set to the name of a serializer to override the global one
        self._pyroMethods: set[str] = set()  # all methods of the remote object, gotten from meta-data
        self._pyroAttrs: set[str] = set()  # attributes of the remote object, gotten from meta-data
        self._pyroOneway: set[str] = set()  # oneway-methods of the remote object, gotten from meta-data
        self._pyroSeq = 0  # message sequence number
        self._pyroRawWireResponse = False  # internal switch to enable wire level responses
        self._pyroHandshake: Any = "hello"  # the data object that should be sent in the initial connection handshake
        self._pyroMaxRetries = int(config.MAX_RETRIES)
        self._pyroLocalSocket: Any = None
        self.__pyroTimeout: float | None = config.COMMTIMEOUT
        self.__pyroOwnerThread = _get_ident()
        self.__pyroConnLock = threading.RLock()
        self.__pendingStreamCloses: list[str] = []
        self.__busy = False

    # ------------------------------------------------------------------------------------ object protocol

    def __del__(self) -> None:
        try:
            conn = self.__dict__.get("_pyroConnection")
            if conn is not None:
                self._pyroConnection = None
                conn.close()
        except Exception:  # never raise from a finalizer (interpreter shutdown etc.)
            pass

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: the name is a remote method or attribute (or unknown)
        if name in _LOCAL_ATTRS or name.startswith("_pyro"):
            raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))
        methods = self._pyroMethods
        if name in methods:
            return _RemoteMethod(self._pyroInvoke, name)
        if name in self._pyroAttrs:
            return self._pyroInvoke("__getattr__", (name,), None)
        if not methods and not self._pyroAttrs:
            if name.startswith("__") and name.endswith("__"):
                # python's own probes (__deepcopy__, __length_hint__, ...) must not connect to the server
                raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))
            self._pyroGetMetadata()
            if name in self._pyroMethods:
                return _RemoteMethod(self._pyroInvoke, name)
            if name in self._pyroAttrs:
                return self._pyroInvoke("__getattr__", (name,), None)
        raise AttributeError("remote object '%s' has no exposed attribute or method '%s'" % (self._pyroUri, name))

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            # the proxy's own attributes (and anything private: private attributes are never remotely accessible)
            object.__setattr__(self, name, value)
            return
        if not self._pyroMethods and not self._pyroAttrs:
            self._pyroGetMetadata()
        if name in self._pyroAttrs:
            self._pyroInvoke("__setattr__", (name, value), None)
            return
        raise AttributeError("remote object '%s' has no exposed attribute '%s'" % (self._pyroUri, name))

    def __repr__(self) -> str:
        conn = self._pyroConnection
        connected = "connected " + conn.family() if conn is not None else "not connected"
        return "<%s.%s at 0x%x; %s; for %s; owner %s>" % (type(self).__module__, type(self).__name__, id(self),
                                                          connected, self._pyroUri, self.__pyroOwnerThread)

    __str__ = __repr__

    def __getstate__(self) -> tuple:
        # the state that travels on the wire as well (class "Pyro5.client.Proxy"); same layout as the original
        return (str(self._pyroUri), tuple(self._pyroOneway), tuple(self._pyroMethods), tuple(self._pyroAttrs),
                self._pyroHandshake, self._pyroSerializer)

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, (tuple, list)) or len(state) != 6:
            raise errors.SerializeError("invalid serialized Pyro5.client.Proxy: the state must be a sequence of 6 "
                                        "items (uri, oneway, methods, attrs, handshake, serializer), got %r"
                                        % (state,))
        uri, oneway, methods, attrs, handshake, serializer = state
        if isinstance(uri, bytes):
            uri = uri.decode("utf-8")
        self._pyroUri = core.URI(uri)
        try:
            self._pyroOneway = set(oneway or ())
            self._pyroMethods = set(methods or ())
            self._pyroAttrs = set(attrs or ())
        except TypeError:
            raise errors.SerializeError("invalid serialized Pyro5.client.Proxy: oneway, methods and attrs must be "
                                        "collections of names, got %r" % (state,)) from None
        if serializer is not None and not isinstance(serializer, str):
            raise errors.SerializeError("invalid serialized Pyro5.client.Proxy: the serializer must be a name or "
                                        "None, got %r" % (serializer,))
        self._pyroHandshake = handshake
        self._pyroSerializer = serializer
        self._pyroConnection = None
        self._pyroLocalSocket = None
        self._pyroSeq = 0
        self._pyroRawWireResponse = False
        self._pyroMaxRetries = int(config.MAX_RETRIES)
        self.__connectedSocket = None
        self.__pyroTimeout = config.COMMTIMEOUT
        self.__pyroOwnerThread = _get_ident()
        self.__pyroConnLock = threading.RLock()
        self.__pendingStreamCloses = []
        self.__busy = False

    def __pyro_state__(self) -> tuple:
        return self.__getstate__()

    @classmethod
    def _pyro_from_state(cls, state: Any) -> Proxy:
        """Recreate a proxy from its wire state (used by the serializers)."""
        proxy = cls.__new__(cls)
        proxy.__setstate__(state)
        return proxy

    def __copy__(self: _ProxyT) -> _ProxyT:
        p = type(self).__new__(type(self))
        p.__setstate__(self.__getstate__())
        for name, value in self.__dict__.items():  # extra attributes of subclasses
            if name not in _LOCAL_ATTRS and name not in p.__dict__:
                p.__dict__[name] = value
        p._pyroTimeout = self._pyroTimeout
        p._pyroMaxRetries = self._pyroMaxRetries
        p._pyroRawWireResponse = self._pyroRawWireResponse
        p.__connectedSocket = self.__connectedSocket
        return p

    def __deepcopy__(self: _ProxyT, memo: Any) -> _ProxyT:
        return self.__copy__()

    def __enter__(self: _ProxyT) -> _ProxyT:
        return self

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        self._pyroRelease()

    def __eq__(self, other: object) -> bool:
        if other is self:
            return True
        return isinstance(other, Proxy) and other._pyroUri == self._pyroUri

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self._pyroUri)

    def __dir__(self) -> list[str]:
        result = set(dir(type(self))) | set(self.__dict__)
        return sorted(result | self._pyroMethods | self._pyroAttrs)

    def __bool__(self) -> bool:
        return True  # never ask the remote object (no __len__ call)

    # Python looks these up on the class, so they must exist here; they call the remote object.
    def __len__(self) -> int:
        if not self._pyroMethods and not self._pyroAttrs:
            self._pyroGetMetadata()
        if "__len__" not in self._pyroMethods:
            raise TypeError("remote object '%s' has no len(): it doesn't expose __len__" % self._pyroUri)
        return self._pyroInvoke("__len__", (), {})

    def __iter__(self) -> Any:
        return iter(self.__remote_dunder("__iter__")())

    def __getitem__(self, index: Any) -> Any:
        return self.__remote_dunder("__getitem__")(index)

    def __setitem__(self, index: Any, val: Any) -> None:
        self.__remote_dunder("__setitem__")(index, val)

    def __delitem__(self, index: Any) -> None:
        self.__remote_dunder("__delitem__")(index)

    def __remote_dunder(self, name: str) -> _RemoteMethod:
        if not self._pyroMethods and not self._pyroAttrs:
            self._pyroGetMetadata()
        if name in self._pyroMethods:
            return _RemoteMethod(self._pyroInvoke, name)
        raise AttributeError("remote object '%s' has no exposed attribute or method '%s'" % (self._pyroUri, name))

    # ------------------------------------------------------------------------------------ public proxy API

    @property
    def _pyroTimeout(self) -> float | None:
        """The timeout in seconds for calls on this proxy. Defaults to None.
        If the timeout expires before the remote method call returns,
        Pyro will raise a :exc:`Pyro5.errors.TimeoutError`"""
        return self.__pyroTimeout

    @_pyroTimeout.setter
    def _pyroTimeout(self, timeout: float | None) -> None:
        self.__pyroTimeout = timeout
        conn = self._pyroConnection
        if conn is not None:
            conn.timeout = timeout or None

    def _pyroRelease(self) -> None:
        """release the connection to the pyro daemon"""
        with self.__pyroConnLock:
            conn = self._pyroConnection
            if conn is not None:
                self._pyroConnection = None
                self._pyroLocalSocket = None
                self.__pendingStreamCloses = []  # the daemon closes the streams of a closed connection
                conn.close()
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
        if known_metadata is not None:
            self.__processMetadata(known_metadata)
            return
        if objectId is None and self._pyroConnection is None:
            self.__pyroCreateConnection()  # the connect handshake brings the metadata along
            return
        objectId = objectId or self._pyroUri.object
        log.debug("getting metadata for object %s", objectId)
        result = self._pyroInvoke("get_metadata", [objectId], {}, objectId=core.DAEMON_NAME)
        self.__processMetadata(result)

    def _pyroInvokeBatch(self, calls: list, oneway: bool = False) -> Any:
        flags = protocol.FLAGS_BATCH
        if oneway:
            flags |= _FLAGS_ONEWAY
        return self._pyroInvoke("<batch>", calls, None, flags)

    # ------------------------------------------------------------------------------------ invocation

    def _pyroInvoke(self, methodname: str, vargs: Any, kwargs: Any, flags: int = 0, objectId: str | None = None
                    ) -> Any:
        """perform the remote method call communication"""
        if self.__pyroOwnerThread != _get_ident():
            self.__check_owner()
        if self.__pendingStreamCloses and not self.__busy:
            self.__flushStreamCloses()
        retries = self._pyroMaxRetries
        while True:
            try:
                return self.__invoke(methodname, vargs, kwargs, flags, objectId)
            except (errors.ConnectionClosedError, errors.TimeoutError):
                if retries <= 0:
                    raise
                retries -= 1
                log.debug("retrying call %s after a connection problem (%d retries left)", methodname, retries)

    def __invoke(self, methodname: str, vargs: Any, kwargs: Any, flags: int, objectId: str | None) -> Any:
        conn = self._pyroConnection
        if conn is None:
            self.__pyroCreateConnection()
            conn = self._pyroConnection
            assert conn is not None
        serializer = _serializer_by_name(self._pyroSerializer or config.SERIALIZER)
        objectId = objectId or conn.objectId or self._pyroUri.object
        annotations = self._pyroAnnotations()
        serializer_id = serializer.serializer_id
        if vargs and _is_blob(vargs[0]):
            # special serialization of a 'blob' that stays serialized
            data, annotations, serializer_id = self.__serializeBlobArgs(vargs, kwargs, annotations, objectId,
                                                                        methodname, serializer)
            flags |= protocol.FLAGS_KEEPSERIALIZED
        elif isinstance(serializer, serializers.MarshalSerializer):    # big bytes arguments: sent without a copy
            data = serializer.dumpsCallParts(objectId, methodname, vargs, kwargs)  # type: ignore[assignment]
        else:
            data = serializer.dumpsCall(objectId, methodname, vargs, kwargs)
        if methodname in self._pyroOneway:
            flags |= _FLAGS_ONEWAY
        state = self.__dict__  # direct writes: this is the hot path, skip __setattr__
        seq = state["_pyroSeq"] = (self._pyroSeq + 1) & 0xffff
        request = protocol.SendingMessage(_MSG_INVOKE, flags, seq, serializer_id, data, annotations=annotations)
        del data
        state["_Proxy__busy"] = True
        try:
            parts = request.parts       # a big payload is sent without copying it behind the header
            if len(parts) == 1:
                conn.send(parts[0])
            elif isinstance(conn, socketutil.SocketConnection):
                conn.send(parts)
            else:                       # (a connection object of some other kind: the joined bytes)
                conn.send(request.data)
            del request, parts
            if flags & _FLAGS_ONEWAY:
                return None
            msg = _recv_result(conn)
            if msg.seq != seq:
                raise errors.ProtocolError("invalid response sequence number %d, expected %d: the connection is out of "
                                           "sync" % (msg.seq, seq))
        except (errors.CommunicationError, OSError) as x:
            self._pyroRelease()
            if isinstance(x, errors.PyroError):
                raise
            raise errors.ConnectionClosedError("connection to %s lost: %s" % (self._pyroUri, x)) from x
        except BaseException:
            self._pyroRelease()  # KeyboardInterrupt etc. while waiting: the connection is out of sync
            raise
        finally:
            state["_Proxy__busy"] = False
        annotations = msg.annotations
        self._pyroResponseAnnotations(annotations, msg.type)
        if self._pyroRawWireResponse:
            return msg
        if msg.serializer_id == serializer_id:
            if serializer_id != serializer.serializer_id:
                serializer = serializers.serializers_by_id[serializer_id]
        else:
            raise errors.SerializeError("invalid serializer in response: %d (the request used %d)"
                                        % (msg.serializer_id, serializer_id))
        result = serializer.loads(msg.data)
        msgflags = msg.flags
        if msgflags & protocol.FLAGS_ITEMSTREAMRESULT:
            streamId = annotations.get("STRM", b"").decode()
            if not streamId:
                raise errors.ProtocolError("result of call is an iterator, but the server is not configured to "
                                           "allow streaming (no stream id received)")
            return _StreamResultIterator(streamId, self)
        if msgflags & protocol.FLAGS_EXCEPTION:
            if isinstance(result, BaseException):
                raise result  # if you see this in your traceback, you should probably inspect the remote traceback as well
            raise errors.ProtocolError("the daemon signaled an exception but sent %r" % (result,))
        return result

    def __serializeBlobArgs(self, vargs: Any, kwargs: Any, annotations: dict, objectId: str, methodname: str,
                            serializer: serializers.SerializerBase) -> tuple[bytes, dict, int]:
        """
        Special handling of a "blob" argument that has to stay serialized until explicitly deserialized
        in client code. This makes efficient, transparent gateways or dispatchers and such possible:
        they don't have to de/reserialize the message and are independent from the serialized class definitions.
        Annotations are passed in because some blob metadata is added. They're not part of the blob itself.
        """
        if len(vargs) > 1:
            raise errors.SerializeError("if SerializedBlob is used, it must be the only argument")
        blob = vargs[0]
        annotations = dict(annotations)
        annotations["BLBI"] = marshal.dumps((blob.info, objectId, methodname))
        if getattr(blob, "_contains_blob", False):
            # forwarding a blob that we received: pass the serialized payload on unchanged
            protocol_msg = blob._data
            return protocol_msg.data, annotations, protocol_msg.serializer_id
        return serializer.dumpsCall(objectId, methodname, blob._data, kwargs), annotations, serializer.serializer_id

    def _pyroCloseStream(self, streamId: str, immediate: bool = True) -> None:
        """Tell the daemon to discard a remote iterator (oneway). Used by the stream result iterator."""
        if self._pyroConnection is None:
            return  # the daemon discards the streams of a closed connection itself
        if immediate and not self.__busy and self.__pyroOwnerThread == _get_ident():
            self.__sendStreamClose(streamId)
        else:
            # from a finalizer, another thread, or in the middle of a call: send it before the next call
            self.__pendingStreamCloses.append(streamId)

    def __flushStreamCloses(self) -> None:
        pending, self.__pendingStreamCloses = self.__pendingStreamCloses, []
        for streamId in pending:
            self.__sendStreamClose(streamId)

    def __sendStreamClose(self, streamId: str) -> None:
        try:
            self.__invoke("close_stream", [streamId], {}, _FLAGS_ONEWAY, core.DAEMON_NAME)
        except errors.PyroError as x:
            log.debug("could not close remote stream %s: %s", streamId, x)

    # ------------------------------------------------------------------------------------ connection

    def __check_owner(self) -> None:
        if _get_ident() != self.__pyroOwnerThread:
            raise errors.PyroError("the calling thread is not the owner of this proxy, create a new proxy in this "
                                   "thread or transfer ownership with proxy._pyroClaimOwnership().")

    def __processMetadata(self, metadata: Any) -> None:
        if not isinstance(metadata, dict):
            raise errors.ProtocolError("invalid metadata received from the daemon: %r" % (metadata,))
        self._pyroOneway = set(metadata.get("oneway") or ())
        self._pyroMethods = set(metadata.get("methods") or ())
        self._pyroAttrs = set(metadata.get("attrs") or ())
        if log.isEnabledFor(logging.DEBUG):
            log.debug("from meta: methods=%s, oneway methods=%s, attributes=%s",
                      sorted(self._pyroMethods), sorted(self._pyroOneway), sorted(self._pyroAttrs))
        if not self._pyroMethods and not self._pyroAttrs:
            raise errors.PyroError("remote object doesn't expose any methods or attributes. Did you forget setting "
                                   "@expose on them?")

    def __pyroCreateConnection(self, replaceUri: bool = False) -> bool:
        """
        Connects this proxy to the remote Pyro daemon. Does connection handshake.
        Returns true if a new connection was made, false if an existing one was already present.
        """
        self.__check_owner()
        with self.__pyroConnLock:
            if self._pyroConnection is not None:
                return False
            serializer = _serializer_by_name(self._pyroSerializer or config.SERIALIZER)
            uri = self._pyroUri
            if self.__connectedSocket is not None:
                # a user-supplied connected socket: the daemon on the other end treats it as an established
                # connection, so there is no connect handshake; the metadata comes from the daemon object
                # (as the original Pyro5 does it)
                sock = self.__connectedSocket
                conn = socketutil.SocketConnection(sock, uri.object, True)
                if self.__pyroTimeout:
                    conn.timeout = self.__pyroTimeout
                self._pyroConnection = conn
                self._pyroLocalSocket = sock.getsockname()
                try:
                    self._pyroGetMetadata(uri.object)
                except BaseException:
                    self._pyroConnection = None
                    self._pyroLocalSocket = None
                    raise
                return True
            if uri.protocol in ("PYRONAME", "PYROMETA"):
                uri = resolve(uri, config.NS_LOOKUP_DELAY)
            location = uri.sockname or (uri.host, uri.port)
            sock = self.__connect_socket(location)
            conn = socketutil.SocketConnection(sock, uri.object)
            log.debug("connected to %s - %s - %s", uri, conn.family(), "SSL" if isinstance(sock, ssl.SSLSocket)
                      else "unencrypted")
            try:
                response = self.__handshake(conn, serializer, uri, location)
                self._pyroConnection = conn
                self._pyroLocalSocket = sock.getsockname()
                if replaceUri:
                    self._pyroUri = uri
                self._pyroValidateHandshake(response)
            except BaseException:
                self._pyroConnection = None
                self._pyroLocalSocket = None
                conn.close()
                raise
            return True

    def __connect_socket(self, location: Any) -> Any:
        ssl_context = None
        if config.SSL:
            ssl_context = socketutil.get_ssl_context(clientcert=config.SSL_CLIENTCERT,
                                                     clientkey=config.SSL_CLIENTKEY,
                                                     cacerts=config.SSL_CACERTS,
                                                     keypassword=config.SSL_CLIENTKEYPASSWD)
        try:
            return socketutil.create_socket(connect=location, reuseaddr=bool(config.SOCK_REUSE),
                                            timeout=self.__pyroTimeout, nodelay=True, sslContext=ssl_context)
        except ssl.SSLCertVerificationError as x:
            raise errors.CommunicationError(
                "cannot connect to %s: SSL certificate verification of the server failed: %s (check config.SSL_CACERTS"
                " and that the server's certificate is issued for the host name in the uri)"
                % (location, x.verify_message or x)) from x
        except ssl.SSLError as x:
            raise errors.CommunicationError("cannot connect to %s: SSL error: %s (check the SSL_* config items on both "
                                            "sides)" % (location, x)) from x
        except errors.TimeoutError as x:
            raise errors.TimeoutError("cannot connect to %s: %s" % (location, x)) from x
        except OSError as x:
            raise errors.CommunicationError("cannot connect to %s: %s" % (location, x)) from x

    def __handshake(self, conn: socketutil.SocketConnection, serializer: serializers.SerializerBase,
                    uri: core.URI, location: Any) -> Any:
        data = serializer.dumps({"handshake": self._pyroHandshake, "object": uri.object})
        request = protocol.SendingMessage(protocol.MSG_CONNECT, 0, self._pyroSeq, serializer.serializer_id, data,
                                          annotations=self._pyroAnnotations())
        try:
            conn.send(request.data)
            msg = protocol.recv_stub(conn, _CONNECT_RESULT_TYPES)
        except ssl.SSLError as x:
            raise errors.CommunicationError("cannot connect to %s: SSL error during the handshake: %s (does the server "
                                            "require a client certificate? check config.SSL_CLIENTCERT)"
                                            % (location, x)) from x
        except errors.ConnectionClosedError as x:
            raise errors.ConnectionClosedError("cannot connect to %s: the daemon closed the connection during the "
                                               "handshake (%s)" % (location, x)) from x
        except OSError as x:
            raise errors.CommunicationError("cannot connect to %s: %s" % (location, x)) from x
        if msg.seq != self._pyroSeq:
            raise errors.ProtocolError("invalid handshake response sequence number %d, expected %d"
                                       % (msg.seq, self._pyroSeq))
        if msg.annotations:
            self._pyroResponseAnnotations(msg.annotations, msg.type)
        response: Any = "?"
        if msg.data:
            try:
                response = serializers.serializers_by_id[msg.serializer_id].loads(msg.data)
            except KeyError:
                raise errors.SerializeError("invalid serializer id %d in the daemon's handshake response"
                                            % msg.serializer_id) from None
        if msg.type == protocol.MSG_CONNECTFAIL:
            error = "connection to %s rejected: %s" % (location, response)
            log.error(error)
            raise errors.CommunicationError(error)
        if not isinstance(response, dict) or "meta" not in response:
            raise errors.ProtocolError("invalid handshake response from the daemon at %s: %r" % (location, response))
        self.__processMetadata(response["meta"])
        return response.get("handshake")


Proxy.__module__ = "Pyro5.client"


def _recv_result(conn: socketutil.SocketConnection) -> protocol.ReceivingMessage:
    """Receives a MSG_RESULT message: like protocol.recv_stub, with one receive for the whole header."""
    msg = protocol.ReceivingMessage(conn.recv(_HEADER_SIZE))  # validates magic, version and the size limit
    if msg.type != protocol.MSG_RESULT:
        raise errors.ProtocolError("invalid msg type %d received (expected: %d, a result)"
                                   % (msg.type, protocol.MSG_RESULT))
    size = msg.annotations_size + msg.data_size
    msg.add_payload(conn.recv(size) if size else b"")
    if config.LOGWIRE:
        protocol.log_wiredata(log, "wiredata received", msg)
    return msg


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
        return _BatchedRemoteMethod(self.__calls, name)

    def __enter__(self) -> BatchProxy:
        return self

    def __exit__(self, *args: Any) -> None:
        pass

    def __copy__(self) -> BatchProxy:
        copy = type(self)(self.__proxy)
        copy.__calls = list(self.__calls)
        return copy

    def __resultsgenerator(self, results: Iterable) -> Generator[Any, None, None]:
        for result in results:
            if isinstance(result, _ExceptionWrapper):
                result.raiseIt()  # re-raise the remote exception locally.
            elif hasattr(result, "raiseIt") and type(result).__name__ == "_ExceptionWrapper":
                result.raiseIt()
            else:
                yield result

    def __call__(self, oneway: bool = False, asynchronous: bool = False) -> Any:
        """Invoke the batch: returns a generator of the results of every call in order.
        oneway=True performs the whole batch as one-way calls and returns None immediately.
        asynchronous=True performs the batch in a background thread (over its own connection) and immediately
        returns a concurrent.futures.Future whose result() is that generator."""
        calls, self.__calls = self.__calls, []
        if asynchronous:
            return self.__call_async(calls, oneway)
        results = self.__proxy._pyroInvokeBatch(calls, oneway)
        if oneway:
            return None
        return self.__resultsgenerator(results)

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
                future.set_result(None if oneway else self.__resultsgenerator(list(results)))

        threading.Thread(target=run, name="Pyro5-async-batch", daemon=True).start()
        return future

    def _pyroInvoke(self, name: str, args: Any, kwargs: Any) -> Any:
        # ignore all parameters, we just need to execute the batch
        results = self.__proxy._pyroInvokeBatch(self.__calls)
        self.__calls = []
        return self.__resultsgenerator(results)


BatchProxy.__module__ = "Pyro5.client"


class SerializedBlob:
    """Used to wrap some data to make Pyro pass this object transparently (it keeps the serialized payload as-is)
    Only when you need to access the actual client data you can deserialize on demand.
    This makes efficient, transparent gateways or dispatchers and such possible:
    they don't have to de/reserialize the message and are independent from the serialized class definitions.
    You have to pass this as the only parameter to a remote method call for Pyro to understand it.
    Init arguments:
    ``info`` = some (small) descriptive data about the blob. Can be a simple id or name or guid. Must be marshallable.
    ``data`` = the actual client data payload that you want to transfer in the blob. Can be anything that you would
    otherwise have used as regular remote call arguments.
    """

    def __init__(self, info: Any, data: Any, is_blob: bool = False) -> None:
        self.info = info
        self._data = data
        self._contains_blob = is_blob
        if is_blob and not (hasattr(data, "serializer_id") and hasattr(data, "data")):
            raise TypeError("SerializedBlob with is_blob=True needs a received Pyro message (with serializer_id and "
                            "data) as data, got %s" % type(data).__name__)

    def deserialized(self) -> Any:
        """Retrieves the client data stored in this blob. Deserializes the data automatically if required."""
        if self._contains_blob:
            protocol_msg = self._data
            if isinstance(protocol_msg, protocol.SendingMessage):
                # its data is the whole message: parse it as received (header, annotations, compression)
                raw = protocol_msg.data
                protocol_msg = protocol.ReceivingMessage(raw[:_HEADER_SIZE], memoryview(raw)[_HEADER_SIZE:])
            try:
                serializer = serializers.serializers_by_id[protocol_msg.serializer_id]
            except KeyError:
                raise errors.SerializeError("invalid serializer id %d in serialized blob"
                                            % protocol_msg.serializer_id) from None
            _, _, data, _ = serializer.loadsCall(protocol_msg.data)
            return data
        return self._data

    def __repr__(self) -> str:
        return "<%s.%s at 0x%x; info=%r>" % (type(self).__module__, type(self).__name__, id(self), self.info)


SerializedBlob.__module__ = "Pyro5.client"
