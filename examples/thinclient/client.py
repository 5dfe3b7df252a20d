"""A thin client: needs only `pip install pyro5-client`. It finds objects through the name server by
name and by metadata, and never imports server or name server code."""
from __future__ import annotations

import sys

from Pyro5.api import Proxy, locate_ns, resolve


def main() -> None:
    with locate_ns() as ns:
        print("name server:", ns._pyroUri.location)
        print("sensors:", sorted(ns.yplookup(meta_all={"kind:sensor"})))
    print("resolved:", resolve("PYRONAME:example.thinclient.sensor").object)
    with Proxy("PYRONAME:example.thinclient.sensor") as sensor:
        print("latest reading (by name):", sensor.latest())
    with Proxy("PYROMETA:kind:sensor,room:kitchen") as sensor:
        print("history (by metadata):", sensor.history())
    loaded = sorted(m for m in sys.modules if m in ("Pyro5.server", "Pyro5.nameserver", "Pyro5.utils.httpgateway"))
    print("server modules loaded:", loaded or "none")


if __name__ == "__main__":
    main()
