"""Pyro5._hooks without sockets: the order hooks run in, coroutine hooks from sync code, CallInfo."""
from __future__ import annotations

import asyncio
import gc
import logging
import threading

import pytest

from Pyro5._hooks import CallInfo, HookChain, Interceptor, _PrivateLoop, check_hook, run_coroutine


def _call() -> CallInfo:
    return CallInfo("server", "call", "obj", "m", (1,), {}, {}, None, ("127.0.0.1", 1))


def test_order_before_in_registration_order_after_reversed():
    order = []

    class Named(Interceptor):
        def __init__(self, name):
            self.name = name

        def before(self, call):
            order.append(("before", self.name))

        def after(self, call):
            order.append(("after", self.name))

    chain = HookChain(logging.getLogger("test"), [Named("a"), Named("b")],
                      [lambda event, call: order.append((event, "observer"))])
    call = _call()
    chain.before(call, [Named("own")])      # (a proxy's own interceptors come after the global ones)
    call.finish(1)
    chain.after(call, [Named("own")])
    assert order == [("started", "observer"), ("before", "a"), ("before", "b"), ("before", "own"),
                     ("after", "own"), ("after", "b"), ("after", "a"), ("finished", "observer")]
    assert call.duration is not None and call.running == call.duration and call.result == 1


def test_async_chain_awaits():
    order = []

    class Hook(Interceptor):
        async def before(self, call):
            await asyncio.sleep(0)
            order.append("before")

        def after(self, call):
            order.append("after (sync)")

    async def main():
        chain = HookChain(logging.getLogger("test"), [Hook()])
        call = _call()
        await chain.abefore(call)
        await chain.aafter(call)
    asyncio.run(main())
    assert order == ["before", "after (sync)"]


def test_run_coroutine_inside_a_running_loop_uses_a_helper_thread():
    async def where():
        return threading.current_thread().name

    async def main():
        return run_coroutine(where())      # (sync code called from a coroutine: it must not deadlock)
    assert asyncio.run(main()) == "Pyro-hook"
    assert run_coroutine(where()) == threading.current_thread().name

    async def fails():
        raise KeyError("x")
    with pytest.raises(KeyError):
        run_coroutine(fails())


def test_private_loop_closed_with_its_holder():
    holder = _PrivateLoop()
    loop = holder.loop
    del holder
    gc.collect()
    assert loop.is_closed()


def test_check_hook():
    check_hook(Interceptor())
    with pytest.raises(TypeError):
        check_hook(object())
    assert "obj.m" in repr(_call()) and _call().started > 0
