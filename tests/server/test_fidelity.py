"""Behaviour of the original Pyro5 5.15 that programs rely on (issue 8), checked in-process on our daemon.

tests/interop/test_interop_daemon_fidelity.py runs the same rules against the original as well.
"""
from __future__ import annotations

import os
import socket
import sys
import threading

import pytest

from Pyro5 import errors, protocol
from Pyro5.server import Daemon, expose
from Pyro5.svr_threads import NoFreeWorkersError, Pool, PoolError
from tests.server._helpers import RawClient, is_exception, wait_for


@expose
class Holder:
    """Hands out its own daemon (as programs do by accident with self._pyroDaemon)."""

    release = threading.Event()
    started = threading.Event()

    def mydaemon(self):
        return self._pyroDaemon

    def echo(self, value):
        return repr(value)

    def block(self):
        Holder.started.set()
        return Holder.release.wait(10)


def test_daemon_in_a_result_arrives_as_an_unusable_placeholder(servertype, start_daemon):
    rd = start_daemon()
    rd.daemon.register(Holder, "holder")
    for serializer in ("serpent", "json", "marshal", "msgpack"):
        with RawClient(rd.address, serializer=serializer) as c:
            c.connect("holder")
            msg, result = c.call("holder", "mydaemon")
            assert not is_exception(msg), result
            assert isinstance(result, Daemon) and result is not rd.daemon
            assert "unusable" in repr(result) and result.objectsById == {} and result.transportServer is None
            with pytest.raises(errors.DaemonError):
                result.requestLoop()
            result.close()          # harmless
            # and as an argument: the server receives a placeholder too
            assert "unusable" in c.result("holder", "echo", rd.daemon)


def test_pool_names_of_the_original(start_daemon):
    assert issubclass(NoFreeWorkersError, PoolError)
    pool = Pool(0, 1)
    gate = threading.Event()
    try:
        pool.submit(lambda: gate.wait(10))
        wait_for(lambda: len(pool.busy) == 1)
        assert isinstance(pool.busy, frozenset) and not pool.idle
        with pytest.raises(NoFreeWorkersError):
            pool.submit(lambda: None)
        gate.set()
        wait_for(lambda: len(pool.idle) == 1 and not pool.busy)
    finally:
        gate.set()
        pool.close()


def test_thread_server_pool_shows_busy_workers(start_daemon):
    rd = start_daemon()
    rd.daemon.register(Holder, "holder")
    pool = rd.daemon.transportServer.pool
    Holder.started.clear()
    Holder.release.clear()
    with RawClient(rd.address) as c:
        c.connect("holder")
        seq = c.send_call("holder", "block")
        try:
            assert Holder.started.wait(5)
            assert len(pool.busy) >= 1
        finally:
            Holder.release.set()
        msg, _ = c.receive()
        assert msg.seq == seq


def test_multiplex_closes_the_connection_when_the_handshake_raises(start_daemon):
    import Pyro5
    Pyro5.config.SERVERTYPE = "multiplex"

    class Raising(Daemon):
        def validateHandshake(self, conn, data):
            raise KeyboardInterrupt("from the validator")   # not an Exception: it ends the loop (as the original)
    rd = start_daemon(daemon_class=Raising)
    rd.daemon.register(Holder, "holder")
    with RawClient(rd.address, timeout=30) as c:
        c.send_raw(protocol.SendingMessage(protocol.MSG_CONNECT, 0, 0, c.ser.serializer_id,
                                           c.ser.dumps({"handshake": "hi", "object": "holder"})).data)
        assert c.sock.recv(100) == b""      # closed at once (not: socket.timeout after 30 s)
    rd.thread.join(10)
    assert not rd.thread.is_alive()


def test_validator_timeout_error_is_a_rejection(servertype, start_daemon):
    class Slow(Daemon):
        def validateHandshake(self, conn, data):
            raise errors.TimeoutError("too slow")
    rd = start_daemon(daemon_class=Slow)
    rd.daemon.register(Holder, "holder")
    with RawClient(rd.address) as c:
        msg, data = c.connect("holder")
        assert msg.type == protocol.MSG_CONNECTFAIL and data == "too slow"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract unix sockets are Linux only")
def test_abstract_unix_socket(servertype, start_daemon):
    name = "\0pyro5-server-test-%d-%s" % (os.getpid(), servertype)
    rd = start_daemon(unixsocket=name)
    uri = rd.daemon.register(Holder, "holder")
    assert rd.daemon.locationStr == "./u:" + name and uri.sockname == name
    with RawClient(name) as c:
        c.connect("holder")
        assert c.result("holder", "echo", 1) == "1"
    rd.stop()
    probe = socket.socket(socket.AF_UNIX)
    try:
        with pytest.raises(OSError):
            probe.connect(name)     # the abstract name is gone with the daemon
    finally:
        probe.close()
