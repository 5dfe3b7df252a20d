"""Request dispatch apart from I/O: a received message in, the message to send back out.

A transport (socket server) reads whole messages and gives them to the daemon's `Dispatcher`:
``handshake(conn, msg)`` for a connection's MSG_CONNECT (returns the CONNECTOK or CONNECTFAIL message) and
``handle(conn, msg)`` for every later MSG_INVOKE/MSG_PING (returns the response, or None for a oneway call).
The dispatcher does no I/O: it sets the call context (once, `current_context._set_call`), picks the serializer,
finds the object (instance modes: the registry), calls the method or accesses the attribute, runs batches,
starts oneway calls on the daemon's oneway pool, registers item streams, and turns every error into the error
response. Replies carry the request's correlation id explicitly.

`conn` is the transport's connection object: it identifies the client (current_context.client, item streams,
session instances in ``conn.pyroInstances``) and has ``sock_addr``; the dispatcher never reads from or writes to it.
`TransportDaemon` declares what a transport may use of its daemon (the seam between the two).
"""
from __future__ import annotations

import contextlib
import inspect
import logging
import marshal
from typing import Any, Callable, Optional, Protocol

from . import _capabilities, _svr_inflight, config, core, errors, protocol, serializers, socketutil
from ._svr_access import ATTRIBUTE_ACCESS as _ATTRIBUTE_ACCESS
from ._svr_access import access_attribute, get_method, load_call
from ._svr_connect import connect_lookup, connect_payload, connect_request, plain_handshake
from ._svr_coro import ASYNC_RESULT_TYPES, CoroutineRunner
from ._svr_fastcall import answer_call
from ._svr_streams import is_iterator
from .callcontext import current_context

__all__ = ["Dispatcher", "TransportDaemon", "MARSHAL_ID", "answer_connect", "answer_request", "answer_message",
           "receive_handshake", "receive_request"]

log = logging.getLogger("Pyro5.server")

MARSHAL_ID = 2      # serializer id the original uses for CONNECTFAIL when the request's serializer is unknown
_INVOKE_TYPES = (protocol.MSG_INVOKE, protocol.MSG_PING)
_SEQUENCES = frozenset((list, tuple))
# result types that are never an item stream (others: is_iterator)
_NOT_ITERATORS = frozenset((str, int, float, bool, type(None), bytes, tuple, list, dict, set))


class TransportDaemon(Protocol):
    """What a socket server uses of its daemon."""

    @property
    def dispatcher(self) -> "Dispatcher":
        """handshake(conn, msg) and handle(conn, msg): the messages of a connection"""

    def _handshake(self, conn: Any, denied_reason: Optional[str] = None) -> bool:
        """reads a connection's connect message and answers it; True when the connection was accepted"""

    def handleRequest(self, conn: Any) -> None:
        """reads one request from the connection and answers it"""

    def _clientDisconnected(self, conn: Any) -> None:
        """a connection that passed the handshake was closed"""

    def _housekeeping(self) -> None:
        """called periodically by the socket servers' loops"""


class Dispatcher:
    """Turns received messages into responses for the daemon's registered objects (no I/O)."""

    def __init__(self, daemon: Any, plain_annotations: Any = None) -> None:
        self.daemon = daemon
        self._plain_annotations = plain_annotations     # (the daemon's annotations() when it returns {} for sure)
        self.registry = daemon._registry
        self.streams = daemon._streams
        self.coroutines = CoroutineRunner()     # runs async def methods (see Pyro5._svr_coro)
        self.hooks: Any = None      # the daemon's Pyro5._svr_hooks.ServerHooks while it has hooks or tracks calls

    def close(self) -> None:
        """(Daemon.close) stops the event loop thread of async def methods, if one was started."""
        self.coroutines.close()

    # ------------------------------------------------------------------ handshake

    def handshake(self, conn: Any, msg: protocol.ReceivingMessage,
                  denied_reason: Optional[str] = None) -> protocol.SendingMessage:
        """The answer to a connection's MSG_CONNECT: MSG_CONNECTOK (with the object's metadata) or
        MSG_CONNECTFAIL (denied_reason: refuse it with that reason)."""
        if denied_reason is None:
            reply = plain_handshake(self, conn, msg)    # (the usual one, remembered: see Pyro5._svr_connect)
            if reply is not None:
                return reply
        serializer = serializers.serializers_by_id.get(msg.serializer_id)
        try:
            if serializer is None:
                raise errors.SerializeError("message used serializer id %d that is not available in this server"
                                            % msg.serializer_id)
            current_context._set_call(conn, getattr(conn, "sock_addr", None), msg.seq, msg.flags,
                                      msg.serializer_id, msg.annotations, msg.correlation_id)
            if denied_reason:
                raise errors.CommunicationError(denied_reason)
            try:
                data = connect_request(serializer, msg.data)
            except Exception as x:
                raise errors.SerializeError("cannot deserialize the connect message: %s" % x) from None
            if not isinstance(data, dict) or not isinstance(data.get("object"), str):
                raise errors.ProtocolError("invalid connect message: expected a dict with 'handshake' and "
                                           "'object' (str) items")
            try:
                handshake_response = self.daemon.validateHandshake(conn, data.get("handshake"))
            except errors.TimeoutError as x:     # (raised by the validator: a rejection, not a lost client)
                raise errors.CommunicationError(str(x) or type(x).__name__) from None
            obj = self.registry.lookup(data["object"])
            payload = connect_payload(serializer, obj, handshake_response)
            annotations = self.response_annotations()
            granted = self.inflight_limit(conn, msg)
            if granted:
                annotations = dict(annotations or {})
                annotations.update(_capabilities.inflight_answer(granted))
            if msg.annotations and _capabilities.LOOKUP in msg.annotations and self.hooks is None:
                annotations = connect_lookup(obj, msg.annotations, annotations)    # (hooks see a normal call)
            return protocol.SendingMessage(protocol.MSG_CONNECTOK, 0, msg.seq, msg.serializer_id, payload,
                                           annotations, correlation_id=msg.correlation_id)
        except Exception as x:
            return self.connect_failed(conn, x, msg, serializer, bool(denied_reason))

    def inflight_limit(self, conn: Any, msg: protocol.ReceivingMessage) -> int:
        """The number of calls the connection may have in flight (the INFL capability, see Pyro5._capabilities):
        0 when the client did not ask for it or the transport runs one call at a time (its `max_inflight`).
        The granted number is kept on the connection as ``conn.inflight``."""
        if not _capabilities.inflight_requested(msg.annotations):
            return 0
        limit = int(getattr(getattr(self.daemon, "transportServer", None), "max_inflight", 0) or 0)
        if limit < 1:
            return 0
        with contextlib.suppress(AttributeError):
            conn.inflight = limit
        return limit

    def connect_failed(self, conn: Any, x: Exception, msg: Optional[protocol.ReceivingMessage] = None,
                       serializer: Any = None, denied: bool = False) -> protocol.SendingMessage:
        """The MSG_CONNECTFAIL that tells the peer why its connection is refused (x); msg: the connect message
        (None: it could not be read)."""
        reason = str(x) or type(x).__name__
        if denied:
            log.info("refused connection from %s: %s", getattr(conn, "sock_addr", "?"), reason)
        else:
            log.warning("connection handshake from %s failed: %s: %s", getattr(conn, "sock_addr", "?"),
                        type(x).__name__, reason)
        serializer_id = msg.serializer_id if serializer is not None and msg is not None else MARSHAL_ID
        try:
            payload = (serializer or serializers.serializers_by_id[MARSHAL_ID]).dumps(reason)
        except Exception:
            serializer_id = MARSHAL_ID
            payload = marshal.dumps(reason)
        return protocol.SendingMessage(protocol.MSG_CONNECTFAIL, 0, msg.seq if msg is not None else 0,
                                       serializer_id, payload,
                                       correlation_id=msg.correlation_id if msg is not None else None)

    # ------------------------------------------------------------------ requests

    def handle(self, conn: Any, msg: protocol.ReceivingMessage,
               parsed: Optional[tuple] = None) -> Optional[protocol.SendingMessage]:
        """The response to a request (MSG_INVOKE or MSG_PING) on a connection that passed the handshake;
        None for a oneway call. (parsed: the call's (object id, method, vargs, kwargs) when the transport has
        deserialized it already.)"""
        flags = msg.flags
        current_context._set_call(conn, getattr(conn, "sock_addr", None), msg.seq, flags, msg.serializer_id,
                                  msg.annotations, msg.correlation_id)
        if msg.type == protocol.MSG_PING:
            return protocol.SendingMessage(protocol.MSG_PING, 0, msg.seq, msg.serializer_id, b"pong",
                                           correlation_id=msg.correlation_id)
        serializer = serializers.serializers_by_id.get(msg.serializer_id)
        if serializer is None:
            err = errors.SerializeError("message used serializer id %d that is not available in this server"
                                        % msg.serializer_id)
            log.warning("request from %s: %s", getattr(conn, "sock_addr", None), err)
            return self.protocol_error(conn, err, msg.seq)
        call: list = [None, (), {}]      # method, vargs, kwargs: what a user method was called with
        try:
            return self._invoke(conn, msg, serializer, call, parsed)
        except Exception as x:
            return self.failure_message(conn, msg, serializer, x, call)

    def failure_message(self, conn: Any, msg: protocol.ReceivingMessage, serializer: Any, x: Exception,
                        call: Any) -> Optional[protocol.SendingMessage]:
        """The error response for a request that raised x (None for a oneway call); call: [method, vargs, kwargs]
        when the user's method raised it, else [None, ...]."""
        method, vargs, kwargs = call
        if method is not None:
            self.method_failed(conn, method, vargs, kwargs, x)
        else:
            log.warning("bad request from %s: %s: %s", getattr(conn, "sock_addr", None), type(x).__name__, x)
        if msg.flags & protocol.FLAGS_ONEWAY:
            log.debug("oneway call from %s failed: %s: %s", getattr(conn, "sock_addr", None),
                      type(x).__name__, x)
            return None
        if method is not None and getattr(method, "_pyroCallback", False):
            # @callback: the error also shows on this side, in the log, with its traceback (the original logs
            # it as a warning; nothing goes to stderr unless logging does)
            log.warning("error in callback method %s: %s: %s", getattr(method, "__qualname__", method),
                        type(x).__name__, x, exc_info=x)
        return self.exception_message(msg, serializer, x)

    def _invoke(self, conn: Any, msg: protocol.ReceivingMessage, serializer: Any,
                call: list, parsed: Optional[tuple] = None) -> Optional[protocol.SendingMessage]:
        flags = msg.flags
        object_id, method_name, vargs, kwargs = load_call(serializer, msg, parsed)
        if self.hooks is None:
            data = self._perform(conn, flags, object_id, method_name, vargs, kwargs, call)
        else:   # interceptors, observers, the in-flight call table (Pyro5._svr_hooks)
            data = self.hooks.perform(self, conn, flags, object_id, method_name, vargs, kwargs, call, msg.annotations)
        response_flags = protocol.FLAGS_BATCH if flags & protocol.FLAGS_BATCH and method_name == "<batch>" else 0
        return self.result_message(conn, msg, serializer, data, response_flags, method_name)

    def result_message(self, conn: Any, msg: protocol.ReceivingMessage, serializer: Any, data: Any,
                       response_flags: int = 0, method_name: str = "") -> Optional[protocol.SendingMessage]:
        """The response that returns `data` (None for a oneway call; an item stream for an iterator)."""
        if msg.flags & protocol.FLAGS_ONEWAY:
            return None
        if is_iterator(data):
            return self._stream_message(conn, msg, serializer, data, response_flags)
        try:
            payload = serializer.dumps(data)
        except Exception as x:
            raise errors.SerializeError("cannot serialize the result of %r: %s: %s"
                                        % (method_name, type(x).__name__, x)) from None
        return protocol.SendingMessage(protocol.MSG_RESULT, response_flags, msg.seq, msg.serializer_id, payload,
                                       self.response_annotations(), correlation_id=msg.correlation_id)

    def _perform(self, conn: Any, flags: int, object_id: Any, method_name: str, vargs: Any, kwargs: Any,
                 call: list, wrap_oneway: Optional[Callable[[Callable], Callable]] = None) -> Any:
        """Finds the object and runs the call: a batch, attribute access or method; None for a threaded oneway
        call (started on the oneway pool, wrapped with wrap_oneway when given)."""
        obj = self.registry.lookup(object_id)
        if isinstance(obj, type):
            lock, exclusive = _svr_inflight.session_lock(conn, obj)   # (a connection with calls in flight)
            if lock is None:
                obj = self.registry.instance(obj, conn)
            elif exclusive:
                with lock:
                    return self._run(conn, flags, self.registry.instance(obj, conn), method_name, vargs, kwargs,
                                     call, wrap_oneway)
            else:
                with lock:
                    obj = self.registry.instance(obj, conn)
        return self._run(conn, flags, obj, method_name, vargs, kwargs, call, wrap_oneway)

    def _run(self, conn: Any, flags: int, obj: Any, method_name: str, vargs: Any, kwargs: Any, call: list,
             wrap_oneway: Optional[Callable[[Callable], Callable]] = None) -> Any:
        if flags & protocol.FLAGS_BATCH and method_name == "<batch>":
            return self._run_batch(conn, obj, vargs)
        if method_name in _ATTRIBUTE_ACCESS:
            return access_attribute(obj, method_name, vargs)
        method = get_method(obj, method_name)
        if flags & protocol.FLAGS_ONEWAY and config.ONEWAY_THREADED and not _is_async(method):
            self.daemon._oneway.submit(method if wrap_oneway is None else wrap_oneway(method), vargs, kwargs,
                                       self._oneway_failed)
            return None
        call[:] = method, vargs, kwargs
        data = method(*vargs, **kwargs)   # this is the actual method call to the Pyro object
        if type(data) in ASYNC_RESULT_TYPES:     # async def: see Pyro5._svr_coro
            data = self.coroutines.run(self, conn, data, call, bool(flags & protocol.FLAGS_ONEWAY), True)
        call[0] = None
        return data

    # ------------------------------------------------------------------ errors

    def method_failed(self, conn: Any, method: Callable, vargs: Any, kwargs: Any, x: Exception) -> None:
        """A user method raised x: tell the daemon's methodcall_error_handler."""
        try:
            self.daemon.methodcall_error_handler(self.daemon, conn, method, vargs, kwargs, x)
        except Exception:
            log.warning("methodcall_error_handler raised an exception", exc_info=True)

    def _oneway_failed(self, conn: Any, method: Callable, vargs: Any, kwargs: Any, x: Exception) -> None:
        self.method_failed(conn, method, vargs, kwargs, x)

    def exception_message(self, msg: protocol.ReceivingMessage, serializer: Any,
                          x: BaseException) -> protocol.SendingMessage:
        """The response that raises x in the caller (with the server's traceback)."""
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
                                           self.response_annotations(), correlation_id=msg.correlation_id)
        except errors.ProtocolError as px:   # e.g. too large, or invalid user response annotations
            if tb and isinstance(px, errors.MessageTooLargeError):
                # the same exception without the server's traceback (whose size depends on the server's file
                # paths) when that fits: the caller still gets the exception's own class
                log.warning("error response too large with the traceback; sent without it: %s: %s",
                            type(x).__name__, x)
                try:
                    x._pyroTraceback = None  # type: ignore[attr-defined]
                    return protocol.SendingMessage(protocol.MSG_RESULT, flags, msg.seq, msg.serializer_id,
                                                   serializer.dumps(x), self.response_annotations(),
                                                   correlation_id=msg.correlation_id)
                except Exception:
                    pass
            text = str(x)   # (a short substitute: its own text may be what did not fit)
            substitute = errors.PyroError("%s: %s (and the error response could not be sent: %s)"
                                          % (type(x).__name__, text if len(text) <= 200 else text[:200] + "...",
                                             px))
            return protocol.SendingMessage(protocol.MSG_RESULT, flags, msg.seq, msg.serializer_id,
                                           serializer.dumps(substitute), correlation_id=msg.correlation_id)

    def protocol_error(self, conn: Any, x: Exception, seq: int = 0) -> Optional[protocol.SendingMessage]:
        """The response that tells the peer about a malformed message (None if it can't be made); the
        transport closes the connection after sending it."""
        log.warning("malformed message from %s: %s", getattr(conn, "sock_addr", "?"), x)
        ours = current_context.client is conn
        try:
            serializer_id = current_context.serializer_id if ours else 0
            serializer = serializers.serializers_by_id.get(serializer_id) \
                or serializers.serializers_by_id[MARSHAL_ID]
            x._pyroTraceback = None  # type: ignore[attr-defined]
            return protocol.SendingMessage(protocol.MSG_RESULT, protocol.FLAGS_EXCEPTION, seq,
                                           serializer.serializer_id, serializer.dumps(x),
                                           correlation_id=current_context.correlation_id if ours else None)
        except Exception:
            log.debug("cannot report protocol error to the peer", exc_info=True)
            return None

    # ------------------------------------------------------------------ calls

    def _run_batch(self, conn: Any, obj: Any, calls: Any) -> list:
        results: list = []
        append = results.append
        methods: dict = {}      # name -> the bound method, looked up once per batch
        for call in calls:
            try:
                if type(call) not in _SEQUENCES and not isinstance(call, (list, tuple)) or len(call) != 3:
                    raise errors.ProtocolError("invalid batch call item: expected (method, args, kwargs)")
                name, vargs, kwargs = call
                if type(vargs) not in _SEQUENCES and not isinstance(vargs, (list, tuple)) or \
                        not (kwargs is None or isinstance(kwargs, dict)):
                    raise errors.ProtocolError("invalid batch call item: expected (method, args, kwargs)")
                if name in _ATTRIBUTE_ACCESS:
                    result = access_attribute(obj, name, vargs)
                else:
                    method = methods.get(name) if type(name) is str else None
                    if method is None:
                        method = get_method(obj, name)
                        if type(name) is str:
                            methods[name] = method
                    try:
                        result = method(*vargs, **kwargs) if kwargs else method(*vargs)
                        if type(result) in ASYNC_RESULT_TYPES:
                            result = self.coroutines.run(self, conn, result, (method, vargs, kwargs or {}), False,
                                                         False)
                    except Exception as x:
                        self.method_failed(conn, method, vargs, kwargs or {}, x)
                        raise
                if type(result) not in _NOT_ITERATORS and is_iterator(result):
                    result = list(result)   # a batch can't stream: send the items
                append(result)
            except Exception as x:
                x._pyroTraceback = errors.format_traceback(type(x), x, x.__traceback__,  # type: ignore[attr-defined]
                                                           detailed=config.DETAILED_TRACEBACK)
                append(core._ExceptionWrapper(x))
                break   # stop processing the rest of the batch
        return results

    def _stream_message(self, conn: Any, msg: protocol.ReceivingMessage, serializer: Any, data: Any,
                        response_flags: int) -> protocol.SendingMessage:
        annotations = self.response_annotations() or {}
        if config.ITER_STREAMING:
            stream_id = self.streams.add(conn, data)
            annotations = dict(annotations)
            annotations["STRM"] = stream_id.encode("ascii")
            error = errors.ProtocolError("result of call is an iterator")
        else:
            error = errors.ProtocolError("result of call is an iterator, but item streaming is disabled in the "
                                         "server (config.ITER_STREAMING): return a list instead")
        error._pyroTraceback = None  # type: ignore[attr-defined]
        flags = response_flags | protocol.FLAGS_ITEMSTREAMRESULT | protocol.FLAGS_EXCEPTION
        return protocol.SendingMessage(protocol.MSG_RESULT, flags, msg.seq, msg.serializer_id,
                                       serializer.dumps(error), annotations or None,
                                       correlation_id=msg.correlation_id)

    def response_annotations(self) -> Optional[dict]:
        """The annotations of a response: the daemon's annotations() plus current_context.response_annotations."""
        daemon = self.daemon
        if type(daemon).annotations is self._plain_annotations:
            return current_context.response_annotations or None
        annotations = daemon.annotations()
        response = current_context.response_annotations
        if response:
            if annotations:
                annotations = dict(annotations)
                annotations.update(response)
            else:
                annotations = response
        return annotations or None


def _is_async(method: Any) -> bool:
    return inspect.iscoroutinefunction(method) or inspect.isasyncgenfunction(method)


# --------------------------------------------------------------------------------------------- answering messages

def send_reply(conn: Any, reply: protocol.SendingMessage) -> None:
    """Our connections send a message's parts (a big payload is not joined to its header: no copy); another
    connection object (e.g. given to Daemon.handleRequest) gets the joined bytes."""
    if isinstance(conn, socketutil.SocketConnection):
        conn.send(reply.parts)
    else:
        conn.send(reply.data)


def answer_connect(dispatcher: Dispatcher, conn: Any, msg: Any, denied_reason: Optional[str] = None) -> bool:
    """Answers a connection's first message (conn.send): `msg` is its connect message, or the ProtocolError its
    bytes raised. True when the connection was accepted."""
    try:
        try:
            if isinstance(msg, errors.ProtocolError):
                raise msg
            protocol.MessageReader.check_msgtype(msg, (protocol.MSG_CONNECT,))
            reply = dispatcher.handshake(conn, msg, denied_reason)
        except (errors.ConnectionClosedError, errors.TimeoutError, OSError) as x:
            log.debug("client %s went away during handshake: %s", getattr(conn, "sock_addr", "?"), x)
            return False
        except Exception as x:
            reply = dispatcher.connect_failed(conn, x, denied=bool(denied_reason))
    finally:
        current_context.client = None
    try:
        send_reply(conn, reply)
    except Exception as x:
        log.debug("cannot send handshake response to %s: %s", getattr(conn, "sock_addr", "?"), x)
        return False
    return reply.type == protocol.MSG_CONNECTOK


def answer_request(dispatcher: Dispatcher, conn: Any, msg: Any) -> None:
    """Answers a request (conn.send): `msg` is a ReceivingMessage, or the ProtocolError its bytes raised (the
    peer gets an error response, then the error is raised: the caller closes the connection). The errors of
    conn.send are raised too."""
    try:
        if isinstance(msg, errors.ProtocolError):
            raise msg
        protocol.MessageReader.check_msgtype(msg, _INVOKE_TYPES)
    except errors.ProtocolError as x:
        error_reply = dispatcher.protocol_error(conn, x)
        if error_reply is not None:
            with contextlib.suppress(Exception):
                send_reply(conn, error_reply)
        raise
    answer = dispatcher.handle(conn, msg)
    if answer is not None:
        send_reply(conn, answer)


def answer_message(dispatcher: Dispatcher, conn: Any, msg: Any, denied_reason: Optional[str] = None) -> bool:
    """Answers one whole message of a transport's connection: its connect message until the handshake is done
    (conn.handshaked), then requests. Returns False when the connection must be closed; raises as
    answer_request does (the caller logs the error and closes the connection)."""
    if conn.handshaked and type(msg) is protocol.ReceivingMessage and msg.type in _INVOKE_TYPES:
        answer_call(dispatcher, conn, msg)      # (the usual case: answer_request's checks all pass)
        return True
    if not conn.handshaked:
        if not answer_connect(dispatcher, conn, msg, denied_reason):
            return False
        conn.handshaked = True
        reader = getattr(conn, "reader", None)
        if reader is not None:
            reader.prehandshake = False      # (MAX_MESSAGE_SIZE applies from now on)
        return True
    answer_request(dispatcher, conn, msg)
    return True


def receive_handshake(dispatcher: Dispatcher, conn: Any, denied_reason: Optional[str] = None) -> bool:
    """Reads a connection's connect message with conn.recv (protocol.recv_stub) and answers it; True when the
    connection was accepted. (Daemon._handshake: for code that lets the daemon read.)"""
    try:
        msg: Any = protocol.recv_stub(conn, None, prehandshake=True)
    except (errors.ConnectionClosedError, errors.TimeoutError, OSError) as x:
        log.debug("client %s went away during handshake: %s", getattr(conn, "sock_addr", "?"), x)
        return False
    except errors.ProtocolError as x:
        msg = x
    return answer_connect(dispatcher, conn, msg, denied_reason)


def receive_request(dispatcher: Dispatcher, conn: Any) -> None:
    """Reads one request with conn.recv (protocol.recv_stub) and answers it. Communication errors (connection
    closed, timeout, malformed message) are raised: the caller closes the connection. (Daemon.handleRequest)"""
    try:
        msg: Any = protocol.recv_stub(conn)
    except errors.ProtocolError as x:
        msg = x
    answer_request(dispatcher, conn, msg)
