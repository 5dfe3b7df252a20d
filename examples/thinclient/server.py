"""The server side of the thin client example: registers a sensor in the name server, with metadata.

    pyro5-ns                        # a name server must be running
    python server.py
    python client.py
"""
from __future__ import annotations

import Pyro5.api


@Pyro5.api.expose
class Sensor:
    def __init__(self) -> None:
        self.readings = [20.5, 21.0, 21.25]

    def latest(self) -> float:
        return self.readings[-1]

    def history(self) -> list[float]:
        return list(self.readings)


def main() -> None:
    with Pyro5.api.Daemon() as daemon, Pyro5.api.locate_ns() as ns:
        uri = daemon.register(Sensor, "example.thinclient.sensor")
        ns.register("example.thinclient.sensor", uri, metadata={"kind:sensor", "room:kitchen"})
        print("Ready. Object uri =", uri, flush=True)
        try:
            daemon.requestLoop()
        finally:
            ns.remove("example.thinclient.sensor")


if __name__ == "__main__":
    main()
