"""The warehouse from the tutorial: a Pyro object that stores and hands out items.

    pyro5-ns                  # a name server must be running
    python warehouse.py       # registers "example.warehouse"
    python visit.py           # Janet and Henry visit the warehouse
"""
from __future__ import annotations

import threading

import Pyro5.api


@Pyro5.api.expose
@Pyro5.api.behavior(instance_mode="single")     # every visitor sees the same warehouse
class Warehouse:
    def __init__(self) -> None:
        self.contents = ["chair", "bike", "flashlight", "laptop", "couch"]
        self._lock = threading.Lock()           # the thread pool server may call us concurrently

    def list_contents(self) -> list[str]:
        with self._lock:
            return list(self.contents)

    def take(self, name: str, item: str) -> None:
        with self._lock:
            if item not in self.contents:
                raise ValueError(f"there is no {item!r} in the warehouse")
            self.contents.remove(item)
        print(f"{name} took the {item}.", flush=True)

    def store(self, name: str, item: str) -> None:
        with self._lock:
            self.contents.append(item)
        print(f"{name} stored the {item}.", flush=True)


def main() -> None:
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Warehouse)
        with Pyro5.api.locate_ns() as ns:
            ns.register("example.warehouse", uri)
        print("Ready. Warehouse uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
