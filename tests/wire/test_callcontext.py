"""Pyro5.current_context kept in contextvars: per thread as before, and per asyncio task."""
from __future__ import annotations

import asyncio
import contextvars
import threading
import uuid

import pytest

from Pyro5 import callcontext, errors, protocol
from Pyro5.callcontext import current_context as ctx

ATTRIBUTES = ("client", "client_sock_addr", "seq", "msg_flags", "serializer_id", "annotations",
              "response_annotations", "correlation_id")
DEFAULTS = (None, None, 0, 0, 0, {}, {}, None)


@pytest.fixture(autouse=True)
def _fresh_context():
    # every test runs in a context of its own: nothing it sets leaks into other tests
    context = contextvars.Context()
    yield context


def run_in(context, fn, *args):
    return context.run(fn, *args)


def values() -> tuple:
    """The current values (the dicts copied: a snapshot)."""
    return tuple(dict(v) if isinstance(v, dict) else v for v in (getattr(ctx, name) for name in ATTRIBUTES))


def run_thread(fn) -> None:
    errors_seen = []

    def target():
        try:
            fn()
        except BaseException as x:  # (reported to the test below)
            errors_seen.append(x)

    t = threading.Thread(target=target)
    t.start()
    t.join(10)
    assert not t.is_alive()
    if errors_seen:
        raise errors_seen[0]


def test_class_and_defaults(_fresh_context):
    assert type(ctx).__module__ == "Pyro5.callcontext" and type(ctx).__qualname__ == "_CallContext"
    assert run_in(_fresh_context, values) == DEFAULTS


def test_each_thread_starts_with_fresh_values(_fresh_context):
    def main_part():
        ctx.correlation_id = uuid.uuid4()
        ctx.annotations["MAIN"] = b"1"          # changed in place: stays this thread's
        ctx.seq = 5
        ctx.custom = "main"
        seen = {}

        def worker():
            seen["before"] = values()
            seen["custom"] = hasattr(ctx, "custom")
            ctx.annotations["THRD"] = b"2"
            ctx.seq = 99
            ctx.custom = "thread"
            seen["after"] = (ctx.seq, dict(ctx.annotations), ctx.custom)

        run_thread(worker)
        assert seen == {"before": DEFAULTS, "custom": False, "after": (99, {"THRD": b"2"}, "thread")}
        assert (ctx.seq, ctx.annotations, ctx.custom) == (5, {"MAIN": b"1"}, "main")

    run_in(_fresh_context, main_part)


def test_threads_run_concurrently_with_their_own_values():
    count = 8
    barrier = threading.Barrier(count, timeout=10)
    results = {}

    def worker(i):
        ctx.seq = i
        ctx.annotations = {"NUMB": b"%d" % i}
        barrier.wait()      # all threads have set their values before any reads them back
        results[i] = (ctx.seq, ctx.annotations)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {i: (i, {"NUMB": b"%d" % i}) for i in range(count)}


def test_a_context_carried_into_another_thread_carries_its_values(_fresh_context):
    # Context.run in a worker thread (what asyncio.to_thread does): the worker sees the caller's values, and what
    # it assigns stays in that copy
    def main_part():
        ctx.seq = 7
        ctx.annotations = {"MAIN": b"1"}
        copied = contextvars.copy_context()
        seen = {}

        def in_copy():
            seen["values"] = values()
            ctx.seq = 8

        run_thread(lambda: copied.run(in_copy))
        assert seen["values"] == (None, None, 7, 0, 0, {"MAIN": b"1"}, {}, None)
        assert ctx.seq == 7 and copied.run(lambda: ctx.seq) == 8

    run_in(_fresh_context, main_part)


def test_asyncio_to_thread_sees_the_tasks_values(_fresh_context):
    async def main():
        async def task(i):
            ctx.seq = i
            return await asyncio.wait_for(asyncio.to_thread(lambda: ctx.seq), 10)

        assert await asyncio.gather(*(task(i) for i in range(4))) == [0, 1, 2, 3]

    run_in(_fresh_context, asyncio.run, main())


async def _two_tasks_interleaved():
    a_set, b_set = asyncio.Event(), asyncio.Event()
    corr_a, corr_b = uuid.uuid4(), uuid.uuid4()

    async def task_a():
        ctx.correlation_id = corr_a
        ctx.annotations = {"TASK": b"a"}
        ctx.client = "client-a"
        a_set.set()
        await asyncio.wait_for(b_set.wait(), 10)     # b has set its values by now
        return ctx.correlation_id, ctx.annotations, ctx.client

    async def task_b():
        await asyncio.wait_for(a_set.wait(), 10)
        before = ctx.correlation_id, ctx.client          # a's values are not b's
        ctx.correlation_id = corr_b
        ctx.annotations = {"TASK": b"b"}
        ctx.client = "client-b"
        b_set.set()
        await asyncio.sleep(0)
        return before, (ctx.correlation_id, ctx.annotations, ctx.client)

    ctx.correlation_id = None
    ctx.client = "parent"
    result_a, result_b = await asyncio.gather(task_a(), task_b())
    assert result_a == (corr_a, {"TASK": b"a"}, "client-a")
    assert result_b == ((None, "parent"), (corr_b, {"TASK": b"b"}, "client-b"))
    assert (ctx.correlation_id, ctx.client) == (None, "parent")     # the tasks' values stayed theirs


def test_concurrent_asyncio_tasks_are_isolated(_fresh_context):
    run_in(_fresh_context, asyncio.run, _two_tasks_interleaved())


async def _many_tasks():
    async def task(i):
        ctx.seq = i
        ctx.extra_value = i
        for _ in range(5):
            await asyncio.sleep(0)      # let the other tasks run and set theirs
        return ctx.seq, ctx.extra_value

    ctx.seq = -1
    results = await asyncio.gather(*(task(i) for i in range(50)))
    assert results == [(i, i) for i in range(50)]
    assert ctx.seq == -1 and not hasattr(ctx, "extra_value")


def test_many_tasks(_fresh_context):
    run_in(_fresh_context, asyncio.run, _many_tasks())


async def _correlation_ids_of_messages():
    async def task(corr):
        ctx.correlation_id = corr
        await asyncio.sleep(0)
        return protocol.SendingMessage(protocol.MSG_INVOKE, 0, 1, 1, b"x").correlation_id

    ids = [uuid.uuid4() for _ in range(5)]
    assert await asyncio.gather(*(task(c) for c in ids)) == ids


def test_messages_built_in_tasks_carry_the_tasks_correlation_id(_fresh_context):
    run_in(_fresh_context, asyncio.run, _correlation_ids_of_messages())


def test_correlation_id_given_explicitly(_fresh_context):
    def part():
        ctx.correlation_id = uuid.uuid4()
        corr = uuid.uuid4()
        assert protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"", correlation_id=corr).correlation_id == corr
        msg = protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"", correlation_id=None)
        assert msg.correlation_id is None and not msg.flags & protocol.FLAGS_CORR_ID
        assert protocol.SendingMessage(protocol.MSG_RESULT, 0, 1, 1, b"").correlation_id == ctx.correlation_id

    run_in(_fresh_context, part)


def test_other_attributes(_fresh_context):
    def part():
        with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
            _ = ctx.nothing_here
        ctx.mine = 1
        assert ctx.mine == 1
        del ctx.mine
        assert not hasattr(ctx, "mine")
        with pytest.raises(AttributeError):
            del ctx.mine
        with pytest.raises(AttributeError, match="cannot delete"):
            del ctx.seq

    run_in(_fresh_context, part)


def test_to_global_from_global_between_threads(_fresh_context):
    def part():
        ctx.seq = 3
        ctx.correlation_id = uuid.uuid4()
        snapshot = ctx.to_global()
        seen = {}

        def worker():
            ctx.from_global(snapshot)
            seen.update(ctx.to_global())

        run_thread(worker)
        assert seen == snapshot

    run_in(_fresh_context, part)


def test_track_resource_uses_the_tasks_client(_fresh_context):
    class Conn:
        def __init__(self):
            self.tracked_resources = set()

    async def main():
        conns = [Conn(), Conn()]

        async def task(conn, resource):
            ctx.client = conn
            await asyncio.sleep(0)
            ctx.track_resource(resource)

        await asyncio.gather(task(conns[0], "r0"), task(conns[1], "r1"))
        assert [c.tracked_resources for c in conns] == [{"r0"}, {"r1"}]
        with pytest.raises(errors.PyroError, match="connectionless"):
            ctx.track_resource("r2")

    run_in(_fresh_context, asyncio.run, main())


def test_module_exports():
    assert callcontext.__all__ == ["current_context"]


def test_set_call_sets_a_whole_call_at_once(_fresh_context):
    async def main():
        async def task(i):
            ctx._set_call("conn%d" % i, ("127.0.0.1", i), i, 4, 1, {"ANNO": b"%d" % i}, None)
            ctx.response_annotations["RESP"] = b"%d" % i
            await asyncio.sleep(0)
            return values()

        results = await asyncio.gather(*(task(i) for i in range(3)))
        assert results == [("conn%d" % i, ("127.0.0.1", i), i, 4, 1, {"ANNO": b"%d" % i}, {"RESP": b"%d" % i}, None)
                           for i in range(3)]
        assert values() == DEFAULTS

    run_in(_fresh_context, asyncio.run, main())
    # in a new thread it starts from fresh values as any other assignment does
    seen = {}

    def worker():
        ctx._set_call(None, None, 1, 0, 2, {}, None)
        seen["v"] = values()
    run_thread(worker)
    assert seen["v"] == (None, None, 1, 0, 2, {}, {}, None)


def test_the_values_a_proxy_uses_are_context_variables_of_their_own(_fresh_context):
    """callcontext._annotations, _response_annotations, _correlation_id: what a proxy's call path reads and sets
    with the context variable's own get/set (no Python call): the same values as the attributes."""
    def part():
        assert callcontext._annotations.get(None) is None        # (not used yet in this context)
        assert ctx.annotations == {} and callcontext._annotations.get(None) is ctx.annotations
        callcontext._response_annotations.set({"RESP": b"1"})
        callcontext._correlation_id.set(uuid.UUID(int=5))
        assert ctx.response_annotations == {"RESP": b"1"} and ctx.correlation_id == uuid.UUID(int=5)
        seen = {}
        run_thread(lambda: seen.update(values=values()))
        assert seen["values"] == DEFAULTS       # (set in this context only)
        for name in ("annotations", "response_annotations", "correlation_id"):
            assert isinstance(getattr(callcontext, "_" + name), contextvars.ContextVar)

    run_in(_fresh_context, part)


def test_set_call_and_assigning_one_of_the_first_five_values(_fresh_context):
    def part():
        client = object()
        ctx._set_call(client, ("peer", 1), 3, 0, 4, {"ANNO": b"x"}, None)
        assert values() == (client, ("peer", 1), 3, 0, 4, {"ANNO": b"x"}, {}, None)
        before = callcontext._get_call()
        ctx.seq = 4                                 # (assigned: new values, the others kept)
        assert callcontext._get_call() is not before and before[2] == 3
        assert values() == (client, ("peer", 1), 4, 0, 4, {"ANNO": b"x"}, {}, None)
        with pytest.raises(AttributeError):
            del ctx.seq

    run_in(_fresh_context, part)
