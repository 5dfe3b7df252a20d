"""Callbacks: the server calls back into an object that lives in the client.

    python server.py
    python client.py PYRO:example.callback@localhost:PORT
"""
from __future__ import annotations

from typing import Any

import Pyro5.api


@Pyro5.api.expose
class Worker:
    def work(self, callback: Any, steps: int) -> str:
        """`callback` arrives as a proxy for the client's callback object (autoproxy)."""
        for i in range(1, steps + 1):
            callback.progress(i, steps)
        try:
            callback.crash()
        except ZeroDivisionError as x:
            return f"done; the callback's crash came back to the server as ZeroDivisionError: {x}"
        return "done"


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Worker, "example.callback")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
