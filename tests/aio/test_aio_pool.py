"""The AsyncProxy's connection pool (Pyro5/aio/_conn.py ConnectionPool) on its own: leasing order, hand-over of a
wake-up when the woken task is cancelled, a failed open, a connection lost while tasks wait for it. The
connections here are stand-ins (the pool does no I/O itself); the I/O is tested in test_aio_client.py."""
from __future__ import annotations

import asyncio
import collections

import pytest

import Pyro5
import Pyro5.errors
from Pyro5.aio._conn import ConnectionPool


class FakeConnection:
    def __init__(self, n: int) -> None:
        self.n = n
        self.alive = True
        self.capacity = 1
        self.active = 0
        self.waiters: collections.deque = collections.deque()

    @property
    def leased(self) -> bool:
        return self.active > 0

    def close(self) -> None:
        self.alive = False


def make_pool(fail_first: int = 0):
    opened = []

    async def opener():
        if len(opened) < fail_first:
            opened.append(None)
            raise Pyro5.errors.CommunicationError("cannot connect")
        conn = FakeConnection(len(opened))
        opened.append(conn)
        return conn
    return ConnectionPool(opener), opened


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def settle(predicate, tries: int = 100):
    for _ in range(tries):      # (bounded: a few loop iterations let the tasks reach their wait)
        if predicate():
            return True
        await asyncio.sleep(0)
    return False


def test_opens_up_to_the_pool_size_then_waiters_are_served_in_order():
    Pyro5.config.ASYNC_POOL_SIZE = 2

    async def main():
        pool, opened = make_pool()
        a, b = await pool.lease(), await pool.lease()
        assert (a.n, b.n) == (0, 1) and a.leased and b.leased
        order = []

        async def user(i):
            conn = await pool.lease()
            order.append((i, conn.n))
            pool.free(conn)
        tasks = [asyncio.ensure_future(user(i)) for i in range(5)]
        assert await settle(lambda: len(pool._waiters) == 5)
        pool.free(a)
        await asyncio.gather(*tasks)
        assert order == [(i, 0) for i in range(5)]
        assert len(opened) == 2 and pool.connections == [a, b]
    run(main())


def test_a_woken_task_that_is_cancelled_hands_the_wake_up_on():
    Pyro5.config.ASYNC_POOL_SIZE = 1

    async def main():
        pool, _ = make_pool()
        conn = await pool.lease()
        first = asyncio.ensure_future(pool.lease())
        second = asyncio.ensure_future(pool.lease())
        assert await settle(lambda: len(pool._waiters) == 2)
        pool.free(conn)         # wakes `first` ...
        first.cancel()          # ... which is cancelled before it runs
        assert await second is conn
        assert first.cancelled()
    run(main())


def test_a_failed_open_lets_a_waiting_task_try_again():
    Pyro5.config.ASYNC_POOL_SIZE = 1

    async def main():
        pool, opened = make_pool(fail_first=1)
        results = await asyncio.gather(pool.lease(), pool.lease(), return_exceptions=True)
        assert isinstance(results[0], Pyro5.errors.CommunicationError)
        assert isinstance(results[1], FakeConnection)
        assert len(opened) == 2
    run(main())


def test_waiting_for_a_connection_that_is_lost():
    Pyro5.config.ASYNC_POOL_SIZE = 1

    async def main():
        pool, _ = make_pool()
        conn = await pool.lease()
        waiting = [asyncio.ensure_future(pool.lease(conn)) for _ in range(3)]
        assert await settle(lambda: len(conn.waiters) == 3)
        conn.close()
        pool.free(conn)
        for task in waiting:
            with pytest.raises(Pyro5.errors.ConnectionClosedError):
                await task
        assert pool.connections == []
        fresh = await pool.lease()      # the pool opens a new one
        assert fresh is not conn and fresh.alive
    run(main())


def test_a_given_connection_is_leased_before_the_general_waiters():
    Pyro5.config.ASYNC_POOL_SIZE = 1

    async def main():
        pool, _ = make_pool()
        conn = await pool.lease()
        general = asyncio.ensure_future(pool.lease())
        specific = asyncio.ensure_future(pool.lease(conn))
        assert await settle(lambda: len(pool._waiters) == 1 and len(conn.waiters) == 1)
        pool.free(conn)
        assert await specific is conn
        assert not general.done()
        pool.free(conn)
        assert await general is conn
    run(main())
