"""Registers a few objects with metadata tags in the name server (yellow pages).

    pyro5-ns
    python server.py
    python client.py
"""
from __future__ import annotations

import Pyro5.api

RESOURCES = {
    "example.resource.printer.hallway": {"resource.printer", "floor.ground"},
    "example.resource.printer.secondfloor": {"resource.printer", "floor.second", "performance.fast"},
    "example.resource.storage.disks": {"resource.storage", "floor.ground"},
}


@Pyro5.api.expose
class Resource:
    def __init__(self, name: str) -> None:
        self.name = name

    def describe(self) -> str:
        return f"I am {self.name}"


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        with Pyro5.api.locate_ns() as ns:
            for name, tags in RESOURCES.items():
                uri = daemon.register(Resource(name))
                ns.register(name, uri, metadata=tags)
        print("Ready. Registered:", ", ".join(RESOURCES), flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
