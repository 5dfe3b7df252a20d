"""A remote method object's call (``proxy.method(...)``) through Pyro5._client_fast.invoke_args, and a usual call's reply
taken whole from one receive (Pyro5._wire_reader.whole_reply): both must behave exactly as the general path.

invoke_args is what the method object calls when the proxy's _pyroInvoke is Proxy's own; a subclass or an instance
that replaces _pyroInvoke gets its replacement called, as before. The reply side is checked against a raw-socket
daemon that sends good and bad replies: every outcome (result, error, response annotations, connection kept or
dropped) must be the same with whole_reply and with the reader alone (whole_reply switched off)."""
from __future__ import annotations

import logging
import uuid

import pytest

import Pyro5._client_conn
import Pyro5._client_fast
import Pyro5._client_magic
import Pyro5.errors
import Pyro5.protocol as protocol
import Pyro5.serializers
from Pyro5.callcontext import current_context
from Pyro5.client import Proxy
from tests.client.test_bad_peers import SERPENT, FakeDaemon, handshake_ok, recv_message


@pytest.fixture(autouse=True)
def _clean_context():
    yield
    current_context.response_annotations = {}


def _sender(method):
    """What a remote method object calls: _client_fast.invoke_args (given the proxy), or the bound _pyroInvoke."""
    if method.func is Pyro5._client_fast.invoke_args:
        return method.func
    assert method.func is Pyro5._client_magic._send_with
    return method.args[0]


def test_a_plain_proxy_calls_through_invoke(peer, serializer):
    with Proxy(peer.uri("thing")) as p:
        method = p.add
        # (a functools.partial: _client_fast.invoke_args(p, "add", *args, **kwargs))
        assert method.func is Pyro5._client_fast.invoke_args and method.args == (p, "add")
        assert p.add is not method      # (a new method object every time, as the original's)
        assert method(1, 2) == 3 and p.add(2, 2) == 4
        assert p._pyroInvoke("add", (1, 2), {}) == 3
        with pytest.raises(ValueError):
            p.fail()
        assert list(p.gen(3)) == [0, 1, 2]
        assert p.ow("k", "v") is None       # (a oneway method: invoke hands it to the full path)


def test_a_subclass_or_instance_with_its_own_pyroInvoke_gets_it_called(peer):
    calls = []

    class Recording(Proxy):
        def _pyroInvoke(self, methodname, vargs, kwargs, flags=0, objectId=None):
            calls.append(methodname)
            return super()._pyroInvoke(methodname, vargs, kwargs, flags, objectId)

    with Recording(peer.uri("thing")) as p:
        assert p.add(1, 2) == 3 and p.echo("x") == "x"
        assert calls == ["add", "echo"]
    calls.clear()
    with Proxy(peer.uri("thing")) as p:
        default = p._pyroInvoke

        def instance_invoke(methodname, vargs, kwargs, flags=0, objectId=None):
            calls.append(methodname)
            return default(methodname, vargs, kwargs, flags, objectId)

        p._pyroInvoke = instance_invoke
        assert p.add(1, 2) == 3
        del p._pyroInvoke
        assert p.add(2, 2) == 4
        assert calls == ["add"]


def test_a_subclass_with_its_own_getattribute(peer):
    looked_up = []

    class Watching(Proxy):
        def __getattribute__(self, name):
            if name == "_pyroInvoke":
                looked_up.append(name)
            return super().__getattribute__(name)

    with Watching(peer.uri("thing")) as p:
        assert p.add(1, 2) == 3
        assert looked_up        # (the method object got the proxy's _pyroInvoke, as it is looked up)
        assert _sender(p.add).__func__ is Watching._pyroInvoke


@pytest.mark.parametrize("through", ["method object", "_pyroInvoke"])
def test_retries_after_a_lost_connection(peer, caplog, through):
    with Proxy(peer.uri("thing")) as p:
        assert p.add(1, 1) == 2
        p._pyroMaxRetries = 2
        p._pyroConnection.sock.close()      # (the next call fails on this socket and is retried)
        with caplog.at_level(logging.DEBUG, logger="Pyro5.client"):
            result = p.add(2, 5) if through == "method object" else p._pyroInvoke("add", (2, 5), {})
        assert result == 7
        retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying call")]
        assert retries == ["retrying call add after a connection problem (1 retries left)"]
        p._pyroMaxRetries = 0
        p._pyroConnection.sock.close()
        with pytest.raises(Pyro5.errors.ConnectionClosedError):
            p.add(2, 5) if through == "method object" else p._pyroInvoke("add", (2, 5), {})
        assert p.add(2, 6) == 8


# ------------------------------------------------------------------------------------------------ the reply side

def _result(conn, msg, value, flags=0, annotations=None, corr=None):
    payload = SERPENT.dumps(value)
    return protocol.SendingMessage(protocol.MSG_RESULT, flags, msg.seq, SERPENT.serializer_id, payload, annotations,
                                   correlation_id=corr).data


REPLIES = {
    "plain": lambda conn, msg: _result(conn, msg, 3),
    "correlation id": lambda conn, msg: _result(conn, msg, 3, corr=uuid.uuid4()),
    "annotations": lambda conn, msg: _result(conn, msg, 3, annotations={"RESP": b"yo"}),
    "exception": lambda conn, msg: _result(conn, msg, ValueError("remote"), flags=protocol.FLAGS_EXCEPTION),
    "exception flag, no exception": lambda conn, msg: _result(conn, msg, 3, flags=protocol.FLAGS_EXCEPTION),
    "wrong seq": lambda conn, msg: protocol.SendingMessage(protocol.MSG_RESULT, 0, (msg.seq + 1) & 0xffff,
                                                           SERPENT.serializer_id, SERPENT.dumps(3)).data,
    "wrong type": lambda conn, msg: protocol.SendingMessage(protocol.MSG_CONNECTOK, 0, msg.seq, SERPENT.serializer_id,
                                                            SERPENT.dumps(3)).data,
    "other serializer": lambda conn, msg: protocol.SendingMessage(
        protocol.MSG_RESULT, 0, msg.seq, 3, Pyro5.serializers.serializers["json"].dumps(3)).data,
    "two replies": lambda conn, msg: _result(conn, msg, 3) + _result(conn, msg, 4),
    "bad magic": lambda conn, msg: _result(conn, msg, 3)[:38] + b"\0\0" + _result(conn, msg, 3)[40:],
}


def _outcome(reply, timeout):
    """What a proxy's call makes of the daemon's `reply`: result or error, response annotations, connected after."""
    def behaviour(conn):
        handshake_ok(conn)
        for _ in range(2):
            msg = recv_message(conn)
            conn.sendall(reply(conn, msg))

    daemon = FakeDaemon(behaviour)
    try:
        with Proxy(daemon.uri) as p:
            p._pyroTimeout = timeout
            outcomes = []
            for _ in range(2):
                current_context.response_annotations = {"OLD": b"x"}
                try:
                    result = ("result", p.add(1, 2))
                except Exception as x:
                    result = ("error", type(x), str(x))
                outcomes.append((result, dict(current_context.response_annotations), p._pyroConnection is None))
                if p._pyroConnection is None:
                    break
            return outcomes
    finally:
        daemon.close()


@pytest.mark.parametrize("timeout", [None, 10.0])
@pytest.mark.parametrize("name", sorted(REPLIES))
def test_the_same_outcome_with_and_without_whole_reply(monkeypatch, name, timeout):
    taken = []
    whole_reply = Pyro5._client_conn._whole_reply

    def counting(*args):
        payload = whole_reply(*args)
        taken.append(payload is not None)
        return payload

    monkeypatch.setattr(Pyro5._client_conn, "_whole_reply", counting)
    fast = _outcome(REPLIES[name], timeout)
    assert taken and any(taken) == (name in ("plain", "correlation id"))
    monkeypatch.setattr(Pyro5._client_conn, "_whole_reply", lambda *args: None)
    general = _outcome(REPLIES[name], timeout)
    assert fast == general
    if name in ("plain", "correlation id"):
        assert fast == [(("result", 3), {}, False)] * 2


def test_each_plain_reply_gets_new_response_annotations(peer):
    with Proxy(peer.uri("thing")) as p:
        assert p.add(1, 2) == 3
        first = current_context.response_annotations
        first["MINE"] = b"x"
        assert p.add(1, 2) == 3
        assert current_context.response_annotations == {} and current_context.response_annotations is not first


def test_a_proxy_whose_state_was_never_set_up_fails_as_through_pyroInvoke():
    class NeverSetUp(Proxy):
        def __init__(self):     # (no Proxy.__init__: no connection state)
            self._pyroMethods = {"echo"}

    p = NeverSetUp()
    assert _sender(p.echo) is Pyro5._client_fast.invoke_args
    with pytest.raises(AttributeError) as through_method:
        p.echo(1)
    with pytest.raises(AttributeError) as through_invoke:
        p._pyroInvoke("echo", (1,), {})
    assert str(through_method.value) == str(through_invoke.value)


@pytest.mark.parametrize("own_invoke", [False, True])
def test_the_remote_method_object(peer, own_invoke):
    """A remote method object (a functools.partial, on the fast path and the other) shows its name, refuses dotted
    names and attributes of its own, and passes positional and keyword arguments on."""
    class Plain(Proxy):
        pass

    class OwnInvoke(Proxy):
        def _pyroInvoke(self, methodname, vargs, kwargs, flags=0, objectId=None):
            return super()._pyroInvoke(methodname, vargs, kwargs, flags, objectId)

    with (OwnInvoke if own_invoke else Plain)(peer.uri("thing")) as p:
        method = p.add
        assert (method.func is Pyro5._client_magic._send_with) == own_invoke
        assert repr(method) == "<Pyro5.client._RemoteMethod 'add'>"
        assert type(method).__name__ == "_RemoteMethod" and callable(method)
        with pytest.raises(AttributeError, match="dotted names"):
            method.sub_method()
        with pytest.raises(AttributeError):
            method.attribute = 1
        assert method(1, b=2) == 3 and method(a=2, b=2) == 4 and method(*(3, 4)) == 7
        with pytest.raises(TypeError):      # (the server's error, as through _pyroInvoke)
            method(1, 2, 3)
        assert p.echo([1, (2,)]) in ([1, (2,)], [1, [2]])


def test_a_remote_method_object_sends_its_arguments_as_given(peer):
    """What invoke_args hands to the call: the positional arguments as a tuple, the keyword arguments as a dict (as
    _pyroInvoke gets them from a method object)."""
    seen = []

    with Proxy(peer.uri("thing")) as p:
        assert p.add(1, 2) == 3
        real_call = Pyro5._client_fast.call

        def recording_call(proxy, link, method, vargs, kwargs):
            seen.append((method, vargs, kwargs))
            return real_call(proxy, link, method, vargs, kwargs)

        Pyro5._client_fast.call = recording_call
        try:
            assert p.add(1, b=2) == 3 and p.add(5, 6) == 11
        finally:
            Pyro5._client_fast.call = real_call
    assert seen == [("add", (1,), {"b": 2}), ("add", (5, 6), {})]
    assert [type(v) for _, v, k in seen] == [tuple, tuple] and [type(k) for _, v, k in seen] == [dict, dict]


def test_an_unknown_serializer_on_a_connected_proxy_fails_as_through_pyroInvoke(peer):
    """The usual call hands a proxy whose serializer is unknown to the full path, which raises what it raises
    there (before sending anything: the connection stays)."""
    with Proxy(peer.uri("thing")) as p:
        assert p.add(1, 2) == 3
        conn = p._pyroConnection
        p._pyroSerializer = "bogus"
        with pytest.raises(KeyError, match="unknown serializer 'bogus'") as through_method:
            p.add(1, 2)
        with pytest.raises(KeyError) as through_invoke:
            p._pyroInvoke("add", (1, 2), {})
        assert str(through_method.value) == str(through_invoke.value)
        assert isinstance(through_method.value, Pyro5.errors.SerializeError)
        p._pyroSerializer = None
        assert p.add(2, 2) == 4 and p._pyroConnection is conn


def test_the_usual_call_sends_the_bytes_of_the_serializer(monkeypatch):
    """A marshal call through the usual path with a list of arguments (which marshal takes as it is) sends exactly
    dumpsCall's bytes: marshal marks an object that is referenced more than once, so a reference to an argument
    that the call path keeps (a loop variable) would change them. (Through a method object the arguments are in
    more than one tuple on the way anyway: the same call, marked the same as before this path existed.)"""
    payloads = []

    def behaviour(conn):
        handshake_ok(conn)
        while True:
            msg = recv_message(conn)
            payloads.append((msg.serializer_id, msg.data))
            conn.sendall(protocol.SendingMessage(protocol.MSG_RESULT, 0, msg.seq, msg.serializer_id,
                                                 marshal_serializer.dumps(None)).data)

    monkeypatch.setattr(Pyro5.config, "SERIALIZER", "marshal")
    marshal_serializer = Pyro5.serializers.serializers["marshal"]
    daemon = FakeDaemon(behaviour)
    try:
        with Proxy(daemon.uri) as p:
            p._pyroTimeout = 10      # (a bug must not hang the test)
            assert p._pyroInvoke("add", ["a", ["fresh", 1], (2,)], {}) is None
            assert p.add("a", ["fresh", 1], (2,)) is None
            assert p._pyroInvoke("add", ["x", {"k": [b"v"]}], {"kw": ["y"]}) is None
            object_id = p._pyroConnection.objectId     # (the same str object: marshal marks interned strs)
    finally:
        daemon.close()
    assert payloads[0] == (2, marshal_serializer.dumpsCall(object_id, "add", ["a", ["fresh", 1], (2,)], {}))
    assert payloads[2] == (2, marshal_serializer.dumpsCall(object_id, "add", ["x", {"k": [b"v"]}], {"kw": ["y"]}))
    assert marshal_serializer.loadsCall(payloads[1][1]) == marshal_serializer.loadsCall(payloads[0][1])
