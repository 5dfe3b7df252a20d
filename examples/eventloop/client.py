"""Looks up the clock in the server's embedded name server and calls it."""
from __future__ import annotations

import sys

import Pyro5.api


def main() -> None:
    ns_uri = sys.argv[1] if len(sys.argv) > 1 else input("uri of the embedded name server? ").strip()
    with Pyro5.api.Proxy(ns_uri) as ns:
        print("registered names:", sorted(ns.list()))
        clock_uri = ns.lookup("example.eventloop.clock")
    with Pyro5.api.Proxy(clock_uri) as clock:
        print("the clock says", clock.now(), "- ticks so far:", clock.tick_count())


if __name__ == "__main__":
    main()
