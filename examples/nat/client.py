"""Calls the object through the public (forwarded) address in its uri."""
from __future__ import annotations

import sys

from Pyro5.api import Proxy


def main(uri: str) -> None:
    with Proxy(uri) as greeter:
        print("calling", uri)
        print(greeter.greet("Irmen"))


if __name__ == "__main__":
    main(sys.argv[1])
