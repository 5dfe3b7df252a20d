"""Kernel timeouts of a proxy's connection (Pyro5._client_conn): with a timeout, the usual call switches the socket
of a connection the proxy opened itself to a blocking descriptor with the timeout in SO_RCVTIMEO (a call is one
send and one recv). What must not change: TimeoutError when the reply does not come within the timeout, the
connection released then and a new one on the next call, replies in any split, a changed `_pyroTimeout`, the
full path on the same socket, signals during the wait, TLS and user-supplied sockets left in their mode.

The first tests talk to the peer server (the original Pyro5 or ours); the wire-level ones attach one end of a
socket pair to a proxy and play the daemon on the other end in a thread."""
from __future__ import annotations

import os
import signal
import socket
import struct
import tempfile
import threading

import pytest

import Pyro5
import Pyro5.errors
from Pyro5 import _client_conn, protocol, serializers
from Pyro5.callcontext import current_context
from Pyro5.client import BatchProxy, Proxy
from tests.client._peer import start_peer, start_peer_on_socket

pytestmark = pytest.mark.skipif(not _client_conn._KERNEL_TIMEOUTS, reason="kernel timeouts: 64-bit Linux only")

SER = serializers.serializers["serpent"]
_timeval = struct.Struct("@ll")


def rcvtimeo(sock: socket.socket) -> tuple[int, int]:
    """(seconds, microseconds) in the socket's SO_RCVTIMEO."""
    return _timeval.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, _timeval.size))


def in_kernel_mode(p: Proxy, timeout: float) -> bool:
    conn = p._pyroConnection
    seconds = int(timeout)
    return conn is not None and conn.sock.gettimeout() is None and conn.kernel_timeout == timeout and \
        rcvtimeo(conn.sock) == (seconds, round((timeout - seconds) * 1e6))


@pytest.fixture(autouse=True)
def _clean_context():
    yield
    current_context.annotations = {}
    current_context.response_annotations = {}


# ------------------------------------------------------------------------------------ against the peer server

def test_usual_call_switches_and_the_timeout_is_still_reported(peer):
    with Proxy(peer.uri()) as p:
        p._pyroTimeout = 5
        p._pyroBind()
        conn = p._pyroConnection
        assert conn.sock.gettimeout() == 5 and rcvtimeo(conn.sock) == (0, 0)    # (connected in timeout mode)
        assert p.add(1, 2) == 3
        assert in_kernel_mode(p, 5)
        assert conn.timeout == 5 and conn.gettimeout() == 5 and conn.getTimeout() == 5 and p._pyroTimeout == 5
        assert [p.add(i, 1) for i in range(50)] == list(range(1, 51))


def test_daemon_does_not_answer_in_time_then_reconnect(peer):
    with Proxy(peer.uri()) as p:
        p._pyroTimeout = 0.3
        assert p.add(1, 2) == 3
        assert in_kernel_mode(p, 0.3)
        with pytest.raises(Pyro5.errors.TimeoutError, match="receiving: timeout"):
            p.sleep(2)
        assert p._pyroConnection is None        # released: the late reply must not be taken for the next one's
        assert p.add(1, 5) == 6                 # a new connection (connecting takes the full path)
        assert p.add(1, 6) == 7 and in_kernel_mode(p, 0.3)


def test_timeout_changed_between_calls(peer):
    with Proxy(peer.uri()) as p:
        p._pyroTimeout = 0.3
        assert p.add(1, 1) == 2 and in_kernel_mode(p, 0.3)
        sock = p._pyroConnection.sock
        p._pyroTimeout = None                   # no limit: the kernel's timeout is gone too
        assert sock.gettimeout() is None and rcvtimeo(sock) == (0, 0) and p._pyroConnection.timeout is None
        assert p.sleep(0.5) == 0.5
        p._pyroTimeout = 2.5
        assert p._pyroConnection.timeout == 2.5 and sock.gettimeout() == 2.5
        assert p.add(2, 2) == 4 and in_kernel_mode(p, 2.5)
        p._pyroTimeout = 0.3
        with pytest.raises(Pyro5.errors.TimeoutError):
            p.sleep(2)
        assert p._pyroConnection is None
        p._pyroTimeout = 0                      # (0: no limit, like None)
        assert p.add(1, 1) == 2 and p.sleep(0.5) == 0.5
        assert p._pyroConnection.sock.gettimeout() is None and rcvtimeo(p._pyroConnection.sock) == (0, 0)


def test_full_path_calls_on_a_switched_socket(peer):
    with Proxy(peer.uri()) as p:
        p._pyroTimeout = 0.3
        assert p.add(1, 2) == 3 and in_kernel_mode(p, 0.3)
        current_context.annotations = {"XTRA": b"one"}      # (request annotations: the full path)
        assert p.ctx()["ann"] == {"XTRA": "one"}
        assert in_kernel_mode(p, 0.3)
        with pytest.raises(Pyro5.errors.TimeoutError):
            p.sleep(2)
        assert p._pyroConnection is None
        current_context.annotations = {}
        assert p.add(1, 2) == 3 and p.add(1, 3) == 4 and in_kernel_mode(p, 0.3)
        batch = BatchProxy(p)
        batch.add(1, 1)
        batch.add(2, 2)
        assert list(batch()) == [2, 4]
        assert p.ow("kernel", "yes") is None                # (oneway: sent, nothing received)
        assert p.get("kernel") in ("yes", None)             # (the oneway call may still be running)
        assert list(p.gen(3)) == [0, 1, 2]
        assert p.download(300_000, True) == "x" * 300_000    # (a reply bigger than one receive)
        assert p.add(5, 5) == 10 and in_kernel_mode(p, 0.3)


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix domain sockets")
def test_unix_socket():
    with tempfile.TemporaryDirectory() as d, start_peer(unixsocket=os.path.join(d, "pyro.sock")) as unix_peer:
        with Proxy(unix_peer.uri()) as p:
            p._pyroTimeout = 0.3
            assert p.add(1, 2) == 3 and in_kernel_mode(p, 0.3)
            with pytest.raises(Pyro5.errors.TimeoutError):
                p.sleep(2)
            assert p._pyroConnection is None
            assert p.add(3, 4) == 7 and p.add(3, 5) == 8
            assert p._pyroConnection.family() == "Unix" and in_kernel_mode(p, 0.3)


@pytest.mark.skipif(not hasattr(socket, "socketpair"), reason="no socketpair")
def test_user_supplied_socket_keeps_its_mode():
    ours, theirs = socket.socketpair()
    try:
        daemon = start_peer_on_socket(theirs)
        theirs.close()
        try:
            with Proxy("thing", connected_socket=ours) as p:
                p._pyroTimeout = 0.3
                assert p.add(1, 2) == 3
                assert ours.gettimeout() == 0.3 and rcvtimeo(ours) == (0, 0)
                with pytest.raises(Pyro5.errors.TimeoutError):
                    p.sleep(2)
        finally:
            daemon.stop()
    finally:
        ours.close()


# ------------------------------------------------------------------------------------ wire level (socket pair)

class FakeDaemon:
    """The other end of a proxy's socket pair, in a thread: `serve(request_handler)` reads one request and calls
    request_handler(sock, request); the error of the thread, if any, is raised by join()."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.error: BaseException | None = None
        self.thread: threading.Thread | None = None

    def serve(self, handler) -> None:
        def run() -> None:
            try:
                reader = protocol.MessageReader()
                self.sock.settimeout(10)
                messages: list = []
                while not messages:
                    data = self.sock.recv(1 << 20)
                    if not data:
                        return
                    messages = reader.feed(data)
                handler(self.sock, messages[0])
            except BaseException as x:      # (reported by join)
                self.error = x
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def join(self) -> None:
        assert self.thread is not None
        self.thread.join(10)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def reply(value, seq: int) -> bytes:
    return protocol.SendingMessage(protocol.MSG_RESULT, 0, seq, SER.serializer_id, SER.dumps(value),
                                   correlation_id=None).data


@pytest.fixture
def wire():
    """(proxy attached to one end of a socket pair with timeout 5, FakeDaemon on the other end)"""
    ours, theirs = socket.socketpair()
    Pyro5.config.SERIALIZER = "serpent"
    p = Proxy("PYRO:thing@127.0.0.1:1")     # (never connects: the socket is attached below)
    p._pyroTimeout = 5
    p._pyroMethods = {"m"}
    conn = _client_conn.ProxySocketConnection(ours, "thing")
    conn.timeout = 5
    p._Proxy__link.attach(conn, "PYRO:thing@test:1")
    try:
        yield p, FakeDaemon(theirs)
    finally:
        p._pyroRelease()
        ours.close()
        theirs.close()


def test_reply_in_single_bytes(wire):
    p, daemon = wire
    daemon.serve(lambda sock, msg: [sock.sendall(b) for b in (bytes((x,)) for x in reply("answer", msg.seq))])
    assert p.m() == "answer"
    daemon.join()
    assert in_kernel_mode(p, 5)


def test_reply_bigger_than_the_first_receive(wire):
    p, daemon = wire
    daemon.serve(lambda sock, msg: sock.sendall(reply("y" * 100_000, msg.seq)))
    assert p.m() == "y" * 100_000
    daemon.join()


@pytest.mark.parametrize("timeout, answer", [
    (0.3, lambda sock, msg: sock.sendall(reply("late", msg.seq)[:30])),     # part of the header, then nothing
    (0.2, lambda sock, msg: None),                                          # no reply at all
], ids=["part-of-a-reply-then-nothing", "no-reply-at-all"])
def test_no_whole_reply_in_time(wire, timeout, answer):
    p, daemon = wire
    p._pyroTimeout = timeout
    daemon.serve(answer)
    with pytest.raises(Pyro5.errors.TimeoutError, match="receiving: timeout"):
        p.m()
    daemon.join()
    assert p._pyroConnection is None


def test_daemon_closes_instead_of_replying(wire):
    p, daemon = wire
    daemon.serve(lambda sock, msg: sock.shutdown(socket.SHUT_WR))
    with pytest.raises(Pyro5.errors.ConnectionClosedError):
        p.m()
    daemon.join()
    assert p._pyroConnection is None


def test_request_bigger_than_the_socket_takes_at_once(wire):
    p, daemon = wire
    p._pyroConnection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    text = "z" * 500_000
    daemon.serve(lambda sock, msg: sock.sendall(reply(len(SER.loadsCall(msg.data)[2][0]), msg.seq)))
    assert p.m(text) == 500_000
    daemon.join()
    assert in_kernel_mode(p, 5)


def test_request_not_taken_within_the_timeout(wire):
    p, daemon = wire
    p._pyroTimeout = 0.3
    p._pyroConnection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    with pytest.raises(Pyro5.errors.TimeoutError, match="sending: timeout"):
        p.m("z" * 5_000_000)            # (the daemon reads nothing)
    assert p._pyroConnection is None


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="no pthread_kill")
def test_signal_while_waiting_for_the_reply(wire):
    # a signal handler that returns: the receive goes on (interrupted system call retried) and gets the reply
    p, daemon = wire
    handled = threading.Event()
    main = threading.get_ident()
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: handled.set())
    try:
        def answer_after_the_signal(sock, msg):
            signal.pthread_kill(main, signal.SIGUSR1)
            assert handled.wait(10)
            sock.sendall(reply("after the signal", msg.seq))
        daemon.serve(answer_after_the_signal)
        assert p.m() == "after the signal"
        daemon.join()
        assert in_kernel_mode(p, 5)
    finally:
        signal.signal(signal.SIGUSR1, previous)


class Interrupted(Exception):
    pass


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="no pthread_kill")
def test_signal_handler_raising_while_waiting(wire):
    p, daemon = wire
    main = threading.get_ident()

    def handler(signum, frame):
        raise Interrupted()
    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        daemon.serve(lambda sock, msg: signal.pthread_kill(main, signal.SIGUSR1))
        with pytest.raises(Interrupted):
            p.m()
        daemon.join()
        assert p._pyroConnection is None        # (out of sync: released)
    finally:
        signal.signal(signal.SIGUSR1, previous)
