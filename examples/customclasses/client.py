"""Sends two Points and gets one back: with the converters, then without the receiving one."""
from __future__ import annotations

import sys

from shapes import Point, register_converters

import Pyro5.api
import Pyro5.errors


def main(uri: str) -> None:
    register_converters()
    with Pyro5.api.Proxy(uri) as geometry:
        result = geometry.midpoint(Point(0, 0), Point(4, 2))
        print("midpoint:", repr(result), "is a", type(result).__name__)
    Pyro5.api.unregister_dict_to_class("shapes.Point")
    with Pyro5.api.Proxy(uri) as geometry:
        try:
            geometry.midpoint(Point(0, 0), Point(4, 2))
        except Pyro5.errors.SerializeError as x:   # Pyro never makes an unknown class from received data
            print("without the client's dict_to_class converter: SerializeError:", x)


if __name__ == "__main__":
    main(sys.argv[1])
