"""A server for the shared proxy example: a quick method and a slow one.

    python server.py
    python client.py PYRO:example.sharedproxy@localhost:PORT
"""
from __future__ import annotations

import threading
import time

import Pyro5.api


@Pyro5.api.expose
@Pyro5.api.behavior(instance_mode="single")
class Service:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0

    def square(self, x: int) -> int:
        with self.lock:
            self.calls += 1
        return x * x

    def slow_square(self, x: int, seconds: float) -> int:
        time.sleep(seconds)
        return x * x

    def call_count(self) -> int:
        return self.calls


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Service, "example.sharedproxy")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
