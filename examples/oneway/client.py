"""Calls a oneway method, shows that it returned at once, then polls for the result."""
from __future__ import annotations

import sys
import time

import Pyro5.api


def main() -> None:
    uri = sys.argv[1] if len(sys.argv) > 1 else input("uri of the oneway example server? ").strip()
    with Pyro5.api.Proxy(uri) as worker:
        worker._pyroBind()                               # connect now: the proxy learns which methods are oneway
        print("oneway methods:", sorted(worker._pyroOneway))
        t0 = time.perf_counter()
        result = worker.start_work(1.0)
        elapsed = time.perf_counter() - t0
        print(f"start_work(1.0) returned {result!r} after {elapsed * 1000:.1f} ms (the work takes 1000 ms)")
        worker.fail()                                    # the exception stays in the server
        print("fail() returned without an error: oneway calls return no exceptions")
        print("is_done right away:", worker.is_done())
        deadline = time.monotonic() + 10
        while not worker.is_done():
            if time.monotonic() > deadline:
                raise SystemExit("the oneway work did not finish within 10 seconds")
            time.sleep(0.05)
        print(f"done after {time.perf_counter() - t0:.2f} s: {worker.result()}")


if __name__ == "__main__":
    main()
