"""A plain Pyro daemon (thread pool server) that the asyncio client calls: every daemon serves AsyncProxy.

Without a name server (prints the object's URI; give it to client.py):
    python server.py
With a name server (start one first: `pyro5-ns`; registers the name "example.asyncio"):
    python server.py --ns
"""
from __future__ import annotations

import argparse
import threading
import time
from typing import Iterator

import Pyro5.api


@Pyro5.api.expose
class Calculator:
    def __init__(self) -> None:
        self._precision = 2
        self._log: list[str] = []
        self._lock = threading.Lock()

    def add(self, a: float, b: float) -> float:
        return round(a + b, self._precision)

    def slow_square(self, x: float, seconds: float) -> float:
        time.sleep(seconds)
        return x * x

    def numbers(self, n: int) -> Iterator[int]:
        yield from range(n)

    @Pyro5.api.oneway
    def log(self, text: str) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(description="a server for the asyncio client")
    parser.add_argument("--ns", action="store_true", help="register the object in the name server")
    args = parser.parse_args()
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Calculator(), "example.asyncio")
        if args.ns:
            with Pyro5.api.locate_ns() as ns:
                ns.register("example.asyncio", uri)
            print("Registered example.asyncio in the name server.")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
