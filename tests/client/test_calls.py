"""Proxy calls over real loopback sockets against the peer server (original Pyro5 or ours, see _peer.py)."""
from __future__ import annotations

import gc
import time
import uuid

import pytest
import serpent

import Pyro5
import Pyro5.errors
import Pyro5.protocol
import Pyro5.serializers
from Pyro5.callcontext import current_context
from Pyro5.client import BatchProxy, Proxy, SerializedBlob


def poll(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def thing(peer, serializer):
    with Proxy(peer.uri("thing")) as p:
        yield p


@pytest.fixture(autouse=True)
def _clean_context():
    yield
    current_context.annotations = {}
    current_context.response_annotations = {}
    current_context.correlation_id = None


def test_plain_calls(thing, serializer):
    assert thing.add(1, 2) == 3
    assert thing.add("a", "b") == "ab"
    assert thing.echo([1, "two", 3.5, None, True]) == [1, "two", 3.5, None, True]
    assert thing.echo({"k": [1, 2]}) == {"k": [1, 2]}
    assert thing.kw(1) == [1, 2, [], []]
    assert thing._pyroConnection is not None
    assert thing._pyroConnection.family() == "IPv4"
    assert thing._pyroLocalSocket[0] == "127.0.0.1"
    assert "connected IPv4" in repr(thing)


def test_kwargs(thing):
    result = thing.kw(1, b=5, x=9)
    assert result[0] == 1 and result[1] == 5 and [list(i) for i in result[3]] == [["x", 9]]


def test_metadata_after_connect(thing):
    thing._pyroBind()
    assert {"add", "echo", "ow", "gen", "__len__", "__iter__"} <= thing._pyroMethods
    assert thing._pyroOneway == {"ow"}
    assert thing._pyroAttrs == {"prop", "readonly"}
    assert "unexposed" not in thing._pyroMethods and "_private" not in thing._pyroMethods
    assert hasattr(thing, "add") and not hasattr(thing, "unexposed")


def test_oneway(thing):
    key = uuid.uuid4().hex
    assert thing.ow(key, 42) is None
    assert poll(lambda: thing.get(key) == 42)


def test_attributes(thing):
    thing.prop = 5
    assert thing.prop == 5
    thing.prop = [1, 2]
    assert thing.prop == [1, 2]
    assert thing.readonly == "ro"
    with pytest.raises(Exception):
        thing.readonly = "x"  # remote AttributeError: property without setter
    assert thing.add(1, 1) == 2


@pytest.mark.parametrize("name", ["nonexisting", "unexposed", "_private", "__secret__"])
def test_unknown_unexposed_private_rejected_locally(thing, name):
    thing._pyroBind()
    seq = thing._pyroSeq
    with pytest.raises(AttributeError, match="no exposed attribute or method '%s'" % name):
        getattr(thing, name)
    assert thing._pyroSeq == seq  # nothing was sent
    assert thing.add(2, 2) == 4


def test_set_unknown_attribute_rejected(thing):
    with pytest.raises(AttributeError, match="no exposed attribute 'nonexisting'"):
        thing.nonexisting = 1
    with pytest.raises(AttributeError, match="no exposed attribute 'add'"):
        thing.add = 1


def test_wrong_argument_count(thing, peer):
    with pytest.raises(TypeError) as x:
        thing.add(1)
    assert x.value._pyroTraceback
    with Proxy(peer.uri()) as other:  # the server keeps serving
        assert other.add(1, 2) == 3
    assert thing.add(1, 2) == 3


def test_unserializable_argument(thing, serializer):
    import threading
    with pytest.raises(Pyro5.errors.SerializeError):
        thing.echo(threading.Lock())
    assert thing.add(1, 2) == 3  # connection still in sync


def test_unserializable_result(thing, peer):
    with pytest.raises(Exception) as x:
        thing.unserializable()
    if not (peer.kind == "orig" and isinstance(x.value, Pyro5.errors.ConnectionClosedError)):
        # (the original daemon drops the connection when json can't serialize a result)
        assert "serializ" in str(x.value).lower()
    with Proxy(peer.uri()) as other:
        assert other.add(3, 4) == 7
    if peer.kind == "orig":
        thing._pyroRelease()  # the original daemon closes the connection after sending that error
    assert thing.add(1, 2) == 3


def test_remote_exception_with_traceback(thing):
    with pytest.raises(ValueError, match="boom") as x:
        thing.fail()
    tb = "".join(x.value._pyroTraceback)
    assert "Traceback" in tb and "ValueError: boom" in tb and "in fail" in tb
    text = "".join(Pyro5.errors.get_pyro_traceback(type(x.value), x.value, x.value.__traceback__))
    assert "Remote traceback" in text and "ValueError: boom" in text
    with pytest.raises(ZeroDivisionError) as x:
        thing.fail_deep()
    assert "in inner" in "".join(x.value._pyroTraceback)
    assert thing.add(1, 2) == 3


def test_dunder_methods(thing):
    assert len(thing) == 3
    assert thing[21] == 42
    thing[1] = "x"
    assert thing.get("item") == [1, "x"]
    del thing[4]
    assert thing.get("item") == ["deleted", 4]
    assert list(thing) == [7, 8, 9]
    assert 8 in thing
    assert bool(thing)


def test_dunder_not_exposed(peer):
    with Proxy(peer.uri("plain")) as plain:
        with pytest.raises(TypeError, match="__len__"):
            len(plain)
        with pytest.raises(AttributeError, match="__getitem__"):
            plain[1]
        with pytest.raises(AttributeError, match="__iter__"):
            iter(plain)
        assert plain.add(1, 2) == 1003


def test_generator_streaming(thing):
    result = thing.gen(5)
    assert not isinstance(result, list)
    assert list(result) == [0, 1, 2, 3, 4]
    assert list(thing.gen(0)) == []
    it = iter(thing.gen(3))
    assert next(it) == 0 and next(it) == 1 and next(it) == 2
    with pytest.raises(StopIteration):
        next(it)
    with pytest.raises(StopIteration):
        next(it)


def test_generator_close(thing):
    key = uuid.uuid4().hex
    stream = thing.tracked_gen(key)
    assert [next(stream) for _ in range(3)] == [0, 1, 2]
    assert thing.get(key) == "running"
    stream.close()
    assert poll(lambda: thing.get(key) == "closed")
    assert thing.add(1, 2) == 3


def test_generator_discarded(thing):
    key = uuid.uuid4().hex
    stream = thing.tracked_gen(key)
    assert next(stream) == 0
    del stream
    gc.collect()
    assert poll(lambda: thing.get(key) == "closed")


def test_generators_interleaved(thing):
    a = thing.gen(3)
    b = thing.gen(4)
    assert next(a) == 0 and next(b) == 0 and next(a) == 1
    assert list(b) == [1, 2, 3] and list(a) == [2]


def test_batch(thing):
    batch = BatchProxy(thing)
    batch.add(1, 2)
    batch.echo("x")
    batch.ow("batchkey", 1)
    batch.add(3, 4)
    results = batch()
    assert list(results) == [3, "x", None, 7]
    batch.add(5, 5)  # the batch proxy is reusable
    assert list(batch()) == [10]


def test_batch_with_exception(thing, serializer, peer):
    if serializer == "marshal" and peer.kind == "orig":
        pytest.skip("the original daemon can't marshal the exception wrapper of a batch result")
    batch = BatchProxy(thing)
    batch.add(1, 2)
    batch.fail()
    batch.add(3, 4)
    results = batch()
    assert next(results) == 3
    with pytest.raises(ValueError, match="boom") as x:
        next(results)
    assert x.value._pyroTraceback
    assert thing.add(1, 1) == 2


def test_batch_oneway(thing):
    key = uuid.uuid4().hex
    batch = BatchProxy(thing)
    batch.add(1, 2)
    batch.ow(key, "batched")
    assert batch(oneway=True) is None
    assert poll(lambda: thing.get(key) == "batched")


def test_batch_asynchronous(thing):
    batch = BatchProxy(thing)
    batch.add(1, 2)
    batch.sleep(0.1)
    future = batch(asynchronous=True)
    assert list(future.result(timeout=10)) == [3, 0.1]
    assert thing.add(1, 1) == 2


def test_handshake_data(peer, serializer):
    with Proxy(peer.uri()) as p:
        responses = []
        p._pyroHandshake = {"echo": "ping"}
        p._pyroValidateHandshake = responses.append
        p._pyroBind()
        assert responses == [{"echoed": "ping"}]


def test_handshake_rejected_by_daemon(peer):
    with Proxy(peer.uri()) as p:
        p._pyroHandshake = "reject"
        with pytest.raises(Pyro5.errors.CommunicationError, match="rejected: handshake rejected by the test daemon"):
            p.add(1, 2)
        assert p._pyroConnection is None
        p._pyroHandshake = "hello"
        assert p.add(1, 2) == 3


def test_handshake_rejected_by_proxy(peer):
    class PickyProxy(Proxy):
        def _pyroValidateHandshake(self, response):
            raise Pyro5.errors.SecurityError("unexpected handshake response %r" % (response,))

    with PickyProxy(peer.uri()) as p:
        with pytest.raises(Pyro5.errors.SecurityError, match="unexpected handshake response 'hello'"):
            p._pyroBind()
        assert p._pyroConnection is None


def test_annotations_and_correlation(thing):
    corr = uuid.uuid4()
    current_context.correlation_id = corr
    current_context.annotations = {"XYZZ": b"hi"}
    result = thing.ctx()
    assert result["corr"] == str(corr)
    assert result["ann"]["XYZZ"] == "hi"
    assert current_context.response_annotations == {"RESP": b"yo"}
    current_context.annotations = {}
    thing.add(1, 1)
    assert current_context.response_annotations == {}  # reset by a response without annotations


def test_annotation_hooks(peer):
    seen = []

    class AnnProxy(Proxy):
        def _pyroAnnotations(self):
            return {"MINE": b"12345"}

        def _pyroResponseAnnotations(self, annotations, msgtype):
            seen.append((dict(annotations), msgtype))

    with AnnProxy(peer.uri()) as p:
        assert p.ctx()["ann"]["MINE"] == "12345"
        assert (({"RESP": b"yo"}, Pyro5.protocol.MSG_RESULT)) in seen


def test_autoproxy_result(thing, serializer, peer):
    if serializer == "marshal" and peer.kind == "orig":
        pytest.skip("marshal can't carry the proxy of an autoproxied object")
    sub = thing.getsub()
    assert isinstance(sub, Proxy)
    assert sub.add(1, 1) == 1002
    sub._pyroRelease()


def test_proxy_as_argument_and_result(thing, serializer, peer):
    if serializer == "marshal" and peer.kind == "orig":
        pytest.skip("the original's marshal serializer can't serialize a proxy")
    other = Proxy(peer.uri())
    echoed = thing.echo(other)
    assert isinstance(echoed, Proxy) and echoed == other
    assert echoed.add(2, 3) == 5
    echoed._pyroRelease()
    assert thing.call_back(other, 20, 22) == 42


def test_serialized_blob(thing, serializer, peer):
    if serializer == "json" and peer.kind == "orig":
        pytest.skip("the original daemon's SerializedBlob.deserialized() is broken for json")
    blob = SerializedBlob("the-info", ["x", {"a": [1, 2, 3]}])
    kind, info, data = thing.blobinfo(blob)
    assert kind == "SerializedBlob" and info == "the-info" and list(data) == ["x", {"a": [1, 2, 3]}]


def test_serialized_blob_dispatch(thing, serializer, peer):
    if serializer == "json" and peer.kind == "orig":
        pytest.skip("the original daemon's SerializedBlob.deserialized() is broken for json")
    blob = SerializedBlob("forward-me", ["x", 1])
    tag, (kind, info, data) = thing.dispatch(blob)
    assert tag == "dispatched" and info == "forward-me" and list(data) == ["x", 1]


def test_no_exposed_members(peer):
    with Proxy(peer.uri("nothing")) as p:
        with pytest.raises(Pyro5.errors.PyroError, match="doesn't expose any methods or attributes"):
            p.not_exposed()


def test_unknown_object(peer):
    uri = peer.uri().replace("PYRO:thing@", "PYRO:doesnotexist@")
    with Proxy(uri) as p:
        with pytest.raises(Pyro5.errors.CommunicationError, match="rejected: unknown object"):
            p.add(1, 2)


def test_release_and_auto_reconnect(thing):
    assert thing.add(1, 2) == 3
    conn = thing._pyroConnection
    thing._pyroRelease()
    assert thing._pyroConnection is None and thing._pyroLocalSocket is None
    thing._pyroRelease()  # twice is fine
    assert thing.add(1, 2) == 3
    assert thing._pyroConnection is not conn


def test_bind_and_reconnect(thing):
    assert thing._pyroBind() is True
    assert thing._pyroBind() is False  # already bound
    conn = thing._pyroConnection
    thing._pyroReconnect()
    assert thing._pyroConnection is not None and thing._pyroConnection is not conn
    assert thing.add(2, 2) == 4


def test_context_manager_releases(peer):
    with Proxy(peer.uri()) as p:
        assert p.add(1, 2) == 3
        assert p._pyroConnection is not None
    assert p._pyroConnection is None
    assert p.add(1, 2) == 3  # still usable: reconnects
    p._pyroRelease()


def test_raw_wire_response(thing, serializer):
    thing._pyroBind()
    thing._pyroRawWireResponse = True
    msg = thing.add(1, 2)
    thing._pyroRawWireResponse = False
    assert isinstance(msg, Pyro5.protocol.ReceivingMessage)
    assert msg.type == Pyro5.protocol.MSG_RESULT
    assert Pyro5.serializers.serializers[serializer].loads(msg.data) == 3


def test_serializer_per_proxy(peer):
    Pyro5.config.SERIALIZER = "serpent"
    with Proxy(peer.uri()) as p:
        p._pyroSerializer = "json"
        assert p.add(1, 2) == 3
        msgs = []
        p._pyroRawWireResponse = True
        msgs.append(p.add(1, 2))
        assert msgs[0].serializer_id == Pyro5.serializers.serializers["json"].serializer_id


def test_large_data(thing, serializer):
    text = serializer == "json"  # json has no bytes type
    data = "x" * (2 * 1024 * 1024) if text else b"x" * (2 * 1024 * 1024)
    assert thing.upload(data) == len(data)
    result = thing.download(1024 * 1024, text)
    if isinstance(result, dict):  # serpent and json transfer bytes as base-64 dicts
        import base64
        result = base64.b64decode(result["data"])
    assert len(result) == 1024 * 1024


def test_many_proxies_many_calls(peer):
    proxies = [Proxy(peer.uri()) for _ in range(5)]
    try:
        for i in range(20):
            for p in proxies:
                assert p.add(i, 1) == i + 1
    finally:
        for p in proxies:
            p._pyroRelease()


def test_daemon_object(peer):
    uri = peer.uri().replace("PYRO:thing@", "PYRO:Pyro.Daemon@")
    with Proxy(uri) as daemon:
        daemon.ping()
        registered = daemon.registered()
        assert "thing" in registered and "Pyro.Daemon" in registered
        meta = daemon.get_metadata("thing")
        assert "add" in meta["methods"] and "prop" in meta["attrs"] and "ow" in meta["oneway"]


def test_get_metadata_of_connected_proxy(thing):
    thing._pyroBind()
    thing._pyroMethods = set()
    thing._pyroAttrs = set()
    thing._pyroGetMetadata("thing")  # via the daemon object, over the existing connection
    assert "add" in thing._pyroMethods and thing._pyroAttrs == {"prop", "readonly"}
    assert thing.add(1, 2) == 3


def test_generator_continues_after_reconnect(peer):
    with Proxy(peer.uri()) as p:
        stream = p.gen(5)
        assert next(stream) == 0 and next(stream) == 1
        p._pyroReconnect()  # the daemon lingers the stream for a while (ITER_STREAM_LINGER)
        assert list(stream) == [2, 3, 4]
        p._pyroRelease()
        stream = p.gen(4)
        assert next(stream) == 0
        p._pyroRelease()
        # no silent reconnect for a released proxy (as the original): ConnectionClosedError, the stream stays
        for _ in range(2):
            with pytest.raises(Pyro5.errors.ConnectionClosedError, match="proxy for this stream result has been "
                                                                         "closed"):
                next(stream)
        p._pyroReconnect()
        assert next(stream) == 1
        p._pyroRelease()
        assert p.add(1, 2) == 3         # any call reconnects the proxy, and the stream with it
        assert next(stream) == 2


@pytest.mark.parametrize("name", ["_private", "unexposed", "nonexisting", "__init__"])
def test_bypassing_local_checks_is_refused_by_the_daemon(thing, name):
    thing._pyroBind()
    with pytest.raises(Exception) as x:
        thing._pyroInvoke(name, (), {})  # sent anyway: the daemon must refuse it
    assert isinstance(x.value, (AttributeError, Pyro5.errors.PyroError))
    assert thing.add(1, 2) == 3


def test_serialized_blob_must_be_the_only_argument(thing):
    with pytest.raises(Pyro5.errors.SerializeError, match="only argument"):
        thing.blobinfo(SerializedBlob("info", [1]), 2)
    assert thing.add(1, 2) == 3


def test_batch_asynchronous_error(peer):
    with Proxy(peer.uri().replace("PYRO:thing@", "PYRO:doesnotexist@")) as p:
        batch = BatchProxy(p)
        batch.add(1, 2)
        future = batch(asynchronous=True)
        with pytest.raises(Pyro5.errors.CommunicationError, match="unknown object"):
            future.result(timeout=10)


def test_stream_discarded_in_other_thread_is_closed_before_next_call(thing):
    import threading
    key = uuid.uuid4().hex
    holder = [thing.tracked_gen(key)]
    assert next(holder[0]) == 0

    def drop():
        holder.pop().__del__()  # as if the garbage collector finalized it in another thread

    t = threading.Thread(target=drop)
    t.start()
    t.join(10)
    assert thing.get("nothing") is None  # the pending close_stream goes out before this call
    assert poll(lambda: thing.get(key) == "closed")


@pytest.mark.parametrize("annotated", [False, True], ids=["plain", "annotated"])
def test_big_arguments_and_results(thing, serializer, annotated):
    # big request payloads are sent as header + payload parts (no copy); the peer must see the same message
    if annotated:
        current_context.annotations = {"XBIG": b"a" * 100}
    text = "pyro-big-" * 200_000          # 1.8 MB
    assert thing.echo(text) == text
    assert thing.echo([text, {"k": text[:1000]}]) == [text, {"k": text[:1000]}]
    if serializer != "json":              # (json has no bytes type)
        data = bytes(range(256)) * 8000
        result = thing.echo(data)
        if serializer == "serpent":       # serpent sends bytes as a base64 dict
            assert isinstance(result, dict)
            result = serpent.tobytes(result)
        assert result == data
