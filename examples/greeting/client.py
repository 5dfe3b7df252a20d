"""The manual's greeting client.

    python client.py                     # asks for the URI and your name
    python client.py PYRO:obj_...@localhost:12345 Irmen
    python client.py PYRONAME:example.greeting Irmen   # via the name server
"""
from __future__ import annotations

import sys

import Pyro5.api


def main() -> None:
    uri = sys.argv[1] if len(sys.argv) > 1 else input("What is the Pyro uri of the greeting object? ").strip()
    name = sys.argv[2] if len(sys.argv) > 2 else input("What is your name? ").strip()

    with Pyro5.api.Proxy(uri) as greeting_maker:    # get a Pyro proxy to the greeting object
        print(greeting_maker.get_fortune(name))     # call method normally


if __name__ == "__main__":
    main()
