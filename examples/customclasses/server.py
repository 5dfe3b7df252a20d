"""Custom classes: Points travel as dicts and are turned back into Points by registered converters.

    python server.py
    python client.py PYRO:example.shapes@localhost:PORT
"""
from __future__ import annotations

from shapes import Point, register_converters

import Pyro5.api


@Pyro5.api.expose
class Geometry:
    def midpoint(self, a: Point, b: Point) -> Point:
        print(f"midpoint of {a!r} and {b!r} ({type(a).__name__} objects)", flush=True)
        return Point((a.x + b.x) / 2, (a.y + b.y) / 2)


def main() -> None:
    register_converters()
    with Pyro5.api.Daemon() as daemon:
        uri = daemon.register(Geometry, "example.shapes")
        print("Ready. Object uri =", uri, flush=True)
        daemon.requestLoop()


if __name__ == "__main__":
    main()
