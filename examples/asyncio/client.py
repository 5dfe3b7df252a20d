"""Calling a Pyro object from asyncio with AsyncProxy: await, gather, async for, oneway, attributes, timeouts.

    python client.py PYRO:example.asyncio@localhost:PORT
    python client.py PYRONAME:example.asyncio          (server started with --ns, a name server running)
"""
from __future__ import annotations

import asyncio
import sys

import Pyro5.errors
from Pyro5.api import AsyncProxy


async def main(uri: str) -> None:
    async with AsyncProxy(uri) as calc:
        print("add(1, 2) =", await calc.add(1, 2))

        # many tasks share one proxy: it uses a small pool of connections (config.ASYNC_POOL_SIZE)
        results = await asyncio.gather(*(calc.add(i, i) for i in range(1000)))
        print("1000 concurrent calls, sum of results:", sum(results))

        # a slow call does not hold up the others
        slow = asyncio.ensure_future(calc.slow_square(12, 1.0))
        quick = await asyncio.gather(*(calc.add(i, 1) for i in range(5)))
        print("quick calls while the slow one runs:", quick, "- slow one done yet:", slow.done())
        print("slow_square(12) =", await slow)

        # a remote generator, item by item
        print("numbers:", [n async for n in calc.numbers(5)])

        # oneway: returns once the request is sent
        await calc.log("hello from asyncio")

        # remote attributes: await to read, _pyroSetAttr to set
        print("precision:", await calc.precision)
        await calc._pyroSetAttr("precision", 4)
        print("precision now:", await calc.precision, "- add(0.12345, 0) =", await calc.add(0.12345, 0))

        # timeouts: the late reply is dropped when it comes, the proxy stays usable
        try:
            await asyncio.wait_for(calc.slow_square(3, 1.0), 0.2)
        except asyncio.TimeoutError:
            print("slow_square gave up after 0.2 s (asyncio.wait_for)")
        calc._pyroTimeout = 0.2
        try:
            await calc.slow_square(4, 1.0)
        except Pyro5.errors.TimeoutError:
            print("slow_square gave up after 0.2 s (_pyroTimeout)")
        calc._pyroTimeout = None
        print("logged by the oneway call:", await calc.logged())
        print("the proxy still works: add(20, 22) =", await calc.add(20, 22))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else input("uri of the object: ").strip()))
