"""A few small methods, to be called in a batch.

    python server.py
    python client.py PYRO:example.batch@localhost:PORT
"""
from __future__ import annotations

import Pyro5.api


@Pyro5.api.expose
class Calculator:
    def multiply(self, a: float, b: float) -> float:
        return a * b

    def add(self, a: float, b: float) -> float:
        return a + b

    def divide(self, a: float, b: float) -> float:
        return a / b

    def ping(self) -> None:
        pass


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Calculator, "example.batch")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
