"""AsyncProxy (Pyro5/aio/client.py) against our thread-pool and multiplex daemons and the ORIGINAL Pyro5 5.15
daemon (see conftest.py), over real sockets on 127.0.0.1, with every serializer where the data matters.
Every test body runs in asyncio.run under an overall timeout."""
from __future__ import annotations

import asyncio
import sys
import uuid

import pytest

import Pyro5
import Pyro5.errors
import Pyro5.protocol
from Pyro5.aio.client import AsyncBatchProxy, AsyncProxy, AsyncStream
from Pyro5.callcontext import current_context

TIMEOUT = 60


def run(coro, timeout: float = TIMEOUT):
    """Run a test coroutine in a fresh event loop, bounded in time."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def granted(p: AsyncProxy) -> bool:
    """Did the daemon grant many calls in flight on the proxy's connection (the INFL capability)?"""
    return any(conn.capacity > 1 for conn in p._pool.connections)


async def until(predicate, tries: int = 500):
    """Await an async predicate until it holds (bounded: `tries` polls 10 ms apart)."""
    for _ in range(tries):
        if await predicate():
            return True
        await asyncio.sleep(0.01)
    return False


def test_calls_and_data(peer, serializer):
    async def main():
        async with AsyncProxy(peer.uri()) as p:
            assert await p.add(1, 2) == 3
            assert await p.kw(1) == [1, 2, [], []]
            result = await p.kw(1, 3, 4, 5, x=6)
            assert result[:3] == [1, 3, [4, 5]] and [list(item) for item in result[3]] == [["x", 6]]
            data = {"s": "ünïcode", "l": [1, 2.5, None, True], "n": -(2 ** 40)}
            assert await p.echo(data) == data
            assert "add" in p._pyroMethods and "prop" in p._pyroAttrs and "ow" in p._pyroOneway
            return repr(p)
    assert "for PYRO:thing@127.0.0.1" in run(main())


def test_metadata_from_the_daemon_object(peer):
    async def main():
        async with AsyncProxy(peer.uri()) as p:
            await p._pyroGetMetadata(p._pyroUri.object)     # a get_metadata call on the daemon object
            assert {"add", "gen", "fail"} <= p._pyroMethods
            assert {"prop", "readonly"} <= p._pyroAttrs
    run(main())


def test_attributes(peer, serializer):
    async def main():
        async with AsyncProxy(peer.uri()) as p:
            await p._pyroSetAttr("prop", 5)
            assert await p.prop == 5
            assert await p._pyroGetAttr("prop") == 5
            await p._pyroSetAttr("prop", 42)
            assert await p.prop == 42
            assert await p.readonly == "ro"
            with pytest.raises(AttributeError, match="no exposed attribute 'nope'"):
                await p.nope
            with pytest.raises(AttributeError, match="no exposed attribute 'nope'"):
                await p._pyroSetAttr("nope", 1)
            with pytest.raises(TypeError, match="is a method"):
                await p.add
            with pytest.raises(AttributeError, match="_pyroSetAttr"):
                p.prop = 1
            await p._pyroSetAttr("prop", 5)
    run(main())


def test_unknown_and_private_names(peer):
    async def main():
        async with AsyncProxy(peer.uri()) as p:
            with pytest.raises(AttributeError, match="no exposed attribute or method 'unexposed'"):
                await p.unexposed()
            with pytest.raises(AttributeError):
                p._private  # noqa: B018 - private names are never remote
            with pytest.raises(AttributeError, match="dotted names"):
                p.add.real  # noqa: B018
    run(main())


def test_remote_exception_with_remote_traceback(peer, serializer):
    async def main():
        async with AsyncProxy(peer.uri()) as p:
            with pytest.raises(ValueError, match="boom") as exc:
                await p.fail()
            assert "boom" in "".join(exc.value._pyroTraceback)
            with pytest.raises(ZeroDivisionError):
                await p.fail_deep()
            assert await p.add(1, 1) == 2      # the connection is fine after a remote exception
    run(main())


def test_oneway_returns_once_sent(peer, serializer):
    key = "ow-" + uuid.uuid4().hex

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            assert await p.ow(key, 42) is None

            async def stored():
                return await p.get(key) == 42
            assert await until(stored)
    run(main())


def test_remote_generator_async_for(peer, serializer):
    async def main():
        async with AsyncProxy(peer.uri()) as p:
            assert [i async for i in p.gen(7)] == list(range(7))
            assert [i async for i in p.gen(0)] == []
            stream = await p.gen(3)
            assert isinstance(stream, AsyncStream)
            assert [i async for i in stream] == [0, 1, 2]
            assert [i async for i in stream] == []      # exhausted
            assert [i async for i in p.kw(1)] == [1, 2, [], []]   # a plain result is iterated locally
    run(main())


def test_remote_generator_closed_early(peer):
    key = "gen-" + uuid.uuid4().hex

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            stream = await p.tracked_gen(key)
            assert [await stream.__anext__() for _ in range(3)] == [0, 1, 2]
            assert await p.get(key) == "running"
            await stream.aclose()      # a oneway close_stream on the stream's connection

            async def closed():
                return await p.get(key) == "closed"
            assert await until(closed)
            with pytest.raises(StopAsyncIteration):
                await stream.__anext__()
    run(main())


def test_dropped_stream_is_closed_before_the_next_call_on_its_connection(peer):
    Pyro5.config.ASYNC_POOL_SIZE = 1
    key = "gen-" + uuid.uuid4().hex

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            stream = await p.tracked_gen(key)
            assert await stream.__anext__() == 0
            conn = p._pool.connections[0]
            del stream          # (refcounting: finalized here)
            assert len(conn.pending_closes) == 1

            async def closed():
                return await p.get(key) == "closed"
            assert await until(closed)
            assert conn.pending_closes == []
    run(main())


def test_gather_1000_calls_on_one_proxy(peer, serializer):
    async def main():
        async with AsyncProxy(peer.uri()) as p:
            results = await asyncio.gather(*(p.add(i, i) for i in range(1000)))
            assert results == [2 * i for i in range(1000)]
            assert len(p._pool.connections) == Pyro5.config.ASYNC_POOL_SIZE == 4
            if peer.settings["name"] == "orig":     # (no INFL grant from the original: one call per connection)
                assert all(conn.capacity == 1 for conn in p._pool.connections)
            elif peer.settings["name"] == "asyncdaemon":
                assert all(conn.capacity > 1 for conn in p._pool.connections)
    run(main())


def test_pool_size_is_the_config_item(peer):
    Pyro5.config.ASYNC_POOL_SIZE = 2

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            results = await asyncio.gather(*(p.add(i, 1) for i in range(50)))
            assert results == [i + 1 for i in range(50)]
            if granted(p):      # (our daemons that run a connection's calls concurrently: one connection)
                assert len(p._pool.connections) == 1 and p._pool.connections[0].capacity >= 50
            else:
                assert len(p._pool.connections) == 2
    run(main())


def test_tasks_progress_while_one_call_is_slow(peer):
    if peer.settings["name"] == "multiplex":
        pytest.skip("a multiplex daemon runs one call at a time over all its connections")

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            slow = asyncio.ensure_future(p.sleep(10))

            async def in_flight():
                return any(c.leased for c in p._pool.connections)
            assert await until(in_flight)
            assert await asyncio.gather(*(p.add(i, 1) for i in range(20))) == [i + 1 for i in range(20)]
            assert not slow.done()       # the other tasks went over the pool's other connections
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
    run(main())


async def _one_connection_call_in_flight(p: AsyncProxy, coro) -> tuple:
    """Start a call as a task on a proxy with a pool of one connection; returns (task, connection) once the
    request has been sent."""
    assert await p.add(0, 0) == 0
    (conn,) = p._pool.connections
    task = asyncio.ensure_future(coro)

    async def sent():
        return conn.leased and bool(conn._replies)
    assert await until(sent)
    return task, conn


def test_cancelled_call_leaves_the_connection_usable(peer, serializer):
    Pyro5.config.ASYNC_POOL_SIZE = 1

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            task, conn = await _one_connection_call_in_flight(p, p.sleep(0.3))
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert conn.late_seq is not None and conn.leased     # kept for the late reply
            # the next calls wait for the late reply to be dropped (or, with many calls in flight granted, go
            # on beside it), then get their own answers
            assert await asyncio.gather(*(p.add(i, 2) for i in range(10))) == [i + 2 for i in range(10)]

            async def dropped():
                return conn.late_seq is None
            assert await until(dropped)
            assert p._pool.connections == [conn] and conn.alive and not conn.leased
    run(main())


def test_pyro_timeout(peer):
    Pyro5.config.ASYNC_POOL_SIZE = 1

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            assert await p.add(1, 1) == 2
            (conn,) = p._pool.connections
            p._pyroTimeout = 0.2
            with pytest.raises(Pyro5.errors.TimeoutError):
                await p.sleep(1.0)
            p._pyroTimeout = None
            assert await p.add(2, 2) == 4
            assert p._pool.connections == [conn] and conn.alive
    run(main())


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is new in Python 3.11")
def test_asyncio_timeout(peer):
    Pyro5.config.ASYNC_POOL_SIZE = 1

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            assert await p.add(1, 1) == 2
            (conn,) = p._pool.connections
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await p.sleep(1.0)
            assert await p.add(3, 3) == 6
            assert p._pool.connections == [conn] and conn.alive
    run(main())


def test_annotations_and_correlation_per_task(peer, serializer):
    async def call(n: int):
        corr = uuid.uuid4()
        current_context.correlation_id = corr
        current_context.annotations = {"XYZZ": b"hi%d" % n}
        result = await proxy.ctx()
        assert result["corr"] == str(corr)
        assert result["ann"]["XYZZ"] == "hi%d" % n
        assert current_context.response_annotations == {"RESP": b"yo"}
        return n

    async def main():
        global proxy
        async with AsyncProxy(peer.uri()) as proxy:
            assert await asyncio.gather(*(call(n) for n in range(20))) == list(range(20))
    run(main())


def test_annotation_hooks(peer):
    seen = []

    class AnnProxy(AsyncProxy):
        def _pyroAnnotations(self):
            return {"MINE": b"12345"}

        def _pyroResponseAnnotations(self, annotations, msgtype):
            seen.append((dict(annotations), msgtype))

    async def main():
        async with AnnProxy(peer.uri()) as p:
            assert (await p.ctx())["ann"]["MINE"] == "12345"
    run(main())
    assert ({"RESP": b"yo"}, Pyro5.protocol.MSG_RESULT) in seen


def test_handshake(peer, serializer):
    responses = []

    class HandshakeProxy(AsyncProxy):
        def _pyroValidateHandshake(self, response):
            responses.append(response)

    async def main():
        async with HandshakeProxy(peer.uri()) as p:
            p._pyroHandshake = {"echo": [1, "two"]}
            assert await p.add(1, 1) == 2
        async with AsyncProxy(peer.uri()) as p:
            p._pyroHandshake = "reject"
            with pytest.raises(Pyro5.errors.CommunicationError, match="rejected"):
                await p.add(1, 1)
            assert p._pool.connections == []
    run(main())
    assert responses == [{"echoed": [1, "two"]}]


def test_validate_handshake_can_refuse(peer):
    class Refusing(AsyncProxy):
        def _pyroValidateHandshake(self, response):
            raise Pyro5.errors.SecurityError("not this one")

    async def main():
        async with Refusing(peer.uri()) as p:
            with pytest.raises(Pyro5.errors.SecurityError):
                await p.add(1, 1)
            assert p._pool.connections == []
    run(main())


def test_batch(peer, serializer):
    async def main():
        async with AsyncProxy(peer.uri()) as p:
            batch = AsyncBatchProxy(p)
            batch.add(1, 2)
            batch.echo("x")
            batch.fail()
            batch.add(5, 5)
            if serializer == "marshal" and peer.kind == "orig":
                # the original's marshal serializer cannot carry the failed call's exception in a batch result
                with pytest.raises(ValueError, match="unmarshallable"):
                    await batch()
            else:
                results = await batch()
                assert next(results) == 3
                assert next(results) == "x"
                with pytest.raises(ValueError, match="boom"):
                    next(results)
            key = "batch-" + uuid.uuid4().hex
            batch.ow(key, 7)
            assert await batch(oneway=True) is None

            async def stored():
                return await p.get(key) == 7
            assert await until(stored)
            with pytest.raises(TypeError):
                AsyncBatchProxy(object())
    run(main())


def test_autoproxied_result_is_an_async_proxy(peer, serializer):
    if serializer == "marshal" and peer.kind == "orig":
        pytest.skip("marshal can't carry the proxy of an autoproxied object")

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            sub = await p.getsub()
            assert isinstance(sub, AsyncProxy)
            async with sub:
                assert await sub.add(1, 1) == 1002
    run(main())


def test_release_and_reconnect(peer):
    async def main():
        p = AsyncProxy(peer.uri())
        assert await p.add(1, 1) == 2
        conns = list(p._pool.connections)
        await p._pyroRelease()
        assert p._pool.connections == [] and not conns[0].alive
        assert await p.add(2, 2) == 4
        assert p._pool.connections and p._pool.connections[0] is not conns[0]
        await p._pyroRelease()
    run(main())


def test_connection_refused():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]       # (bound, not listening: connecting is refused)

        async def main():
            async with AsyncProxy("PYRO:thing@127.0.0.1:%d" % port) as p:
                with pytest.raises(Pyro5.errors.CommunicationError, match="cannot connect"):
                    await p.add(1, 1)
        run(main())


def test_pyroname_and_pyrometa(peer, serializer):
    location = peer.uri("Pyro.NameServer").split("@")[1]

    async def main():
        async with AsyncProxy("PYRONAME:test.thing@" + location) as p:
            assert await p.add(1, 2) == 3
            assert p._pyroUri.protocol == "PYRONAME"
            await p._pyroBind()
            assert str(p._pyroUri) == peer.uri("thing")
        async with AsyncProxy("PYROMETA:meta.thing@" + location) as p:
            assert await p.add(2, 2) == 4
        async with AsyncProxy("PYRONAME:no.such.name@" + location) as p:
            with pytest.raises(Pyro5.errors.NamingError):
                await p.add(1, 1)
    run(main())


def test_locate_ns_and_resolve(peer):
    from Pyro5.aio import client as aio
    host, port = peer.uri("Pyro.NameServer").split("@")[1].rsplit(":", 1)

    async def main():
        ns = await aio.locate_ns(host, int(port))
        async with ns:
            assert isinstance(ns, AsyncProxy)
            assert str(await aio.resolve("PYRONAME:test.thing@%s:%s" % (host, port))) == peer.uri("thing")
            assert str(await ns.lookup("test.thing")) == peer.uri("thing")
        Pyro5.config.NS_HOST = host          # a loopback NS_HOST is tried first, without a broadcast
        Pyro5.config.NS_PORT = int(port)
        async with await aio.locate_ns(broadcast=False) as ns2:
            assert str(ns2._pyroUri) == peer.uri("Pyro.NameServer")
        assert str(await aio.resolve("PYRO:x@h:1")) == "PYRO:x@h:1"
        with pytest.raises(Pyro5.errors.NamingError):
            await aio.locate_ns("127.0.0.1", _free_port())
    run(main())


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_api_facade():
    from Pyro5.api import AsyncBatchProxy as B
    from Pyro5.api import AsyncProxy as P
    assert P is AsyncProxy and B is AsyncBatchProxy


def test_serialization_errors_leave_the_proxy_usable(peer, serializer):
    Pyro5.config.ASYNC_POOL_SIZE = 1

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            with pytest.raises(Pyro5.errors.SerializeError):
                await p.echo(object())          # refused before anything is sent
            with pytest.raises(Exception) as exc:
                await p.unserializable()        # the daemon cannot serialize the result
            if not (peer.kind == "orig" and isinstance(exc.value, Pyro5.errors.ConnectionClosedError)):
                # (the original daemon drops the connection when json can't serialize a result)
                assert "serializ" in str(exc.value).lower()
            try:
                assert await p.add(1, 1) == 2
            except Pyro5.errors.ConnectionClosedError:
                # the original daemon may close the connection after it could not serialize a result (after
                # sending the error): a call sent before that close arrives fails like with Proxy
                if peer.kind != "orig":
                    raise
                assert await p.add(1, 1) == 2
            (conn,) = p._pool.connections
            assert conn.alive and not conn.leased
    run(main())


def test_serialized_blob_and_large_data(peer, serializer):
    from Pyro5.client import SerializedBlob

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            if not (serializer == "json" and peer.kind == "orig"):   # (broken in the original, see tests/client)
                kind, info, data = await p.blobinfo(SerializedBlob("the-info", ["x", {"a": [1, 2, 3]}]))
                assert kind == "SerializedBlob" and info == "the-info" and list(data) == ["x", {"a": [1, 2, 3]}]
            size = 3 * 1024 * 1024 + 7
            data = await p.download(size, True)
            assert data == "x" * size
            assert await p.upload("y" * size) == size
    run(main())


@pytest.mark.parametrize("retries", [0, 1])
def test_max_retries_after_a_lost_connection(peer, retries):
    Pyro5.config.ASYNC_POOL_SIZE = 1

    async def main():
        async with AsyncProxy(peer.uri()) as p:
            p._pyroMaxRetries = retries
            task, conn = await _one_connection_call_in_flight(p, p.sleep(0.2))
            conn.writer.transport.abort()       # the connection breaks while the call waits for its reply
            if retries:
                assert await task == 0.2        # sent again over a new connection
                assert p._pool.connections and p._pool.connections[0] is not conn
            else:
                with pytest.raises(Pyro5.errors.ConnectionClosedError):
                    await task
            assert await p.add(1, 1) == 2
    run(main())


def test_async_proxy_as_an_argument_arrives_as_a_proxy(peer, serializer):
    if serializer == "marshal":
        pytest.skip("marshal can't carry a proxy")
    if peer.settings["name"] == "multiplex":
        pytest.skip("a multiplex daemon can't serve a call to itself from inside a call")

    async def main():
        async with AsyncProxy(peer.uri()) as p, AsyncProxy(peer.uri("plain")) as plain:
            assert await p.call_back(plain, 20, 22) == 1042     # the daemon calls plain.add(20, 22) itself
    run(main())


def test_one_proxy_in_consecutive_event_loops(peer):
    p = AsyncProxy(peer.uri())
    assert asyncio.run(asyncio.wait_for(p.add(1, 2), TIMEOUT)) == 3
    (first,) = p._pool.connections
    assert not first.alive           # the loop's end cancelled its reader task: the connection is closed
    assert asyncio.run(asyncio.wait_for(p.add(3, 4), TIMEOUT)) == 7
    assert p._pool.connections and p._pool.connections[0] is not first
    run(p._pyroRelease())
