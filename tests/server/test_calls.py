"""Remote calls through a real daemon (both server types), driven by a raw wire-level client."""
from __future__ import annotations

import logging
import socket
import threading
import time
import uuid

import pytest

import Pyro5
from Pyro5 import errors, protocol
from Pyro5.server import Daemon
from tests.server._helpers import RawClient, is_exception, wait_for
from tests.server._objects import Created, Partial, PerCall, Session, Single, Thing

SERIALIZERS = [name for name in ("serpent", "json", "marshal", "msgpack") if name in Pyro5.serializers.serializers]


@pytest.fixture
def thing_daemon(servertype, start_daemon):
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    rd.daemon.register(Partial, "partial")
    return rd


def test_handshake_returns_metadata(thing_daemon):
    with RawClient(thing_daemon.address) as c:
        msg, data = c.connect("thing")
        assert msg.type == protocol.MSG_CONNECTOK
        assert data["handshake"] == "hello"
        meta = data["meta"]
        assert set(meta["methods"]) >= {"add", "echo", "boom", "gen", "fire", "__dunder__", "__len__", "cm", "sm"}
        assert "_private" not in meta["methods"] and "__init__" not in meta["methods"]
        assert set(meta["attrs"]) == {"value", "readonly"}
        assert set(meta["oneway"]) == {"fire"}


def test_handshake_unknown_object_fails(thing_daemon):
    with RawClient(thing_daemon.address) as c:
        msg, data = c.connect("nonexisting")
        assert msg.type == protocol.MSG_CONNECTFAIL
        assert "unknown object" in data


@pytest.mark.parametrize("serializer", SERIALIZERS)
def test_calls_all_serializers(thing_daemon, serializer):
    with RawClient(thing_daemon.address, serializer) as c:
        c.connect("thing")
        assert c.result("thing", "add", 1, b=5) == 6
        assert c.result("thing", "echo", [1, "two", 3.5]) == [1, "two", 3.5]
        assert c.result("thing", "__len__") == 7
        assert c.result("thing", "cm") == "classmethod"
        assert c.result("thing", "sm") == "staticmethod"
        msg, data = c.call("thing", "boom")
        assert is_exception(msg)
        assert isinstance(data, ValueError) and str(data) == "kaboom"
        assert "kaboom" in "".join(data._pyroTraceback)
        assert c.result("Pyro.Daemon", "ping") is None


def test_remote_attributes(thing_daemon):
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        assert c.result("thing", "__getattr__", "value") == 42
        assert c.result("thing", "__setattr__", "value", 99) is None
        assert c.result("thing", "__getattr__", "value") == 99   # same session instance
        with pytest.raises(AttributeError, match="read-only"):
            c.result("thing", "__setattr__", "readonly", 1)
        for name in ("plain", "_value", "__class__", "__dict__", "add", "nonexisting"):
            with pytest.raises(AttributeError):
                c.result("thing", "__getattr__", name)
            with pytest.raises(AttributeError):
                c.result("thing", "__setattr__", name, 1)
        with pytest.raises(TypeError):
            c.result("thing", "__getattr__", 1)
        # the instance was not changed by the refused attempts
        assert c.result("thing", "__getattr__", "value") == 99


def test_partially_exposed(thing_daemon):
    with RawClient(thing_daemon.address) as c:
        msg, data = c.connect("partial")
        assert set(data["meta"]["methods"]) == {"exposed", "cb"}
        assert set(data["meta"]["attrs"]) == {"prop"}
        assert c.result("partial", "exposed") == "yes"
        assert c.result("partial", "__getattr__", "prop") == "prop"
        with pytest.raises(AttributeError, match="unexposed"):
            c.result("partial", "unexposed")
        with pytest.raises(AttributeError):
            c.result("partial", "__getattr__", "hidden_prop")
        with pytest.raises(AttributeError):
            c.result("partial", "__getattr__", "attr")


@pytest.mark.parametrize("threaded", [True, False])
def test_oneway(thing_daemon, servertype, threaded):
    Pyro5.config.ONEWAY_THREADED = threaded
    Thing.oneway_calls.clear()
    Thing.oneway_event.clear()
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        c.send_call("thing", "fire", ("x",), flags=protocol.FLAGS_ONEWAY)
        assert Thing.oneway_event.wait(5)
        # no response for the oneway call: the next response belongs to the next call
        assert c.result("thing", "add", 1, 1) == 2
    assert Thing.oneway_calls[0][0] == "x"
    if servertype == "thread":      # (the thread-pool server runs oneway calls on its own request workers)
        assert Thing.oneway_calls[0][1].startswith("Pyro-worker")
    else:
        assert Thing.oneway_calls[0][1].startswith("Pyro-oneway") == threaded


def test_oneway_error_is_not_sent(thing_daemon):
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        c.send_call("thing", "boom", flags=protocol.FLAGS_ONEWAY)
        c.send_call("thing", "nonexisting", flags=protocol.FLAGS_ONEWAY)
        assert c.result("thing", "echo", "after") == "after"


def test_batch(thing_daemon):
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        calls = [("add", (1,), {}), ("echo", ("x",), {}), ("__len__", (), {})]
        msg, data = c.call("thing", "<batch>", calls, flags=protocol.FLAGS_BATCH)
        assert msg.flags & protocol.FLAGS_BATCH and not is_exception(msg)
        assert data == [3, "x", 7]


def test_batch_stops_at_exception(thing_daemon, raw_exception_wrappers):
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        calls = [("add", (1,), {}), ("boom", (), {}), ("add", (2,), {})]
        msg, data = c.call("thing", "<batch>", calls, flags=protocol.FLAGS_BATCH)
        assert not is_exception(msg)
        assert len(data) == 2 and data[0] == 3
        tag, exception = data[1]
        assert tag == "ExceptionWrapper" and isinstance(exception, ValueError)
        assert "kaboom" in "".join(exception._pyroTraceback)


def test_batch_oneway(thing_daemon):
    Thing.oneway_event.clear()
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        c.send_call("thing", "<batch>", [("fire", ("b",), {})], flags=protocol.FLAGS_BATCH | protocol.FLAGS_ONEWAY)
        assert Thing.oneway_event.wait(5)
        assert c.result("thing", "echo", 1) == 1


def test_item_streaming(thing_daemon):
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        for method in ("gen", "iterator"):
            msg, data = c.call("thing", method)
            assert msg.flags & protocol.FLAGS_ITEMSTREAMRESULT
            stream_id = msg.annotations["STRM"].decode()
            items = []
            while True:
                msg, data = c.call("Pyro.Daemon", "get_next_stream_item", (stream_id,))
                if is_exception(msg):
                    assert isinstance(data, StopIteration)
                    break
                items.append(data)
            assert items == ([0, 1, 2] if method == "gen" else ["a", "b"])
            # finished streams are gone
            with pytest.raises(errors.PyroError, match="terminated"):
                c.result("Pyro.Daemon", "get_next_stream_item", stream_id)
        assert len(thing_daemon.daemon._streams) == 0


def test_item_stream_close(thing_daemon):
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        msg, _ = c.call("thing", "gen", (10,))
        stream_id = msg.annotations["STRM"].decode()
        assert c.result("Pyro.Daemon", "get_next_stream_item", stream_id) == 0
        assert c.result("Pyro.Daemon", "close_stream", stream_id) is None
        with pytest.raises(errors.PyroError, match="terminated"):
            c.result("Pyro.Daemon", "get_next_stream_item", stream_id)
        assert c.result("Pyro.Daemon", "close_stream", "unknown-stream") is None


def test_item_streaming_disabled(thing_daemon):
    Pyro5.config.ITER_STREAMING = False
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        msg, data = c.call("thing", "gen")
        assert msg.flags & protocol.FLAGS_ITEMSTREAMRESULT and "STRM" not in msg.annotations
        assert isinstance(data, errors.ProtocolError) and "ITER_STREAMING" in str(data)


def test_item_stream_lifetime(thing_daemon):
    Pyro5.config.ITER_STREAM_LIFETIME = 0.2
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        msg, _ = c.call("thing", "gen", (10,))
        stream_id = msg.annotations["STRM"].decode()
        assert c.result("Pyro.Daemon", "get_next_stream_item", stream_id) == 0
        time.sleep(0.3)   # let the lifetime expire (this is what is tested, not a synchronisation)
        with pytest.raises(errors.PyroError, match="terminated"):
            c.result("Pyro.Daemon", "get_next_stream_item", stream_id)


@pytest.mark.parametrize("linger", [0, 30])
def test_item_stream_linger(thing_daemon, linger):
    Pyro5.config.ITER_STREAM_LINGER = linger
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        msg, _ = c.call("thing", "gen", (10,))
        stream_id = msg.annotations["STRM"].decode()
        assert c.result("Pyro.Daemon", "get_next_stream_item", stream_id) == 0
    streams = thing_daemon.daemon._streams
    if linger == 0:
        wait_for(lambda: stream_id not in streams)
    else:
        # the stream survives the disconnect and can be resumed from a new connection
        with RawClient(thing_daemon.address) as c2:
            c2.connect("thing")
            assert c2.result("Pyro.Daemon", "get_next_stream_item", stream_id) == 1


def test_item_stream_linger_expires(thing_daemon):
    Pyro5.config.ITER_STREAM_LINGER = 0.1
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        msg, _ = c.call("thing", "gen", (10,))
        stream_id = msg.annotations["STRM"].decode()
    wait_for(lambda: stream_id not in thing_daemon.daemon._streams, timeout=8)


@pytest.mark.parametrize("serializer", [s for s in SERIALIZERS if s != "marshal"])
def test_autoproxy(thing_daemon, serializer, monkeypatch):
    captured = []
    monkeypatch.setattr(Pyro5.serializers.SerializerBase, "_custom_dict_to_class_registry",
                        dict(Pyro5.serializers.SerializerBase._custom_dict_to_class_registry))
    Pyro5.serializers.register_dict_to_class("Pyro5.client.Proxy", lambda name, d: captured.append(d) or "proxy")
    with RawClient(thing_daemon.address, serializer) as c:
        c.connect("thing")
        assert c.result("thing", "sub") == "proxy"
    state = captured[0]["state"]
    uri, oneway_methods, methods, attrs, handshake, ser = state
    assert uri.startswith("PYRO:obj_") and uri.endswith("@" + thing_daemon.daemon.locationStr)
    assert list(methods) == ["hello"] and list(oneway_methods) == [] and list(attrs) == []
    assert handshake == "hello" and ser is None
    object_id = uri[5:].split("@")[0]
    with RawClient(thing_daemon.address) as c:
        c.connect(object_id)
        assert c.result(object_id, "hello") == "hello from sub"


def test_annotations_and_context(thing_daemon):
    class AnnotatingDaemon(Daemon):
        def annotations(self):
            return {"DAEM": b"daemon"}
    thing_daemon.daemon.__class__ = AnnotatingDaemon
    corr = uuid.uuid4()
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        msg, data = c.call("thing", "annotations_echo", annotations={"XTRA": b"1", "ABCD": b"2"})
        assert data == ["ABCD", "XTRA"]
        assert msg.annotations["RESP"] == b"response"
        assert msg.annotations["DAEM"] == b"daemon"
        seq = c.send_call("thing", "ctx")
        _, ctx = c.receive()
        assert ctx["seq"] == seq and ctx["ser"] == 1 and ctx["client"] and ctx["corr"] is None
        assert ctx["addr"] == list(c.sock.getsockname())
        # correlation id travels to the server context and back in the response
        Pyro5.current_context.correlation_id = corr
        try:
            msg, ctx = c.call("thing", "ctx")
        finally:
            Pyro5.current_context.correlation_id = None
        assert ctx["corr"] == str(corr) and ctx["flags"] & protocol.FLAGS_CORR_ID
        assert msg.correlation_id == corr


def test_ping_message(thing_daemon):
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        c.send_raw(protocol.SendingMessage(protocol.MSG_PING, 0, 77, 42, b"ping").data)
        msg, data = c.receive()
        assert msg.type == protocol.MSG_PING and msg.seq == 77 and data == b"pong"


def test_unserializable_result(thing_daemon):
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        msg, data = c.call("thing", "unserializable")
        assert is_exception(msg) and isinstance(data, errors.SerializeError)
        assert "unserializable" in str(data)
        assert c.result("thing", "add", 2, 2) == 4


def test_detailed_traceback(thing_daemon):
    Pyro5.config.DETAILED_TRACEBACK = True
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        msg, data = c.call("thing", "boom")
    text = "".join(data._pyroTraceback)
    assert "Local values" in text or "self =" in text


def test_methodcall_error_handler(thing_daemon):
    seen = []

    def handler(daemon, client_sock, method, vargs, kwargs, exception):
        seen.append((daemon, method.__name__, tuple(vargs), kwargs, exception))
    thing_daemon.daemon.methodcall_error_handler = handler
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        c.call("thing", "boom")
        c.call("thing", "add", (1,), {"c": 1})
    assert seen[0][0] is thing_daemon.daemon and seen[0][1] == "boom" and isinstance(seen[0][4], ValueError)
    assert seen[1][1] == "add" and seen[1][3] == {"c": 1} and isinstance(seen[1][4], TypeError)


def test_callback_error_also_shown_locally(thing_daemon, caplog, capfd):
    # as the original: the error of a @callback method is logged on this side too, with its traceback; nothing
    # is printed to stderr (logging is off by default)
    with caplog.at_level(logging.WARNING, logger="Pyro5"):
        with RawClient(thing_daemon.address) as c:
            c.connect("partial")
            msg, data = c.call("partial", "cb")
            assert isinstance(data, RuntimeError)
            assert c.result("thing", "add", 1, 2) == 3   # the connection stays usable
    records = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], RuntimeError)]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert "Traceback" not in capfd.readouterr().err


def test_instance_modes(servertype, start_daemon):
    rd = start_daemon()
    for cls in (Single, Session, PerCall, Created):
        rd.daemon.register(cls)
    uris = {cls: rd.daemon.uriFor(cls) for cls in (Single, Session, PerCall, Created)}
    ids = {}
    for _ in range(2):
        for cls, uri in uris.items():
            with RawClient(rd.address) as c:
                c.connect(uri.object)
                if cls is Created:
                    assert c.result(uri.object, "get_tag") == "made by creator"
                else:
                    ids.setdefault(cls, []).append((c.result(uri.object, "ident"), c.result(uri.object, "ident")))
    single, session = ids[Single], ids[Session]
    assert len({x for pair in single for x in pair}) == 1
    assert session[0][0] == session[0][1] and session[1][0] == session[1][1]
    assert Single.created >= 1


def test_instance_creator_errors_reach_the_caller(servertype, start_daemon):
    from Pyro5.server import behavior, expose

    def bad_creator(cls):
        raise RuntimeError("creator failed")

    @expose
    @behavior(instance_mode="percall", instance_creator=bad_creator)
    class Failing:
        def m(self):
            return 1
    rd = start_daemon()
    uri = rd.daemon.register(Failing)
    with RawClient(rd.address) as c:
        c.connect(uri.object)
        with pytest.raises(RuntimeError, match="creator failed"):
            c.result(uri.object, "m")


def test_validate_handshake(servertype, start_daemon):
    class CheckingDaemon(Daemon):
        def validateHandshake(self, conn, data):
            if data != "secret":
                raise ValueError("wrong secret")
            assert Pyro5.current_context.client is conn
            return {"welcome": conn.sock_addr[0]}
    rd = start_daemon(CheckingDaemon)
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address) as c:
        msg, data = c.connect("thing", handshake="wrong")
        assert msg.type == protocol.MSG_CONNECTFAIL and data == "wrong secret"
    with RawClient(rd.address) as c:
        msg, data = c.connect("thing", handshake="secret")
        assert msg.type == protocol.MSG_CONNECTOK and data["handshake"] == {"welcome": "127.0.0.1"}
        assert c.result("thing", "add", 1, 1) == 2


def test_client_disconnect_and_tracked_resources(servertype, start_daemon):
    disconnected = []
    closed = threading.Event()

    class Resource:
        def close(self):
            closed.set()

    class TrackingDaemon(Daemon):
        def clientDisconnect(self, conn):
            disconnected.append(conn)

    from Pyro5.server import expose

    @expose
    class Tracker:
        def track(self):
            Pyro5.current_context.track_resource(Resource())
            return len(Pyro5.current_context.client.tracked_resources)
    rd = start_daemon(TrackingDaemon)
    rd.daemon.register(Tracker, "tracker")
    with RawClient(rd.address) as c:
        c.connect("tracker")
        assert c.result("tracker", "track") == 1
    wait_for(lambda: disconnected)
    assert closed.wait(5)
    assert len(disconnected) == 1



def _disconnect_counting(start_daemon):
    """A daemon serving Thing as "thing" that records the connections it was told of in clientDisconnect."""
    disconnected = []

    class CountingDaemon(Daemon):
        def clientDisconnect(self, conn):
            disconnected.append(conn)
    rd = start_daemon(CountingDaemon)
    rd.daemon.register(Thing, "thing")
    return rd, disconnected


def test_many_short_connections_are_each_closed_once(servertype, start_daemon):
    """Connect, call, close, twenty times in a row: the server notices every close (on the thread pool server
    mostly in the worker that answered the call), calls clientDisconnect once per connection, and forgets them."""
    rd, disconnected = _disconnect_counting(start_daemon)
    for i in range(20):
        with RawClient(rd.address, timeout=10) as c:
            c.connect("thing")
            assert c.result("thing", "add", i, 1) == i + 1
    wait_for(lambda: len(disconnected) >= 20)
    assert len(disconnected) == 20 and len(set(map(id, disconnected))) == 20
    wait_for(lambda: rd.daemon.sockets == [rd.daemon.sock])    # (no client connection left)
    with RawClient(rd.address, timeout=10) as c:     # and it still serves
        c.connect("thing")
        assert c.result("thing", "add", 2, 2) == 4


def test_connect_message_in_pieces_is_served_while_others_are(servertype, start_daemon):
    """A new connection whose connect message arrives in two pieces, with another client served in between:
    the server waits for the rest without holding anything up (on the thread pool server a new connection goes
    to a worker first, which hands it back to the selector when the message does not come right away)."""
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    with RawClient(rd.address, timeout=10) as slow:
        payload = slow.ser.dumps({"handshake": "hello", "object": "thing"})
        data = protocol.SendingMessage(protocol.MSG_CONNECT, 0, 0, slow.ser.serializer_id, payload).data
        slow.send_raw(data[:10])
        for i in range(3):
            with RawClient(rd.address, timeout=10) as other:
                other.connect("thing")
                assert other.result("thing", "add", i, 1) == i + 1
        slow.send_raw(data[10:])
        msg, answer = slow.receive()
        assert msg.type == protocol.MSG_CONNECTOK and "add" in answer["meta"]["methods"]
        assert slow.result("thing", "add", 20, 1) == 21


def test_many_silent_new_connections_then_all_speak(servertype, start_daemon):
    """More connections than worker threads open at once and say nothing at first; then each connects and
    calls: all are served (a silent new connection does not keep a worker)."""
    Pyro5.config.THREADPOOL_SIZE = 3
    Pyro5.config.THREADPOOL_SIZE_MIN = 1
    rd = start_daemon()
    rd.daemon.register(Thing, "thing")
    clients = [RawClient(rd.address, timeout=10) for _ in range(8)]
    try:
        for i, c in enumerate(clients):
            msg, _ = c.connect("thing")
            assert msg.type == protocol.MSG_CONNECTOK
            assert c.result("thing", "add", i, 1) == i + 1
    finally:
        for c in clients:
            c.close()


def test_connection_closed_before_its_connect_message(servertype, start_daemon):
    """A client that connects and closes without a word: no clientDisconnect (it never passed the handshake),
    and the server goes on serving."""
    rd, disconnected = _disconnect_counting(start_daemon)
    for _ in range(5):
        socket.create_connection(rd.address, timeout=10).close()
    with RawClient(rd.address, timeout=10) as c:
        c.connect("thing")
        assert c.result("thing", "add", 1, 1) == 2
    wait_for(lambda: disconnected)
    wait_for(lambda: rd.daemon.sockets == [rd.daemon.sock])
    assert len(disconnected) == 1

def test_housekeeping_is_called(servertype, start_daemon):
    called = threading.Event()

    class HousekeepingDaemon(Daemon):
        def housekeeping(self):
            called.set()
    start_daemon(HousekeepingDaemon)
    assert called.wait(8)


def test_reset_metadata_cache(servertype, start_daemon):
    from Pyro5.server import expose

    @expose
    class Dynamic:
        def first(self):
            return 1
    rd = start_daemon()
    rd.daemon.register(Dynamic, "dyn")
    with RawClient(rd.address) as c:
        assert set(c.connect("dyn")[1]["meta"]["methods"]) == {"first"}

    def second(self):
        return 2
    Dynamic.second = expose(second)
    with RawClient(rd.address) as c:
        assert set(c.connect("dyn")[1]["meta"]["methods"]) == {"first"}   # cached
    rd.daemon.resetMetadataCache("dyn")
    with RawClient(rd.address) as c:
        assert set(c.connect("dyn")[1]["meta"]["methods"]) == {"first", "second"}
        assert c.result("dyn", "second") == 2


def test_daemon_object_methods(thing_daemon):
    with RawClient(thing_daemon.address) as c:
        c.connect(Pyro5.core.DAEMON_NAME)
        assert set(c.result("Pyro.Daemon", "registered")) == {"Pyro.Daemon", "thing", "partial"}
        info = c.result("Pyro.Daemon", "info")
        assert thing_daemon.daemon.locationStr in info and "3 objects" in info
        meta = c.result("Pyro.Daemon", "get_metadata", "partial")
        assert set(meta["methods"]) == {"exposed", "cb"}
        with pytest.raises(errors.DaemonError, match="unknown object"):
            c.result("Pyro.Daemon", "get_metadata", "nope")
        with pytest.raises(AttributeError):
            c.result("Pyro.Daemon", "daemon")
        with pytest.raises(AttributeError):
            c.result("Pyro.Daemon", "__getattr__", "daemon")


def test_serialized_blob(thing_daemon):
    import marshal

    from Pyro5.server import expose

    @expose
    class Dispatcher:
        def process(self, blob):
            return [blob.info, blob.deserialized()]
    thing_daemon.daemon.register(Dispatcher, "dispatcher")
    with RawClient(thing_daemon.address) as c:
        c.connect("dispatcher")
        # what the original Proxy sends for proxy.process(SerializedBlob("info", [1, 2])):
        annotations = {"BLBI": marshal.dumps(("the info", "dispatcher", "process"))}
        msg, data = c.call("ignored", "ignored", [1, 2, "three"], flags=protocol.FLAGS_KEEPSERIALIZED,
                           annotations=annotations)
        assert not is_exception(msg)
        assert data == ["the info", [1, 2, "three"]]


def test_compression(thing_daemon):
    Pyro5.config.COMPRESSION = True
    big = "x" * 100000
    with RawClient(thing_daemon.address) as c:
        c.connect("thing")
        seq = c.send_call("thing", "echo", (big,))
        header = c.sock.recv(40, socket.MSG_PEEK | socket.MSG_WAITALL)
        assert header[8:10] != b"\0\0" and int.from_bytes(header[8:10], "big") & protocol.FLAGS_COMPRESSED
        assert int.from_bytes(header[12:16], "big") < 10000     # compressed payload size
        msg, data = c.receive()
        assert msg.seq == seq and data == big


@pytest.mark.parametrize("clients", [8, 32])
def test_many_concurrent_clients(thing_daemon, clients):
    errors_seen = []
    barrier = threading.Barrier(clients, timeout=20)

    def work(i):
        try:
            with RawClient(thing_daemon.address, timeout=20) as c:
                c.connect("thing")
                barrier.wait()
                for n in range(20):
                    assert c.result("thing", "add", i, n) == i + n
        except Exception as x:     # collected and asserted below
            errors_seen.append(x)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors_seen
