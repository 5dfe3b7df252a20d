"""The usual call's flat path (Pyro5._client_fast) and the conditions that send a call down the full path instead:
each test changes one condition between calls on the same connected proxy and checks the behaviour that the
condition asks for (what the server receives, what the client sees), then that plain calls still work after it."""
from __future__ import annotations

import logging
import socket
import time
import uuid

import pytest

import Pyro5
import Pyro5.client
import Pyro5.errors
import Pyro5.protocol
from Pyro5.callcontext import current_context
from Pyro5.client import Proxy, SerializedBlob


@pytest.fixture
def thing(peer, serializer):
    with Proxy(peer.uri("thing")) as p:
        assert p.add(1, 2) == 3      # connected, and one usual call done
        yield p


@pytest.fixture(autouse=True)
def _clean_context():
    yield
    current_context.annotations = {}
    current_context.response_annotations = {}
    current_context.correlation_id = None


def test_context_annotations_between_calls(thing):
    assert thing.ctx()["ann"] == {}
    current_context.annotations = {"XTRA": b"one"}
    assert thing.ctx()["ann"] == {"XTRA": "one"}
    current_context.annotations = {}
    assert thing.ctx()["ann"] == {}
    assert current_context.response_annotations == {"RESP": b"yo"}
    assert thing.add(2, 2) == 4
    assert current_context.response_annotations == {}


def test_correlation_id_between_calls(thing):
    corr = current_context.correlation_id = uuid.uuid4()
    assert thing.ctx()["corr"] == str(corr)
    current_context.correlation_id = None
    assert thing.ctx()["corr"] != str(corr)     # (none sent: ours says None, the original daemon makes one up)
    assert thing.add(1, 2) == 3


def test_annotation_methods_overridden_on_the_proxy(thing):
    seen = []
    thing._pyroAnnotations = lambda: {"INST": b"x"}
    thing._pyroResponseAnnotations = lambda annotations, msgtype: seen.append(dict(annotations))
    assert thing.ctx()["ann"] == {"INST": "x"}
    assert seen == [{"RESP": b"yo"}]
    del thing._pyroAnnotations, thing._pyroResponseAnnotations
    assert thing.ctx()["ann"] == {}
    assert len(seen) == 1


def test_annotation_method_patched_on_the_class(peer, monkeypatch):
    class Sub(Proxy):
        pass

    with Sub(peer.uri()) as p:
        assert p.ctx()["ann"] == {}
        monkeypatch.setattr(Sub, "_pyroAnnotations", lambda self: {"CLSP": b"y"}, raising=False)
        assert p.ctx()["ann"] == {"CLSP": "y"}
        monkeypatch.undo()
        assert p.ctx()["ann"] == {}


def test_hooks_registered_between_calls(thing):
    events = []

    class Hook:
        def before(self, call):
            call.annotations["HOOK"] = b"h"
            events.append(("before", call.method))

        def after(self, call):
            events.append(("after", call.method))

    hook = Hook()
    Pyro5.client.add_interceptor(hook)
    try:
        assert thing.ctx()["ann"] == {"HOOK": "h"}
    finally:
        Pyro5.client.remove_interceptor(hook)
    assert events == [("before", "ctx"), ("after", "ctx")]
    assert thing.ctx()["ann"] == {}
    thing._pyroInterceptors = [hook]
    assert thing.ctx()["ann"] == {"HOOK": "h"}
    assert len(events) == 4
    thing._pyroInterceptors = []
    assert thing.add(1, 1) == 2 and len(events) == 4


def test_oneway_and_raw_response(thing):
    assert thing.ow("k", "v") is None
    deadline = time.monotonic() + 10
    while thing.get("k") != "v" and time.monotonic() < deadline:
        time.sleep(0.01)     # (the oneway call runs on the server while this one returned at once)
    assert thing.get("k") == "v"
    thing._pyroRawWireResponse = True
    msg = thing.add(1, 2)
    assert isinstance(msg, Pyro5.protocol.ReceivingMessage) and msg.type == Pyro5.protocol.MSG_RESULT
    thing._pyroRawWireResponse = False
    assert thing.add(1, 2) == 3


def test_blob_argument(thing, serializer, peer):
    if serializer == "json" and peer.kind == "orig":
        pytest.skip("the original daemon's SerializedBlob.deserialized() is broken for json")
    assert thing.blobinfo(SerializedBlob("info", [1, 2])) == ["SerializedBlob", "info", [1, 2]]
    assert thing.add(1, 2) == 3


def test_reply_bigger_than_one_receive(thing):
    for timeout in (None, 10.0):
        thing._pyroTimeout = timeout
        assert thing.download(300_000, True) == "x" * 300_000
        assert thing.add(3, 4) == 7


def test_request_bigger_than_small(thing, serializer):
    text = "y" * 5000
    assert thing.echo(text) == text
    Pyro5.config.COMPRESSION = True
    assert thing.echo(text) == text
    assert thing.add(1, 1) == 2


def test_request_larger_than_the_send_buffer(thing):
    # (with a timeout, one write() of what the socket takes at once, then sendall() of the rest)
    for timeout in (10.0, None):
        thing._pyroTimeout = timeout
        thing._pyroConnection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        text = "z" * 60_000
        assert thing.echo(text) == text
        assert thing.add(1, 1) == 2


def test_message_size_limit_on_send(thing):
    Pyro5.config.MAX_MESSAGE_SIZE = 50
    with pytest.raises(Pyro5.errors.MessageTooLargeError):
        thing.echo("z" * 200)


def test_logwire_between_calls(thing, caplog):
    Pyro5.config.LOGWIRE = True
    with caplog.at_level(logging.DEBUG, logger="Pyro5"):
        assert thing.add(1, 2) == 3
    texts = [r.getMessage() for r in caplog.records]
    assert any("wiredata sending" in t for t in texts) and any("wiredata received" in t for t in texts)


def test_timeout_then_reconnect(thing):
    thing._pyroTimeout = 0.2
    with pytest.raises(Pyro5.errors.TimeoutError):
        thing.sleep(2)
    assert thing._pyroConnection is None
    thing._pyroTimeout = None
    assert thing.add(1, 5) == 6


def test_retry_after_the_connection_was_lost(thing):
    thing._pyroConnection.sock.close()      # (the proxy's socket: the next call fails and is retried once)
    thing._pyroMaxRetries = 1
    assert thing.add(2, 5) == 7
    thing._pyroConnection.sock.close()
    thing._pyroMaxRetries = 0
    with pytest.raises(Pyro5.errors.ConnectionClosedError):
        thing.add(2, 5)
    assert thing.add(2, 6) == 8


def test_remote_exception_and_stream(thing):
    with pytest.raises(ValueError):
        thing.fail()
    assert list(thing.gen(3)) == [0, 1, 2]
    assert thing.add(1, 2) == 3


def test_other_thread_and_shared(peer):
    import threading
    with Proxy(peer.uri()) as p:
        assert p.add(1, 1) == 2
        errors = []
        t = threading.Thread(target=lambda: errors.append(_call_error(p)))
        t.start()
        t.join(10)
        assert len(errors) == 1 and isinstance(errors[0], Pyro5.errors.PyroError)
    with Proxy(peer.uri(), shared=True) as p:
        results = []
        threads = [threading.Thread(target=lambda: results.append(p.add(2, 3))) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert results == [5, 5, 5, 5] and p.add(1, 1) == 2


def _call_error(p):
    try:
        p.add(1, 1)
    except Exception as x:
        return x
    return None
