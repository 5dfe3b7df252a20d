"""Timeouts: per proxy (_pyroTimeout) or for everything (Pyro5.config.COMMTIMEOUT)."""
from __future__ import annotations

import sys
import time

import Pyro5.api
import Pyro5.errors


def main() -> None:
    uri = sys.argv[1] if len(sys.argv) > 1 else input("uri of the timeout example server? ").strip()
    with Pyro5.api.Proxy(uri) as slow:
        slow._pyroTimeout = 0.5
        print("timeout 0.5 s; delay(0.1):", slow.delay(0.1))
        t0 = time.perf_counter()
        try:
            slow.delay(2.0)
            print("no timeout?!")
        except Pyro5.errors.TimeoutError as x:
            print(f"timeout 0.5 s; delay(2.0): TimeoutError after {time.perf_counter() - t0:.2f} s: {x}")
        # the proxy closed its connection after the timeout; it reconnects on the next call
        print("next call works again:", slow.delay(0.0))

    Pyro5.config.COMMTIMEOUT = 0.3                   # the global default for new proxies
    with Pyro5.api.Proxy(uri) as slow:
        print("proxy timeout from COMMTIMEOUT:", slow._pyroTimeout)
        try:
            slow.delay(1.0)
        except Pyro5.errors.TimeoutError:
            print("COMMTIMEOUT 0.3 s; delay(1.0): TimeoutError")


if __name__ == "__main__":
    main()
