"""What a call answered on the plain path (_svr_linger._serve_plain, _svr_plain._answer_plain →
_svr_fastcall.answer_plain) leaves behind, and how its reply goes out, over real sockets on both servers:

- answer_plain sets the correlation id of the call's context only when it changes: a plain call after a call with
  a correlation id (which takes the general path) must still see None, and a call's annotations and response
  annotations are its own;
- the reply goes out with one send where the socket takes it all; what the socket does not take is sent after it
  (the multiplex loop's own send, and the thread pool worker's), in order, also with several requests in a row.
"""
from __future__ import annotations

import socket
import uuid

import pytest

import Pyro5
from Pyro5 import _svr_linger, _svr_plain, protocol
from Pyro5._svr_conn import MuxConnection
from Pyro5.server import Daemon, expose
from tests.server._helpers import RawClient, wait_for


@expose
class State:
    def ctx(self):
        c = Pyro5.current_context
        return {"seq": c.seq, "corr": str(c.correlation_id) if c.correlation_id else None,
                "annotations": sorted(c.annotations), "response": sorted(c.response_annotations)}

    def annotate(self, key):
        Pyro5.current_context.response_annotations[key] = b"x"
        Pyro5.current_context.annotations[key] = b"y"     # (changes this call's dict only)
        return key

    def blob(self, size):
        return b"b" * size


@pytest.fixture(params=["thread", "multiplex"])
def server(request, start_daemon):
    Pyro5.config.SERVERTYPE = request.param
    rd = start_daemon(Daemon)
    rd.daemon.register(State(), "state")
    return rd


@pytest.fixture
def answered(monkeypatch):
    """The seqs of the requests that the plain path answered."""
    seqs: list = []
    for module in (_svr_linger, _svr_plain):
        def counting(*args, _original=module.answer_plain):
            seqs.append(args[3][2])
            return _original(*args)
        monkeypatch.setattr(module, "answer_plain", counting)
    return seqs


def call(client: RawClient, method: str, vargs: tuple = (), correlation_id=None, annotations=None):
    client.seq += 1
    payload = client.ser.dumpsCall("state", method, vargs, {})
    client.send_raw(protocol.SendingMessage(protocol.MSG_INVOKE, 0, client.seq, client.ser.serializer_id, payload,
                                            annotations, correlation_id=correlation_id).data)
    msg, value = client.receive()
    assert msg.seq == client.seq and not msg.flags & protocol.FLAGS_EXCEPTION, value
    return msg, value


@pytest.mark.parametrize("serializer", ["msgpack", "marshal", "json"])
def test_a_plain_call_after_one_with_a_correlation_id_has_none(server, answered, serializer):
    first, second = uuid.uuid4(), uuid.uuid4()
    with RawClient(server.address, serializer) as c:
        c.connect("state")
        seen = []
        for corr in (None, first, None, None, second, second, None):
            msg, value = call(c, "ctx", correlation_id=corr)
            seen.append(value["corr"])
            assert value["seq"] == msg.seq
        assert seen == [None, str(first), None, None, str(second), str(second), None]
        # the calls without a correlation id took the plain path (the others the general one)
        assert len(answered) >= 4 and all(seq in (1, 3, 4, 7) for seq in answered)


def test_annotations_of_a_call_stay_its_own(server, answered):
    with RawClient(server.address, "msgpack") as c:
        c.connect("state")
        msg, value = call(c, "annotate", ("ONE1",))
        assert value == "ONE1" and msg.annotations.get("ONE1") == b"x"
        msg, value = call(c, "ctx")     # (a plain call: nothing of the call before it)
        assert value["annotations"] == [] and value["response"] == [] and "ONE1" not in msg.annotations
        msg, value = call(c, "ctx", annotations={"XTRA": b"1"})     # (the general path)
        assert value["annotations"] == ["XTRA"]
        msg, value = call(c, "ctx")
        assert value["annotations"] == [] and value["response"] == []
    assert len(answered) >= 2


def test_a_reply_the_socket_takes_in_parts(server, answered, monkeypatch):
    """The server's send buffer is made small, so the plain path's one send takes only a part of a 60,000-byte
    reply (below the size up to which the reply is one bytes object): the rest follows through the connection's
    send, in order, and the next requests are answered as usual."""
    rests: list = []
    original_send = MuxConnection.send

    def counting_send(self, data):
        if type(data) is tuple and len(data) == 1 and len(data[0]) < 60000:
            rests.append(len(data[0]))
        return original_send(self, data)

    monkeypatch.setattr(MuxConnection, "send", counting_send)
    sock = socket.create_connection(server.address, timeout=10)
    with RawClient(server.address, "msgpack", timeout=10, sock=sock) as c:
        c.connect("state")
        assert wait_for(lambda: len(server.daemon.transportServer._connections) == 1)
        server_sock = next(iter(server.daemon.transportServer._connections.values())).sock
        server_sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        for size in (60000, 10, 60000, 59000, 3):
            msg, value = call(c, "blob", (size,))
            assert value == b"b" * size
        assert 1 in answered      # (the first reply went out from the plain path, in parts)
        assert rests, "no reply was sent in parts"
