"""One proxy, many threads: Proxy(uri, shared=True) called from a thread pool.

    python client.py PYRO:example.sharedproxy@localhost:PORT
"""
from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import Pyro5.api
import Pyro5.errors


def main(uri: str) -> None:
    with Pyro5.api.Proxy(uri, shared=True) as service:      # any thread may call it, no _pyroClaimOwnership()
        with ThreadPoolExecutor(16) as pool:
            squares = list(pool.map(service.square, range(1000)))
        print("1000 calls from 16 threads, every result matched:", squares == [x * x for x in range(1000)])

        # a slow call does not hold up the quick ones of other threads (one connection, many calls in flight)
        slow = threading.Thread(target=lambda: print("slow_square(12) =", service.slow_square(12, 1.0)))
        slow.start()
        print("quick calls while the slow one runs:", [service.square(i) for i in range(1, 6)])
        slow.join()

        # a call that times out is abandoned; the proxy keeps its connection and goes on working
        service._pyroTimeout = 0.2
        try:
            service.slow_square(3, 1.0)
        except Pyro5.errors.TimeoutError:
            print("slow_square gave up after 0.2 s")
        print("the proxy still works: square(7) =", service.square(7))
        print("one connection:", service._pyroConnection is not None)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else input("uri of the server: ").strip())
