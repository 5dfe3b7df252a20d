"""The asyncio server: AsyncDaemon (Pyro5/aio/server.py) and config.SERVERTYPE = "asyncio", async def methods on
every daemon kind, the INFL capability (many calls in flight on one connection), backpressure and the limits.
Real sockets on 127.0.0.1; every wait is bounded; no assertion on elapsed time."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import threading

import pytest

import Pyro5
import Pyro5.errors
import Pyro5.protocol
from Pyro5 import _capabilities
from Pyro5.aio.client import AsyncBatchProxy, AsyncProxy
from Pyro5.aio.server import AsyncDaemon
from Pyro5.api import Daemon, Proxy, behavior, current_context, expose, oneway

WAIT = 20


def run(coro, timeout: float = 60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@expose
class Service:
    def __init__(self):
        self.release = threading.Event()
        self.blocked = threading.Event()
        self.log = []
        self.done = threading.Event()

    async def fetch(self, key):
        await asyncio.sleep(0)
        return ["async", key, current_context.seq, threading.current_thread() is threading.main_thread()]

    def compute(self, n):
        return ["sync", n * 2, threading.current_thread().name]

    def block(self):
        """sync: holds its worker until released (an async method releases it)"""
        self.blocked.set()
        released = self.release.wait(WAIT)
        self.log.append("block")
        return released

    async def unblock(self):
        self.log.append("unblock")
        self.release.set()
        return True

    async def quick(self):
        self.log.append("quick")
        return "quick"

    async def agen(self, n):
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    def gen(self, n):
        yield from range(n)

    async def context(self):
        current_context.response_annotations = {"ASYN": b"yes"}
        return [bytes(current_context.annotations.get("XTRA", b"")).decode(), current_context.client is not None]

    def sync_context(self):
        return [bytes(current_context.annotations.get("XTRA", b"")).decode(), current_context.client is not None]

    async def fail(self):
        raise ValueError("async boom")

    def big(self, n):
        return b"x" * n

    @oneway
    async def note(self, value):
        self.log.append(value)
        self.done.set()

    async def wait_gate(self, gate):
        """waits (on the loop) until `gate` calls went in: they all run at once"""
        self.log.append(gate)
        for _ in range(200):
            if self.log.count(gate) >= 3:
                return True
            await asyncio.sleep(0.01)
        return False


@behavior(instance_mode="session")
@expose
class Session:
    running = 0
    peak = 0
    lock = threading.Lock()

    def work(self, n):
        cls = type(self)
        with cls.lock:
            cls.running += 1
            cls.peak = max(cls.peak, cls.running)
        try:
            threading.Event().wait(0.02)      # (gives a concurrent call the chance to overlap)
            return n
        finally:
            with cls.lock:
                cls.running -= 1


class ConcurrentSession(Session):
    _pyroSessionConcurrent = True
    running = 0
    peak = 0
    lock = threading.Lock()


expose(ConcurrentSession)


class ServedDaemon:
    """An AsyncDaemon served by asyncio.run in a thread of its own."""

    def __init__(self, daemon: AsyncDaemon) -> None:
        self.daemon = daemon
        self.thread = threading.Thread(target=functools.partial(asyncio.run, daemon.requestLoop()), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.daemon.shutdown()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


@pytest.fixture
def served():
    """served(daemon) -> ServedDaemon; every daemon stopped at teardown."""
    started = []

    def start(daemon):
        s = ServedDaemon(daemon)
        started.append(s)
        return s
    yield start
    for s in started:
        s.stop()


@pytest.fixture
def service(served):
    d = AsyncDaemon(host="127.0.0.1")
    obj = Service()
    uri = d.register(obj, "svc")
    served(d)
    return obj, uri, d


def test_async_and_sync_methods(service):
    obj, uri, _ = service

    async def main():
        async with AsyncProxy(uri) as p:
            assert (await p.fetch("k"))[:2] == ["async", "k"]
            kind, value, thread = await p.compute(21)
            assert (kind, value) == ("sync", 42) and thread.startswith("Pyro-worker")
            assert [i async for i in p.agen(5)] == [0, 1, 2, 3, 4]
            assert [i async for i in p.gen(3)] == [0, 1, 2]
            with pytest.raises(ValueError, match="async boom") as exc:
                await p.fail()
            assert "async boom" in "".join(exc.value._pyroTraceback)
            current_context.annotations = {"XTRA": b"hi"}
            assert await p.context() == ["hi", True]
            assert current_context.response_annotations["ASYN"] == b"yes"
            assert await p.sync_context() == ["hi", True]
            await p.note("oneway")
            assert await asyncio.to_thread(obj.done.wait, WAIT)
            batch = AsyncBatchProxy(p)
            batch.fetch(1)
            batch.compute(2)
            batch.agen(3)
            r1, r2, r3 = list(await batch())
            assert r1[:2] == ["async", 1] and r2[:2] == ["sync", 4] and r3 == [0, 1, 2]
    run(main())
    with Proxy(uri) as p:        # the blocking Proxy too (no INFL asked)
        assert p.fetch(3)[:2] == ["async", 3] and p.compute(1)[:2] == ["sync", 2]
        assert list(p.agen(3)) == [0, 1, 2]


def test_sync_method_that_blocks_does_not_delay_an_async_reply(service):
    obj, uri, _ = service

    async def main():
        async with AsyncProxy(uri) as p:
            blocked = asyncio.ensure_future(p.block())
            assert await asyncio.to_thread(obj.blocked.wait, WAIT)
            assert await p.quick() == "quick"       # answered while the sync call still holds its worker
            assert not blocked.done()
            assert await p.unblock() is True
            assert await blocked is True
        assert obj.log == ["quick", "unblock", "block"]
    run(main())


def test_calls_of_one_connection_run_at_once_with_infl(service):
    obj, uri, _ = service

    async def main():
        async with AsyncProxy(uri) as p:
            results = await asyncio.gather(*(p.wait_gate("g") for _ in range(3)))
            assert results == [True, True, True]
            assert len(p._pool.connections) == 1 and p._pool.connections[0].capacity > 1
    run(main())


def test_cancelling_a_task_mid_call_leaves_the_proxy_usable(service):
    obj, uri, _ = service

    async def main():
        async with AsyncProxy(uri) as p:
            blocked = asyncio.ensure_future(p.block())
            assert await asyncio.to_thread(obj.blocked.wait, WAIT)
            blocked.cancel()
            with pytest.raises(asyncio.CancelledError):
                await blocked
            (conn,) = p._pool.connections
            assert conn.late_seq is not None
            assert await asyncio.gather(*(p.fetch(i) for i in range(20))) != []
            assert await p.unblock() is True
            for _ in range(500):
                if conn.late_seq is None:
                    break
                await asyncio.sleep(0.01)
            assert conn.late_seq is None and conn.alive and p._pool.connections == [conn]
            assert (await p.compute(5))[1] == 10
    run(main())


@pytest.mark.parametrize("cls, concurrent", [(Session, False), (ConcurrentSession, True)])
def test_session_objects_run_one_call_at_a_time_unless_the_class_opts_in(served, cls, concurrent):
    d = AsyncDaemon(host="127.0.0.1")
    uri = d.register(cls, "sess")
    served(d)
    cls.peak = 0

    async def main():
        async with AsyncProxy(uri) as p:
            assert await asyncio.gather(*(p.work(i) for i in range(12))) == list(range(12))
            assert len(p._pool.connections) == 1
    run(main())
    if concurrent:
        assert cls.peak > 1
    else:
        assert cls.peak == 1


def test_ping_handshake_and_validate(served):
    class Checked(AsyncDaemon):
        def validateHandshake(self, conn, data):
            if data == "reject":
                raise ValueError("rejected by the async daemon")
            return {"peer": conn.sock_addr[0]}

    d = Checked(host="127.0.0.1")
    uri = d.register(Service(), "svc")
    served(d)
    with Proxy(uri) as p:
        p._pyroBind()
        assert p._pyroHandshakeResponse == {"peer": "127.0.0.1"} if hasattr(p, "_pyroHandshakeResponse") else True
        p._pyroHandshake = "reject"
        p._pyroRelease()
        with pytest.raises(Pyro5.errors.CommunicationError, match="rejected by the async daemon"):
            p._pyroBind()
    with Proxy(d.uriFor(Pyro5.core.DAEMON_NAME)) as dp:
        assert dp.ping() is None and "svc" in dp.registered()


class Resource:
    def __init__(self):
        self.closed = threading.Event()

    def close(self):
        self.closed.set()


def test_client_disconnect_tracked_resources_and_housekeeping(served):
    resource = Resource()
    events = {"disconnect": threading.Event(), "housekeeping": threading.Event()}

    @expose
    class Tracker:
        async def track(self):
            current_context.track_resource(resource)
            return True

    class Watching(AsyncDaemon):
        def clientDisconnect(self, conn):
            events["disconnect"].set()

        def housekeeping(self):
            events["housekeeping"].set()

    d = Watching(host="127.0.0.1")
    d.limits.housekeeping_interval = 0.05
    uri = d.register(Tracker(), "tracker")
    served(d)
    with Proxy(uri) as p:
        assert p.track() is True
        assert not resource.closed.is_set()
    assert events["disconnect"].wait(WAIT)
    assert resource.closed.wait(WAIT)
    assert events["housekeeping"].wait(WAIT)


def test_async_methods_on_the_thread_pool_and_multiplex_daemons():
    for servertype in ("thread", "multiplex"):
        Pyro5.config.SERVERTYPE = servertype
        obj = Service()
        with Daemon(host="127.0.0.1") as d:
            uri = d.register(obj, "svc")
            t = threading.Thread(target=d.requestLoop, daemon=True)
            t.start()
            try:
                with Proxy(uri) as p:
                    assert p.fetch(1)[:2] == ["async", 1]
                    assert list(p.agen(4)) == [0, 1, 2, 3]
                    p._pyroAnnotations = lambda: {"XTRA": b"x"}
                    assert p.context() == ["x", True]
                    with pytest.raises(ValueError, match="async boom"):
                        p.fail()
                    p.note("ow")
                    assert obj.done.wait(WAIT)
                loops = [th for th in threading.enumerate() if th.name == "Pyro-asyncio"]
                assert loops      # the daemon's own event loop thread, started by the first async call
            finally:
                d.shutdown()
                t.join(WAIT)
        for th in loops:
            th.join(WAIT)
            assert not th.is_alive()      # stopped by close()


def test_servertype_asyncio_runs_a_plain_daemon():
    Pyro5.config.SERVERTYPE = "asyncio"
    obj = Service()
    d = Daemon(host="127.0.0.1")
    assert type(d.transportServer).__name__ == "AsyncioServer"
    uri = d.register(obj, "svc")
    t = threading.Thread(target=d.requestLoop, daemon=True)
    t.start()
    try:
        with Proxy(uri) as p:
            assert p.fetch(2)[:2] == ["async", 2] and p.compute(2)[:2] == ["sync", 4]
    finally:
        d.shutdown()
        t.join(WAIT)
    assert not t.is_alive() and d.transportServer is None


def _raw_connect(uri) -> socket.socket:
    return socket.create_connection((uri.host, uri.port), timeout=WAIT)


def _read_reply(sock: socket.socket):
    reader = Pyro5.protocol.MessageReader()
    while True:
        data = sock.recv(65536)
        if not data:
            return None
        messages = reader.feed(data)
        if messages:
            return messages[0]


def test_malformed_input_gets_an_error_and_the_daemon_serves_on(service):
    _, uri, _ = service
    uri = Pyro5.core.URI(uri)
    with _raw_connect(uri) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = _read_reply(s)
        assert reply is None or reply.type == Pyro5.protocol.MSG_CONNECTFAIL
        assert s.recv(100) == b""
    with _raw_connect(uri) as s:   # a request before the handshake
        s.sendall(Pyro5.protocol.SendingMessage(Pyro5.protocol.MSG_INVOKE, 0, 1, 1, b"x").data)
        reply = _read_reply(s)
        assert reply is not None and reply.type == Pyro5.protocol.MSG_CONNECTFAIL
    with Proxy(uri) as p:
        assert p.compute(1)[1] == 2


def _handshaked(uri) -> socket.socket:
    ser = Pyro5.serializers.serializers["marshal"]
    s = _raw_connect(uri)
    payload = ser.dumps({"handshake": "hello", "object": "svc"})
    s.sendall(Pyro5.protocol.SendingMessage(Pyro5.protocol.MSG_CONNECT, 0, 0, ser.serializer_id, payload).data)
    assert _read_reply(s).type == Pyro5.protocol.MSG_CONNECTOK
    return s


def test_garbage_after_the_handshake_gets_an_error_reply_and_a_close(service):
    _, uri, _ = service
    uri = Pyro5.core.URI(uri)
    with _handshaked(uri) as s:
        s.sendall(b"XXXX" * 20)
        reply = _read_reply(s)
        assert reply.type == Pyro5.protocol.MSG_RESULT and reply.flags & Pyro5.protocol.FLAGS_EXCEPTION
        assert s.recv(100) == b""
    with Proxy(uri) as p:
        assert p.compute(1)[1] == 2


def test_a_peer_that_does_not_read_its_results_is_closed(service):
    _, uri, d = service
    uri = Pyro5.core.URI(uri)
    d.limits.partial_message_timeout = 0.3
    ser = Pyro5.serializers.serializers["marshal"]
    with _handshaked(uri) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(Pyro5.protocol.SendingMessage(Pyro5.protocol.MSG_INVOKE, 0, 1, ser.serializer_id,
                                                ser.dumpsCall("svc", "big", (16 * 1024 * 1024,), {})).data)
        closed = False
        for _ in range(1000):      # (bounded) wait until the daemon dropped the connection; we read nothing
            if not any(c.handshaked for c in list(d.transportServer.connections)):
                closed = True
                break
            threading.Event().wait(0.01)
        assert closed
    with Proxy(uri) as p:
        assert p.compute(3)[1] == 6


def test_stalled_peers_are_closed(service):
    _, uri, d = service
    uri = Pyro5.core.URI(uri)
    d.limits.partial_message_timeout = 0.3
    d.limits.handshake_timeout = 0.3
    d.limits.min_transfer_rate = 1 << 30
    with _raw_connect(uri) as silent, _raw_connect(uri) as partial:
        partial.sendall(b"PYRO\x01")      # the start of a header, then nothing
        assert silent.recv(100) == b""      # closed: no connect message in time
        assert partial.recv(100) == b""     # closed: an incomplete message stalled
    with Proxy(uri) as p:
        assert p.compute(2)[1] == 4


def test_flooding_connection_is_not_read_while_its_call_waits(served):
    Pyro5.config.THREADPOOL_SIZE = 1
    d = AsyncDaemon(host="127.0.0.1")
    obj = Service()
    uri = d.register(obj, "svc")
    served(d)

    async def main():
        async with AsyncProxy(uri) as p, AsyncProxy(uri) as q:
            await q._pyroBind()                               # (connected: many calls in flight granted)
            blocked = asyncio.ensure_future(p.block())        # takes the only worker
            assert await asyncio.to_thread(obj.blocked.wait, WAIT)
            waiting = asyncio.ensure_future(q.compute(3))     # waits for the worker: q's connection paused
            for _ in range(500):
                conns = [c for c in d.transportServer.connections if c.waiting]
                if conns:
                    break
                await asyncio.sleep(0.01)
            assert conns and conns[0].reading_paused
            assert await p.quick() == "quick"       # async methods need no worker
            assert await p.unblock() is True
            assert await blocked is True and (await waiting)[1] == 6
    run(main())


def test_infl_is_granted_only_when_asked(service):
    _, uri, _ = service
    uri = Pyro5.core.URI(uri)
    ser = Pyro5.serializers.serializers["serpent"]
    for offer, expected in (({}, 0), (_capabilities.inflight_offer(), d_max())):
        with _raw_connect(uri) as s:
            payload = ser.dumps({"handshake": "hello", "object": "svc"})
            s.sendall(Pyro5.protocol.SendingMessage(Pyro5.protocol.MSG_CONNECT, 0, 0, ser.serializer_id, payload,
                                                    offer).data)
            reply = _read_reply(s)
            assert reply.type == Pyro5.protocol.MSG_CONNECTOK
            assert _capabilities.inflight_granted(reply.annotations) == expected


def d_max() -> int:
    from Pyro5.aio._svr_engine import DEFAULT_MAX_INFLIGHT
    return DEFAULT_MAX_INFLIGHT


def test_api_facade_and_close():
    import Pyro5.api
    assert Pyro5.api.AsyncDaemon is AsyncDaemon
    d = AsyncDaemon(host="127.0.0.1")
    with contextlib.closing(d):
        assert "AsyncioServer" in repr(d)
    with pytest.raises(Pyro5.errors.DaemonError):
        AsyncDaemon(connected_socket=socket.socket())
    with AsyncDaemon(host="127.0.0.1", nathost="nat.example.org", natport=4321) as nat:
        assert str(nat.uriFor("x")) == "PYRO:x@nat.example.org:4321"
        assert str(nat.uriFor("x", nat=False)).startswith("PYRO:x@127.0.0.1:")

    async def main():
        async with AsyncDaemon(host="127.0.0.1") as d2:
            task = asyncio.ensure_future(d2.requestLoop())
            await asyncio.sleep(0)
            d2.shutdown()
            await asyncio.wait_for(task, WAIT)
        assert d2.transportServer is None
    run(main())
