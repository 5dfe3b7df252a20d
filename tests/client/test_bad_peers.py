"""The proxy against misbehaving servers: a small raw-socket daemon in a thread sends garbage, wrong sequence
numbers, nothing at all, or hangs up. The proxy must raise a clear Pyro error and drop the connection."""
from __future__ import annotations

import socket
import threading

import pytest

import Pyro5.errors
import Pyro5.protocol as protocol
import Pyro5.serializers
from Pyro5.client import Proxy

SERPENT = Pyro5.serializers.serializers["serpent"]
META = {"methods": {"add"}, "oneway": set(), "attrs": set()}


class FakeDaemon:
    """Accepts connections on 127.0.0.1 and runs `behaviour(conn)` for each, in a thread."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def uri(self) -> str:
        return "PYRO:fake@127.0.0.1:%d" % self.port

    def serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return
            conn.settimeout(10)
            self.conns.append(conn)
            threading.Thread(target=self.run_behaviour, args=(conn,), daemon=True).start()

    def run_behaviour(self, conn):
        try:
            self.behaviour(conn)
        except (OSError, Pyro5.errors.PyroError):
            pass  # the proxy went away

    def close(self):
        self.running = False
        self.thread.join(5)
        self.sock.close()
        for c in self.conns:
            c.close()


def recv_message(conn: socket.socket) -> protocol.ReceivingMessage:
    class Wrapper:
        def recv(self, size):
            data = b""
            while len(data) < size:
                chunk = conn.recv(size - len(data))
                if not chunk:
                    raise Pyro5.errors.ConnectionClosedError("closed")
                data += chunk
            return data
    return protocol.recv_stub(Wrapper())


def send(conn, msgtype, seq, data, flags=0, annotations=None):
    payload = SERPENT.dumps(data)
    conn.sendall(protocol.SendingMessage(msgtype, flags, seq, SERPENT.serializer_id, payload, annotations).data)


def handshake_ok(conn):
    msg = recv_message(conn)
    send(conn, protocol.MSG_CONNECTOK, msg.seq, {"handshake": "hello", "meta": META})


@pytest.fixture
def fake():
    Pyro5.config.COMMTIMEOUT = 10  # a bug must not hang the test
    daemons = []

    def make(behaviour):
        d = FakeDaemon(behaviour)
        daemons.append(d)
        return d

    yield make
    for d in daemons:
        d.close()


def assert_call_fails(fake, behaviour, exception, match=None, dropped=False):
    """A proxy call to a fake peer with this behaviour raises exception (and the proxy dropped the connection)."""
    d = fake(behaviour)
    with Proxy(d.uri) as p:
        with pytest.raises(exception, match=match):
            p.add(1, 2)
        if dropped:
            assert p._pyroConnection is None


def test_garbage_instead_of_handshake(fake):
    def behaviour(conn):
        recv_message(conn)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"x" * 40)
    assert_call_fails(fake, behaviour, Pyro5.errors.ProtocolError, "not a Pyro message", dropped=True)


def test_hangup_during_handshake(fake):
    d = fake(lambda conn: (recv_message(conn), conn.close()))
    with Proxy(d.uri) as p:
        with pytest.raises(Pyro5.errors.CommunicationError, match="closed the connection during the handshake"):
            p.add(1, 2)
        assert p._pyroConnection is None


def test_invalid_handshake_response(fake):
    def behaviour(conn):
        msg = recv_message(conn)
        send(conn, protocol.MSG_CONNECTOK, msg.seq, "no metadata here")
    assert_call_fails(fake, behaviour, Pyro5.errors.ProtocolError, "invalid handshake response")


def test_wrong_message_type_in_handshake(fake):
    def behaviour(conn):
        msg = recv_message(conn)
        send(conn, protocol.MSG_RESULT, msg.seq, 42)
    assert_call_fails(fake, behaviour, Pyro5.errors.ProtocolError)


def test_wrong_sequence_number(fake):
    def behaviour(conn):
        handshake_ok(conn)
        msg = recv_message(conn)
        send(conn, protocol.MSG_RESULT, (msg.seq + 5) & 0xffff, 3)
    assert_call_fails(fake, behaviour, Pyro5.errors.ProtocolError, "sequence number", dropped=True)


def test_wrong_message_type_for_result(fake):
    def behaviour(conn):
        handshake_ok(conn)
        msg = recv_message(conn)
        send(conn, protocol.MSG_CONNECTOK, msg.seq, 3)
    assert_call_fails(fake, behaviour, Pyro5.errors.ProtocolError, "invalid msg type", dropped=True)


def test_hangup_during_call(fake):
    def behaviour(conn):
        handshake_ok(conn)
        recv_message(conn)
        conn.close()
    assert_call_fails(fake, behaviour, Pyro5.errors.ConnectionClosedError, dropped=True)


def test_no_answer_times_out(fake):
    release = threading.Event()

    def behaviour(conn):
        handshake_ok(conn)
        recv_message(conn)
        release.wait(10)
    d = fake(behaviour)
    try:
        with Proxy(d.uri) as p:
            p._pyroTimeout = 0.3
            with pytest.raises(Pyro5.errors.TimeoutError):
                p.add(1, 2)
            assert p._pyroConnection is None
    finally:
        release.set()


def test_handshake_never_answered(fake):
    release = threading.Event()

    def behaviour(conn):
        recv_message(conn)
        release.wait(10)
    d = fake(behaviour)
    try:
        with Proxy(d.uri) as p:
            p._pyroTimeout = 0.3
            with pytest.raises(Pyro5.errors.TimeoutError):
                p._pyroBind()
            assert p._pyroConnection is None
    finally:
        release.set()


def test_exception_flag_without_exception(fake):
    def behaviour(conn):
        handshake_ok(conn)
        msg = recv_message(conn)
        send(conn, protocol.MSG_RESULT, msg.seq, "not an exception", flags=protocol.FLAGS_EXCEPTION)
    assert_call_fails(fake, behaviour, Pyro5.errors.ProtocolError, "signaled an exception")


def test_stream_result_without_stream_id(fake):
    def behaviour(conn):
        handshake_ok(conn)
        msg = recv_message(conn)
        send(conn, protocol.MSG_RESULT, msg.seq, None, flags=protocol.FLAGS_ITEMSTREAMRESULT)
    assert_call_fails(fake, behaviour, Pyro5.errors.ProtocolError, "not configured to allow streaming")


def test_oversized_response_refused(fake):
    big = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, SERPENT.serializer_id, SERPENT.dumps("x" * 5000)).data

    def behaviour(conn):
        handshake_ok(conn)
        recv_message(conn)
        conn.sendall(big)
    Pyro5.config.MAX_MESSAGE_SIZE = 1000
    assert_call_fails(fake, behaviour, Pyro5.errors.MessageTooLargeError, dropped=True)


def test_response_with_other_serializer(fake):
    def behaviour(conn):
        handshake_ok(conn)
        msg = recv_message(conn)
        payload = Pyro5.serializers.serializers["json"].dumps(3)
        conn.sendall(protocol.SendingMessage(protocol.MSG_RESULT, 0, msg.seq, 3, payload).data)
    assert_call_fails(fake, behaviour, Pyro5.errors.SerializeError, "invalid serializer in response")


def test_message_too_large_to_send(fake):
    calls = []

    def behaviour(conn):
        handshake_ok(conn)
        while True:
            msg = recv_message(conn)
            calls.append(msg.seq)
            send(conn, protocol.MSG_RESULT, msg.seq, 3)
    d = fake(behaviour)
    with Proxy(d.uri) as p:
        p._pyroBind()
        Pyro5.config.MAX_MESSAGE_SIZE = 10000
        with pytest.raises(Pyro5.errors.MessageTooLargeError):
            p.add("x" * 20000, "y")
        assert p.add(1, 2) == 3  # nothing was sent: the connection is still fine
        assert len(calls) == 1
