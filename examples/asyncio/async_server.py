"""The same calculator as server.py, served by an AsyncDaemon: `async def` methods run as tasks on the event loop,
plain methods in the daemon's worker threads (never on the loop). client.py works unchanged against it; with an
AsyncProxy it gets many calls in flight on one connection (our daemons grant that; see the asyncio guide).

Without a name server (prints the object's URI; give it to client.py):
    python async_server.py
With a name server (start one first: `pyro5-ns`; registers the name "example.asyncio"):
    python async_server.py --ns
"""
from __future__ import annotations

import argparse
import asyncio
import threading
import time
from typing import AsyncIterator

import Pyro5.api
from Pyro5.aio.client import locate_ns


@Pyro5.api.expose
class Calculator:
    def __init__(self) -> None:
        self._precision = 2
        self._log: list[str] = []
        self._lock = threading.Lock()

    async def add(self, a: float, b: float) -> float:            # on the loop
        return round(a + b, self._precision)

    async def slow_square(self, x: float, seconds: float) -> float:
        await asyncio.sleep(seconds)                             # other calls go on meanwhile
        return x * x

    def blocking_square(self, x: float, seconds: float) -> float:
        time.sleep(seconds)                                      # a worker thread: the loop is not blocked
        return x * x

    async def numbers(self, n: int) -> AsyncIterator[int]:      # an async generator: streamed item by item
        for i in range(n):
            yield i

    @Pyro5.api.oneway
    async def log(self, text: str) -> None:
        with self._lock:
            self._log.append(text)

    def logged(self) -> list[str]:
        with self._lock:
            return list(self._log)

    @property
    def precision(self) -> int:
        return self._precision

    @precision.setter
    def precision(self, value: int) -> None:
        self._precision = value


async def main(use_ns: bool) -> None:
    async with Pyro5.api.AsyncDaemon() as daemon:
        uri = daemon.register(Calculator(), "example.asyncio")
        if use_ns:
            async with await locate_ns() as ns:
                await ns.register("example.asyncio", uri)
            print("Registered example.asyncio in the name server.")
        print("Ready. Object uri =", uri, flush=True)
        await daemon.requestLoop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="an AsyncDaemon for the asyncio client")
    parser.add_argument("--ns", action="store_true", help="register the object in the name server")
    try:
        asyncio.run(main(parser.parse_args().ns))
    except KeyboardInterrupt:
        pass
