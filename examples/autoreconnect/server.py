"""A server that publishes its object with a fixed object id and port, so the URI survives a restart.

    python server.py --port 9999
    python client.py PYRO:example.autoreconnect@localhost:9999     # then stop and restart the server
"""
from __future__ import annotations

import argparse
import os

import Pyro5.api


@Pyro5.api.expose
@Pyro5.api.behavior(instance_mode="single")
class Counter:
    def __init__(self) -> None:
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"call {self.count} on server process {os.getpid()}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=9999)
    args = parser.parse_args()
    with Pyro5.api.Daemon(port=args.port) as daemon:
        uri = daemon.register(Counter, "example.autoreconnect")   # same id + same port = same URI
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
