"""Calls the object over the unix domain socket named in its uri."""
from __future__ import annotations

import sys

from Pyro5.api import URI, Proxy


def main(uri: str) -> None:
    print("the uri names a socket file:", URI(uri).sockname)
    with Proxy(uri) as echo:
        print("echo:", echo.echo("hello over a unix socket"))
        print("the server sees:", echo.transport())


if __name__ == "__main__":
    main(sys.argv[1])
