"""A server with a slow method, to show client-side timeouts.

    python server.py
    python client.py PYRO:example.timeout@localhost:PORT
"""
from __future__ import annotations

import time

import Pyro5.api


@Pyro5.api.expose
class Slow:
    def delay(self, seconds: float) -> str:
        time.sleep(seconds)
        return f"slept {seconds} seconds"


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Slow, "example.timeout")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
