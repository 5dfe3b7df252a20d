"""asyncio and blocking Pyro in one program, with the name server (start one first: `pyro5-ns`).

An AsyncDaemon serves a `Sensors` object on this program's event loop and registers it in the name server with
the async name server proxy. Then, from the same program, an AsyncProxy (PYRONAME lookup) reads the sensors with
many concurrent calls, and a blocking Proxy in a thread calls the same object: both kinds of client, one server.

    python mixed.py
"""
from __future__ import annotations

import asyncio
import random

import Pyro5.api
from Pyro5.aio.client import AsyncProxy, locate_ns

NAME = "example.asyncio.sensors"


@Pyro5.api.expose
class Sensors:
    def __init__(self) -> None:
        self.reads = 0

    async def read(self, sensor: int) -> dict:
        await asyncio.sleep(random.uniform(0, 0.02))      # waiting for a (simulated) device; others go on
        self.reads += 1
        return {"sensor": sensor, "value": sensor * 10}

    def total_reads(self) -> int:                        # a plain method: runs in a worker thread
        return self.reads


def blocking_client() -> tuple:
    """What a program without asyncio does: a plain Proxy through the name server."""
    with Pyro5.api.Proxy("PYRONAME:" + NAME) as sensors:
        return sensors.read(7), sensors.total_reads()


async def main() -> None:
    async with Pyro5.api.AsyncDaemon() as daemon:
        uri = daemon.register(Sensors(), NAME)
        async with await locate_ns() as ns:
            await ns.register(NAME, uri)
        print("Ready. registered", NAME, flush=True)
        server = asyncio.create_task(daemon.requestLoop())
        try:
            async with AsyncProxy("PYRONAME:" + NAME) as sensors:
                readings = await asyncio.gather(*(sensors.read(i) for i in range(20)))
                print("20 concurrent reads, values:", [r["value"] for r in readings][:5], "...")
                print("total reads so far:", await sensors.total_reads())
            reading, total = await asyncio.to_thread(blocking_client)
            print("blocking proxy read:", reading, "- total reads:", total)
        finally:
            async with await locate_ns() as ns:
                await ns.remove(NAME)
            daemon.shutdown()
            await server
    print("done")


if __name__ == "__main__":
    asyncio.run(main())
