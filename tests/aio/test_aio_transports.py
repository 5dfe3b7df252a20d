"""AsyncProxy over unix domain sockets and 2-way SSL, the async broadcast lookup of a name server, and what a
lost daemon does to the calls in flight — against our daemon and the ORIGINAL Pyro5 5.15 daemon."""
from __future__ import annotations

import asyncio
import os
import socket
import tempfile

import pytest

import Pyro5
import Pyro5.errors
from Pyro5.aio import client as aio
from Pyro5.aio.client import AsyncProxy
from tests._support import certs as certgen
from tests._support import refpyro
from tests.client._peer import start_peer

KINDS = ["ours", pytest.param("orig", marks=pytest.mark.interop)]
PEER_KINDS = ["ours", "asyncdaemon", pytest.param("orig", marks=pytest.mark.interop)]


def _peer(kind: str, **settings):
    """A peer of the kind: ours (thread pool Daemon), asyncdaemon (our AsyncDaemon) or orig."""
    if kind == "asyncdaemon":
        return start_peer(kind="ours", async_daemon=True, **settings)
    return start_peer(kind=kind, **settings)
SERIALIZERS = ("serpent", "json", "marshal", "msgpack")


def run(coro, timeout: float = 60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix domain sockets")
@pytest.mark.parametrize("kind", PEER_KINDS)
def test_unix_socket(kind):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "peer.sock")
        with _peer(kind, unixsocket=path) as peer:
            assert peer.uri().startswith("PYRO:thing@./u:")

            async def main():
                for ser in SERIALIZERS:
                    Pyro5.config.SERIALIZER = ser
                    async with AsyncProxy(peer.uri()) as p:
                        assert await p.add(1, 2) == 3
                        assert [i async for i in p.gen(3)] == [0, 1, 2]
                        sock = p._pool.connections[0].writer.get_extra_info("socket")
                        assert sock.family == socket.AF_UNIX
                        assert await asyncio.gather(*(p.add(i, 0) for i in range(100))) == list(range(100))
            run(main())


@pytest.mark.parametrize("kind", PEER_KINDS)
def test_ssl_two_way(kind):
    certs = certgen.make_certs()
    with _peer(kind, config=certs.as_config("server", require_client_cert=True)) as peer:
        for key, value in certs.as_config("client").items():
            setattr(Pyro5.config, key, value)

        async def main():
            for ser in SERIALIZERS:
                Pyro5.config.SERIALIZER = ser
                async with AsyncProxy(peer.uri()) as p:
                    assert await p.add(1, 2) == 3
                    assert await asyncio.gather(*(p.add(i, 1) for i in range(50))) == [i + 1 for i in range(50)]
                    cert = p._pool.connections[0].writer.get_extra_info("peercert")
                    assert int(cert["serialNumber"], 16) == certs.server_serial
            Pyro5.config.SSL_CLIENTCERT = ""
            Pyro5.config.SSL_CLIENTKEY = ""
            async with AsyncProxy(peer.uri()) as p:
                with pytest.raises(Pyro5.errors.CommunicationError):
                    await p.add(1, 2)   # the daemon requires our client certificate
        run(main())


def test_ssl_server_not_trusted():
    certs = certgen.make_certs()
    with start_peer(kind="ours", config=certs.as_config("server", require_client_cert=False)) as peer:
        Pyro5.config.SSL = True      # but no CA certificates that trust the server's certificate

        async def main():
            async with AsyncProxy(peer.uri()) as p:
                with pytest.raises(Pyro5.errors.CommunicationError, match="certificate verification"):
                    await p.add(1, 2)
        run(main())


_BC_NAMESERVER = """
import threading
import Pyro5.nameserver as N
uri, daemon, _ = N.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
bc = N.BroadcastServer(uri, bchost="127.0.0.1", bcport=0)
threading.Thread(target=bc.runInThread, daemon=True).start()
daemon.nameserver.register("bc.thing", "PYRO:thing@127.0.0.1:5555")
print("READY", uri, bc.sock.getsockname()[1], flush=True)
daemon.requestLoop()
"""


@pytest.mark.parametrize("kind", KINDS)
def test_broadcast_lookup(kind):
    python = refpyro.orig_python() if kind == "orig" else None
    env = refpyro.clean_env() if kind == "orig" else None
    process = refpyro.start_python(_BC_NAMESERVER, python=python, env=env)
    try:
        nsuri, bcport = process.ready.split()
        Pyro5.config.BROADCAST_ADDRS = "127.0.0.1"
        Pyro5.config.NS_HOST = ""           # no direct attempt: the broadcast must find it

        async def main():
            assert await aio.broadcast_lookup(int(bcport)) == nsuri
            async with await aio.locate_ns(port=int(bcport)) as ns:
                assert str(ns._pyroUri) == nsuri
                assert str(await ns.lookup("bc.thing")) == "PYRO:thing@127.0.0.1:5555"
            Pyro5.config.BROADCAST_ADDRS = ""
            with pytest.raises(Pyro5.errors.NamingError, match="no broadcast reply"):
                await aio.locate_ns(port=int(bcport))
        run(main())
    finally:
        process.stop()


def test_lost_daemon_fails_the_calls_in_flight_and_the_proxy_reconnects():
    peer = start_peer(kind="ours")
    try:
        async def main():
            p = AsyncProxy(peer.uri())
            Pyro5.config.ASYNC_POOL_SIZE = 2
            assert await asyncio.gather(p.add(1, 1), p.add(2, 2)) == [2, 4]
            calls = [asyncio.ensure_future(p.sleep(20)) for _ in range(3)]     # two in flight, one waiting

            async def in_flight():
                return sum(bool(c._replies) for c in p._pool.connections) == 2
            for _ in range(500):
                if await in_flight():
                    break
                await asyncio.sleep(0.01)
            peer.stop()
            results = await asyncio.gather(*calls, return_exceptions=True)
            assert all(isinstance(r, Pyro5.errors.CommunicationError) for r in results), results
            assert p._pool.connections == []
            with pytest.raises(Pyro5.errors.CommunicationError):
                await p.add(1, 1)       # (nobody there any more)
            await p._pyroRelease()
        run(main())
    finally:
        peer.stop()


def test_idle_connections_closed_by_a_restarted_daemon_are_replaced():
    first = start_peer(kind="ours")
    port = first.port
    second = None
    try:
        async def main():
            nonlocal second
            async with AsyncProxy(first.uri()) as p:
                assert await asyncio.gather(*(p.add(i, 0) for i in range(20))) == list(range(20))
                old = list(p._pool.connections)
                # (our thread pool daemon grants INFL: the 20 calls may share one connection)
                assert 1 <= len(old) <= Pyro5.config.ASYNC_POOL_SIZE
                first.stop()
                for _ in range(500):        # the reader tasks see the daemon close the connections
                    if not any(c.alive for c in old):
                        break
                    await asyncio.sleep(0.01)
                assert not any(c.alive for c in old)
                second = start_peer(kind="ours", port=port)
                assert await asyncio.gather(*(p.add(i, 1) for i in range(20))) == [i + 1 for i in range(20)]
                assert p._pool.connections and not set(p._pool.connections) & set(old)
                assert len(p._pool.connections) <= Pyro5.config.ASYNC_POOL_SIZE
        run(main())
    finally:
        first.stop()
        if second is not None:
            second.stop()
