"""Batched calls: many calls in one round trip with Pyro5.api.BatchProxy."""
from __future__ import annotations

import sys
import time

import Pyro5.api

N = 500


def main() -> None:
    uri = sys.argv[1] if len(sys.argv) > 1 else input("uri of the batch example server? ").strip()
    with Pyro5.api.Proxy(uri) as calc:
        t0 = time.perf_counter()
        total = sum(calc.multiply(i, 2) for i in range(N))
        normal = time.perf_counter() - t0
        print(f"{N} normal calls:  total={total}  {normal * 1000:.1f} ms")

        batch = Pyro5.api.BatchProxy(calc)
        for i in range(N):
            batch.multiply(i, 2)
        t0 = time.perf_counter()
        total = sum(batch())                       # call the batch: a generator of the results, in order
        batched = time.perf_counter() - t0
        print(f"{N} batched calls: total={total}  {batched * 1000:.1f} ms  ({normal / batched:.1f}x faster)")

        # an exception stops the batch: earlier results arrive, then the exception is raised
        batch = Pyro5.api.BatchProxy(calc)
        batch.add(1, 2)
        batch.divide(1, 0)
        batch.add(3, 4)                            # never executed
        results = batch()
        print("first result:", next(results))
        try:
            next(results)
        except ZeroDivisionError as x:
            print("second result raised ZeroDivisionError:", x)

        # a oneway batch returns None at once
        batch = Pyro5.api.BatchProxy(calc)
        for _ in range(10):
            batch.ping()
        print("oneway batch returned:", batch(oneway=True))
        print("a normal call after the batches:", calc.add(20, 22))


if __name__ == "__main__":
    main()
