"""The thread pool server's worker answers a connection's usual requests in one loop (svr_threads._work →
_svr_linger._serve_plain: receive, _wire_reader.plain_message, _svr_fastcall.answer_plain, send), the multiplex
server's loop thread in one method (_svr_plain._answer_plain), and anything else through the general path. Over
real sockets, every scenario gives the same results and errors with those as with the general path alone
(plain_message made to say None), and they did answer the usual calls."""
from __future__ import annotations

import socket

import pytest

import Pyro5
from Pyro5 import _svr_linger, _svr_plain, errors, protocol, serializers
from Pyro5.client import Proxy
from Pyro5.server import Daemon
from tests.server._helpers import RawClient, wait_for
from tests.server._objects import Session, Thing


@pytest.fixture(params=["loop", "general"])
def path(request, monkeypatch):
    """Which path answers: "loop" (counting the requests _serve_plain or _answer_plain answer) or "general" only."""
    answered = []
    for module in (_svr_linger, _svr_plain):
        if request.param == "loop":
            def counting(*args, _original=module.answer_plain):
                answered.append(args[3][2])     # (the request's seq)
                return _original(*args)
            monkeypatch.setattr(module, "answer_plain", counting)
        else:
            monkeypatch.setattr(module, "plain_message", lambda reader, data, msgtype, correlation_ok=False: None)
    return request.param, answered


@pytest.fixture(params=["thread", "multiplex"])
def server(request, start_daemon):
    Pyro5.config.SERVERTYPE = request.param
    rd = start_daemon(Daemon)
    rd.daemon.register(Thing(), "thing")
    rd.daemon.register(Session, "session")
    return rd


def proxy_scenario(uri: str, serializer: str) -> list:
    Pyro5.config.SERIALIZER = serializer
    results: list = []
    with Proxy(uri) as p:
        results.append(p.echo("hello"))
        results.append(p.add(1, b=41))
        for method in ("boom", "nope", "plain"):
            try:
                getattr(p, method)()
            except Exception as x:
                results.append((type(x).__name__, str(x)))
        p.fire(5)       # a oneway call: the general path, inside the loop
        results.append(p.add(2, 3))
        ctx = p.ctx()
        results.append((ctx["seq"], ctx["flags"], ctx["ser"], ctx["corr"], ctx["client"]))
        results.append(list(p.gen(3)))
        results.append(p.annotations_echo())
        results.append(p.value)
        results.append(p.echo(list(range(3000))) == list(range(3000)))      # (more than one small message)
    with Proxy(uri.replace("thing", "session")) as s:
        results.append(len({s.ident() for _ in range(5)}))      # one session instance
    return results


@pytest.mark.parametrize("serializer", ["serpent", "msgpack", "marshal", "json"])
def test_proxy_calls_give_the_same_results(server, path, serializer):
    name, answered = path
    results = proxy_scenario("PYRO:thing@127.0.0.1:%d" % server.port, serializer)
    assert results[0] == "hello" and results[1] == 42 and results[5] == 5
    assert [r[0] for r in results[2:5]] == ["ValueError", "AttributeError", "AttributeError"]
    assert results[6][1:] == (0, serializers.serializers[serializer].serializer_id, None, True)
    assert results[7] == [0, 1, 2] and results[-2] is True and results[-1] == 1
    # the same in both modes: the expected values above, and the loop answered most calls
    if name == "loop":
        assert len(answered) >= 8
    else:
        assert answered == []


def raw_scenario(address, serializer: str = "msgpack") -> list:
    results: list = []
    with RawClient(address, serializer) as c:
        c.connect("thing")
        msg, value = c.call("thing", "add", (1, 2))
        results.append(value)
        # a plain request whose payload is not what the serializer reads: an error reply, the connection stays
        c.seq += 1
        c.send_raw(protocol.SendingMessage(protocol.MSG_INVOKE, 0, c.seq, 4, b"\xc1\xc1", correlation_id=None).data)
        msg, value = c.receive()
        results.append((msg.seq == c.seq, bool(msg.flags & protocol.FLAGS_EXCEPTION), type(value).__name__))
        # a request in two parts, and two requests in one send
        c.seq += 1
        data = protocol.SendingMessage(protocol.MSG_INVOKE, 0, c.seq, 4,
                                       c.ser.dumpsCall("thing", "add", (3, 4), {}), correlation_id=None).data
        c.send_raw(data[:10])
        c.send_raw(data[10:])
        msg, value = c.receive()
        results.append((msg.seq == c.seq, value))
        first = c.seq + 1
        both = b"".join(protocol.SendingMessage(protocol.MSG_INVOKE, 0, first + i, 4,
                                                c.ser.dumpsCall("thing", "add", (i, 10), {}), correlation_id=None).data
                        for i in range(2))
        c.seq += 2
        c.send_raw(both)
        results.append([(m.seq - first, v) for m, v in (c.receive(), c.receive())])
        # a request with annotations and a correlation id (the general path), then a plain one again
        msg, value = c.call("thing", "add", (5, 6), annotations={"XTRA": b"x"})
        results.append(value)
        msg, value = c.call("thing", "echo", ("last",))
        results.append(value)
        # bad bytes: the connection is closed
        c.send_raw(b"PYRO\x01\xf6" + b"\0" * 34)
        try:
            msg, value = c.receive()
            results.append(("reply", bool(msg.flags & protocol.FLAGS_EXCEPTION)))
            c.receive()
        except (errors.ConnectionClosedError, ConnectionError, socket.timeout) as x:
            results.append(("closed", type(x).__name__))
    return results


def test_raw_requests_give_the_same_answers(server, path):
    name, answered = path
    results = raw_scenario(server.address)
    assert results[:6] == [3, (True, True, "SerializeError"), (True, 7), [(0, 10), (1, 11)], 11, "last"]
    assert results[6][0] in ("reply", "closed")
    assert wait_for(lambda: not server.daemon.transportServer._connections)      # (the server closed it)
    if name == "loop":
        assert len(answered) >= 3
    else:
        assert answered == []


def test_a_peer_that_closes_while_its_worker_waits(server, path):
    with RawClient(server.address, "msgpack") as c:
        c.connect("thing")
        assert c.call("thing", "add", (1, 2))[1] == 3
        assert c.call("thing", "add", (2, 2))[1] == 4
    assert wait_for(lambda: not server.daemon.transportServer._connections)
    with RawClient(server.address, "msgpack") as c:       # (the server goes on)
        c.connect("thing")
        assert c.call("thing", "add", (3, 2))[1] == 5
