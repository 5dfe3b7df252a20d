"""Oneway calls: the server marks `start_work` with @oneway, so clients don't wait for it.

    python server.py
    python client.py PYRO:example.oneway@localhost:PORT
"""
from __future__ import annotations

import threading
import time

import Pyro5.api


@Pyro5.api.expose
@Pyro5.api.behavior(instance_mode="single")
class Worker:
    def __init__(self) -> None:
        self._done = threading.Event()
        self._result: str | None = None

    @Pyro5.api.oneway
    def start_work(self, seconds: float) -> None:
        """Runs in its own server thread (ONEWAY_THREADED); the caller continues immediately."""
        self._done.clear()
        time.sleep(seconds)
        self._result = f"worked for {seconds} seconds"
        self._done.set()

    def is_done(self) -> bool:
        return self._done.is_set()

    def result(self) -> str | None:
        return self._result

    @Pyro5.api.oneway
    def fail(self) -> None:
        raise RuntimeError("a oneway call's exception never reaches the client")


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Worker, "example.oneway")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
