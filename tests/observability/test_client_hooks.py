"""Client call hooks: global (Pyro5.client.add_interceptor / add_observer) and per proxy
(proxy._pyroInterceptors), on Proxy and AsyncProxy; request annotations added by a hook reach the server."""
from __future__ import annotations

import asyncio
import logging

import pytest

import Pyro5.client
from Pyro5 import errors
from Pyro5._hooks import Interceptor
from Pyro5.client import BatchProxy, Proxy
from tests.observability._objects import Calc


class Recorder(Interceptor):
    def __init__(self) -> None:
        self.events: list = []

    def before(self, call):
        call.annotations["HKCL"] = b"hello from the client hook"
        self.events.append(("before", call.side, call.kind, call.object_id, call.method))

    def after(self, call):
        self.events.append(("after", call.kind, call.method, call.result if call.exception is None else None,
                            type(call.exception).__name__ if call.exception else None))


@pytest.fixture
def calc_uri(start_daemon, servertype):
    rd = start_daemon()
    calc = Calc()
    return rd.daemon.register(calc, "calc"), calc


def test_global_interceptor_sees_every_call_kind(calc_uri):
    uri, calc = calc_uri
    rec = Recorder()
    Pyro5.client.add_interceptor(rec)
    with Proxy(uri) as p:
        assert p.add(1, 2) == 3
        with pytest.raises(ValueError):
            p.fail()
        p.value = 7
        assert p.value == 7
        assert list(p.items(2)) == [0, 1]
        batch = BatchProxy(p)
        batch.add(1, 1)
        assert list(batch()) == [2]
        p.fire(1)
        assert calc.oneway_done.wait(5)
        seen = p.annotations_seen()
    ev = rec.events
    assert ("before", "client", "call", "calc", "add") in ev
    assert ("after", "call", "add", 3, None) in ev
    assert ("after", "call", "fail", None, "ValueError") in ev
    assert ("before", "client", "setattr", "calc", "__setattr__") in ev
    assert ("after", "getattr", "__getattr__", 7, None) in ev
    assert any(e[:3] == ("after", "stream", "items") for e in ev)
    assert ("before", "client", "call", "Pyro.Daemon", "get_next_stream_item") in ev
    assert ("before", "client", "batch", "calc", "<batch>") in ev
    assert ("after", "oneway", "fire", None, None) in ev
    assert seen["HKCL"] == "hello from the client hook"     # the hook's annotation went out with the request


def test_per_proxy_interceptor_and_failing_hooks(calc_uri, caplog):
    uri, calc = calc_uri
    rec = Recorder()

    class Broken(Interceptor):
        def before(self, call):
            raise RuntimeError("client hook broken")

    with Proxy(uri) as p, Proxy(uri) as other:
        p._pyroInterceptors = [Broken(), rec]
        with caplog.at_level(logging.WARNING, logger="Pyro5.client"):
            assert p.add(1, 2) == 3
        assert other.add(2, 2) == 4         # not observed: the hook belongs to p
        copy = p.__copy__()
        assert copy._pyroInterceptors is p._pyroInterceptors
        copy._pyroRelease()
    assert rec.events == [("before", "client", "call", "calc", "add"), ("after", "call", "add", 3, None)]
    assert any("before hook" in r.getMessage() and r.name == "Pyro5.client" for r in caplog.records)


def test_connection_errors_are_seen(start_daemon):
    rd = start_daemon()
    address = rd.address
    rd.stop()
    events = []
    Pyro5.client.add_observer(lambda event, call: events.append((event, type(call.exception).__name__)))
    with Proxy("PYRO:calc@%s:%d" % address[:2]) as p:
        with pytest.raises(errors.CommunicationError):
            p._pyroInvoke("add", (1, 2), {})
    assert events == [("started", "NoneType"), ("finished", "CommunicationError")]


def test_async_proxy_awaits_async_hooks(calc_uri):
    uri, calc = calc_uri
    from Pyro5.aio.client import AsyncProxy
    order = []

    class AsyncHook(Interceptor):
        async def before(self, call):
            await asyncio.sleep(0)
            call.annotations["HKAS"] = b"async"
            order.append(("before", call.method, asyncio.current_task() is not None))

        async def after(self, call):
            order.append(("after", call.method, call.result))

    async def main():
        async with AsyncProxy(uri) as p:
            p._pyroInterceptors.append(AsyncHook())
            assert await p.add(4, 5) == 9
            return await p.annotations_seen()
    seen = asyncio.run(main())
    assert order[:2] == [("before", "add", True), ("after", "add", 9)]
    assert seen["HKAS"] == "async"


def test_sync_proxy_runs_async_hooks_to_completion(calc_uri):
    uri, calc = calc_uri
    order = []

    class AsyncHook(Interceptor):
        async def after(self, call):
            await asyncio.sleep(0)
            order.append(call.result)

    Pyro5.client.add_interceptor(AsyncHook())
    with Proxy(uri) as p:
        assert p.add(1, 1) == 2
    assert order == [2]
