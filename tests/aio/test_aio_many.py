"""1,000 concurrent connections served by one AsyncDaemon (in a subprocess) on loopback, every reply checked; and
what the thread-pool servers do with more connections than threads: the original Pyro5 5.15 refuses them past
THREADPOOL_SIZE, as does ours in per-connection mode (our default thread-pool server does not: an idle
connection costs it no thread)."""
from __future__ import annotations

import asyncio
import contextlib

import pytest

import Pyro5
import Pyro5.errors
from Pyro5.aio.client import AsyncProxy
from tests._support import refpyro

CONNECTIONS = 1000

SERVER = r'''
import asyncio, sys
from Pyro5.api import AsyncDaemon, Daemon, expose, config
mode = sys.argv[1]

@expose
class Echo:
    async def aecho(self, tag, n):
        await asyncio.sleep(0)
        return [tag, n * 2]

    def echo(self, tag, n):
        return [tag, n * 3]

if mode == "async":
    daemon = AsyncDaemon(host="127.0.0.1")
else:
    config.THREADPOOL_SIZE = 8
    config.THREADPOOL_PER_CONNECTION = mode == "perconn"
    daemon = Daemon(host="127.0.0.1")
print("READY", daemon.register(Echo, "echo"), flush=True)
asyncio.run(daemon.requestLoop()) if mode == "async" else daemon.requestLoop()
'''

ORIG_SERVER = r'''
from Pyro5.api import Daemon, expose, config
config.THREADPOOL_SIZE = 8

@expose
class Echo:
    def echo(self, tag, n):
        return [tag, n * 3]

daemon = Daemon(host="127.0.0.1")
print("READY", daemon.register(Echo, "echo"), flush=True)
daemon.requestLoop()
'''


def _raise_nofile(wanted: int) -> None:
    try:
        import resource
    except ImportError:     # pragma: no cover - not on this platform
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        soft = limit
    if soft != resource.RLIM_INFINITY and soft < wanted:
        pytest.skip("RLIMIT_NOFILE is %d: cannot open %d connections" % (soft, CONNECTIONS))


async def _connect_all(uri: str, count: int) -> tuple[list, list, list]:
    proxies = [AsyncProxy(uri) for _ in range(count)]
    for p in proxies:
        p._pyroTimeout = 60
    outcome = await asyncio.gather(*(p._pyroBind() for p in proxies), return_exceptions=True)
    bound = [p for p, r in zip(proxies, outcome, strict=True) if r is True]
    refused = [r for r in outcome if r is not True]
    return proxies, bound, refused


def test_one_async_daemon_serves_1000_concurrent_connections():
    _raise_nofile(CONNECTIONS + 500)
    Pyro5.config.ASYNC_POOL_SIZE = 1
    server = refpyro.start_python(SERVER, "async")
    try:
        uri = server.ready.split()[0]

        async def main():
            proxies, bound, refused = await _connect_all(uri, CONNECTIONS)
            try:
                assert refused == [] and len(bound) == CONNECTIONS
                for rnd in range(2):
                    results = await asyncio.gather(*(p.aecho(i, rnd) if i % 2 else p.echo(i, rnd)
                                                     for i, p in enumerate(proxies)))
                    assert results == [[i, rnd * 2] if i % 2 else [i, rnd * 3] for i in range(CONNECTIONS)]
                assert all(len(p._pool.connections) == 1 for p in proxies)
            finally:
                await asyncio.gather(*(p._pyroRelease() for p in proxies))
        asyncio.run(asyncio.wait_for(main(), 300))
    finally:
        server.stop()


@pytest.mark.parametrize("kind", ["perconn", "thread", pytest.param("orig", marks=pytest.mark.interop)])
def test_thread_pool_servers_past_their_pool_size(kind):
    """THREADPOOL_SIZE 8, 40 connections: the original (and ours in per-connection mode) refuse the ones past the
    pool size with a CommunicationError; our default thread-pool server serves them all."""
    if kind == "orig":
        server = refpyro.OrigProcess(ORIG_SERVER, env=refpyro.clean_env())
    else:
        server = refpyro.start_python(SERVER, kind)
    try:
        uri = server.ready.split()[0]

        async def main():
            proxies, bound, refused = await _connect_all(uri, 40)
            try:
                results = await asyncio.gather(*(p.echo(i, 1) for i, p in enumerate(proxies) if p in bound))
                assert results == [[i, 3] for i, p in enumerate(proxies) if p in bound]
                return len(bound), refused
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.gather(*(p._pyroRelease() for p in proxies))
        served, refused = asyncio.run(asyncio.wait_for(main(), 120))
        if kind == "thread":
            assert served == 40 and refused == []
        else:
            assert served == 8 and len(refused) == 32
            assert all(isinstance(x, Pyro5.errors.CommunicationError) for x in refused)
    finally:
        server.stop()
