"""Server call hooks (Daemon.add_interceptor / add_observer): every call kind on both server types, through a
real proxy; async hooks; hooks that raise; annotations both ways."""
from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from Pyro5 import errors
from Pyro5._hooks import Interceptor
from Pyro5.callcontext import current_context
from Pyro5.client import BatchProxy, Proxy
from tests.observability._objects import Calc
from tests.server._helpers import wait_for


class Recorder(Interceptor):
    def __init__(self) -> None:
        self.events: list = []
        self.ended = threading.Event()

    def before(self, call):
        self.events.append(("before", call.kind, call.object_id, call.method, tuple(call.args)))

    def after(self, call):
        self.events.append(("after", call.kind, call.method, call.result if call.exception is None else None,
                            type(call.exception).__name__ if call.exception else None, call.duration >= 0))
        self.ended.set()


@pytest.fixture
def calc_daemon(start_daemon, servertype):
    rd = start_daemon()
    calc = Calc()
    uri = rd.daemon.register(calc, "calc")
    return rd, calc, uri


def test_every_call_kind_is_seen(calc_daemon):
    rd, calc, uri = calc_daemon
    rec = Recorder()
    rd.daemon.add_interceptor(rec)
    with Proxy(uri) as p:
        assert p.add(1, 2) == 3
        with pytest.raises(ValueError):
            p.fail()
        p.value = 5
        assert p.value == 5
        assert list(p.items(2)) == [0, 1]
        batch = BatchProxy(p)
        batch.add(2, 2)
        batch.add(3, 3)
        assert list(batch()) == [4, 6]
        p.fire(1)
        assert calc.oneway_done.wait(5)
    wait_for(lambda: ("after", "oneway", "fire", None, None, True) in rec.events)
    ev = rec.events
    assert ("before", "call", "calc", "add", (1, 2)) in ev
    assert ("after", "call", "add", 3, None, True) in ev
    assert ("after", "call", "fail", None, "ValueError", True) in ev
    assert ("before", "setattr", "calc", "__setattr__", ("value", 5)) in ev
    assert ("before", "getattr", "calc", "__getattr__", ("value",)) in ev
    assert ("after", "getattr", "__getattr__", 5, None, True) in ev
    assert any(e[0] == "after" and e[1] == "stream" and e[2] == "items" for e in ev)
    # the stream's items are calls to the daemon object
    assert ("before", "call", "Pyro.Daemon", "get_next_stream_item", (stream_id(ev),)) in ev
    assert any(e[:3] == ("before", "batch", "calc") and e[3] == "<batch>" for e in ev)
    assert ("after", "batch", "<batch>", [4, 6], None, True) in ev
    # before comes before after, for each call
    assert ev.index(("before", "call", "calc", "add", (1, 2))) < ev.index(("after", "call", "add", 3, None, True))


def stream_id(events):
    """the stream id of the first get_next_stream_item call recorded"""
    return next(e[4][0] for e in events if e[0] == "before" and e[3] == "get_next_stream_item")


def test_hook_sees_client_address_annotations_and_correlation(calc_daemon):
    rd, calc, uri = calc_daemon
    seen = {}

    class Look(Interceptor):
        def before(self, call):
            seen["peer"] = call.peer
            seen["ann"] = dict(call.annotations)
            seen["corr"] = call.correlation_id
            seen["thread"] = call.thread
            call.response_annotations["HOOK"] = b"from the server hook"

    rd.daemon.add_interceptor(Look())
    import uuid
    corr = uuid.uuid4()
    current_context.correlation_id = corr
    current_context.annotations = {"XTRA": b"abc"}
    try:
        with Proxy(uri) as p:
            assert p.add(1, 1) == 2
            local = p._pyroConnection.sock.getsockname()
            assert current_context.response_annotations["HOOK"] == b"from the server hook"
    finally:
        current_context.correlation_id = None
        current_context.annotations = {}
    assert tuple(seen["peer"][:2]) == tuple(local[:2])
    assert seen["ann"]["XTRA"] == b"abc"
    assert seen["corr"] == corr


def test_async_hooks_run_to_completion_on_a_sync_server(calc_daemon):
    rd, calc, uri = calc_daemon
    order = []

    class AsyncHook(Interceptor):
        async def before(self, call):
            await asyncio.sleep(0)
            order.append(("before", call.method))

        async def after(self, call):
            await asyncio.sleep(0)
            order.append(("after", call.method, call.result))

    rd.daemon.add_interceptor(AsyncHook())
    with Proxy(uri) as p:
        assert p.add(2, 3) == 5
    assert order == [("before", "add"), ("after", "add", 5)]


def test_hooks_that_raise_are_logged_and_the_call_goes_on(calc_daemon, caplog):
    rd, calc, uri = calc_daemon

    class Broken(Interceptor):
        def before(self, call):
            raise RuntimeError("hook broken before")

        def after(self, call):
            raise RuntimeError("hook broken after")

    rec = Recorder()
    rd.daemon.add_interceptor(Broken())
    rd.daemon.add_interceptor(rec)
    rd.daemon.add_observer(lambda event, call: 1 / 0)
    with caplog.at_level(logging.WARNING, logger="Pyro5.server"):
        with Proxy(uri) as p:
            assert p.add(20, 22) == 42
            with pytest.raises(ValueError):
                p.fail()
    msgs = [r.getMessage() for r in caplog.records if r.name == "Pyro5.server"]
    assert any("before hook" in m and "calc.add" in m for m in msgs)
    assert any("after hook" in m and "calc.add" in m for m in msgs)
    assert any("started hook" in m for m in msgs) and any("finished hook" in m for m in msgs)
    assert any(r.exc_info and "hook broken before" in str(r.exc_info[1]) for r in caplog.records)
    assert ("after", "call", "add", 42, None, True) in rec.events      # the other hooks still ran


def test_observers_and_removal(calc_daemon):
    rd, calc, uri = calc_daemon
    events = []

    def observer(event, call):
        events.append((event, call.method))
    rd.daemon.add_observer(observer)
    with Proxy(uri) as p:
        p.add(1, 2)
        assert events == [("started", "add"), ("finished", "add")]
        rd.daemon.remove_observer(observer)
        assert rd.daemon.dispatcher.hooks is None       # nothing registered: the plain call path again
        p.add(1, 2)
    assert len(events) == 2
    with pytest.raises(TypeError):
        rd.daemon.add_interceptor(object())
    with pytest.raises(TypeError):
        rd.daemon.add_observer("not callable")


def test_unknown_object_and_method_errors_are_seen(calc_daemon):
    rd, calc, uri = calc_daemon
    rec = Recorder()
    rd.daemon.add_interceptor(rec)
    with Proxy(uri) as p:
        p._pyroBind()
        with pytest.raises(AttributeError):
            p._pyroInvoke("nonexisting", (), {})
    with Proxy("PYRO:nothere@%s:%d" % (rd.address[0], rd.port)) as p:
        with pytest.raises(errors.CommunicationError):
            p._pyroBind()
    assert ("after", "call", "nonexisting", None, "AttributeError", True) in rec.events


def test_oneway_unthreaded(calc_daemon):
    import Pyro5
    Pyro5.config.ONEWAY_THREADED = False
    rd, calc, uri = calc_daemon
    rec = Recorder()
    rd.daemon.add_interceptor(rec)
    with Proxy(uri) as p:
        p.fire(3)
        assert calc.oneway_done.wait(5)
    wait_for(lambda: ("after", "oneway", "fire", None, None, True) in rec.events)


def test_async_hooks_awaited_in_a_given_loop(calc_daemon):
    """An asyncio server runs calls in worker threads and sets its loop: the coroutine hooks run in that loop."""
    rd, calc, uri = calc_daemon
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    seen = []

    class InLoop(Interceptor):
        async def before(self, call):
            seen.append(("before", asyncio.get_running_loop() is loop, threading.current_thread() is runner))

        async def after(self, call):
            await asyncio.sleep(0)
            seen.append(("after", asyncio.get_running_loop() is loop, call.result))

    try:
        rd.daemon.set_hooks_loop(loop)
        rd.daemon.add_interceptor(InLoop())
        with Proxy(uri) as p:
            assert p.add(3, 4) == 7
    finally:
        loop.call_soon_threadsafe(loop.stop)
        runner.join(5)
        loop.close()
    assert seen == [("before", True, True), ("after", True, 7)]


def test_hooks_on_a_daemon_over_a_connected_socket():
    """The existing-connection server (Daemon(connected_socket=...)) goes through the same dispatcher."""
    import socket

    from Pyro5.server import Daemon
    from tests.server._helpers import RunningDaemon
    server_sock, client_sock = socket.socketpair()
    rec = Recorder()
    try:
        daemon = Daemon(connected_socket=server_sock)
        daemon.add_interceptor(rec)
        daemon.register(Calc(), "calc")
        rd = RunningDaemon(daemon)
        try:
            with Proxy("PYRO:calc@./u:whatever", connected_socket=client_sock) as p:
                assert p.add(5, 6) == 11
        finally:
            client_sock.close()
            rd.thread.join(5)
            rd.stop()
    finally:
        server_sock.close()
        client_sock.close()
    assert ("after", "call", "add", 11, None, True) in rec.events


@pytest.mark.parametrize("kind", ["thread", "multiplex", "asyncio"])
def test_async_def_methods_are_seen_with_their_outcome(start_daemon, kind):
    # on the asyncio engine an async def method's coroutine is awaited by the transport after the dispatcher
    # returned: the hooks end with the coroutine (its result or exception), not with the hand-over
    import Pyro5
    from Pyro5.server import expose
    Pyro5.config.SERVERTYPE = kind

    @expose
    class AsyncCalc:
        async def double(self, x):
            await asyncio.sleep(0)
            return 2 * x

        async def broken(self):
            await asyncio.sleep(0)
            raise KeyError("k")

    rd = start_daemon()
    uri = rd.daemon.register(AsyncCalc(), "acalc")
    rec = Recorder()
    rd.daemon.add_interceptor(rec)
    with Proxy(uri) as p:
        assert p.double(21) == 42
        with pytest.raises(KeyError):
            p.broken()
    wait_for(lambda: sum(1 for e in rec.events if e[0] == "after") == 2)
    assert ("after", "call", "double", 42, None, True) in rec.events
    assert ("after", "call", "broken", None, "KeyError", True) in rec.events
    assert [e[0] for e in rec.events] == ["before", "after", "before", "after"]
